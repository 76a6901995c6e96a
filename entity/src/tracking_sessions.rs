//! `tracking_sessions` table. Browser tracking sessions (seed 001 `tracking_session`).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "tracking_sessions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(column_type = "String(StringLen::N(128))")]
    pub anonymous_id: Option<String>,
    #[sea_orm(column_type = "String(StringLen::N(128))")]
    pub user_id: Option<String>,
    #[sea_orm(column_type = "String(StringLen::N(255))")]
    pub utm_source: Option<String>,
    #[sea_orm(column_type = "String(StringLen::N(255))")]
    pub utm_medium: Option<String>,
    #[sea_orm(column_type = "String(StringLen::N(255))")]
    pub utm_campaign: Option<String>,
    #[sea_orm(column_type = "String(StringLen::N(255))")]
    pub utm_term: Option<String>,
    #[sea_orm(column_type = "String(StringLen::N(255))")]
    pub utm_content: Option<String>,
    #[sea_orm(column_type = "String(StringLen::N(255))")]
    pub gclid: Option<String>,
    #[sea_orm(column_type = "String(StringLen::N(255))")]
    pub fbclid: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub landing_path: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub referrer: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub user_agent: Option<String>,
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub ip_hash: Option<String>,
    pub created_at: DateTimeUtc,
    pub last_seen_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::interactions::Entity")]
    Interactions,
    #[sea_orm(has_many = "super::orders::Entity")]
    Orders,
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

impl ActiveModelBehavior for ActiveModel {}
