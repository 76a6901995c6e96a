//! Campaigns: what affiliates promote, with their commission and attribution rules.

use chrono::{DateTime, Utc};
pub use entity::campaigns::{AttributionModel, CampaignStatus, CommissionType};
use rust_decimal::Decimal;
use serde_json::Value;
use uuid::Uuid;

use crate::domain::subscription::RecurringRule;

/// A campaign row's rule for renewals.
pub fn recurring_rule(row: &entity::campaigns::Model) -> RecurringRule {
    RecurringRule {
        rate: row.recurring_rate,
        months: row.recurring_months.and_then(|m| u32::try_from(m).ok()),
        lifetime: row.recurring_lifetime,
    }
}

/// A campaign as the layers above see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Campaign {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    pub description: Option<String>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: Option<DateTime<Utc>>,
    pub budget: Option<Decimal>,
    pub currency: String,
    pub campaign_type: String,
    pub channels: Value,
    /// Hosts (with their subdomains) its links may point to; empty until an admin sets them.
    pub allowed_domains: Vec<String>,
    pub targeting: Value,
    pub conversion_rate: Option<Decimal>,
    pub sale_rate: Option<Decimal>,
    pub bonus_targets: Option<Decimal>,
    pub commission_type: CommissionType,
    pub flat_amount: Option<Decimal>,
    pub attribution_model: AttributionModel,
    pub lookback_days: i32,
    /// How renewals of a subscription sold through it earn.
    pub recurring: RecurringRule,
    pub status: CampaignStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<entity::campaigns::Model> for Campaign {
    fn from(row: entity::campaigns::Model) -> Self {
        let recurring = recurring_rule(&row);
        Self {
            id: row.id,
            code: row.code,
            name: row.name,
            description: row.description,
            starts_at: row.starts_at,
            ends_at: row.ends_at,
            budget: row.budget,
            currency: row.currency,
            campaign_type: row.campaign_type,
            channels: row.channels,
            allowed_domains: row.allowed_domains.and_then(|v| serde_json::from_value(v).ok()).unwrap_or_default(),
            targeting: row.targeting,
            conversion_rate: row.conversion_rate,
            sale_rate: row.sale_rate,
            bonus_targets: row.bonus_targets,
            commission_type: row.commission_type,
            flat_amount: row.flat_amount,
            attribution_model: row.attribution_model,
            lookback_days: row.lookback_days,
            recurring,
            status: row.status,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}
