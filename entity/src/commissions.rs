//! `commissions` table. Affiliate commissions (and clawback adjustments).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

pub use super::campaigns::CommissionType;

/// Values of `commissions.status`, stored as UPPER_SNAKE strings (`String(32)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CommissionStatus {
    #[sea_orm(string_value = "PENDING")]
    Pending,
    #[sea_orm(string_value = "CALCULATED")]
    Calculated,
    #[sea_orm(string_value = "APPROVED")]
    Approved,
    #[sea_orm(string_value = "PAID")]
    Paid,
    #[sea_orm(string_value = "CANCELED")]
    Canceled,
    #[sea_orm(string_value = "REJECTED")]
    Rejected,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "commissions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub conversion_id: Option<Uuid>,
    pub credit_id: Option<Uuid>,
    pub affiliate_id: Uuid,
    pub campaign_id: Option<Uuid>,
    pub payout_id: Option<Uuid>,
    pub adjusts_commission_id: Option<Uuid>,
    pub commission_type: CommissionType,
    #[sea_orm(column_type = "Decimal(Some((20, 4)))")]
    pub base_amount: Decimal,
    #[sea_orm(column_type = "Decimal(Some((9, 4)))")]
    pub rate: Option<Decimal>,
    #[sea_orm(column_type = "Decimal(Some((20, 4)))")]
    pub amount: Option<Decimal>,
    /// What a commission not yet calculated is expected to pay, priced when it is
    /// reserved (and again when a refund changes its base); `amount` once calculated.
    #[sea_orm(column_type = "Decimal(Some((20, 4)))")]
    pub expected_amount: Option<Decimal>,
    #[sea_orm(column_type = "String(StringLen::N(3))")]
    pub currency: String,
    pub status: CommissionStatus,
    #[sea_orm(column_type = "JsonBinary")]
    pub config: Json,
    #[sea_orm(column_type = "Text")]
    pub approval_comments: Option<String>,
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub approval_level: Option<String>,
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub approval_policy: Option<String>,
    #[sea_orm(column_type = "JsonBinary")]
    pub approval_metadata: Json,
    #[sea_orm(column_type = "Text")]
    pub rejection_reason: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub cancel_reason: Option<String>,
    pub calculated_at: Option<DateTimeUtc>,
    pub approved_at: Option<DateTimeUtc>,
    pub paid_at: Option<DateTimeUtc>,
    pub canceled_at: Option<DateTimeUtc>,
    pub approved_by: Option<Uuid>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::conversions::Entity",
        from = "Column::ConversionId",
        to = "super::conversions::Column::Id",
        on_delete = "SetNull"
    )]
    Conversions,
    #[sea_orm(
        belongs_to = "super::attribution_credits::Entity",
        from = "Column::CreditId",
        to = "super::attribution_credits::Column::Id",
        on_delete = "SetNull"
    )]
    AttributionCredits,
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
        on_delete = "SetNull"
    )]
    Campaigns,
    #[sea_orm(
        belongs_to = "super::payouts::Entity",
        from = "Column::PayoutId",
        to = "super::payouts::Column::Id",
        on_delete = "SetNull"
    )]
    Payouts,
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

impl Related<super::payouts::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Payouts.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
