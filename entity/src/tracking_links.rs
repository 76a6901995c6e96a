//! `tracking_links` table. Short tracking links of an affiliate for a campaign.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "tracking_links")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(column_type = "String(StringLen::N(64))", unique)]
    pub code: String,
    pub affiliate_id: Uuid,
    pub campaign_id: Uuid,
    #[sea_orm(column_type = "Text")]
    pub destination_url: String,
    pub created_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::affiliates::Entity",
        from = "Column::AffiliateId",
        to = "super::affiliates::Column::Id",
        on_delete = "Restrict"
    )]
    Affiliates,
    #[sea_orm(
        belongs_to = "super::campaigns::Entity",
        from = "Column::CampaignId",
        to = "super::campaigns::Column::Id",
        on_delete = "Restrict"
    )]
    Campaigns,
    #[sea_orm(has_many = "super::interactions::Entity")]
    Interactions,
}

impl Related<super::affiliates::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Affiliates.def()
    }
}

impl Related<super::campaigns::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Campaigns.def()
    }
}

impl Related<super::interactions::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Interactions.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
