use crate::graphql::GqlResult;
use async_graphql::{Context, Object, ID};

use crate::{
    graphql::{
        types::{
            campaign::{Campaign, CampaignFilter},
            connection::{connection, page_request, ListConnection},
        },
        ContextExt,
    },
    service::campaign_service,
};

#[derive(Default)]
pub struct CampaignQuery;

#[Object]
impl CampaignQuery {
    /// Campaigns, newest first.
    async fn campaigns(
        &self,
        ctx: &Context<'_>,
        filter: Option<CampaignFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> GqlResult<ListConnection<Campaign>> {
        let caller = ctx.caller()?;
        let request = page_request(first, after)?;
        let page = campaign_service::list(&ctx.state().db, caller, filter.unwrap_or_default().into(), request).await?;
        Ok(connection(request, page, Campaign))
    }

    /// One campaign by id or code.
    async fn campaign(&self, ctx: &Context<'_>, id: ID) -> GqlResult<Campaign> {
        let caller = ctx.caller()?;
        Ok(Campaign(campaign_service::get(&ctx.state().db, caller, &id).await?))
    }
}
