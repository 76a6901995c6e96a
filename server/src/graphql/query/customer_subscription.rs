use async_graphql::{Context, Object};

use crate::{
    graphql::{
        types::{
            connection::{connection, page_request, ListConnection},
            customer_subscription::{CustomerSubscription, SubscriptionFilter},
        },
        ContextExt, GqlResult,
    },
    service::subscription_service,
};

#[derive(Default)]
pub struct CustomerSubscriptionQuery;

#[Object]
impl CustomerSubscriptionQuery {
    /// Customers' subscriptions that began with a checkout of the programme, newest first.
    /// An AFFILIATE caller sees only those that earn for it.
    async fn customer_subscriptions(
        &self,
        ctx: &Context<'_>,
        filter: Option<SubscriptionFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> GqlResult<ListConnection<CustomerSubscription>> {
        let caller = ctx.caller()?;
        let request = page_request(first, after)?;
        let filter = filter.unwrap_or_default().into_service()?;
        let page = subscription_service::list(&ctx.state().db, caller, filter, request).await?;
        Ok(connection(request, page, CustomerSubscription))
    }
}
