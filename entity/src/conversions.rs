//! `conversions` table. Registered conversions (sales, leads, ...).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// Values of `conversions.conversion_type`, stored as UPPER_SNAKE strings (`String(32)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ConversionType {
    #[sea_orm(string_value = "SALE")]
    Sale,
    #[sea_orm(string_value = "LEAD")]
    Lead,
    #[sea_orm(string_value = "SIGNUP")]
    Signup,
    #[sea_orm(string_value = "OTHER")]
    Other,
}

/// Values of `conversions.status`, stored as UPPER_SNAKE strings (`String(32)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ConversionStatus {
    #[sea_orm(string_value = "REGISTERED")]
    Registered,
    #[sea_orm(string_value = "ATTRIBUTED")]
    Attributed,
    #[sea_orm(string_value = "UNATTRIBUTED")]
    Unattributed,
    #[sea_orm(string_value = "HELD_FOR_REVIEW")]
    HeldForReview,
    #[sea_orm(string_value = "REVERTED")]
    Reverted,
    #[sea_orm(string_value = "REFUNDED")]
    Refunded,
    #[sea_orm(string_value = "REJECTED")]
    Rejected,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "conversions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(column_type = "String(StringLen::N(128))", unique)]
    pub external_id: Option<String>,
    #[sea_orm(unique)]
    pub order_id: Option<Uuid>,
    pub interaction_id: Option<Uuid>,
    pub conversion_type: ConversionType,
    #[sea_orm(column_type = "Decimal(Some((20, 4)))")]
    pub value: Decimal,
    #[sea_orm(column_type = "String(StringLen::N(3))")]
    pub currency: String,
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub channel: Option<String>,
    pub campaign_id: Option<Uuid>,
    pub affiliate_id: Option<Uuid>,
    #[sea_orm(column_type = "String(StringLen::N(128))")]
    pub user_id: Option<String>,
    #[sea_orm(column_type = "String(StringLen::N(128))")]
    pub anonymous_id: Option<String>,
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub customer_email_hash: Option<String>,
    #[sea_orm(column_type = "JsonBinary")]
    pub customer: Json,
    #[sea_orm(column_type = "JsonBinary")]
    pub products: Json,
    #[sea_orm(column_type = "JsonBinary")]
    pub metadata: Json,
    pub status: ConversionStatus,
    pub fraud_score: i32,
    #[sea_orm(column_type = "JsonBinary")]
    pub fraud_signals: Json,
    pub occurred_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::orders::Entity",
        from = "Column::OrderId",
        to = "super::orders::Column::Id",
        on_delete = "SetNull"
    )]
    Orders,
    #[sea_orm(
        belongs_to = "super::interactions::Entity",
        from = "Column::InteractionId",
        to = "super::interactions::Column::Id",
        on_delete = "SetNull"
    )]
    Interactions,
    #[sea_orm(
        belongs_to = "super::campaigns::Entity",
        from = "Column::CampaignId",
        to = "super::campaigns::Column::Id",
        on_delete = "SetNull"
    )]
    Campaigns,
    #[sea_orm(
        belongs_to = "super::affiliates::Entity",
        from = "Column::AffiliateId",
        to = "super::affiliates::Column::Id",
        on_delete = "SetNull"
    )]
    Affiliates,
    #[sea_orm(has_one = "super::journeys::Entity")]
    Journeys,
    #[sea_orm(has_many = "super::attribution_credits::Entity")]
    AttributionCredits,
    #[sea_orm(has_many = "super::commissions::Entity")]
    Commissions,
}

impl Related<super::orders::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Orders.def()
    }
}

impl Related<super::interactions::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Interactions.def()
    }
}

impl Related<super::campaigns::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Campaigns.def()
    }
}

impl Related<super::affiliates::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Affiliates.def()
    }
}

impl Related<super::journeys::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Journeys.def()
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
