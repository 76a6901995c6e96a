//! Touches, and the domain's kind of a stored interaction kind.

use alpes_domain::tracking::TouchKind;
use chrono::{DateTime, Utc};
pub use entity::interactions::InteractionKind;
use rust_decimal::Decimal;
use serde_json::Value;
use uuid::Uuid;

/// A touch as the layers above see it: the visitor's user agent and hashed IP stay in
/// the service layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interaction {
    pub id: Uuid,
    /// The id the sender gave (the idempotency key; the click id for clicks).
    pub external_id: String,
    pub kind: InteractionKind,
    pub occurred_at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    pub session_id: Option<Uuid>,
    pub tracking_link_id: Option<Uuid>,
    pub user_id: Option<String>,
    pub anonymous_id: Option<String>,
    pub campaign_id: Option<Uuid>,
    pub affiliate_id: Option<Uuid>,
    /// The campaign as the sender named it.
    pub campaign_ref: Option<String>,
    /// The affiliate as the sender named it.
    pub affiliate_ref: Option<String>,
    pub source: Option<String>,
    pub medium: Option<String>,
    pub channel: Option<String>,
    pub gclid: Option<String>,
    pub fbclid: Option<String>,
    pub referrer: Option<String>,
    pub value: Option<Decimal>,
    pub currency: Option<String>,
    pub flags: Value,
    pub payload: Value,
}

impl From<entity::interactions::Model> for Interaction {
    fn from(row: entity::interactions::Model) -> Self {
        Self {
            id: row.id,
            external_id: row.external_id,
            kind: row.kind,
            occurred_at: row.occurred_at,
            received_at: row.received_at,
            session_id: row.session_id,
            tracking_link_id: row.tracking_link_id,
            user_id: row.user_id,
            anonymous_id: row.anonymous_id,
            campaign_id: row.campaign_id,
            affiliate_id: row.affiliate_id,
            campaign_ref: row.campaign_ref,
            affiliate_ref: row.affiliate_ref,
            source: row.source,
            medium: row.medium,
            channel: row.channel,
            gclid: row.gclid,
            fbclid: row.fbclid,
            referrer: row.referrer,
            value: row.value,
            currency: row.currency,
            flags: row.flags,
            payload: row.payload,
        }
    }
}

pub fn touch_kind(kind: InteractionKind) -> TouchKind {
    match kind {
        InteractionKind::Impression => TouchKind::Impression,
        InteractionKind::Click => TouchKind::Click,
        InteractionKind::View => TouchKind::View,
        InteractionKind::Lead => TouchKind::Lead,
        InteractionKind::Purchase => TouchKind::Purchase,
        InteractionKind::Conversion => TouchKind::Conversion,
    }
}
