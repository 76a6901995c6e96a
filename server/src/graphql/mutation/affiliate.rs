use crate::graphql::GqlResult;
use async_graphql::{Context, Object, ID};

use crate::{
    graphql::{
        types::{
            affiliate::{Affiliate, CreateAffiliateInput, UpdateAffiliateInput},
            parse_id,
        },
        ContextExt,
    },
    service::affiliate_service,
};

#[derive(Default)]
pub struct AffiliateMutation;

/// An affiliate named by id or by code.
async fn affiliate_id(ctx: &Context<'_>, id: &ID) -> Result<uuid::Uuid, crate::error::AppError> {
    match parse_id(id, "id") {
        Ok(uuid) => Ok(uuid),
        Err(_) => Ok(affiliate_service::resolve_id(&ctx.state().db, id).await?),
    }
}

#[Object]
impl AffiliateMutation {
    async fn create_affiliate(&self, ctx: &Context<'_>, input: CreateAffiliateInput) -> GqlResult<Affiliate> {
        let caller = ctx.caller()?;
        Ok(Affiliate(affiliate_service::create(ctx.state(), caller, input.into()).await?))
    }

    async fn update_affiliate(&self, ctx: &Context<'_>, input: UpdateAffiliateInput) -> GqlResult<Affiliate> {
        let caller = ctx.caller()?;
        let id = affiliate_id(ctx, &input.id).await?;
        Ok(Affiliate(affiliate_service::update(ctx.state(), caller, id, input.into()).await?))
    }

    /// Removes the affiliate from lists; its money trail is kept.
    async fn delete_affiliate(&self, ctx: &Context<'_>, id: ID) -> GqlResult<Affiliate> {
        let caller = ctx.caller()?;
        let id = affiliate_id(ctx, &id).await?;
        Ok(Affiliate(affiliate_service::delete(ctx.state(), caller, id).await?))
    }
}
