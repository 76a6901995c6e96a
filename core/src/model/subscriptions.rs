//! Subscriptions and their invoices as the layers above see them.

use chrono::{DateTime, Utc};
pub use entity::{
    subscription_invoices::{InvoiceOutcome, InvoiceStatus},
    subscriptions::SubscriptionStatus,
};
use rust_decimal::Decimal;
use uuid::Uuid;

/// A customer's subscription that began with a recorded checkout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerSubscription {
    pub id: Uuid,
    pub stripe_subscription_id: String,
    pub stripe_customer_id: Option<String>,
    pub order_id: Uuid,
    pub affiliate_id: Option<Uuid>,
    pub campaign_id: Option<Uuid>,
    pub currency: String,
    pub status: SubscriptionStatus,
    pub started_at: DateTime<Utc>,
    pub earns_until: Option<DateTime<Utc>>,
    pub renewals: i32,
    pub canceled_at: Option<DateTime<Utc>>,
}

impl From<entity::subscriptions::Model> for CustomerSubscription {
    fn from(row: entity::subscriptions::Model) -> Self {
        Self {
            id: row.id,
            stripe_subscription_id: row.stripe_subscription_id,
            stripe_customer_id: row.stripe_customer_id,
            order_id: row.order_id,
            affiliate_id: row.affiliate_id,
            campaign_id: row.campaign_id,
            currency: row.currency,
            status: row.status,
            started_at: row.started_at,
            earns_until: row.earns_until,
            renewals: row.renewals,
            canceled_at: row.canceled_at,
        }
    }
}

/// One invoice of a subscription: paid or not, and what it earned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionInvoice {
    pub stripe_invoice_id: String,
    pub billing_reason: String,
    pub amount: Decimal,
    pub currency: String,
    pub status: InvoiceStatus,
    pub outcome: InvoiceOutcome,
    pub reason: Option<String>,
    pub occurred_at: DateTime<Utc>,
    /// What the renewal's commission comes to (its amount, or the expected one while not
    /// calculated); `None` when it earned nothing.
    pub commission: Option<Decimal>,
    /// The renewal commission's state.
    pub commission_status: Option<entity::commissions::CommissionStatus>,
}
