//! Conversions, and the domain's kind of a stored conversion type.

use alpes_domain::tracking::ConversionKind;
use chrono::{DateTime, Utc};
pub use entity::conversions::{ConversionStatus, ConversionType};
use rust_decimal::Decimal;
use serde_json::Value;
use uuid::Uuid;

/// A conversion as the layers above see it: what the client said of the customer (and
/// the hash of their email) stays in the service layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conversion {
    pub id: Uuid,
    pub external_id: Option<String>,
    pub order_id: Option<Uuid>,
    /// The click that led to it, when the shop passed it.
    pub interaction_id: Option<Uuid>,
    pub conversion_type: ConversionType,
    pub value: Decimal,
    pub currency: String,
    pub channel: Option<String>,
    pub campaign_id: Option<Uuid>,
    pub affiliate_id: Option<Uuid>,
    pub user_id: Option<String>,
    pub anonymous_id: Option<String>,
    pub products: Value,
    pub metadata: Value,
    pub status: ConversionStatus,
    pub fraud_score: i32,
    pub fraud_signals: Value,
    pub occurred_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<entity::conversions::Model> for Conversion {
    fn from(row: entity::conversions::Model) -> Self {
        Self {
            id: row.id,
            external_id: row.external_id,
            order_id: row.order_id,
            interaction_id: row.interaction_id,
            conversion_type: row.conversion_type,
            value: row.value,
            currency: row.currency,
            channel: row.channel,
            campaign_id: row.campaign_id,
            affiliate_id: row.affiliate_id,
            user_id: row.user_id,
            anonymous_id: row.anonymous_id,
            products: row.products,
            metadata: row.metadata,
            status: row.status,
            fraud_score: row.fraud_score,
            fraud_signals: row.fraud_signals,
            occurred_at: row.occurred_at,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

pub fn conversion_kind(kind: ConversionType) -> ConversionKind {
    match kind {
        ConversionType::Sale => ConversionKind::Sale,
        ConversionType::Lead => ConversionKind::Lead,
        ConversionType::Signup => ConversionKind::Signup,
        ConversionType::Other => ConversionKind::Other,
    }
}

/// A subscription's renewal: its invoice, number and rate (`metadata.renovacion`), trusted
/// only on a conversion of a Stripe order — a conversion sent through the API has no order,
/// so its own metadata cannot claim to be one.
pub fn renewal_of(conversion: &entity::conversions::Model) -> Option<&serde_json::Value> {
    conversion.order_id?;
    conversion.metadata.get("renovacion").filter(|r| r.is_object())
}
