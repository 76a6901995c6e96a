//! `outbox_events` table. Transactional outbox of domain events.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "outbox_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub seq: i64,
    #[sea_orm(unique)]
    pub id: Uuid,
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub topic: String,
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub event_type: String,
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub aggregate_type: String,
    #[sea_orm(column_type = "String(StringLen::N(128))")]
    pub aggregate_id: String,
    pub affiliate_id: Option<Uuid>,
    #[sea_orm(column_type = "JsonBinary")]
    pub payload: Json,
    pub created_at: DateTimeUtc,
    pub published_at: Option<DateTimeUtc>,
    pub nats_published_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
