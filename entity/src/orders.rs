//! `orders` table. Checkout orders (seed 001 `ORDERS`; column names kept).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// Values of `orders.status`, stored as UPPER_SNAKE strings (`String(32)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderStatus {
    #[sea_orm(string_value = "PENDING")]
    Pending,
    #[sea_orm(string_value = "PAID")]
    Paid,
    #[sea_orm(string_value = "PARTIALLY_REFUNDED")]
    PartiallyRefunded,
    #[sea_orm(string_value = "REFUNDED")]
    Refunded,
    #[sea_orm(string_value = "EXPIRED")]
    Expired,
    #[sea_orm(string_value = "FAILED")]
    Failed,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "orders")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub event_id: Option<Uuid>,
    pub click_id: Option<Uuid>,
    #[sea_orm(column_type = "String(StringLen::N(255))", unique)]
    pub stripe_session_id: String,
    #[sea_orm(column_type = "String(StringLen::N(255))")]
    pub payment_intent_id: Option<String>,
    #[sea_orm(column_type = "Decimal(Some((20, 4)))")]
    pub amount: Decimal,
    #[sea_orm(column_type = "Decimal(Some((20, 4)))")]
    pub refunded_amount: Decimal,
    #[sea_orm(column_type = "String(StringLen::N(3))")]
    pub currency: String,
    pub status: OrderStatus,
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub customer_email_hash: Option<String>,
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub customer_phone_hash: Option<String>,
    #[sea_orm(column_type = "String(StringLen::N(255))")]
    pub gclid: Option<String>,
    #[sea_orm(column_type = "String(StringLen::N(255))")]
    pub fbclid: Option<String>,
    #[sea_orm(column_type = "String(StringLen::N(255))")]
    pub campaign: Option<String>,
    #[sea_orm(column_type = "String(StringLen::N(255))")]
    pub source: Option<String>,
    #[sea_orm(column_type = "String(StringLen::N(255))")]
    pub product_id: Option<String>,
    pub campaign_id: Option<Uuid>,
    pub affiliate_id: Option<Uuid>,
    #[sea_orm(column_type = "JsonBinary")]
    pub metadata: Json,
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub pipedrive_deal_id: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// The affiliate coupon the checkout used, if any.
    pub coupon_id: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::tracking_sessions::Entity",
        from = "Column::EventId",
        to = "super::tracking_sessions::Column::Id",
        on_delete = "SetNull"
    )]
    TrackingSessions,
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
    #[sea_orm(has_one = "super::conversions::Entity")]
    Conversions,
    #[sea_orm(has_many = "super::integration_deliveries::Entity")]
    IntegrationDeliveries,
}

impl Related<super::tracking_sessions::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::TrackingSessions.def()
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

impl Related<super::integration_deliveries::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::IntegrationDeliveries.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
