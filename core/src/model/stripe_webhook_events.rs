//! Stripe webhook events as received, kept for idempotency and replay.

use chrono::{DateTime, Utc};
pub use entity::stripe_webhook_events::WebhookEventStatus;
use serde_json::Value;

/// A received Stripe event as the layers above see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEvent {
    /// Stripe's event id (`evt_…`).
    pub stripe_event_id: String,
    pub event_type: String,
    pub livemode: bool,
    pub status: WebhookEventStatus,
    /// Why it failed, or why it was ignored.
    pub error: Option<String>,
    pub attempts: i32,
    /// The event as Stripe sent it; its personal values hashed once `minimised_at` is set.
    pub payload: Value,
    pub received_at: DateTime<Utc>,
    pub processed_at: Option<DateTime<Utc>>,
    pub minimised_at: Option<DateTime<Utc>>,
}

impl From<entity::stripe_webhook_events::Model> for WebhookEvent {
    fn from(row: entity::stripe_webhook_events::Model) -> Self {
        Self {
            stripe_event_id: row.stripe_event_id,
            event_type: row.event_type,
            livemode: row.livemode,
            status: row.status,
            error: row.error,
            attempts: row.attempts,
            payload: row.payload,
            received_at: row.received_at,
            processed_at: row.processed_at,
            minimised_at: row.minimised_at,
        }
    }
}
