//! Affiliates' coupon codes and what they brought.

use async_graphql::{Object, SimpleObject, ID};
use chrono::{DateTime, Utc};

use crate::service::coupon_service::{Coupon as Stored, Usage};

/// A code customers type at checkout; its sales credit its affiliate.
pub struct Coupon(pub Stored);

#[Object]
impl Coupon {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn code(&self) -> &str {
        &self.0.code
    }
    async fn affiliate_id(&self) -> ID {
        ID(self.0.affiliate_id.to_string())
    }
    /// Stripe's promotion code id (`promo_…`) matched in checkouts, when given.
    async fn stripe_promotion_code(&self) -> Option<&str> {
        self.0.stripe_promotion_code.as_deref()
    }
    async fn campaign_id(&self) -> Option<ID> {
        self.0.campaign_id.map(|id| ID(id.to_string()))
    }
    async fn active(&self) -> bool {
        self.0.deactivated_at.is_none()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn deactivated_at(&self) -> Option<DateTime<Utc>> {
        self.0.deactivated_at
    }
}

/// Revenue in one currency (never converted).
#[derive(SimpleObject)]
pub struct CouponRevenue {
    pub currency: String,
    pub amount: rust_decimal::Decimal,
}

/// What one code brought in the period: paid checkouts and their revenue, refunds taken off.
pub struct CouponUsage(pub Usage);

#[Object]
impl CouponUsage {
    async fn coupon(&self) -> Coupon {
        Coupon(self.0.coupon.clone())
    }
    async fn orders(&self) -> u64 {
        self.0.orders
    }
    async fn revenue(&self) -> Vec<CouponRevenue> {
        self.0
            .revenue
            .iter()
            .map(|(currency, amount)| CouponRevenue { currency: currency.clone(), amount: *amount })
            .collect()
    }
}
