use async_graphql::{Context, Object, ID};
use chrono::Utc;

use crate::{
    graphql::{
        types::{
            parse_id,
            tier::{CommissionTier, TierAward, TierProgress},
        },
        ContextExt, GqlResult,
    },
    service::{commission, tier_service},
};

#[derive(Default)]
pub struct TierQuery;

#[Object]
impl TierQuery {
    /// The programme's tiers, by currency and threshold (everyone signed in: partners see
    /// what they can reach).
    async fn commission_tiers(&self, ctx: &Context<'_>) -> GqlResult<Vec<CommissionTier>> {
        ctx.caller()?;
        Ok(tier_service::all(&ctx.state().db).await?.into_iter().map(Into::into).collect())
    }

    /// Where an affiliate's current month (UTC) stands in each currency that has tiers. An
    /// AFFILIATE caller may leave `affiliateId` out for its own.
    async fn tier_progress(&self, ctx: &Context<'_>, affiliate_id: Option<ID>) -> GqlResult<Vec<TierProgress>> {
        let caller = ctx.caller()?;
        let id = match &affiliate_id {
            Some(id) => parse_id(id, "affiliateId")?,
            None => caller.affiliate_scope().ok_or_else(|| {
                crate::error::AppError::validation("affiliateId", "name the affiliate whose progress to show")
            })?,
        };
        let progress = tier_service::progress(&ctx.state().db, caller, id, Utc::now()).await?;
        Ok(progress.into_iter().map(Into::into).collect())
    }

    /// Tier bonuses paid, newest month first (at most 200): staff see all (or one
    /// affiliate's), an affiliate its own.
    async fn tier_awards(&self, ctx: &Context<'_>, affiliate_id: Option<ID>) -> GqlResult<Vec<TierAward>> {
        let caller = ctx.caller()?;
        let id = affiliate_id.as_ref().map(|id| parse_id(id, "affiliateId")).transpose()?;
        let awards = commission::tier_awards(&ctx.state().db, caller, id, 200).await?;
        Ok(awards.into_iter().map(TierAward).collect())
    }
}
