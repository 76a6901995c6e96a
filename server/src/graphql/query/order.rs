use async_graphql::{Context, Object, ID};

use crate::{
    graphql::{
        types::{
            connection::{connection, page_request, ListConnection},
            order::{Order, OrderFilter, WebhookEvent, WebhookEventFilter},
            parse_id,
        },
        ContextExt, GqlResult,
    },
    service::stripe_service::{self, OrderFilter as Filter},
};

#[derive(Default)]
pub struct OrderQuery;

#[Object]
impl OrderQuery {
    /// Stripe orders, newest first. An AFFILIATE caller sees only its own.
    async fn orders(
        &self,
        ctx: &Context<'_>,
        filter: Option<OrderFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> GqlResult<ListConnection<Order>> {
        let caller = ctx.caller()?;
        let request = page_request(first, after)?;
        let f = filter.unwrap_or_default();
        let filter = Filter {
            status: f.status.map(Into::into),
            campaign_id: f.campaign_id.as_ref().map(|id| parse_id(id, "filter.campaignId")).transpose()?,
            affiliate_id: f.affiliate_id.as_ref().map(|id| parse_id(id, "filter.affiliateId")).transpose()?,
            from: f.from,
            to: f.to,
        };
        let page = stripe_service::list_orders(&ctx.state().db, caller, filter, request).await?;
        Ok(connection(request, page, Order))
    }

    /// One order by id or by Stripe checkout session id.
    async fn order(&self, ctx: &Context<'_>, id: ID) -> GqlResult<Order> {
        let caller = ctx.caller()?;
        Ok(Order(stripe_service::get_order(&ctx.state().db, caller, &id).await?))
    }

    /// Stripe webhook events as received, newest first (ADMIN, ANALYST).
    async fn webhook_events(
        &self,
        ctx: &Context<'_>,
        filter: Option<WebhookEventFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> GqlResult<ListConnection<WebhookEvent>> {
        let caller = ctx.caller()?;
        let request = page_request(first, after)?;
        let status = filter.unwrap_or_default().status.map(Into::into);
        let page = stripe_service::list_events(&ctx.state().db, caller, status, request).await?;
        Ok(connection(request, page, WebhookEvent))
    }
}
