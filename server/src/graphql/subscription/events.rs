use crate::graphql::GqlError;
use async_graphql::{Context, Subscription};
use futures::{Stream, StreamExt};
use tokio_stream::wrappers::{errors::BroadcastStreamRecvError, BroadcastStream};

use crate::{
    domain::envelope::Topic,
    error::AppError,
    graphql::{types::event::Event, ContextExt},
};

#[derive(Default)]
pub struct EventSubscription;

#[Subscription]
impl EventSubscription {
    /// Every committed domain event, live, as its envelope. `topics` narrows to those
    /// topics (`afiliados.eventos`, `marketing.eventos`, …). An AFFILIATE caller
    /// receives only events about its own affiliate.
    async fn events(
        &self,
        ctx: &Context<'_>,
        topics: Option<Vec<String>>,
    ) -> Result<impl Stream<Item = Event>, GqlError> {
        let caller = ctx.caller()?.clone();
        if let Some(unknown) = topics.iter().flatten().find(|t| Topic::parse(t).is_none()) {
            return Err(AppError::validation("topics", format!("unknown topic '{unknown}'")).into());
        }
        let receiver = ctx.state().hub.subscribe();
        let scope = caller.affiliate_scope();
        Ok(BroadcastStream::new(receiver).filter_map(move |item| {
            let wanted = match item {
                Ok(event) => {
                    let topic_ok = topics.as_ref().is_none_or(|ts| ts.iter().any(|t| *t == event.topic));
                    let scope_ok = scope.is_none_or(|own| event.affiliate_id == Some(own));
                    (topic_ok && scope_ok).then_some(Event(event))
                }
                Err(BroadcastStreamRecvError::Lagged(n)) => {
                    tracing::warn!(skipped = n, "a slow subscriber missed events");
                    None
                }
            };
            futures::future::ready(wanted)
        }))
    }
}
