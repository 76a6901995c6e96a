use async_graphql::{Context, Object, ID};

use crate::{
    graphql::{
        types::{integration::IntegrationDelivery, parse_id},
        ContextExt, GqlResult,
    },
    service::integration_service,
};

#[derive(Default)]
pub struct IntegrationMutation;

#[Object]
impl IntegrationMutation {
    /// Puts a DEAD (or waiting) delivery back in the queue now, with a fresh set of
    /// attempts (ADMIN).
    async fn retry_integration_delivery(&self, ctx: &Context<'_>, id: ID) -> GqlResult<IntegrationDelivery> {
        let caller = ctx.caller()?;
        let id = parse_id(&id, "id")?;
        let state = ctx.state();
        let delivery = integration_service::retry(&state.db, caller, id).await?;
        state.notifier.outbox().notify_one();
        state.notifier.delivery(delivery.integration).notify_one();
        Ok(IntegrationDelivery(delivery))
    }
}
