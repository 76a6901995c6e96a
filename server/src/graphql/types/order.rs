use crate::model::{orders, stripe_webhook_events};
use async_graphql::{Context, InputObject, Json, Object, ID};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde_json::Value;

use super::{
    affiliate::Affiliate,
    campaign::Campaign,
    enums::{OrderStatus, WebhookEventStatus},
};
use crate::{
    domain::money::scaled,
    graphql::{loaders::Loaders, ContextExt, GqlResult},
};

/// A Stripe checkout, with its advertising metadata (seed 000).
pub struct Order(pub orders::Order);

#[Object]
impl Order {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn stripe_session_id(&self) -> &str {
        &self.0.stripe_session_id
    }
    async fn payment_intent_id(&self) -> Option<&str> {
        self.0.payment_intent_id.as_deref()
    }
    async fn amount(&self) -> Decimal {
        scaled(self.0.amount, &self.0.currency)
    }
    async fn refunded_amount(&self) -> Decimal {
        scaled(self.0.refunded_amount, &self.0.currency)
    }
    async fn currency(&self) -> &str {
        &self.0.currency
    }
    async fn status(&self) -> OrderStatus {
        self.0.status.into()
    }
    async fn gclid(&self) -> Option<&str> {
        self.0.gclid.as_deref()
    }
    async fn fbclid(&self) -> Option<&str> {
        self.0.fbclid.as_deref()
    }
    /// The `campaign` metadata as Stripe sent it.
    async fn campaign_ref(&self) -> Option<&str> {
        self.0.campaign.as_deref()
    }
    async fn source(&self) -> Option<&str> {
        self.0.source.as_deref()
    }
    async fn product_id(&self) -> Option<&str> {
        self.0.product_id.as_deref()
    }
    /// How the order was tied to marketing: `click`, `metadata` or `unattributed`.
    async fn attribution(&self) -> Option<String> {
        self.0.metadata["attribution"].as_str().map(str::to_owned)
    }
    async fn tracking_session_id(&self) -> Option<ID> {
        self.0.event_id.map(|id| ID(id.to_string()))
    }
    async fn click_interaction_id(&self) -> Option<ID> {
        self.0.click_id.map(|id| ID(id.to_string()))
    }
    async fn campaign(&self, ctx: &Context<'_>) -> GqlResult<Option<Campaign>> {
        Ok(ctx.loaders().campaign_of(self.0.campaign_id).await?.map(Campaign))
    }
    async fn affiliate(&self, ctx: &Context<'_>) -> GqlResult<Option<Affiliate>> {
        Ok(ctx.loaders().affiliate_of(self.0.affiliate_id).await?.map(Affiliate))
    }
    async fn pipedrive_deal_id(&self) -> Option<&str> {
        self.0.pipedrive_deal_id.as_deref()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// A Stripe webhook event as received (seed 001 `stripe_webhook_event`).
pub struct WebhookEvent(pub stripe_webhook_events::WebhookEvent);

#[Object]
impl WebhookEvent {
    /// Stripe's event id (`evt_…`).
    async fn id(&self) -> ID {
        ID(self.0.stripe_event_id.clone())
    }
    #[graphql(name = "type")]
    async fn event_type(&self) -> &str {
        &self.0.event_type
    }
    async fn livemode(&self) -> bool {
        self.0.livemode
    }
    async fn status(&self) -> WebhookEventStatus {
        self.0.status.into()
    }
    /// Why it failed, or why it was ignored.
    async fn error(&self) -> Option<&str> {
        self.0.error.as_deref()
    }
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }
    async fn received_at(&self) -> DateTime<Utc> {
        self.0.received_at
    }
    async fn processed_at(&self) -> Option<DateTime<Utc>> {
        self.0.processed_at
    }
    /// The event as Stripe sent it, for admins; for analysts (and once the raw days are
    /// over, for everyone) the customer's name, email, phone, address and IPs as hashes.
    async fn payload(&self, ctx: &Context<'_>) -> GqlResult<Json<Value>> {
        let caller = ctx.caller()?;
        let payload = match caller.require_admin() {
            Ok(()) => None,
            Err(_) => crate::domain::pii::minimise_stripe_event(&self.0.payload),
        };
        Ok(Json(payload.unwrap_or_else(|| self.0.payload.clone())))
    }
    /// When its personal values were replaced by hashes (`ALPES_STRIPE_RAW_DAYS` after it
    /// came); null while kept as sent.
    async fn minimised_at(&self) -> Option<DateTime<Utc>> {
        self.0.minimised_at
    }
}

#[derive(InputObject, Default)]
pub struct OrderFilter {
    pub status: Option<OrderStatus>,
    pub campaign_id: Option<ID>,
    pub affiliate_id: Option<ID>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

#[derive(InputObject, Default)]
pub struct WebhookEventFilter {
    pub status: Option<WebhookEventStatus>,
}
