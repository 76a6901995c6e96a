//! An affiliate's coupon code.

use chrono::{DateTime, Utc};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coupon {
    pub id: Uuid,
    pub affiliate_id: Uuid,
    /// Upper case, as customers type it.
    pub code: String,
    /// Stripe's promotion code id (`promo_…`), when given.
    pub stripe_promotion_code: Option<String>,
    pub campaign_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub deactivated_at: Option<DateTime<Utc>>,
}

impl From<entity::affiliate_coupons::Model> for Coupon {
    fn from(row: entity::affiliate_coupons::Model) -> Self {
        Self {
            id: row.id,
            affiliate_id: row.affiliate_id,
            code: row.code,
            stripe_promotion_code: row.stripe_promotion_code,
            campaign_id: row.campaign_id,
            created_at: row.created_at,
            deactivated_at: row.deactivated_at,
        }
    }
}
