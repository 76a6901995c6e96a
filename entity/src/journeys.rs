//! `journeys` table. Attribution journey of one conversion.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

pub use super::campaigns::AttributionModel;

/// Values of `journeys.status`, stored as UPPER_SNAKE strings (`String(32)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JourneyStatus {
    #[sea_orm(string_value = "ATTRIBUTED")]
    Attributed,
    #[sea_orm(string_value = "UNATTRIBUTED")]
    Unattributed,
    #[sea_orm(string_value = "HELD_FOR_REVIEW")]
    HeldForReview,
    #[sea_orm(string_value = "REVERTED_FRAUD")]
    RevertedFraud,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "journeys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub conversion_id: Uuid,
    #[sea_orm(column_type = "String(StringLen::N(128))")]
    pub user_id: Option<String>,
    #[sea_orm(column_type = "String(StringLen::N(128))")]
    pub anonymous_id: Option<String>,
    pub model: AttributionModel,
    pub lookback_days: i32,
    pub status: JourneyStatus,
    #[sea_orm(column_type = "JsonBinary")]
    pub touchpoints: Json,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub reverted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::conversions::Entity",
        from = "Column::ConversionId",
        to = "super::conversions::Column::Id",
        on_delete = "Restrict"
    )]
    Conversions,
    #[sea_orm(has_many = "super::attribution_credits::Entity")]
    AttributionCredits,
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

impl ActiveModelBehavior for ActiveModel {}
