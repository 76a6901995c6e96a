//! Alpes' pure logic: no I/O, no HTTP, no GraphQL, no SeaORM. Everything here is a
//! function of its arguments (and, for `code::random_short`, of a random source), so it
//! is tested by plain table tests next to the code.
#![deny(clippy::unwrap_used, clippy::expect_used)]

pub mod api_key;
pub mod attribution;
pub mod backoff;
pub mod code;
pub mod commission;
pub mod envelope;
pub mod error;
pub mod fraud;
pub mod iban;
pub mod money;
pub mod payout_file;
pub mod pii;
pub mod stripe;
pub mod subscription;
pub mod tier;
pub mod tracking;
pub mod validate;

pub use error::{DomainError, DomainResult};
