//! Who is calling: JWT issue/verify, password hashing, roles and the checks on them.

pub mod caller;
pub mod jwt;
pub mod password;

pub use caller::{Caller, Role};
pub use jwt::JwtKeys;
