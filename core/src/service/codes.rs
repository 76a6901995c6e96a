//! The names callers know things by, beside our ids: an affiliate's and a campaign's code
//! (`af_12345`, `camp_67890`), a conversion's external id (`conv_98765`). The seed routes'
//! answers carry both, so a client that sent its own ids finds them in what comes back.
//! Looked up once per answer, by primary key, for just the rows it shows.

use std::collections::{BTreeSet, HashMap};

use entity::{affiliates, campaigns, conversions};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use crate::{
    error::AppResult,
    model::{commissions::Commission, conversions::Conversion},
};

#[derive(Debug, Default)]
pub struct Codes {
    affiliates: HashMap<Uuid, String>,
    campaigns: HashMap<Uuid, String>,
    conversions: HashMap<Uuid, String>,
}

impl Codes {
    /// The codes of the affiliates and campaigns `rows` name.
    pub async fn of_conversions<C: ConnectionTrait>(db: &C, rows: &[Conversion]) -> AppResult<Codes> {
        let affiliates = rows.iter().filter_map(|r| r.affiliate_id).collect();
        let campaigns = rows.iter().filter_map(|r| r.campaign_id).collect();
        Self::load(db, affiliates, campaigns, BTreeSet::new()).await
    }

    /// The codes of the affiliates and campaigns `rows` name, and their conversions' external ids.
    pub async fn of_commissions<C: ConnectionTrait>(db: &C, rows: &[Commission]) -> AppResult<Codes> {
        let affiliates = rows.iter().map(|r| r.affiliate_id).collect();
        let campaigns = rows.iter().filter_map(|r| r.campaign_id).collect();
        let conversions = rows.iter().filter_map(|r| r.conversion_id).collect();
        Self::load(db, affiliates, campaigns, conversions).await
    }

    /// The codes of these affiliates and campaigns, and these conversions' external ids.
    pub async fn load<C: ConnectionTrait>(
        db: &C,
        affiliate_ids: BTreeSet<Uuid>,
        campaign_ids: BTreeSet<Uuid>,
        conversion_ids: BTreeSet<Uuid>,
    ) -> AppResult<Codes> {
        let mut codes = Codes::default();
        if !affiliate_ids.is_empty() {
            let rows: Vec<(Uuid, String)> = affiliates::Entity::find()
                .select_only()
                .column(affiliates::Column::Id)
                .column(affiliates::Column::Code)
                .filter(affiliates::Column::Id.is_in(affiliate_ids))
                .into_tuple()
                .all(db)
                .await?;
            codes.affiliates = rows.into_iter().collect();
        }
        if !campaign_ids.is_empty() {
            let rows: Vec<(Uuid, String)> = campaigns::Entity::find()
                .select_only()
                .column(campaigns::Column::Id)
                .column(campaigns::Column::Code)
                .filter(campaigns::Column::Id.is_in(campaign_ids))
                .into_tuple()
                .all(db)
                .await?;
            codes.campaigns = rows.into_iter().collect();
        }
        if !conversion_ids.is_empty() {
            let rows: Vec<(Uuid, Option<String>)> = conversions::Entity::find()
                .select_only()
                .column(conversions::Column::Id)
                .column(conversions::Column::ExternalId)
                .filter(conversions::Column::Id.is_in(conversion_ids))
                .into_tuple()
                .all(db)
                .await?;
            codes.conversions = rows.into_iter().filter_map(|(id, external)| Some((id, external?))).collect();
        }
        Ok(codes)
    }

    pub fn affiliate(&self, id: Option<Uuid>) -> Option<&str> {
        id.and_then(|id| self.affiliates.get(&id)).map(String::as_str)
    }

    pub fn campaign(&self, id: Option<Uuid>) -> Option<&str> {
        id.and_then(|id| self.campaigns.get(&id)).map(String::as_str)
    }

    /// A conversion's external id (the `id` its client sent), when it has one.
    pub fn conversion(&self, id: Option<Uuid>) -> Option<&str> {
        id.and_then(|id| self.conversions.get(&id)).map(String::as_str)
    }
}
