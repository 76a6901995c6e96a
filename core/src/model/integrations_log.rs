//! The integrations log: one row per attempt to reach a platform (seed 001).

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

/// One attempt as the layers above see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntegrationLogEntry {
    pub id: Uuid,
    pub delivery_id: Option<Uuid>,
    /// `META_CAPI`, `GOOGLE_ADS` or `PIPEDRIVE`.
    pub integration: String,
    /// The order id.
    pub reference_id: String,
    /// `SUCCESS`, `ERROR` or `SKIPPED`.
    pub status: String,
    pub http_status: Option<i32>,
    pub latency_ms: Option<i32>,
    /// The request as sent, credentials left out.
    pub request_payload: Value,
    pub response_payload: Option<Value>,
    pub error_message: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<entity::integrations_log::Model> for IntegrationLogEntry {
    fn from(row: entity::integrations_log::Model) -> Self {
        Self {
            id: row.id,
            delivery_id: row.delivery_id,
            integration: row.integration,
            reference_id: row.reference_id,
            status: row.status,
            http_status: row.http_status,
            latency_ms: row.latency_ms,
            request_payload: row.request_payload,
            response_payload: row.response_payload,
            error_message: row.error_message,
            created_at: row.created_at,
        }
    }
}
