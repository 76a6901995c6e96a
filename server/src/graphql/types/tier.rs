//! Programme tiers, an affiliate's progress through them, and the bonuses they paid.

use async_graphql::{Context, InputObject, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use super::affiliate::Affiliate;
use crate::{
    domain::{money::scaled, tier},
    graphql::{loaders::Loaders, GqlResult},
    model::tiers as model,
    service::tier_service as svc,
};

/// A tier: once an affiliate's credited sales in a calendar month (UTC, in `currency`)
/// reach `minSales`, its sales earn `rate` (when higher than their own rule); a month that
/// ends at or above it pays `bonus`.
#[derive(SimpleObject)]
pub struct CommissionTier {
    pub id: ID,
    pub name: String,
    pub currency: String,
    pub min_sales: Decimal,
    /// Percentage (0–100) of the sale once reached.
    pub rate: Option<Decimal>,
    /// Paid once for a month that ends at or above the threshold.
    pub bonus: Option<Decimal>,
}

impl From<model::CommissionTier> for CommissionTier {
    fn from(t: model::CommissionTier) -> Self {
        Self {
            id: ID(t.id.to_string()),
            min_sales: scaled(t.min_sales, &t.currency),
            rate: t.rate.map(|r| r.normalize()),
            bonus: t.bonus.map(|b| scaled(b, &t.currency)),
            name: t.name,
            currency: t.currency,
        }
    }
}

#[derive(InputObject)]
pub struct CommissionTierInput {
    pub name: String,
    /// ISO 4217 code: sales in it count, the bonus is paid in it.
    pub currency: String,
    pub min_sales: Decimal,
    pub rate: Option<Decimal>,
    pub bonus: Option<Decimal>,
}

impl From<CommissionTierInput> for svc::TierInput {
    fn from(i: CommissionTierInput) -> Self {
        Self { name: i.name, currency: i.currency, min_sales: i.min_sales, rate: i.rate, bonus: i.bonus }
    }
}

/// Where an affiliate's month stands against the tiers of one currency.
#[derive(SimpleObject)]
pub struct TierProgress {
    pub currency: String,
    /// The month (`YYYY-MM`, UTC).
    pub period: String,
    /// Credited sales of the month so far.
    pub sales: Decimal,
    /// The highest tier reached.
    pub tier: Option<CommissionTier>,
    /// The next one up.
    pub next_tier: Option<CommissionTier>,
    /// Sales still to make to reach the next tier.
    pub to_next: Option<Decimal>,
}

impl From<svc::Progress> for TierProgress {
    fn from(p: svc::Progress) -> Self {
        Self {
            period: tier::month_name(&p.month),
            sales: scaled(p.sales, &p.currency),
            to_next: p.next.as_ref().map(|n| scaled(n.min_sales - p.sales, &p.currency)),
            tier: p.tier.map(Into::into),
            next_tier: p.next.map(Into::into),
            currency: p.currency,
        }
    }
}

/// A tier's bonus paid to an affiliate for a month.
pub struct TierAward(pub model::TierAward);

#[Object]
impl TierAward {
    /// The month (`YYYY-MM`, UTC).
    async fn period(&self) -> &str {
        &self.0.period
    }
    async fn affiliate(&self, ctx: &Context<'_>) -> GqlResult<Option<Affiliate>> {
        Ok(ctx.loaders().affiliate_of(Some(self.0.affiliate_id)).await?.map(Affiliate))
    }
    async fn tier_id(&self) -> ID {
        ID(self.0.tier_id.to_string())
    }
    /// The month's credited sales.
    async fn sales(&self) -> Decimal {
        scaled(self.0.sales, &self.0.currency)
    }
    async fn amount(&self) -> Decimal {
        scaled(self.0.amount, &self.0.currency)
    }
    async fn currency(&self) -> &str {
        &self.0.currency
    }
    /// The bonus's commission (it follows the usual lifecycle).
    async fn commission_id(&self) -> ID {
        ID(self.0.commission_id.to_string())
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}
