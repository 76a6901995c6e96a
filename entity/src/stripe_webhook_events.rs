//! `stripe_webhook_events` table. Received Stripe webhook events (seed 001 `STRIPE_WEBHOOK_EVENT`).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// Values of `stripe_webhook_events.status`, stored as UPPER_SNAKE strings (`String(32)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WebhookEventStatus {
    #[sea_orm(string_value = "RECEIVED")]
    Received,
    #[sea_orm(string_value = "PROCESSED")]
    Processed,
    #[sea_orm(string_value = "IGNORED")]
    Ignored,
    #[sea_orm(string_value = "FAILED")]
    Failed,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "stripe_webhook_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false, column_type = "String(StringLen::N(255))")]
    pub stripe_event_id: String,
    #[sea_orm(column_type = "String(StringLen::N(128))")]
    pub event_type: String,
    pub livemode: bool,
    pub status: WebhookEventStatus,
    #[sea_orm(column_type = "Text")]
    pub error: Option<String>,
    pub attempts: i32,
    #[sea_orm(column_type = "JsonBinary")]
    pub payload: Json,
    pub received_at: DateTimeUtc,
    pub processed_at: Option<DateTimeUtc>,
    /// When the payload's personal values were replaced by hashes; `None` while raw.
    pub minimised_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
