//! Orders: Stripe checkouts, with the advertising metadata they came with.

use chrono::{DateTime, Utc};
pub use entity::orders::OrderStatus;
use rust_decimal::Decimal;
use serde_json::Value;
use uuid::Uuid;

/// An order as the layers above see it: the customer's hashed email and phone stay in
/// the service layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub id: Uuid,
    /// The tracking session it was tied to.
    pub event_id: Option<Uuid>,
    /// The click it was tied to.
    pub click_id: Option<Uuid>,
    pub stripe_session_id: String,
    pub payment_intent_id: Option<String>,
    pub amount: Decimal,
    pub refunded_amount: Decimal,
    pub currency: String,
    pub status: OrderStatus,
    pub gclid: Option<String>,
    pub fbclid: Option<String>,
    /// The `campaign` metadata as Stripe sent it.
    pub campaign: Option<String>,
    pub source: Option<String>,
    pub product_id: Option<String>,
    pub campaign_id: Option<Uuid>,
    pub affiliate_id: Option<Uuid>,
    pub metadata: Value,
    pub pipedrive_deal_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The affiliate coupon the checkout used, if any.
    pub coupon_id: Option<Uuid>,
}

impl From<entity::orders::Model> for Order {
    fn from(row: entity::orders::Model) -> Self {
        Self {
            id: row.id,
            event_id: row.event_id,
            click_id: row.click_id,
            stripe_session_id: row.stripe_session_id,
            payment_intent_id: row.payment_intent_id,
            amount: row.amount,
            refunded_amount: row.refunded_amount,
            currency: row.currency,
            status: row.status,
            gclid: row.gclid,
            fbclid: row.fbclid,
            campaign: row.campaign,
            source: row.source,
            product_id: row.product_id,
            campaign_id: row.campaign_id,
            affiliate_id: row.affiliate_id,
            metadata: row.metadata,
            pipedrive_deal_id: row.pipedrive_deal_id,
            created_at: row.created_at,
            updated_at: row.updated_at,
            coupon_id: row.coupon_id,
        }
    }
}
