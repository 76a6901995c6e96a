//! Pure logic: no I/O, no HTTP, no GraphQL, no SeaORM.

pub mod attribution;
pub mod backoff;
pub mod code;
pub mod commission;
pub mod envelope;
pub mod fraud;
pub mod money;
pub mod pii;
pub mod stripe;
pub mod tracking;
pub mod validate;
