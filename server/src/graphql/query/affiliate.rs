use crate::graphql::GqlResult;
use async_graphql::{Context, Object, ID};

use crate::{
    graphql::{
        types::{
            affiliate::{Affiliate, AffiliateFilter},
            connection::{connection, page_request, ListConnection},
        },
        ContextExt,
    },
    service::affiliate_service,
};

#[derive(Default)]
pub struct AffiliateQuery;

#[Object]
impl AffiliateQuery {
    /// Affiliates, newest first. An AFFILIATE caller sees only itself.
    async fn affiliates(
        &self,
        ctx: &Context<'_>,
        filter: Option<AffiliateFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> GqlResult<ListConnection<Affiliate>> {
        let caller = ctx.caller()?;
        let request = page_request(first, after)?;
        let page = affiliate_service::list(&ctx.state().db, caller, filter.unwrap_or_default().into(), request).await?;
        Ok(connection(request, page, Affiliate))
    }

    /// One affiliate by id or code.
    async fn affiliate(&self, ctx: &Context<'_>, id: ID) -> GqlResult<Affiliate> {
        let caller = ctx.caller()?;
        Ok(Affiliate(affiliate_service::get(&ctx.state().db, caller, &id).await?))
    }
}
