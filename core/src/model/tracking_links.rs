//! Tracking links: an affiliate × campaign short code that redirects to the shop.

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// A tracking link as the layers above see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackingLink {
    pub id: Uuid,
    pub code: String,
    pub affiliate_id: Uuid,
    pub campaign_id: Uuid,
    pub destination_url: String,
    /// The user who made it, if a person did.
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

impl From<entity::tracking_links::Model> for TrackingLink {
    fn from(row: entity::tracking_links::Model) -> Self {
        Self {
            id: row.id,
            code: row.code,
            affiliate_id: row.affiliate_id,
            campaign_id: row.campaign_id,
            destination_url: row.destination_url,
            created_by: row.created_by,
            created_at: row.created_at,
        }
    }
}
