//! Who is calling: JWT issue/verify, password hashing, roles and the checks on them.

pub mod caller;
pub mod jwt;
pub mod password;
pub mod session;
pub mod throttle;

pub use caller::{Caller, Role};
pub use jwt::{JwtKeys, Token};
pub use session::Sessions;
pub use throttle::LoginThrottle;
