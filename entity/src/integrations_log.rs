//! `integrations_log` table. Log of calls to external integrations (seed 001 `INTEGRATIONS_LOG`; names kept).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "integrations_log")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub delivery_id: Option<Uuid>,
    #[sea_orm(column_type = "String(StringLen::N(32))")]
    pub integration: String,
    #[sea_orm(column_type = "String(StringLen::N(255))")]
    pub reference_id: String,
    #[sea_orm(column_type = "String(StringLen::N(32))")]
    pub status: String,
    pub http_status: Option<i32>,
    pub latency_ms: Option<i32>,
    #[sea_orm(column_type = "JsonBinary")]
    pub request_payload: Json,
    #[sea_orm(column_type = "JsonBinary")]
    pub response_payload: Option<Json>,
    #[sea_orm(column_type = "Text")]
    pub error_message: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::integration_deliveries::Entity",
        from = "Column::DeliveryId",
        to = "super::integration_deliveries::Column::Id",
        on_delete = "SetNull"
    )]
    IntegrationDeliveries,
}

impl Related<super::integration_deliveries::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::IntegrationDeliveries.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
