//! Who is calling: JWT issue/verify, password hashing, roles and the checks on them.

pub mod api_key;
pub mod caller;
pub mod jwt;
pub mod password;
pub mod recheck;
pub mod session;
pub mod throttle;

pub use api_key::ApiKeys;
pub use caller::{Caller, KeyGrant, Role};
pub use jwt::{JwtKeys, Token};
pub use session::Sessions;
pub use throttle::LoginThrottle;
