//! People who sign in. The view leaves out what must never leave the service layer: the
//! password hash.

use chrono::{DateTime, Utc};
pub use entity::users::UserRole;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub role: UserRole,
    /// For AFFILIATE users: the affiliate they act for.
    pub affiliate_id: Option<Uuid>,
    pub is_active: bool,
    pub last_login_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<entity::users::Model> for User {
    fn from(row: entity::users::Model) -> Self {
        Self {
            id: row.id,
            email: row.email,
            role: row.role,
            affiliate_id: row.affiliate_id,
            is_active: row.is_active,
            last_login_at: row.last_login_at,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}
