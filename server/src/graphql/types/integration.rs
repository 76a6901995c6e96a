use crate::model::{integration_deliveries, integrations_log};
use async_graphql::{InputObject, Json, Object, ID};
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::enums::{DeliveryEventKind, DeliveryStatus, Integration};

/// One order's delivery to one platform, with its retry state.
pub struct IntegrationDelivery(pub integration_deliveries::IntegrationDelivery);

#[Object]
impl IntegrationDelivery {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn order_id(&self) -> ID {
        ID(self.0.order_id.to_string())
    }
    async fn integration(&self) -> Integration {
        self.0.integration.into()
    }
    async fn event_kind(&self) -> DeliveryEventKind {
        self.0.event_kind.into()
    }
    async fn status(&self) -> DeliveryStatus {
        self.0.status.into()
    }
    /// Attempts made so far (since the last manual retry).
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }
    async fn max_attempts(&self) -> i32 {
        self.0.max_attempts
    }
    /// When it is due (for a RETRYING delivery, the next attempt).
    async fn next_attempt_at(&self) -> DateTime<Utc> {
        self.0.next_attempt_at
    }
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }
    async fn last_http_status(&self) -> Option<i32> {
        self.0.last_http_status
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// One attempt to reach a platform (seed 001 `integrations_log`).
pub struct IntegrationLogEntry(pub integrations_log::IntegrationLogEntry);

#[Object]
impl IntegrationLogEntry {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn delivery_id(&self) -> Option<ID> {
        self.0.delivery_id.map(|id| ID(id.to_string()))
    }
    /// `META_CAPI`, `GOOGLE_ADS` or `PIPEDRIVE`.
    async fn integration(&self) -> &str {
        &self.0.integration
    }
    /// The order id.
    async fn reference_id(&self) -> &str {
        &self.0.reference_id
    }
    /// `SUCCESS`, `ERROR` or `SKIPPED`.
    async fn status(&self) -> &str {
        &self.0.status
    }
    async fn http_status(&self) -> Option<i32> {
        self.0.http_status
    }
    async fn latency_ms(&self) -> Option<i32> {
        self.0.latency_ms
    }
    /// The request as sent, credentials left out.
    async fn request_payload(&self) -> Json<Value> {
        Json(self.0.request_payload.clone())
    }
    async fn response_payload(&self) -> Option<Json<Value>> {
        self.0.response_payload.clone().map(Json)
    }
    async fn error_message(&self) -> Option<&str> {
        self.0.error_message.as_deref()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

#[derive(InputObject, Default)]
pub struct IntegrationDeliveryFilter {
    pub integration: Option<Integration>,
    pub status: Option<DeliveryStatus>,
    pub order_id: Option<ID>,
}

#[derive(InputObject, Default)]
pub struct IntegrationLogFilter {
    pub integration: Option<Integration>,
    /// The order id.
    pub reference_id: Option<String>,
    pub delivery_id: Option<ID>,
    /// `SUCCESS`, `ERROR` or `SKIPPED`.
    pub status: Option<String>,
}
