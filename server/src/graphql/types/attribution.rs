use crate::model::journeys;
use async_graphql::{Context, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use super::{
    affiliate::Affiliate,
    campaign::Campaign,
    enums::{AttributionGroupBy, AttributionModel, InteractionKind, JourneyStatus},
};
use crate::{
    domain::money::scaled,
    graphql::{loaders::Loaders, ContextExt, GqlResult},
    service::attribution::{self, Credit, JourneyTouch, Report, ReportRow},
};

/// The touchpoints that led to a conversion, and the credit each one got.
pub struct Journey(pub journeys::Journey);

#[Object]
impl Journey {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn conversion_id(&self) -> ID {
        ID(self.0.conversion_id.to_string())
    }
    async fn status(&self) -> JourneyStatus {
        self.0.status.into()
    }
    /// The model of the current credits (the campaign's, or the one chosen on re-attribution).
    async fn model(&self) -> AttributionModel {
        self.0.model.into()
    }
    async fn lookback_days(&self) -> i32 {
        self.0.lookback_days
    }
    async fn user_id(&self) -> Option<&str> {
        self.0.user_id.as_deref()
    }
    async fn anonymous_id(&self) -> Option<&str> {
        self.0.anonymous_id.as_deref()
    }
    /// Oldest first.
    /// An AFFILIATE caller sees other partners' touches without ids, campaign or source.
    async fn touchpoints(&self, ctx: &Context<'_>) -> GqlResult<Vec<JourneyTouchpoint>> {
        let caller = ctx.caller()?;
        Ok(attribution::touches_of(&self.0).into_iter().map(|t| JourneyTouchpoint(t.seen_by(caller))).collect())
    }
    /// The credits of the journey's model (stored), or what another `model` would give
    /// (computed, to compare; not paid). An AFFILIATE caller sees only its own.
    async fn credits(&self, ctx: &Context<'_>, model: Option<AttributionModel>) -> GqlResult<Vec<AttributionCredit>> {
        let caller = ctx.caller()?;
        let list = attribution::credits(ctx.state(), &ctx.state().markov, &self.0, model.map(Into::into)).await?;
        let own = caller.affiliate_scope();
        Ok(list
            .into_iter()
            .filter(|credit| own.is_none() || credit.affiliate_id == own)
            .map(AttributionCredit)
            .collect())
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    async fn reverted_at(&self) -> Option<DateTime<Utc>> {
        self.0.reverted_at
    }
}

/// One touch of a journey.
pub struct JourneyTouchpoint(pub JourneyTouch);

#[Object]
impl JourneyTouchpoint {
    /// 1-based, in time order.
    async fn position(&self) -> i32 {
        self.0.position
    }
    /// The interaction; null when the conversion itself named its campaign and no touch was tracked.
    async fn interaction_id(&self) -> Option<ID> {
        self.0.interaction_id.map(|id| ID(id.to_string()))
    }
    async fn occurred_at(&self) -> DateTime<Utc> {
        self.0.at
    }
    async fn kind(&self) -> InteractionKind {
        match self.0.kind.as_str() {
            "IMPRESSION" => InteractionKind::Impression,
            "VIEW" => InteractionKind::View,
            "CLICK" => InteractionKind::Click,
            _ => InteractionKind::Conversion,
        }
    }
    async fn channel(&self) -> &str {
        &self.0.channel
    }
    async fn source(&self) -> Option<&str> {
        self.0.source.as_deref()
    }
    async fn medium(&self) -> Option<&str> {
        self.0.medium.as_deref()
    }
    async fn is_click(&self) -> bool {
        self.0.is_click
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
}

/// The share of a conversion given to one touchpoint under one model.
pub struct AttributionCredit(pub Credit);

#[Object]
impl AttributionCredit {
    /// Null for credits computed to compare models (not stored).
    async fn id(&self) -> Option<ID> {
        self.0.id.map(|id| ID(id.to_string()))
    }
    /// The touchpoint's position in the journey (0 for a manual re-attribution).
    async fn position(&self) -> i32 {
        self.0.position
    }
    async fn interaction_id(&self) -> Option<ID> {
        self.0.interaction_id.map(|id| ID(id.to_string()))
    }
    async fn model(&self) -> AttributionModel {
        self.0.model.into()
    }
    /// Share of the conversion, 0–1; a journey's weights sum to exactly 1.
    async fn weight(&self) -> Decimal {
        self.0.weight.normalize()
    }
    /// Share of the value, in the minor unit; a journey's amounts sum to exactly its value.
    async fn amount(&self) -> Decimal {
        scaled(self.0.amount, &self.0.currency)
    }
    async fn currency(&self) -> &str {
        &self.0.currency
    }
    async fn channel(&self) -> Option<&str> {
        self.0.channel.as_deref()
    }
    /// False once retired by a revert or a re-attribution, and for computed comparisons.
    async fn is_current(&self) -> bool {
        self.0.is_current
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
}

/// A reason the fraud score went up.
#[derive(SimpleObject, serde::Deserialize)]
pub struct FraudSignal {
    /// FAST_CONVERSION, CLICK_FLOOD, BOT_USER_AGENT, SELF_REFERRAL, DUPLICATE_CONVERSION.
    pub code: String,
    pub points: i32,
    pub detail: String,
}

/// The models side by side over a period.
pub struct AttributionReport {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub group_by: AttributionGroupBy,
    pub report: Report,
}

#[Object]
impl AttributionReport {
    async fn from(&self) -> DateTime<Utc> {
        self.from
    }
    async fn to(&self) -> DateTime<Utc> {
        self.to
    }
    async fn group_by(&self) -> AttributionGroupBy {
        self.group_by
    }
    /// The models compared.
    async fn models(&self) -> Vec<AttributionModel> {
        self.report.models.iter().map(|m| (*m).into()).collect()
    }
    /// Attributed conversions in the period.
    async fn conversions(&self) -> u64 {
        self.report.conversions
    }
    /// One row per model, key and currency (amounts are never summed across currencies).
    async fn rows(&self) -> Vec<AttributionReportRow> {
        self.report.rows.iter().cloned().map(AttributionReportRow).collect()
    }
}

pub struct AttributionReportRow(pub ReportRow);

#[Object]
impl AttributionReportRow {
    async fn model(&self) -> AttributionModel {
        self.0.model.into()
    }
    /// Campaign or affiliate code, or the channel.
    async fn key(&self) -> &str {
        &self.0.key
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Conversions credited (fractional: a shared conversion counts in parts).
    async fn conversions(&self) -> Decimal {
        self.0.conversions
    }
    async fn value(&self) -> Decimal {
        scaled(self.0.value, &self.0.currency)
    }
    async fn currency(&self) -> &str {
        &self.0.currency
    }
    /// MARKOV rows: the share of conversions lost without this key (0–1).
    async fn removal_effect(&self) -> Option<f64> {
        self.0.removal_effect
    }
}
