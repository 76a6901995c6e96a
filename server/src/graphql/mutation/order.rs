use async_graphql::{Context, Object, ID};

use crate::{
    graphql::{types::order::WebhookEvent, ContextExt, GqlResult},
    service::stripe_service,
};

#[derive(Default)]
pub struct OrderMutation;

#[Object]
impl OrderMutation {
    /// Processes a stored Stripe event again (ADMIN), e.g. after a fix. The returned
    /// event says how it went this time.
    async fn replay_webhook_event(&self, ctx: &Context<'_>, id: ID) -> GqlResult<WebhookEvent> {
        let caller = ctx.caller()?;
        Ok(WebhookEvent(stripe_service::replay(ctx.state(), caller, &id).await?))
    }
}
