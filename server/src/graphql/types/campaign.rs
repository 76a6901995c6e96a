use crate::graphql::GqlResult;
use crate::model::campaigns;
use async_graphql::{Context, InputObject, Json, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde_json::Value;

use super::{
    enums::{AttributionModel, CampaignStatus, CommissionType},
    tracking_link::TrackingLink,
};
use crate::{
    domain::money::scaled,
    graphql::loaders::{LinksByCampaign, Loaders},
    service::campaign_service as svc,
};

/// A marketing campaign that affiliates promote.
pub struct Campaign(pub campaigns::Campaign);

#[derive(SimpleObject)]
pub struct CampaignCommissionConfig {
    /// Percentage (0–100) per conversion (seed: comision_conversion).
    pub conversion_rate: Option<Decimal>,
    /// Percentage (0–100) of the sale value (seed: comision_venta).
    pub sale_rate: Option<Decimal>,
    /// Bonus percentage when targets are met (seed: bonus_objetivos).
    pub bonus_targets: Option<Decimal>,
    pub commission_type: CommissionType,
    /// Amount per conversion for FLAT commissions, in the campaign currency.
    pub flat_amount: Option<Decimal>,
    /// Percentage (0–100) each renewal of a subscription earns; null: the first sale's rate.
    pub recurring_rate: Option<Decimal>,
    /// Months after the first sale during which renewals earn (default 12, 0: none); null
    /// when they earn for the customer's lifetime.
    pub recurring_months: Option<i32>,
    /// Renewals earn for as long as the customer pays.
    pub recurring_lifetime: bool,
}

#[Object]
impl Campaign {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Unique human-readable code; usable wherever an id is.
    async fn code(&self) -> &str {
        &self.0.code
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    async fn starts_at(&self) -> DateTime<Utc> {
        self.0.starts_at
    }
    async fn ends_at(&self) -> Option<DateTime<Utc>> {
        self.0.ends_at
    }
    async fn budget(&self) -> Option<Decimal> {
        self.0.budget.map(|b| scaled(b, &self.0.currency))
    }
    async fn currency(&self) -> &str {
        &self.0.currency
    }
    /// Free-form kind of campaign (seed: tipo_campana, e.g. "promocional").
    #[graphql(name = "type")]
    async fn campaign_type(&self) -> &str {
        &self.0.campaign_type
    }
    async fn channels(&self) -> Vec<String> {
        serde_json::from_value(self.0.channels.clone()).unwrap_or_default()
    }
    /// Hosts (with their subdomains) this campaign's links may send visitors to. Until an
    /// admin sets some, only admins create its links.
    async fn allowed_domains(&self) -> &[String] {
        &self.0.allowed_domains
    }
    async fn targeting(&self) -> Json<Value> {
        Json(self.0.targeting.clone())
    }
    async fn commission_config(&self) -> CampaignCommissionConfig {
        CampaignCommissionConfig {
            conversion_rate: self.0.conversion_rate.map(|r| r.normalize()),
            sale_rate: self.0.sale_rate.map(|r| r.normalize()),
            bonus_targets: self.0.bonus_targets.map(|r| r.normalize()),
            commission_type: self.0.commission_type.into(),
            flat_amount: self.0.flat_amount.map(|a| scaled(a, &self.0.currency)),
            recurring_rate: self.0.recurring.rate.map(|r| r.normalize()),
            recurring_months: (!self.0.recurring.lifetime).then(|| {
                let months = self.0.recurring.months.unwrap_or(crate::domain::subscription::DEFAULT_MONTHS);
                i32::try_from(months).unwrap_or(i32::MAX)
            }),
            recurring_lifetime: self.0.recurring.lifetime,
        }
    }
    async fn attribution_model(&self) -> AttributionModel {
        self.0.attribution_model.into()
    }
    async fn lookback_days(&self) -> i32 {
        self.0.lookback_days
    }
    async fn status(&self) -> CampaignStatus {
        self.0.status.into()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// Tracking links of this campaign (an affiliate sees only its own).
    async fn tracking_links(&self, ctx: &Context<'_>) -> GqlResult<Vec<TrackingLink>> {
        let links = ctx.loaders().links.load_one(LinksByCampaign(self.0.id)).await?;
        Ok(links.unwrap_or_default().into_iter().map(TrackingLink).collect())
    }
}

#[derive(InputObject, Default)]
pub struct CampaignCommissionConfigInput {
    pub conversion_rate: Option<Decimal>,
    pub sale_rate: Option<Decimal>,
    pub bonus_targets: Option<Decimal>,
    pub commission_type: Option<CommissionType>,
    pub flat_amount: Option<Decimal>,
    /// Percentage (0–100) renewals earn; not given: the first sale's rate.
    pub recurring_rate: Option<Decimal>,
    /// Months after the first sale during which renewals earn, 0–120 (default 12).
    pub recurring_months: Option<i32>,
    /// Renewals earn for the customer's lifetime.
    pub recurring_lifetime: Option<bool>,
}

#[derive(InputObject)]
pub struct CreateCampaignInput {
    /// Generated from the name when not given.
    pub code: Option<String>,
    pub name: String,
    pub description: Option<String>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: Option<DateTime<Utc>>,
    pub budget: Option<Decimal>,
    /// ISO 4217 code.
    pub currency: String,
    #[graphql(name = "type")]
    pub campaign_type: Option<String>,
    #[graphql(default)]
    pub channels: Vec<String>,
    /// Hosts its links may point to, e.g. `shop.example.com` (subdomains included).
    #[graphql(default)]
    pub allowed_domains: Vec<String>,
    pub targeting: Option<Json<Value>>,
    pub commission_config: Option<CampaignCommissionConfigInput>,
    /// Default LAST_CLICK.
    pub attribution_model: Option<AttributionModel>,
    /// Default 30.
    pub lookback_days: Option<i32>,
}

#[derive(InputObject)]
pub struct UpdateCampaignInput {
    pub id: ID,
    pub code: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub budget: Option<Decimal>,
    pub currency: Option<String>,
    #[graphql(name = "type")]
    pub campaign_type: Option<String>,
    pub channels: Option<Vec<String>>,
    /// Replaces the list.
    pub allowed_domains: Option<Vec<String>>,
    pub targeting: Option<Json<Value>>,
    pub commission_config: Option<CampaignCommissionConfigInput>,
    pub attribution_model: Option<AttributionModel>,
    pub lookback_days: Option<i32>,
}

#[derive(InputObject, Default)]
pub struct CampaignFilter {
    pub status: Option<CampaignStatus>,
    /// Matches name or code.
    pub search: Option<String>,
}

impl From<CampaignCommissionConfigInput> for svc::CampaignCommission {
    fn from(c: CampaignCommissionConfigInput) -> Self {
        Self {
            conversion_rate: c.conversion_rate,
            sale_rate: c.sale_rate,
            bonus_targets: c.bonus_targets,
            commission_type: c.commission_type.map(Into::into),
            flat_amount: c.flat_amount,
            recurring_rate: c.recurring_rate,
            recurring_months: c.recurring_months,
            recurring_lifetime: c.recurring_lifetime,
        }
    }
}

impl From<CreateCampaignInput> for svc::NewCampaign {
    fn from(i: CreateCampaignInput) -> Self {
        Self {
            code: i.code,
            name: i.name,
            description: i.description,
            starts_at: i.starts_at,
            ends_at: i.ends_at,
            budget: i.budget,
            currency: i.currency,
            campaign_type: i.campaign_type,
            channels: i.channels,
            allowed_domains: i.allowed_domains,
            targeting: i.targeting.map(|j| j.0),
            commission: i.commission_config.map(Into::into).unwrap_or_default(),
            attribution_model: i.attribution_model.map(Into::into),
            lookback_days: i.lookback_days,
        }
    }
}

impl From<UpdateCampaignInput> for svc::CampaignPatch {
    fn from(i: UpdateCampaignInput) -> Self {
        Self {
            code: i.code,
            name: i.name,
            description: i.description,
            starts_at: i.starts_at,
            ends_at: i.ends_at,
            budget: i.budget,
            currency: i.currency,
            campaign_type: i.campaign_type,
            channels: i.channels,
            allowed_domains: i.allowed_domains,
            targeting: i.targeting.map(|j| j.0),
            commission: i.commission_config.map(Into::into),
            attribution_model: i.attribution_model.map(Into::into),
            lookback_days: i.lookback_days,
        }
    }
}

impl From<CampaignFilter> for svc::CampaignFilter {
    fn from(f: CampaignFilter) -> Self {
        Self { status: f.status.map(Into::into), search: f.search }
    }
}
