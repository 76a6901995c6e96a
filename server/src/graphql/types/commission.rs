use std::{collections::HashMap, sync::Arc};

use crate::model::{affiliates, campaigns, commissions, conversions, payouts};
use async_graphql::{Context, Enum, InputObject, Json, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde_json::Value;
use uuid::Uuid;

use super::{
    affiliate::Affiliate,
    campaign::Campaign,
    enums::{CommissionStatus, CommissionType, PayoutStatus},
    parse_id,
    tracking::Conversion,
};
use crate::{
    domain::{commission::Kind, money::scaled},
    graphql::{loaders::Loaders, ContextExt, GqlResult},
    service::commission as svc,
};
use alpes_core::error::AppResult;

/// An affiliate's commission, or a clawback adjustment (negative) against a paid one.
pub struct Commission(pub commissions::Commission, pub Option<Arc<Prefetched>>);

impl Commission {
    pub fn new(model: commissions::Commission) -> Self {
        Self(model, None)
    }
}

/// The relations of a whole page, read up front in one statement each, so that a page's
/// nodes never split their loads over several batches. `None`: not asked for.
#[derive(Default)]
pub struct Prefetched {
    pub affiliates: Option<HashMap<Uuid, affiliates::Affiliate>>,
    pub campaigns: Option<HashMap<Uuid, campaigns::Campaign>>,
    pub conversions: Option<HashMap<Uuid, conversions::Conversion>>,
}

fn prefetched<T: Clone>(map: Option<&HashMap<Uuid, T>>, id: Option<Uuid>) -> Option<Option<T>> {
    map.map(|m| id.and_then(|id| m.get(&id).cloned()))
}

#[Object]
impl Commission {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn status(&self) -> CommissionStatus {
        self.0.status.into()
    }
    #[graphql(name = "type")]
    async fn commission_type(&self) -> CommissionType {
        self.0.commission_type.into()
    }
    /// The credited amount the commission is computed on.
    async fn base_amount(&self) -> Decimal {
        scaled(self.0.base_amount, &self.0.currency)
    }
    /// The percentage applied (PERCENTAGE commissions, once calculated or agreed).
    async fn rate(&self) -> Option<Decimal> {
        self.0.rate.map(|r| r.normalize())
    }
    /// The commission, rounded once to the currency's minor unit; none while PENDING.
    async fn amount(&self) -> Option<Decimal> {
        self.0.amount.map(|a| scaled(a, &self.0.currency))
    }
    /// What the commission pays: its amount once calculated; before, what it is expected
    /// to pay at the rules in force when it was reserved, on its current base. Rates
    /// changed since then apply when it is calculated.
    async fn expected_amount(&self) -> Option<Decimal> {
        self.0.amount.or(self.0.expected_amount).map(|a| scaled(a, &self.0.currency))
    }
    async fn currency(&self) -> &str {
        &self.0.currency
    }
    /// Which rule gave the rate (comision_premium, comision_venta, …).
    async fn rate_source(&self) -> Option<&str> {
        self.0.config.get("fuente_tasa").and_then(Value::as_str)
    }
    async fn affiliate_id(&self) -> ID {
        ID(self.0.affiliate_id.to_string())
    }
    async fn affiliate(&self, ctx: &Context<'_>) -> GqlResult<Option<Affiliate>> {
        let id = Some(self.0.affiliate_id);
        if let Some(found) = prefetched(self.1.as_ref().and_then(|p| p.affiliates.as_ref()), id) {
            return Ok(found.map(Affiliate));
        }
        Ok(ctx.loaders().affiliate_of(id).await?.map(Affiliate))
    }
    async fn campaign_id(&self) -> Option<ID> {
        self.0.campaign_id.map(|id| ID(id.to_string()))
    }
    async fn campaign(&self, ctx: &Context<'_>) -> GqlResult<Option<Campaign>> {
        let id = self.0.campaign_id;
        if let Some(found) = prefetched(self.1.as_ref().and_then(|p| p.campaigns.as_ref()), id) {
            return Ok(found.map(Campaign));
        }
        Ok(ctx.loaders().campaign_of(id).await?.map(Campaign))
    }
    async fn conversion_id(&self) -> Option<ID> {
        self.0.conversion_id.map(|id| ID(id.to_string()))
    }
    async fn conversion(&self, ctx: &Context<'_>) -> GqlResult<Option<Conversion>> {
        let id = self.0.conversion_id;
        if let Some(found) = prefetched(self.1.as_ref().and_then(|p| p.conversions.as_ref()), id) {
            return Ok(found.map(Conversion));
        }
        Ok(ctx.loaders().conversion_of(id).await?.map(Conversion))
    }
    /// The attribution credit this commission was reserved for.
    async fn credit_id(&self) -> Option<ID> {
        self.0.credit_id.map(|id| ID(id.to_string()))
    }
    async fn payout_id(&self) -> Option<ID> {
        self.0.payout_id.map(|id| ID(id.to_string()))
    }
    /// For a clawback: the paid commission it takes back from.
    async fn adjusts_commission_id(&self) -> Option<ID> {
        self.0.adjusts_commission_id.map(|id| ID(id.to_string()))
    }
    async fn is_adjustment(&self) -> bool {
        self.0.adjusts_commission_id.is_some()
    }
    async fn config(&self) -> Json<Value> {
        Json(self.0.config.clone())
    }
    async fn approval_comments(&self) -> Option<&str> {
        self.0.approval_comments.as_deref()
    }
    /// seed: nivel_aprobacion (`manual`, `automatico`, …).
    async fn approval_level(&self) -> Option<&str> {
        self.0.approval_level.as_deref()
    }
    /// seed: politica_aplicada.
    async fn approval_policy(&self) -> Option<&str> {
        self.0.approval_policy.as_deref()
    }
    async fn approval_metadata(&self) -> Json<Value> {
        Json(self.0.approval_metadata.clone())
    }
    async fn rejection_reason(&self) -> Option<&str> {
        self.0.rejection_reason.as_deref()
    }
    async fn cancel_reason(&self) -> Option<&str> {
        self.0.cancel_reason.as_deref()
    }
    async fn calculated_at(&self) -> Option<DateTime<Utc>> {
        self.0.calculated_at
    }
    async fn approved_at(&self) -> Option<DateTime<Utc>> {
        self.0.approved_at
    }
    async fn paid_at(&self) -> Option<DateTime<Utc>> {
        self.0.paid_at
    }
    async fn canceled_at(&self) -> Option<DateTime<Utc>> {
        self.0.canceled_at
    }
    /// Bumped by every change; pass it as `expectedVersion` to approve only what you saw.
    async fn version(&self) -> i32 {
        self.0.version
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// A payment to an affiliate: its approved commissions (clawbacks netted) in one currency.
pub struct Payout(pub payouts::Payout);

#[Object]
impl Payout {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn affiliate_id(&self) -> ID {
        ID(self.0.affiliate_id.to_string())
    }
    async fn affiliate(&self, ctx: &Context<'_>) -> GqlResult<Option<Affiliate>> {
        Ok(ctx.loaders().affiliate_of(Some(self.0.affiliate_id)).await?.map(Affiliate))
    }
    async fn amount(&self) -> Decimal {
        scaled(self.0.amount, &self.0.currency)
    }
    async fn currency(&self) -> &str {
        &self.0.currency
    }
    async fn status(&self) -> PayoutStatus {
        self.0.status.into()
    }
    async fn commission_count(&self) -> i32 {
        self.0.commission_count
    }
    async fn commissions(&self, ctx: &Context<'_>) -> GqlResult<Vec<Commission>> {
        let rows = svc::of_payout(&ctx.state().db, ctx.caller()?, &self.0).await?;
        Ok(rows.into_iter().map(Commission::new).collect())
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn paid_at(&self) -> Option<DateTime<Utc>> {
        self.0.paid_at
    }
    /// For a payout imported as paid before Alpes: the payment's reference in the system
    /// that paid it (a bank transfer's, say). None for a payout made here.
    async fn reference(&self) -> Option<&str> {
        self.0.reference.as_deref()
    }
}

/// What `calculatePendingCommissions` did.
pub struct PendingCalculation(pub svc::PendingCalculation);

/// A commission left PENDING by a bulk calculation, and why.
#[derive(SimpleObject)]
pub struct SkippedCommission {
    pub commission_id: ID,
    pub reason: String,
}

#[Object]
impl PendingCalculation {
    /// Calculated by this call.
    async fn calculated(&self) -> u64 {
        self.0.calculated
    }
    /// Still PENDING under the filter (skipped ones included): call again while it falls.
    async fn remaining(&self) -> u64 {
        self.0.remaining
    }
    /// How many could not be calculated.
    async fn skipped_count(&self) -> u64 {
        self.0.skipped_count
    }
    /// The first 20 of them, each with why.
    async fn skipped(&self) -> Vec<SkippedCommission> {
        self.0
            .skipped
            .iter()
            .map(|(id, reason)| SkippedCommission { commission_id: ID(id.to_string()), reason: reason.clone() })
            .collect()
    }
}

#[derive(InputObject, Default)]
pub struct CommissionFilter {
    pub affiliate_id: Option<ID>,
    pub campaign_id: Option<ID>,
    pub conversion_id: Option<ID>,
    pub payout_id: Option<ID>,
    pub status: Option<CommissionStatus>,
    /// Created at or after.
    pub from: Option<DateTime<Utc>>,
    /// Created before.
    pub to: Option<DateTime<Utc>>,
}

impl CommissionFilter {
    pub fn into_service(self) -> AppResult<svc::CommissionFilter> {
        let id = |value: &Option<ID>, field: &str| value.as_ref().map(|v| parse_id(v, field)).transpose();
        Ok(svc::CommissionFilter {
            affiliate_id: id(&self.affiliate_id, "filter.affiliateId")?,
            campaign_id: id(&self.campaign_id, "filter.campaignId")?,
            conversion_id: id(&self.conversion_id, "filter.conversionId")?,
            payout_id: id(&self.payout_id, "filter.payoutId")?,
            status: self.status.map(Into::into),
            from: self.from,
            to: self.to,
        })
    }
}

/// A commission asked for by a person (seed 004 "Crear Comisión").
#[derive(InputObject)]
pub struct CreateCommissionInput {
    /// Affiliate id or code.
    pub affiliate_id: ID,
    /// Campaign id or code.
    pub campaign_id: Option<ID>,
    /// Conversion id or the id its client sent (`conv_98765`).
    pub conversion_id: Option<ID>,
    /// The base; the conversion's value when not given (net of refunds so far).
    pub base_amount: Option<Decimal>,
    pub currency: Option<String>,
    #[graphql(name = "type")]
    pub commission_type: Option<CommissionType>,
    /// An agreed percentage (or, for FLAT, the amount); the programme's rules decide when not given.
    pub rate: Option<Decimal>,
    /// Free-form settings; `{"objetivo_cumplido": true}` earns the campaign's bonus.
    pub config: Option<Json<Value>>,
}

impl CreateCommissionInput {
    pub fn into_service(self) -> AppResult<svc::NewCommission> {
        Ok(svc::NewCommission {
            affiliate: Some(self.affiliate_id.to_string()),
            campaign: self.campaign_id.map(|c| c.to_string()),
            conversion: self.conversion_id.map(|c| c.to_string()),
            base_amount: self.base_amount,
            currency: self.currency,
            kind: self.commission_type.map(|t| match t {
                CommissionType::Percentage => Kind::Percentage,
                CommissionType::Flat => Kind::Flat,
            }),
            rate: self.rate,
            config: self.config.map(|c| c.0),
        })
    }
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum CommissionGroupBy {
    Affiliate,
    Campaign,
    Status,
}

impl From<CommissionGroupBy> for svc::GroupBy {
    fn from(value: CommissionGroupBy) -> Self {
        match value {
            CommissionGroupBy::Affiliate => svc::GroupBy::Affiliate,
            CommissionGroupBy::Campaign => svc::GroupBy::Campaign,
            CommissionGroupBy::Status => svc::GroupBy::Status,
        }
    }
}

/// One group in one currency.
#[derive(SimpleObject)]
pub struct CommissionReportRow {
    /// Affiliate or campaign code, or the status.
    pub key: String,
    pub name: String,
    pub currency: String,
    pub count: u64,
    /// Calculated, approved and paid amounts (clawbacks included); reserved, canceled
    /// and rejected commissions add nothing.
    pub amount: Decimal,
    pub approved_amount: Decimal,
    pub paid_amount: Decimal,
}

/// Totals of one currency; amounts in different currencies are never added up.
#[derive(SimpleObject)]
pub struct CommissionCurrencyTotal {
    pub currency: String,
    pub count: u64,
    pub amount: Decimal,
    pub approved_amount: Decimal,
    pub paid_amount: Decimal,
}

#[derive(SimpleObject)]
pub struct CommissionReport {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub group_by: CommissionGroupBy,
    pub rows: Vec<CommissionReportRow>,
    pub totals: Vec<CommissionCurrencyTotal>,
}

impl From<svc::Report> for CommissionReport {
    fn from(r: svc::Report) -> Self {
        Self {
            from: r.period.from,
            to: r.period.to,
            group_by: match r.group_by {
                svc::GroupBy::Affiliate => CommissionGroupBy::Affiliate,
                svc::GroupBy::Campaign => CommissionGroupBy::Campaign,
                svc::GroupBy::Status => CommissionGroupBy::Status,
            },
            rows: r
                .rows
                .into_iter()
                .map(|row| CommissionReportRow {
                    key: row.key,
                    name: row.name,
                    currency: row.currency,
                    count: row.count,
                    amount: row.amount,
                    approved_amount: row.approved_amount,
                    paid_amount: row.paid_amount,
                })
                .collect(),
            totals: r
                .totals
                .into_iter()
                .map(|t| CommissionCurrencyTotal {
                    currency: t.currency,
                    count: t.count,
                    amount: t.amount,
                    approved_amount: t.approved_amount,
                    paid_amount: t.paid_amount,
                })
                .collect(),
        }
    }
}
