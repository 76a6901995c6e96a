//! DataLoaders, one per by-id relation, made per request (or per WebSocket
//! connection) so that each carries the caller and applies its rights.

use std::collections::HashMap;

use crate::model::{affiliates, campaigns, conversions, journeys, tracking_links};
use async_graphql::{dataloader::DataLoader, dataloader::Loader, Context};
use uuid::Uuid;

use crate::{
    auth::Caller,
    error::AppError,
    service::{affiliate_service, attribution, campaign_service, tracking, tracking_link_service},
    state::AppState,
};

/// Key: the tracking links of one campaign.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct LinksByCampaign(pub Uuid);

/// Key: the journey of one conversion.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct JourneyOfConversion(pub Uuid);

/// Key: the tracking links of one affiliate.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct LinksByAffiliate(pub Uuid);

pub struct RequestLoaders {
    pub affiliate: DataLoader<AffiliateLoader>,
    pub campaign: DataLoader<CampaignLoader>,
    pub links: DataLoader<TrackingLinkLoader>,
    pub journeys: DataLoader<JourneyLoader>,
    pub conversion: DataLoader<ConversionLoader>,
}

impl RequestLoaders {
    pub fn new(state: &AppState, caller: Option<&Caller>) -> Self {
        let scope = LoaderScope { state: state.clone(), caller: caller.cloned() };
        Self {
            affiliate: DataLoader::new(AffiliateLoader(scope.clone()), tokio::spawn),
            campaign: DataLoader::new(CampaignLoader(scope.clone()), tokio::spawn),
            links: DataLoader::new(TrackingLinkLoader(scope.clone()), tokio::spawn),
            journeys: DataLoader::new(JourneyLoader(scope.clone()), tokio::spawn),
            conversion: DataLoader::new(ConversionLoader(scope), tokio::spawn),
        }
    }
}

impl RequestLoaders {
    /// The campaign of an optional reference (`None` stays `None`).
    pub async fn campaign_of(&self, id: Option<Uuid>) -> Result<Option<campaigns::Campaign>, async_graphql::Error> {
        match id {
            Some(id) => self.campaign.load_one(id).await,
            None => Ok(None),
        }
    }

    /// The conversion of an optional reference, if the caller may see it.
    pub async fn conversion_of(
        &self,
        id: Option<Uuid>,
    ) -> Result<Option<conversions::Conversion>, async_graphql::Error> {
        match id {
            Some(id) => self.conversion.load_one(id).await,
            None => Ok(None),
        }
    }

    /// The affiliate of an optional reference, if the caller may see it.
    pub async fn affiliate_of(&self, id: Option<Uuid>) -> Result<Option<affiliates::Affiliate>, async_graphql::Error> {
        match id {
            Some(id) => self.affiliate.load_one(id).await,
            None => Ok(None),
        }
    }
}

pub trait Loaders {
    fn loaders(&self) -> &RequestLoaders;
}

impl Loaders for Context<'_> {
    fn loaders(&self) -> &RequestLoaders {
        self.data_unchecked::<RequestLoaders>()
    }
}

#[derive(Clone)]
pub struct LoaderScope {
    state: AppState,
    caller: Option<Caller>,
}

impl LoaderScope {
    fn caller(&self) -> Result<&Caller, async_graphql::Error> {
        self.caller.as_ref().ok_or_else(|| super::extend(&AppError::Unauthenticated("sign in first".into())))
    }
}

pub struct AffiliateLoader(LoaderScope);
pub struct CampaignLoader(LoaderScope);
pub struct TrackingLinkLoader(LoaderScope);
pub struct ConversionLoader(LoaderScope);

impl Loader<Uuid> for ConversionLoader {
    type Value = conversions::Conversion;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows = tracking::load_conversions(&self.0.state.db, self.0.caller()?, keys).await?;
        Ok(rows.into_iter().map(|m| (m.id, m)).collect())
    }
}
/// Journeys by conversion; the conversions were loaded with the caller's rights.
pub struct JourneyLoader(LoaderScope);

impl Loader<JourneyOfConversion> for JourneyLoader {
    type Value = journeys::Journey;
    type Error = async_graphql::Error;

    async fn load(
        &self,
        keys: &[JourneyOfConversion],
    ) -> Result<HashMap<JourneyOfConversion, Self::Value>, Self::Error> {
        self.0.caller()?;
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = attribution::load_journeys(&self.0.state.db, &ids).await?;
        Ok(rows.into_iter().map(|j| (JourneyOfConversion(j.conversion_id), j)).collect())
    }
}

impl Loader<Uuid> for AffiliateLoader {
    type Value = affiliates::Affiliate;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows = affiliate_service::load_many(&self.0.state.db, self.0.caller()?, keys).await?;
        Ok(rows.into_iter().map(|m| (m.id, m)).collect())
    }
}

impl Loader<Uuid> for CampaignLoader {
    type Value = campaigns::Campaign;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows = campaign_service::load_many(&self.0.state.db, self.0.caller()?, keys).await?;
        Ok(rows.into_iter().map(|m| (m.id, m)).collect())
    }
}

impl Loader<LinksByCampaign> for TrackingLinkLoader {
    type Value = Vec<tracking_links::TrackingLink>;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[LinksByCampaign]) -> Result<HashMap<LinksByCampaign, Self::Value>, Self::Error> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = tracking_link_service::by_campaigns(&self.0.state.db, self.0.caller()?, &ids).await?;
        let mut grouped: HashMap<LinksByCampaign, Self::Value> = keys.iter().map(|k| (*k, Vec::new())).collect();
        for row in rows {
            grouped.entry(LinksByCampaign(row.campaign_id)).or_default().push(row);
        }
        Ok(grouped)
    }
}

impl Loader<LinksByAffiliate> for TrackingLinkLoader {
    type Value = Vec<tracking_links::TrackingLink>;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[LinksByAffiliate]) -> Result<HashMap<LinksByAffiliate, Self::Value>, Self::Error> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = tracking_link_service::by_affiliates(&self.0.state.db, self.0.caller()?, &ids).await?;
        let mut grouped: HashMap<LinksByAffiliate, Self::Value> = keys.iter().map(|k| (*k, Vec::new())).collect();
        for row in rows {
            grouped.entry(LinksByAffiliate(row.affiliate_id)).or_default().push(row);
        }
        Ok(grouped)
    }
}
