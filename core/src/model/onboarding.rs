//! Joining the programme: an invite link (without its token's hash: the token is shown
//! once, when made) and what an applicant told us.

use chrono::{DateTime, Utc};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invite {
    pub id: Uuid,
    /// Only this email may use it, when set.
    pub email: Option<String>,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    /// The affiliate who joined with it.
    pub affiliate_id: Option<Uuid>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<entity::affiliate_invites::Model> for Invite {
    fn from(row: entity::affiliate_invites::Model) -> Self {
        Self {
            id: row.id,
            email: row.email,
            note: row.note,
            created_at: row.created_at,
            expires_at: row.expires_at,
            used_at: row.used_at,
            affiliate_id: row.affiliate_id,
            revoked_at: row.revoked_at,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Application {
    pub affiliate_id: Uuid,
    pub website: Option<String>,
    pub message: Option<String>,
    /// They came with an invite link.
    pub invited: bool,
    pub applied_at: DateTime<Utc>,
    pub reviewed_at: Option<DateTime<Utc>>,
    pub rejection_reason: Option<String>,
}

impl From<entity::affiliate_applications::Model> for Application {
    fn from(row: entity::affiliate_applications::Model) -> Self {
        Self {
            affiliate_id: row.affiliate_id,
            website: row.website,
            message: row.message,
            invited: row.invite_id.is_some(),
            applied_at: row.applied_at,
            reviewed_at: row.reviewed_at,
            rejection_reason: row.rejection_reason,
        }
    }
}
