//! Deliveries: one order's event to one ad or CRM platform, with its retry state.

use chrono::{DateTime, Utc};
pub use entity::integration_deliveries::{DeliveryEventKind, DeliveryStatus, Integration};
use uuid::Uuid;

/// A delivery as the layers above see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntegrationDelivery {
    pub id: Uuid,
    pub order_id: Uuid,
    pub integration: Integration,
    pub event_kind: DeliveryEventKind,
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub max_attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    /// While a worker holds it: until when.
    pub locked_until: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub last_http_status: Option<i32>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<entity::integration_deliveries::Model> for IntegrationDelivery {
    fn from(row: entity::integration_deliveries::Model) -> Self {
        Self {
            id: row.id,
            order_id: row.order_id,
            integration: row.integration,
            event_kind: row.event_kind,
            status: row.status,
            attempts: row.attempts,
            max_attempts: row.max_attempts,
            next_attempt_at: row.next_attempt_at,
            locked_until: row.locked_until,
            last_error: row.last_error,
            last_http_status: row.last_http_status,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}
