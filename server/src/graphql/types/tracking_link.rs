use crate::graphql::GqlResult;
use crate::model::tracking_links;
use async_graphql::{Context, InputObject, Object, ID};
use chrono::{DateTime, Utc};

use super::{affiliate::Affiliate, campaign::Campaign};
use crate::{
    graphql::{loaders::Loaders, ContextExt},
    service::tracking_link_service as svc,
};

/// A short link `/r/{code}`: records the click and redirects to the destination.
pub struct TrackingLink(pub tracking_links::TrackingLink);

#[Object]
impl TrackingLink {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn code(&self) -> &str {
        &self.0.code
    }
    /// The public link to share.
    async fn url(&self, ctx: &Context<'_>) -> String {
        svc::url(ctx.state(), &self.0)
    }
    async fn destination_url(&self) -> &str {
        &self.0.destination_url
    }
    async fn affiliate_id(&self) -> ID {
        ID(self.0.affiliate_id.to_string())
    }
    async fn campaign_id(&self) -> ID {
        ID(self.0.campaign_id.to_string())
    }
    async fn affiliate(&self, ctx: &Context<'_>) -> GqlResult<Option<Affiliate>> {
        Ok(ctx.loaders().affiliate.load_one(self.0.affiliate_id).await?.map(Affiliate))
    }
    async fn campaign(&self, ctx: &Context<'_>) -> GqlResult<Option<Campaign>> {
        Ok(ctx.loaders().campaign.load_one(self.0.campaign_id).await?.map(Campaign))
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

#[derive(InputObject)]
pub struct CreateTrackingLinkInput {
    /// Affiliate id or code.
    pub affiliate_id: ID,
    /// Campaign id or code.
    pub campaign_id: ID,
    pub destination_url: String,
    /// Random when not given.
    pub code: Option<String>,
}

#[derive(InputObject, Default)]
pub struct TrackingLinkFilter {
    pub affiliate_id: Option<ID>,
    pub campaign_id: Option<ID>,
}

impl From<CreateTrackingLinkInput> for svc::NewTrackingLink {
    fn from(i: CreateTrackingLinkInput) -> Self {
        Self {
            affiliate: i.affiliate_id.0,
            campaign: i.campaign_id.0,
            destination_url: i.destination_url,
            code: i.code,
        }
    }
}
