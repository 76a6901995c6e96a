//! Programme tiers and the bonuses they paid, as the layers above see them.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommissionTier {
    pub id: Uuid,
    pub name: String,
    pub currency: String,
    pub min_sales: Decimal,
    pub rate: Option<Decimal>,
    pub bonus: Option<Decimal>,
}

impl From<entity::commission_tiers::Model> for CommissionTier {
    fn from(t: entity::commission_tiers::Model) -> Self {
        Self { id: t.id, name: t.name, currency: t.currency, min_sales: t.min_sales, rate: t.rate, bonus: t.bonus }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TierAward {
    pub affiliate_id: Uuid,
    /// `YYYY-MM` (UTC).
    pub period: String,
    pub tier_id: Uuid,
    pub sales: Decimal,
    pub amount: Decimal,
    pub currency: String,
    pub commission_id: Uuid,
    pub created_at: DateTime<Utc>,
}

impl From<entity::tier_awards::Model> for TierAward {
    fn from(a: entity::tier_awards::Model) -> Self {
        Self {
            affiliate_id: a.affiliate_id,
            period: a.period,
            tier_id: a.tier_id,
            sales: a.sales,
            amount: a.amount,
            currency: a.currency,
            commission_id: a.commission_id,
            created_at: a.created_at,
        }
    }
}
