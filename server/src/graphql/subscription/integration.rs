use async_graphql::{Context, Subscription};
use futures::{Stream, StreamExt};
use tokio_stream::wrappers::BroadcastStream;

use crate::{
    graphql::{types::integration::IntegrationDelivery, ContextExt, GqlError},
    service::integration_service::{delivery_of_event, DELIVERY_UPDATED},
};

#[derive(Default)]
pub struct IntegrationSubscription;

#[Subscription]
impl IntegrationSubscription {
    /// Each change of an outbound delivery (an attempt settled, a manual retry), live
    /// (ADMIN, ANALYST).
    async fn integration_delivery_updated(
        &self,
        ctx: &Context<'_>,
    ) -> Result<impl Stream<Item = IntegrationDelivery>, GqlError> {
        ctx.caller()?.require_staff()?;
        let receiver = ctx.state().hub.subscribe();
        Ok(BroadcastStream::new(receiver).filter_map(|item| {
            let delivery = item
                .ok()
                .filter(|event| event.event_type == DELIVERY_UPDATED)
                .and_then(|event| delivery_of_event(&event.envelope))
                .map(IntegrationDelivery);
            futures::future::ready(delivery)
        }))
    }
}
