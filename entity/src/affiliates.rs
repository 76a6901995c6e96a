//! `affiliates` table. Partner (affiliate) accounts.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// Values of `affiliates.tier`, stored as UPPER_SNAKE strings (`String(32)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AffiliateTier {
    #[sea_orm(string_value = "STANDARD")]
    Standard,
    #[sea_orm(string_value = "PREMIUM")]
    Premium,
}

/// Values of `affiliates.status`, stored as UPPER_SNAKE strings (`String(32)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AffiliateStatus {
    #[sea_orm(string_value = "ACTIVE")]
    Active,
    #[sea_orm(string_value = "SUSPENDED")]
    Suspended,
    #[sea_orm(string_value = "DELETED")]
    Deleted,
    /// Asked to join (the public application page); not earning, cannot sign in.
    #[sea_orm(string_value = "APPLIED")]
    Applied,
    /// Application turned down; kept so the same person is recognised.
    #[sea_orm(string_value = "REJECTED")]
    Rejected,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "affiliates")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(column_type = "String(StringLen::N(64))", unique)]
    pub code: String,
    #[sea_orm(column_type = "String(StringLen::N(200))")]
    pub name: String,
    #[sea_orm(column_type = "String(StringLen::N(320))", unique)]
    pub email: String,
    #[sea_orm(column_type = "String(StringLen::N(40))")]
    pub phone: Option<String>,
    #[sea_orm(column_type = "String(StringLen::N(40))")]
    pub document_type: Option<String>,
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub document_number: Option<String>,
    pub tier: AffiliateTier,
    #[sea_orm(column_type = "String(StringLen::N(120))")]
    pub bank_name: Option<String>,
    #[sea_orm(column_type = "String(StringLen::N(40))")]
    pub bank_account_type: Option<String>,
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub bank_account_number: Option<String>,
    #[sea_orm(column_type = "Decimal(Some((9, 4)))")]
    pub base_rate: Decimal,
    #[sea_orm(column_type = "Decimal(Some((9, 4)))")]
    pub premium_rate: Option<Decimal>,
    #[sea_orm(column_type = "Decimal(Some((20, 4)))")]
    pub minimum_payout: Decimal,
    #[sea_orm(column_type = "String(StringLen::N(3))")]
    pub payout_currency: String,
    pub status: AffiliateStatus,
    pub deleted_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::users::Entity")]
    Users,
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
    #[sea_orm(has_many = "super::payouts::Entity")]
    Payouts,
    #[sea_orm(has_many = "super::commissions::Entity")]
    Commissions,
}

impl Related<super::users::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Users.def()
    }
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

impl Related<super::payouts::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Payouts.def()
    }
}

impl Related<super::commissions::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Commissions.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
