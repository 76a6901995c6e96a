use async_graphql::{Context, Subscription, ID};
use futures::{Stream, StreamExt};
use tokio_stream::wrappers::{errors::BroadcastStreamRecvError, BroadcastStream};

use crate::{
    domain::envelope::Topic,
    graphql::{
        types::{event::Event, parse_id},
        ContextExt, GqlError,
    },
};

#[derive(Default)]
pub struct CommissionSubscription;

#[Subscription]
impl CommissionSubscription {
    /// Live `comisiones.eventos` events (commissions and payouts) of one affiliate, or of
    /// all for staff when `affiliateId` is not given. An AFFILIATE caller may ask only for
    /// its own (the default).
    async fn commission_updated(
        &self,
        ctx: &Context<'_>,
        affiliate_id: Option<ID>,
    ) -> Result<impl Stream<Item = Event>, GqlError> {
        let caller = ctx.caller()?.clone();
        let wanted = affiliate_id.as_ref().map(|id| parse_id(id, "affiliateId")).transpose()?;
        if let Some(id) = wanted {
            caller.require_affiliate_access(id)?;
        }
        let only = wanted.or(caller.affiliate_scope());
        let receiver = ctx.state().hub.subscribe();
        let topic = Topic::Commissions.name();
        Ok(BroadcastStream::new(receiver).filter_map(move |item| {
            let event = match item {
                Ok(event) if event.topic == topic && only.is_none_or(|id| event.affiliate_id == Some(id)) => {
                    Some(Event(event))
                }
                Ok(_) => None,
                Err(BroadcastStreamRecvError::Lagged(n)) => {
                    tracing::warn!(skipped = n, "a slow subscriber missed events");
                    None
                }
            };
            futures::future::ready(event)
        }))
    }
}
