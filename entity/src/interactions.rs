//! `interactions` table. Tracked interactions (touchpoints).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// Values of `interactions.kind`, stored as UPPER_SNAKE strings (`String(32)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum InteractionKind {
    #[sea_orm(string_value = "IMPRESSION")]
    Impression,
    #[sea_orm(string_value = "CLICK")]
    Click,
    #[sea_orm(string_value = "VIEW")]
    View,
    #[sea_orm(string_value = "LEAD")]
    Lead,
    #[sea_orm(string_value = "PURCHASE")]
    Purchase,
    #[sea_orm(string_value = "CONVERSION")]
    Conversion,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "interactions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(column_type = "String(StringLen::N(128))", unique)]
    pub external_id: String,
    pub kind: InteractionKind,
    pub occurred_at: DateTimeUtc,
    pub received_at: DateTimeUtc,
    pub session_id: Option<Uuid>,
    pub tracking_link_id: Option<Uuid>,
    #[sea_orm(column_type = "String(StringLen::N(128))")]
    pub user_id: Option<String>,
    #[sea_orm(column_type = "String(StringLen::N(128))")]
    pub anonymous_id: Option<String>,
    pub campaign_id: Option<Uuid>,
    pub affiliate_id: Option<Uuid>,
    #[sea_orm(column_type = "String(StringLen::N(128))")]
    pub campaign_ref: Option<String>,
    #[sea_orm(column_type = "String(StringLen::N(128))")]
    pub affiliate_ref: Option<String>,
    #[sea_orm(column_type = "String(StringLen::N(128))")]
    pub source: Option<String>,
    #[sea_orm(column_type = "String(StringLen::N(128))")]
    pub medium: Option<String>,
    #[sea_orm(column_type = "String(StringLen::N(128))")]
    pub channel: Option<String>,
    #[sea_orm(column_type = "String(StringLen::N(255))")]
    pub gclid: Option<String>,
    #[sea_orm(column_type = "String(StringLen::N(255))")]
    pub fbclid: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub referrer: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub user_agent: Option<String>,
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub ip_hash: Option<String>,
    #[sea_orm(column_type = "Decimal(Some((20, 4)))")]
    pub value: Option<Decimal>,
    #[sea_orm(column_type = "String(StringLen::N(3))")]
    pub currency: Option<String>,
    #[sea_orm(column_type = "JsonBinary")]
    pub flags: Json,
    #[sea_orm(column_type = "JsonBinary")]
    pub payload: Json,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::tracking_sessions::Entity",
        from = "Column::SessionId",
        to = "super::tracking_sessions::Column::Id",
        on_delete = "SetNull"
    )]
    TrackingSessions,
    #[sea_orm(
        belongs_to = "super::tracking_links::Entity",
        from = "Column::TrackingLinkId",
        to = "super::tracking_links::Column::Id",
        on_delete = "SetNull"
    )]
    TrackingLinks,
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
    #[sea_orm(has_many = "super::conversions::Entity")]
    Conversions,
    #[sea_orm(has_many = "super::attribution_credits::Entity")]
    AttributionCredits,
}

impl Related<super::tracking_sessions::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::TrackingSessions.def()
    }
}

impl Related<super::tracking_links::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::TrackingLinks.def()
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
