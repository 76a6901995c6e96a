use async_graphql::{Context, Object, ID};

use crate::{
    error::AppError,
    graphql::{
        types::{attribution::Journey, enums::AttributionModel, tracking::Conversion},
        ContextExt, GqlResult,
    },
    service::attribution::{self, Reattribution},
};

#[derive(Default)]
pub struct AttributionMutation;

#[Object]
impl AttributionMutation {
    /// Reverts an attribution as fraud (ADMIN, seed 003 `RevertirAtribucion`): the journey
    /// becomes REVERTED_FRAUD, its credits stop counting and `AtribucionRevertida` is published.
    async fn revert_attribution(&self, ctx: &Context<'_>, journey_id: ID) -> GqlResult<Journey> {
        let caller = ctx.caller()?;
        Ok(Journey(attribution::revert(ctx.state(), caller, &journey_id).await?))
    }

    /// Credits a conversion again (ADMIN, audited): under another `model`, or all of it to
    /// one affiliate (`affiliateId`, id or code). Releases a conversion held for review.
    async fn reattribute_conversion(
        &self,
        ctx: &Context<'_>,
        id: ID,
        model: Option<AttributionModel>,
        affiliate_id: Option<ID>,
    ) -> GqlResult<Conversion> {
        let caller = ctx.caller()?;
        let decision = match (model, affiliate_id) {
            (Some(model), None) => Reattribution::Model(model.into()),
            (None, Some(affiliate)) => Reattribution::Affiliate(affiliate.0),
            _ => return Err(AppError::validation("model", "give either a model or an affiliateId").into()),
        };
        Ok(Conversion(attribution::reattribute(ctx.state(), &ctx.state().markov, caller, &id, decision).await?))
    }
}
