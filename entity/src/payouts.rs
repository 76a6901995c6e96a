//! `payouts` table. Payouts to affiliates (groups paid commissions).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// Values of `payouts.status`, stored as UPPER_SNAKE strings (`String(32)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PayoutStatus {
    #[sea_orm(string_value = "PENDING")]
    Pending,
    #[sea_orm(string_value = "PAID")]
    Paid,
    #[sea_orm(string_value = "CANCELED")]
    Canceled,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "payouts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub affiliate_id: Uuid,
    #[sea_orm(column_type = "Decimal(Some((20, 4)))")]
    pub amount: Decimal,
    #[sea_orm(column_type = "String(StringLen::N(3))")]
    pub currency: String,
    pub status: PayoutStatus,
    pub commission_count: i32,
    pub created_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub paid_at: Option<DateTimeUtc>,
    /// The payment's reference in the system that paid it, for a payout imported as paid
    /// before Alpes (none for a payout made here).
    #[sea_orm(column_type = "String(StringLen::N(128))", nullable)]
    pub reference: Option<String>,
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
    #[sea_orm(has_many = "super::commissions::Entity")]
    Commissions,
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
