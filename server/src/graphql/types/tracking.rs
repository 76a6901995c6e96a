use crate::model::{conversions, interactions};
use async_graphql::{Context, InputObject, Json, Object, ID};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde_json::Value;

use super::{
    affiliate::Affiliate,
    attribution::{FraudSignal, Journey},
    campaign::Campaign,
    enums::{ConversionStatus, ConversionType, InteractionKind},
};
use crate::{
    domain::money::scaled,
    graphql::{
        loaders::{JourneyOfConversion, Loaders},
        GqlResult,
    },
};

/// A touchpoint: an impression, click, view, … of a visitor.
pub struct Interaction(pub interactions::Interaction);

#[Object]
impl Interaction {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The id the sender gave (idempotency key; the click id for clicks).
    async fn external_id(&self) -> &str {
        &self.0.external_id
    }
    async fn kind(&self) -> InteractionKind {
        self.0.kind.into()
    }
    async fn occurred_at(&self) -> DateTime<Utc> {
        self.0.occurred_at
    }
    async fn received_at(&self) -> DateTime<Utc> {
        self.0.received_at
    }
    async fn campaign_id(&self) -> Option<ID> {
        self.0.campaign_id.map(|id| ID(id.to_string()))
    }
    async fn affiliate_id(&self) -> Option<ID> {
        self.0.affiliate_id.map(|id| ID(id.to_string()))
    }
    async fn campaign(&self, ctx: &Context<'_>) -> GqlResult<Option<Campaign>> {
        Ok(ctx.loaders().campaign_of(self.0.campaign_id).await?.map(Campaign))
    }
    async fn affiliate(&self, ctx: &Context<'_>) -> GqlResult<Option<Affiliate>> {
        Ok(ctx.loaders().affiliate_of(self.0.affiliate_id).await?.map(Affiliate))
    }
    async fn user_id(&self) -> Option<&str> {
        self.0.user_id.as_deref()
    }
    async fn anonymous_id(&self) -> Option<&str> {
        self.0.anonymous_id.as_deref()
    }
    async fn source(&self) -> Option<&str> {
        self.0.source.as_deref()
    }
    async fn medium(&self) -> Option<&str> {
        self.0.medium.as_deref()
    }
    /// Marketing channel derived from click ids and UTM (paid_search, social, affiliate, direct, …).
    async fn channel(&self) -> Option<&str> {
        self.0.channel.as_deref()
    }
    async fn gclid(&self) -> Option<&str> {
        self.0.gclid.as_deref()
    }
    async fn fbclid(&self) -> Option<&str> {
        self.0.fbclid.as_deref()
    }
    async fn referrer(&self) -> Option<&str> {
        self.0.referrer.as_deref()
    }
    /// Why this touchpoint deserves a look (e.g. CAMPAIGN_NOT_ACTIVE).
    async fn flags(&self) -> Vec<String> {
        serde_json::from_value(self.0.flags.clone()).unwrap_or_default()
    }
    async fn session_id(&self) -> Option<ID> {
        self.0.session_id.map(|id| ID(id.to_string()))
    }
}

/// A sale, lead or signup.
pub struct Conversion(pub conversions::Conversion);

