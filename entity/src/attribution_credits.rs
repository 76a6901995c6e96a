//! `attribution_credits` table. Credit given to one touchpoint of a journey.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

pub use super::campaigns::AttributionModel;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "attribution_credits")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub journey_id: Uuid,
    pub conversion_id: Uuid,
    pub interaction_id: Option<Uuid>,
    pub position: i32,
    pub campaign_id: Option<Uuid>,
    pub affiliate_id: Option<Uuid>,
    #[sea_orm(column_type = "String(StringLen::N(128))")]
    pub channel: Option<String>,
    pub model: AttributionModel,
    #[sea_orm(column_type = "Decimal(Some((20, 12)))")]
    pub weight: Decimal,
    #[sea_orm(column_type = "Decimal(Some((20, 4)))")]
    pub amount: Decimal,
    #[sea_orm(column_type = "String(StringLen::N(3))")]
    pub currency: String,
    pub is_current: bool,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::journeys::Entity",
        from = "Column::JourneyId",
        to = "super::journeys::Column::Id",
        on_delete = "Cascade"
    )]
    Journeys,
    #[sea_orm(
        belongs_to = "super::conversions::Entity",
        from = "Column::ConversionId",
        to = "super::conversions::Column::Id",
        on_delete = "Cascade"
    )]
    Conversions,
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
    #[sea_orm(has_many = "super::commissions::Entity")]
    Commissions,
}

impl Related<super::journeys::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Journeys.def()
    }
}

impl Related<super::conversions::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Conversions.def()
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

impl Related<super::commissions::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Commissions.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
