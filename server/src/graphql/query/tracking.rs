use async_graphql::{Context, Object, ID};

use crate::{
    graphql::{
        types::{
            connection::{connection, page_request, ListConnection},
            parse_id,
            tracking::{Conversion, ConversionFilter},
        },
        ContextExt, GqlResult,
    },
    service::tracking::{self, ConversionFilter as Filter},
};

#[derive(Default)]
pub struct TrackingQuery;

#[Object]
impl TrackingQuery {
    /// Conversions, newest first. An AFFILIATE caller sees only its own.
    async fn conversions(
        &self,
        ctx: &Context<'_>,
        filter: Option<ConversionFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> GqlResult<ListConnection<Conversion>> {
        let caller = ctx.caller()?;
        let request = page_request(first, after)?;
        let f = filter.unwrap_or_default();
        let filter = Filter {
            affiliate_id: f.affiliate_id.as_ref().map(|id| parse_id(id, "filter.affiliateId")).transpose()?,
            campaign_id: f.campaign_id.as_ref().map(|id| parse_id(id, "filter.campaignId")).transpose()?,
            status: f.status.map(Into::into),
            from: f.from,
            to: f.to,
        };
        let page = tracking::list_conversions(&ctx.state().db, caller, filter, request).await?;
        Ok(connection(request, page, Conversion))
    }

    /// One conversion by id or by the sender's id.
    async fn conversion(&self, ctx: &Context<'_>, id: ID) -> GqlResult<Conversion> {
        let caller = ctx.caller()?;
        Ok(Conversion(tracking::get_conversion(&ctx.state().db, caller, &id).await?))
    }
}