#[Object]
impl Conversion {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn external_id(&self) -> Option<&str> {
        self.0.external_id.as_deref()
    }
    #[graphql(name = "type")]
    async fn conversion_type(&self) -> ConversionType {
        self.0.conversion_type.into()
    }
    async fn value(&self) -> Decimal {
        scaled(self.0.value, &self.0.currency)
    }
    async fn currency(&self) -> &str {
        &self.0.currency
    }
    async fn channel(&self) -> Option<&str> {
        self.0.channel.as_deref()
    }
    async fn campaign_id(&self) -> Option<ID> {
        self.0.campaign_id.map(|id| ID(id.to_string()))
    }
    async fn affiliate_id(&self) -> Option<ID> {
        self.0.affiliate_id.map(|id| ID(id.to_string()))
    }
    async fn campaign(&self, ctx: &Context<'_>) -> GqlResult<Option<Campaign>> {
        Ok(ctx.loaders().campaign_of(self.0.campaign_id).await?.map(Campaign))
    }
    async fn affiliate(&self, ctx: &Context<'_>) -> GqlResult<Option<Affiliate>> {
        Ok(ctx.loaders().affiliate_of(self.0.affiliate_id).await?.map(Affiliate))
    }
    async fn user_id(&self) -> Option<&str> {
        self.0.user_id.as_deref()
    }
    async fn anonymous_id(&self) -> Option<&str> {
        self.0.anonymous_id.as_deref()
    }
    /// The click that led to it, when the shop passed `alpes_cid`.
    async fn click_interaction_id(&self) -> Option<ID> {
        self.0.interaction_id.map(|id| ID(id.to_string()))
    }
    async fn status(&self) -> ConversionStatus {
        self.0.status.into()
    }
    /// 0–100; at or above the hold threshold the conversion is held for review.
    async fn fraud_score(&self) -> i32 {
        self.0.fraud_score
    }
    /// What raised the fraud score.
    async fn fraud_signals(&self) -> Vec<FraudSignal> {
        serde_json::from_value(self.0.fraud_signals.clone()).unwrap_or_default()
    }
    /// The touchpoints and credits; null until attributed (a moment after recording).
    async fn journey(&self, ctx: &Context<'_>) -> GqlResult<Option<Journey>> {
        Ok(ctx.loaders().journeys.load_one(JourneyOfConversion(self.0.id)).await?.map(Journey))
    }
    async fn products(&self) -> Json<Value> {
        Json(self.0.products.clone())
    }
    async fn occurred_at(&self) -> DateTime<Utc> {
        self.0.occurred_at
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

#[derive(InputObject)]
pub struct RecordImpressionInput {
    /// Your id for this impression; a repeat with the same id is stored once.
    pub id: Option<String>,
    /// Campaign id or code.
    pub campaign_id: ID,
    /// Affiliate id or code.
    pub affiliate_id: Option<ID>,
    pub user_id: Option<String>,
    pub anonymous_id: Option<String>,
    pub referrer: Option<String>,
    pub user_agent: Option<String>,
    /// The visitor's IP; only a salted hash is stored.
    pub ip_address: Option<String>,
    /// Default: now.
    pub occurred_at: Option<DateTime<Utc>>,
}

#[derive(InputObject)]
pub struct RecordClickInput {
    /// Your id for this click (the click id); a repeat is stored once.
    pub id: Option<String>,
    pub campaign_id: Option<ID>,
    pub affiliate_id: Option<ID>,
    pub user_id: Option<String>,
    pub anonymous_id: Option<String>,
    pub utm_source: Option<String>,
    pub utm_medium: Option<String>,
    pub utm_campaign: Option<String>,
    pub utm_term: Option<String>,
    pub utm_content: Option<String>,
    pub gclid: Option<String>,
    pub fbclid: Option<String>,
    pub landing_path: Option<String>,
    pub referrer: Option<String>,
    pub user_agent: Option<String>,
    pub ip_address: Option<String>,
    pub occurred_at: Option<DateTime<Utc>>,
}

#[derive(InputObject)]
pub struct RecordConversionInput {
    /// Your id for this conversion; a repeat is stored once.
    pub id: Option<String>,
    #[graphql(name = "type", default_with = "ConversionType::Sale")]
    pub conversion_type: ConversionType,
    pub value: Decimal,
    pub currency: String,
    /// Campaign id or code.
    pub campaign_id: ID,
    pub affiliate_id: Option<ID>,
    pub user_id: Option<String>,
    pub anonymous_id: Option<String>,
    /// The click id (`alpes_cid`) the shop received.
    pub click_id: Option<String>,
    pub channel: Option<String>,
    /// Hashed (SHA-256, normalised) before it is stored.
    pub customer_email: Option<String>,
    pub products: Option<Json<Value>>,
    pub metadata: Option<Json<Value>>,
    pub occurred_at: Option<DateTime<Utc>>,
}

#[derive(InputObject, Default)]
pub struct ConversionFilter {
    pub affiliate_id: Option<ID>,
    pub campaign_id: Option<ID>,
    pub status: Option<ConversionStatus>,
    /// Occurred at or after.
    pub from: Option<DateTime<Utc>>,
    /// Occurred before.
    pub to: Option<DateTime<Utc>>,
}
