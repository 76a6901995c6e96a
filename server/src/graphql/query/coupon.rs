use async_graphql::{Context, Object, ID};

use crate::{
    domain::commission::parse_period,
    graphql::{
        types::{
            coupon::{Coupon, CouponUsage},
            parse_id,
        },
        ContextExt, GqlResult,
    },
    service::coupon_service,
};

#[derive(Default)]
pub struct CouponQuery;

#[Object]
impl CouponQuery {
    /// An affiliate's coupon codes, newest first (staff, or the affiliate itself).
    async fn coupons(&self, ctx: &Context<'_>, affiliate_id: ID) -> GqlResult<Vec<Coupon>> {
        let caller = ctx.caller()?;
        let id = parse_id(&affiliate_id, "affiliateId")?;
        Ok(coupon_service::of_affiliate(ctx.state(), caller, id).await?.into_iter().map(Coupon).collect())
    }

    /// What each code brought in a period (`30d`, `2026-11`, …; default 30d): paid
    /// checkouts and revenue per currency, refunds taken off, most used first. Staff see
    /// every code, an affiliate its own.
    async fn coupon_usage(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = "30d")] period: String,
    ) -> GqlResult<Vec<CouponUsage>> {
        let caller = ctx.caller()?;
        let period = parse_period(&period, chrono::Utc::now(), "period")?;
        let state = ctx.state();
        let usage = state.bounded(coupon_service::usage(state, caller, period.from, period.to)).await?;
        Ok(usage.into_iter().map(CouponUsage).collect())
    }
}
