//! `affiliate_coupons` table. An affiliate's coupon / promotion codes: a checkout that used
//! one credits the affiliate, even without a click.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "affiliate_coupons")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub affiliate_id: Uuid,
    /// The code customers type (upper case, unique).
    #[sea_orm(column_type = "String(StringLen::N(64))", unique)]
    pub code: String,
    /// Stripe's promotion code id (`promo_…`) for this code, when it was made there.
    #[sea_orm(column_type = "String(StringLen::N(255))", nullable, unique)]
    pub stripe_promotion_code: Option<String>,
    /// The campaign its sales count for, if any.
    pub campaign_id: Option<Uuid>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
    /// No longer credits anyone from then on.
    pub deactivated_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
