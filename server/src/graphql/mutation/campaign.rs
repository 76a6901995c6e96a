use crate::graphql::GqlResult;
use async_graphql::{Context, Object, ID};

use crate::{
    graphql::{
        types::{
            campaign::{Campaign, CreateCampaignInput, UpdateCampaignInput},
            parse_id,
        },
        ContextExt,
    },
    service::campaign_service,
};

#[derive(Default)]
pub struct CampaignMutation;

/// A campaign named by id or by code.
async fn campaign_id(ctx: &Context<'_>, id: &ID) -> Result<uuid::Uuid, crate::error::AppError> {
    match parse_id(id, "id") {
        Ok(uuid) => Ok(uuid),
        Err(_) => Ok(campaign_service::resolve_id(&ctx.state().db, id).await?),
    }
}

#[Object]
impl CampaignMutation {
    /// Creates a campaign in DRAFT.
    async fn create_campaign(&self, ctx: &Context<'_>, input: CreateCampaignInput) -> GqlResult<Campaign> {
        let caller = ctx.caller()?;
        Ok(Campaign(campaign_service::create(ctx.state(), caller, input.into()).await?))
    }

    async fn update_campaign(&self, ctx: &Context<'_>, input: UpdateCampaignInput) -> GqlResult<Campaign> {
        let caller = ctx.caller()?;
        let id = campaign_id(ctx, &input.id).await?;
        Ok(Campaign(campaign_service::update(ctx.state(), caller, id, input.into()).await?))
    }

    /// DRAFT or PAUSED → ACTIVE.
    async fn activate_campaign(&self, ctx: &Context<'_>, id: ID) -> GqlResult<Campaign> {
        let caller = ctx.caller()?;
        Ok(Campaign(campaign_service::activate(ctx.state(), caller, campaign_id(ctx, &id).await?).await?))
    }

    /// ACTIVE → PAUSED.
    async fn pause_campaign(&self, ctx: &Context<'_>, id: ID) -> GqlResult<Campaign> {
        let caller = ctx.caller()?;
        Ok(Campaign(campaign_service::pause(ctx.state(), caller, campaign_id(ctx, &id).await?).await?))
    }
}
