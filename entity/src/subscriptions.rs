//! `subscriptions` table. A Stripe subscription that began with a checkout we recorded: the
//! affiliate and campaign its renewals earn for, and until when.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// Stripe's subscription status, as its last event said.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum SubscriptionStatus {
    #[sea_orm(string_value = "active")]
    Active,
    #[sea_orm(string_value = "trialing")]
    Trialing,
    #[sea_orm(string_value = "past_due")]
    PastDue,
    #[sea_orm(string_value = "unpaid")]
    Unpaid,
    #[sea_orm(string_value = "paused")]
    Paused,
    #[sea_orm(string_value = "incomplete")]
    Incomplete,
    #[sea_orm(string_value = "incomplete_expired")]
    IncompleteExpired,
    #[sea_orm(string_value = "canceled")]
    Canceled,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "subscriptions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub stripe_subscription_id: String,
    pub stripe_customer_id: Option<String>,
    /// The checkout's order: the first sale.
    #[sea_orm(unique)]
    pub order_id: Uuid,
    /// As of the first sale; a renewal asks the first sale's current attribution.
    pub affiliate_id: Option<Uuid>,
    pub campaign_id: Option<Uuid>,
    pub currency: String,
    pub status: SubscriptionStatus,
    pub started_at: DateTimeUtc,
    /// Renewals paid before this earn; `None`: for the customer's lifetime.
    pub earns_until: Option<DateTimeUtc>,
    /// Paid renewals that earned a commission.
    pub renewals: i32,
    pub canceled_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
