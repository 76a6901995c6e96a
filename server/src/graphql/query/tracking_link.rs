use crate::graphql::GqlResult;
use async_graphql::{Context, Object};

use crate::{
    graphql::{
        types::{
            connection::{connection, page_request, ListConnection},
            parse_id,
            tracking_link::{TrackingLink, TrackingLinkFilter},
        },
        ContextExt,
    },
    service::tracking_link_service::{self, TrackingLinkFilter as Filter},
};

#[derive(Default)]
pub struct TrackingLinkQuery;

#[Object]
impl TrackingLinkQuery {
    /// Tracking links, newest first. An AFFILIATE caller sees only its own.
    async fn tracking_links(
        &self,
        ctx: &Context<'_>,
        filter: Option<TrackingLinkFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> GqlResult<ListConnection<TrackingLink>> {
        let caller = ctx.caller()?;
        let request = page_request(first, after)?;
        let filter = filter.unwrap_or_default();
        let filter = Filter {
            affiliate_id: filter.affiliate_id.as_ref().map(|id| parse_id(id, "filter.affiliateId")).transpose()?,
            campaign_id: filter.campaign_id.as_ref().map(|id| parse_id(id, "filter.campaignId")).transpose()?,
        };
        let page = tracking_link_service::list(&ctx.state().db, caller, filter, request).await?;
        Ok(connection(request, page, TrackingLink))
    }
}
