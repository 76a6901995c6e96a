//! Customers' subscriptions and their invoices: what renewals earned.

use async_graphql::{Context, InputObject, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use super::{
    affiliate::Affiliate,
    campaign::Campaign,
    enums::{CommissionStatus, InvoiceOutcome, InvoiceStatus, SubscriptionStatus},
    parse_id,
};
use crate::{
    domain::money::scaled,
    graphql::{loaders::Loaders, ContextExt, GqlResult},
    model::subscriptions,
    service::subscription_service as svc,
};

/// A customer's Stripe subscription that began with a checkout of the programme: its
/// renewals earn for the first sale's affiliate.
pub struct CustomerSubscription(pub subscriptions::CustomerSubscription);

#[Object]
impl CustomerSubscription {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Stripe's subscription id (`sub_…`).
    async fn stripe_subscription_id(&self) -> &str {
        &self.0.stripe_subscription_id
    }
    /// Stripe's customer id (`cus_…`); staff only (null for an affiliate).
    async fn stripe_customer_id(&self, ctx: &Context<'_>) -> GqlResult<Option<&str>> {
        Ok(if ctx.caller()?.is_staff() { self.0.stripe_customer_id.as_deref() } else { None })
    }
    async fn affiliate(&self, ctx: &Context<'_>) -> GqlResult<Option<Affiliate>> {
        Ok(ctx.loaders().affiliate_of(self.0.affiliate_id).await?.map(Affiliate))
    }
    async fn campaign(&self, ctx: &Context<'_>) -> GqlResult<Option<Campaign>> {
        Ok(ctx.loaders().campaign_of(self.0.campaign_id).await?.map(Campaign))
    }
    async fn currency(&self) -> &str {
        &self.0.currency
    }
    async fn status(&self) -> SubscriptionStatus {
        self.0.status.into()
    }
    /// The first sale (the checkout).
    async fn started_at(&self) -> DateTime<Utc> {
        self.0.started_at
    }
    /// Renewals paid before this earn; null: for the customer's lifetime.
    async fn earns_until(&self) -> Option<DateTime<Utc>> {
        self.0.earns_until
    }
    /// Paid renewals that earned a commission.
    async fn renewals(&self) -> i32 {
        self.0.renewals
    }
    async fn canceled_at(&self) -> Option<DateTime<Utc>> {
        self.0.canceled_at
    }
    /// Its invoices, newest first (at most 120), with what each earned.
    async fn invoices(&self, ctx: &Context<'_>) -> GqlResult<Vec<SubscriptionInvoice>> {
        let caller = ctx.caller()?;
        Ok(svc::invoices(&ctx.state().db, caller, &self.0).await?.into_iter().map(SubscriptionInvoice::from).collect())
    }
}

/// One invoice of a subscription.
#[derive(SimpleObject)]
pub struct SubscriptionInvoice {
    /// Stripe's invoice id (`in_…`).
    pub stripe_invoice_id: String,
    /// Stripe's `billing_reason` (`subscription_create`, `subscription_cycle`, …).
    pub billing_reason: String,
    pub amount: Decimal,
    pub currency: String,
    pub status: InvoiceStatus,
    pub outcome: InvoiceOutcome,
    /// Why a SKIPPED invoice earned nothing.
    pub reason: Option<String>,
    pub occurred_at: DateTime<Utc>,
    /// The renewal's commission: its amount, or the expected one while not calculated.
    pub commission: Option<Decimal>,
    pub commission_status: Option<CommissionStatus>,
}

impl From<subscriptions::SubscriptionInvoice> for SubscriptionInvoice {
    fn from(i: subscriptions::SubscriptionInvoice) -> Self {
        Self {
            amount: scaled(i.amount, &i.currency),
            commission: i.commission.map(|c| scaled(c, &i.currency)),
            stripe_invoice_id: i.stripe_invoice_id,
            billing_reason: i.billing_reason,
            currency: i.currency,
            status: i.status.into(),
            outcome: i.outcome.into(),
            reason: i.reason,
            occurred_at: i.occurred_at,
            commission_status: i.commission_status.map(Into::into),
        }
    }
}

#[derive(InputObject, Default)]
pub struct SubscriptionFilter {
    pub affiliate_id: Option<ID>,
    pub status: Option<SubscriptionStatus>,
}

impl SubscriptionFilter {
    pub fn into_service(self) -> GqlResult<svc::SubscriptionFilter> {
        Ok(svc::SubscriptionFilter {
            affiliate_id: self.affiliate_id.as_ref().map(|id| parse_id(id, "filter.affiliateId")).transpose()?,
            status: self.status.map(Into::into),
        })
    }
}
