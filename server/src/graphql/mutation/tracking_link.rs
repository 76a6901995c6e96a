use crate::graphql::GqlResult;
use async_graphql::{Context, Object};

use crate::{
    graphql::{
        types::tracking_link::{CreateTrackingLinkInput, TrackingLink},
        ContextExt,
    },
    service::tracking_link_service,
};

#[derive(Default)]
pub struct TrackingLinkMutation;

#[Object]
impl TrackingLinkMutation {
    /// A short link for an affiliate × campaign (admins for anyone; affiliates for themselves).
    async fn create_tracking_link(&self, ctx: &Context<'_>, input: CreateTrackingLinkInput) -> GqlResult<TrackingLink> {
        let caller = ctx.caller()?;
        Ok(TrackingLink(tracking_link_service::create(ctx.state(), caller, input.into()).await?))
    }
}
