//! GraphQL object and input types. Each wraps a model from the service layer; no
//! entity carries a GraphQL derive.

pub mod affiliate;
pub mod api_key;
pub mod attribution;
pub mod campaign;
pub mod commission;
pub mod connection;
pub mod coupon;
pub mod customer_subscription;
pub mod dashboard;
pub mod enums;
pub mod event;
pub mod integration;
pub mod onboarding;
pub mod order;
pub mod reconciliation;
pub mod tier;
pub mod tracking;
pub mod tracking_link;
pub mod user;

use async_graphql::ID;
use uuid::Uuid;

use alpes_core::error::{AppError, AppResult};

/// Parses a UUID id argument; a malformed one is a VALIDATION error on `field`.
pub fn parse_id(id: &ID, field: &str) -> AppResult<Uuid> {
    Uuid::parse_str(id.as_str())
        .map_err(|_| AppError::validation(field, format!("'{}' is not a valid id", id.as_str())))
}
