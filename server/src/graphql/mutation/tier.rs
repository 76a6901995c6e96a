use async_graphql::{Context, Object, ID};
use chrono::Utc;

use crate::{
    domain::commission::parse_period,
    graphql::{
        types::{
            parse_id,
            tier::{CommissionTier, CommissionTierInput, TierAward},
        },
        ContextExt, GqlResult,
    },
    service::{commission, tier_service},
};

#[derive(Default)]
pub struct TierMutation;

#[Object]
impl TierMutation {
    /// Adds a programme tier (ADMIN): a threshold on an affiliate's credited sales in a
    /// calendar month, with the rate sales earn once it is reached, a bonus for a month that
    /// ends above it, or both.
    async fn create_commission_tier(&self, ctx: &Context<'_>, input: CommissionTierInput) -> GqlResult<CommissionTier> {
        let caller = ctx.caller()?;
        Ok(tier_service::create(ctx.state(), caller, input.into()).await?.into())
    }

    /// Replaces a tier's terms (ADMIN). Sales already priced keep their rate.
    async fn update_commission_tier(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: CommissionTierInput,
    ) -> GqlResult<CommissionTier> {
        let caller = ctx.caller()?;
        Ok(tier_service::update(ctx.state(), caller, parse_id(&id, "id")?, input.into()).await?.into())
    }

    /// Removes a tier (ADMIN); bonuses it paid stay paid.
    async fn delete_commission_tier(&self, ctx: &Context<'_>, id: ID) -> GqlResult<bool> {
        let caller = ctx.caller()?;
        tier_service::delete(ctx.state(), caller, parse_id(&id, "id")?).await?;
        Ok(true)
    }

    /// Pays the tier bonuses of an ended month (`YYYY-MM`, ADMIN) now; the service does it
    /// on its own once a month ends. A bonus already paid is not paid again.
    async fn award_tier_bonuses(&self, ctx: &Context<'_>, period: String) -> GqlResult<Vec<TierAward>> {
        let caller = ctx.caller()?;
        let now = Utc::now();
        let month = parse_period(&period, now, "period")?;
        let made = commission::award_tier_bonuses(ctx.state(), caller, month, now).await?;
        Ok(made.into_iter().map(TierAward).collect())
    }
}
