//! The dashboard's KPIs, series and breakdowns.

use async_graphql::{Context, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use crate::{
    graphql::{ContextExt, GqlResult},
    service::dashboard_service as svc,
};

/// Leads and sign-ups, and how many of those customers later bought.
#[derive(SimpleObject)]
pub struct LeadFunnel {
    /// Leads and sign-ups recorded in the period.
    pub leads: u64,
    /// Of those, the ones whose customer later bought (same email or user id, within the
    /// lead's campaign window).
    pub sales: u64,
    /// Sales per 100 leads; null without leads.
    pub rate: Option<f64>,
}

pub struct Dashboard(pub svc::Dashboard);

#[Object]
impl Dashboard {
    /// Start of the period: midnight (UTC) of its first day.
    async fn from(&self) -> DateTime<Utc> {
        self.0.period.from
    }
    /// End of the period: midnight (UTC) after its last day.
    async fn to(&self) -> DateTime<Utc> {
        self.0.period.to
    }
    /// Leads and sign-ups of the period and how many of them later bought (lead → sale).
    async fn leads(&self, ctx: &Context<'_>) -> GqlResult<LeadFunnel> {
        let caller = ctx.caller()?;
        let state = ctx.state();
        let (leads, sales) = state.bounded(svc::lead_funnel(&state.db, caller, self.0.period)).await?;
        let rate = (leads > 0).then(|| ((sales as f64 / leads as f64) * 10_000.0).round() / 100.0);
        Ok(LeadFunnel { leads, sales, rate })
    }
    /// The currency every money figure here is in.
    async fn currency(&self) -> &str {
        &self.0.currency
    }
    /// Currencies with conversions in the period, most revenue first.
    async fn currencies(&self) -> &[String] {
        &self.0.currencies
    }
    async fn clicks(&self) -> u64 {
        self.0.clicks
    }
    /// Conversions that count (not held for review, reverted, rejected or refunded), in any currency.
    async fn conversions(&self) -> u64 {
        self.0.conversions
    }
    /// Value of those conversions in `currency`.
    async fn revenue(&self) -> Decimal {
        self.0.revenue
    }
    /// Conversions per 100 clicks; null without clicks.
    async fn conversion_rate(&self) -> Option<f64> {
        self.0.conversion_rate.map(|r| (r * 100.0).round() / 100.0)
    }
    /// Commissions created in the period, in `currency`, by state.
    async fn commissions(&self) -> Vec<CommissionTotal> {
        self.0
            .commissions
            .iter()
            .map(|b| CommissionTotal {
                status: format!("{:?}", b.status).to_ascii_uppercase(),
                count: b.count,
                amount: b.amount,
            })
            .collect()
    }
    /// One point per UTC day.
    async fn series(&self) -> Vec<DashboardDay> {
        self.0
            .series
            .iter()
            .map(|p| DashboardDay {
                day: p.day.to_string(),
                clicks: p.clicks,
                conversions: p.conversions,
                revenue: p.revenue,
            })
            .collect()
    }
    /// Top campaigns (at most 10).
    async fn by_campaign(&self) -> Vec<DashboardRow> {
        rows(&self.0.by_campaign)
    }
    /// Top channels (at most 10).
    async fn by_channel(&self) -> Vec<DashboardRow> {
        rows(&self.0.by_channel)
    }
    /// Top affiliates (at most 10).
    async fn by_affiliate(&self) -> Vec<DashboardRow> {
        rows(&self.0.by_affiliate)
    }
}

fn rows(rows: &[svc::BreakdownRow]) -> Vec<DashboardRow> {
    rows.iter()
        .map(|r| DashboardRow {
            key: r.key.clone(),
            name: r.name.clone(),
            id: r.id.map(|id| ID(id.to_string())),
            clicks: r.clicks,
            conversions: r.conversions,
            revenue: r.revenue,
        })
        .collect()
}

#[derive(SimpleObject)]
pub struct CommissionTotal {
    /// PENDING, CALCULATED, APPROVED, PAID, CANCELED or REJECTED.
    pub status: String,
    pub count: u64,
    /// What they pay: calculated amounts, and for those not yet calculated what they are
    /// expected to pay (never the sale amounts they are based on).
    pub amount: Decimal,
}

#[derive(SimpleObject)]
pub struct DashboardDay {
    /// `YYYY-MM-DD` (UTC).
    pub day: String,
    pub clicks: u64,
    pub conversions: u64,
    pub revenue: Decimal,
}

#[derive(SimpleObject)]
pub struct DashboardRow {
    /// Campaign or affiliate code, or the channel; `(none)` when not known.
    pub key: String,
    pub name: String,
    /// The campaign's or affiliate's id.
    pub id: Option<ID>,
    pub clicks: u64,
    pub conversions: u64,
    pub revenue: Decimal,
}

/// Conversion metrics of a period.
pub struct ConversionMetrics(pub svc::ConversionMetrics);

#[Object]
impl ConversionMetrics {
    async fn from(&self) -> chrono::DateTime<chrono::Utc> {
        self.0.period.from
    }
    async fn to(&self) -> chrono::DateTime<chrono::Utc> {
        self.0.period.to
    }
    async fn channel(&self) -> Option<&str> {
        self.0.channel.as_deref()
    }
    async fn clicks(&self) -> u64 {
        self.0.clicks
    }
    /// Conversions that count (not held for review, reverted, rejected or refunded).
    async fn conversions(&self) -> u64 {
        self.0.conversions
    }
    /// Conversions per 100 clicks; null without clicks.
    async fn conversion_rate(&self) -> Option<f64> {
        self.0.conversion_rate
    }
    /// Money per currency (never summed across currencies).
    async fn by_currency(&self) -> Vec<CurrencyTotal> {
        self.0
            .by_currency
            .iter()
            .map(|c| CurrencyTotal {
                currency: c.currency.clone(),
                conversions: c.conversions,
                value: c.value,
                average: c.average,
            })
            .collect()
    }
    /// Every conversion of the period by status.
    async fn by_status(&self) -> Vec<StatusCount> {
        self.0.by_status.iter().map(|(status, count)| StatusCount { status: (*status).into(), count: *count }).collect()
    }
}

#[derive(SimpleObject)]
pub struct CurrencyTotal {
    pub currency: String,
    pub conversions: u64,
    pub value: rust_decimal::Decimal,
    /// Value per conversion, rounded half-even to the minor unit.
    pub average: rust_decimal::Decimal,
}

#[derive(SimpleObject)]
pub struct StatusCount {
    pub status: super::enums::ConversionStatus,
    pub count: u64,
}
