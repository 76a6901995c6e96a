//! `campaigns` table. Marketing campaigns with their commission and attribution settings.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// Values of `campaigns.commission_type`, `commissions.commission_type`, stored as UPPER_SNAKE strings (`String(32)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CommissionType {
    #[sea_orm(string_value = "PERCENTAGE")]
    Percentage,
    #[sea_orm(string_value = "FLAT")]
    Flat,
}

/// Values of `campaigns.attribution_model`, `journeys.model`, `attribution_credits.model`, stored as UPPER_SNAKE strings (`String(32)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AttributionModel {
    #[sea_orm(string_value = "LAST_CLICK")]
    LastClick,
    #[sea_orm(string_value = "FIRST_CLICK")]
    FirstClick,
    #[sea_orm(string_value = "LINEAR")]
    Linear,
    #[sea_orm(string_value = "TIME_DECAY")]
    TimeDecay,
    #[sea_orm(string_value = "POSITION_BASED")]
    PositionBased,
    #[sea_orm(string_value = "MARKOV")]
    Markov,
}

/// Values of `campaigns.status`, stored as UPPER_SNAKE strings (`String(32)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CampaignStatus {
    #[sea_orm(string_value = "DRAFT")]
    Draft,
    #[sea_orm(string_value = "ACTIVE")]
    Active,
    #[sea_orm(string_value = "PAUSED")]
    Paused,
    #[sea_orm(string_value = "ENDED")]
    Ended,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "campaigns")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(column_type = "String(StringLen::N(64))", unique)]
    pub code: String,
    #[sea_orm(column_type = "String(StringLen::N(200))")]
    pub name: String,
    #[sea_orm(column_type = "Text")]
    pub description: Option<String>,
    pub starts_at: DateTimeUtc,
    pub ends_at: Option<DateTimeUtc>,
    #[sea_orm(column_type = "Decimal(Some((20, 4)))")]
    pub budget: Option<Decimal>,
    #[sea_orm(column_type = "String(StringLen::N(3))")]
    pub currency: String,
    #[sea_orm(column_type = "String(StringLen::N(40))")]
    pub campaign_type: String,
    #[sea_orm(column_type = "JsonBinary")]
    pub channels: Json,
    #[sea_orm(column_type = "JsonBinary")]
    pub targeting: Json,
    /// Hosts (with their subdomains) the campaign's links may point to; `None`: not set.
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub allowed_domains: Option<Json>,
    #[sea_orm(column_type = "Decimal(Some((9, 4)))")]
    pub conversion_rate: Option<Decimal>,
    #[sea_orm(column_type = "Decimal(Some((9, 4)))")]
    pub sale_rate: Option<Decimal>,
    #[sea_orm(column_type = "Decimal(Some((9, 4)))")]
    pub bonus_targets: Option<Decimal>,
    pub commission_type: CommissionType,
    #[sea_orm(column_type = "Decimal(Some((20, 4)))")]
    pub flat_amount: Option<Decimal>,
    pub attribution_model: AttributionModel,
    pub lookback_days: i32,
    pub status: CampaignStatus,
    /// Percentage (0–100) renewals earn; `None`: the first sale's rate.
    #[sea_orm(column_type = "Decimal(Some((9, 4)))")]
    pub recurring_rate: Option<Decimal>,
    /// For how many months after the first sale renewals earn; `None`: 12.
    pub recurring_months: Option<i32>,
    /// Renewals earn for the customer's lifetime (months ignored).
    pub recurring_lifetime: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::tracking_links::Entity")]
    TrackingLinks,
    #[sea_orm(has_many = "super::interactions::Entity")]
    Interactions,
    #[sea_orm(has_many = "super::orders::Entity")]
    Orders,
    #[sea_orm(has_many = "super::conversions::Entity")]
    Conversions,
    #[sea_orm(has_many = "super::attribution_credits::Entity")]
    AttributionCredits,
    #[sea_orm(has_many = "super::commissions::Entity")]
    Commissions,
}

impl Related<super::tracking_links::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::TrackingLinks.def()
    }
}

impl Related<super::interactions::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Interactions.def()
    }
}

impl Related<super::orders::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Orders.def()
    }
}

impl Related<super::conversions::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Conversions.def()
    }
}

impl Related<super::attribution_credits::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::AttributionCredits.def()
    }
}

impl Related<super::commissions::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Commissions.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
