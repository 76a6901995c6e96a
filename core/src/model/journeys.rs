//! Journeys: the touches that led to a conversion, under the model that credited them.

use chrono::{DateTime, Utc};
pub use entity::journeys::{AttributionModel, JourneyStatus};
use serde_json::Value;
use uuid::Uuid;

/// A journey as the layers above see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Journey {
    pub id: Uuid,
    pub conversion_id: Uuid,
    pub user_id: Option<String>,
    pub anonymous_id: Option<String>,
    /// The model of the current credits.
    pub model: AttributionModel,
    pub lookback_days: i32,
    pub status: JourneyStatus,
    /// The touches as stored (`service::attribution::touches_of` reads them).
    pub touchpoints: Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub reverted_at: Option<DateTime<Utc>>,
}

impl From<entity::journeys::Model> for Journey {
    fn from(row: entity::journeys::Model) -> Self {
        Self {
            id: row.id,
            conversion_id: row.conversion_id,
            user_id: row.user_id,
            anonymous_id: row.anonymous_id,
            model: row.model,
            lookback_days: row.lookback_days,
            status: row.status,
            touchpoints: row.touchpoints,
            created_at: row.created_at,
            updated_at: row.updated_at,
            reverted_at: row.reverted_at,
        }
    }
}
