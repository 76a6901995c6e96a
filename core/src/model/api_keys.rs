//! API keys of machine clients. The view leaves out the secret's hashes (current and
//! previous): only the first characters of a key ever leave the service layer.

use chrono::{DateTime, Utc};
use entity::users::UserRole;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub id: Uuid,
    pub name: String,
    pub prefix: String,
    pub role: UserRole,
    pub affiliate_id: Option<Uuid>,
    pub records_conversions: bool,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub rotated_at: Option<DateTime<Utc>>,
    /// Until when the secret before the last rotation still works.
    pub previous_expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl ApiKey {
    /// Usable now: not revoked, not expired.
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|at| at > now)
    }
}

impl From<entity::api_keys::Model> for ApiKey {
    fn from(key: entity::api_keys::Model) -> Self {
        Self {
            id: key.id,
            name: key.name,
            prefix: key.prefix,
            role: key.role,
            affiliate_id: key.affiliate_id,
            records_conversions: key.records_conversions,
            created_at: key.created_at,
            expires_at: key.expires_at,
            rotated_at: key.rotated_at,
            previous_expires_at: key.previous_expires_at,
            last_used_at: key.last_used_at,
            revoked_at: key.revoked_at,
        }
    }
}
