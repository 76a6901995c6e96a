use async_graphql::{Context, Object, ID};

use crate::{
    graphql::{
        types::{coupon::Coupon, parse_id},
        ContextExt, GqlResult,
    },
    service::coupon_service,
};

#[derive(Default)]
pub struct CouponMutation;

#[Object]
impl CouponMutation {
    /// A coupon code for an affiliate (ADMIN): 3–64 letters, digits, `-`, `_` (kept upper
    /// case). A Stripe checkout with it — its promotion code `stripePromotionCode`
    /// (`promo_…`), or the code in the checkout's metadata (`coupon`) — credits the
    /// affiliate, even without a click; `campaignId` says which campaign its sales count for.
    async fn create_coupon(
        &self,
        ctx: &Context<'_>,
        affiliate_id: ID,
        code: String,
        stripe_promotion_code: Option<String>,
        campaign_id: Option<ID>,
    ) -> GqlResult<Coupon> {
        let caller = ctx.caller()?;
        let coupon = coupon_service::create(
            ctx.state(),
            caller,
            &affiliate_id,
            &code,
            stripe_promotion_code.as_deref(),
            campaign_id.as_ref().map(|c| c.as_str()),
        )
        .await?;
        Ok(Coupon(coupon))
    }

    /// The code stops crediting anyone from now on (ADMIN).
    async fn deactivate_coupon(&self, ctx: &Context<'_>, id: ID) -> GqlResult<Coupon> {
        let caller = ctx.caller()?;
        Ok(Coupon(coupon_service::deactivate(ctx.state(), caller, parse_id(&id, "id")?).await?))
    }
}
