//! API keys as callers: a key sent as `Authorization: Bearer` or `X-Api-Key` stands for
//! what its row says now (role, affiliate, scope), unless revoked, expired, or its
//! affiliate is no longer active. Like [`super::Sessions`], what a key is is read at most
//! once per [`super::recheck::RECHECK`] per key and replica; a revocation through this
//! replica takes effect at once. `last_used_at` is written when a key is read again.

use chrono::{DateTime, Utc};
use entity::api_keys;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::{caller::KeyGrant, recheck::Remembered, session::affiliate_is_active, Caller, Role};
use crate::{
    domain::api_key,
    error::{AppError, AppResult},
};

/// Remembered keys past this many are forgotten (all of them: they are read again).
const MAX_REMEMBERED: usize = 10_000;

#[derive(Default)]
pub struct ApiKeys {
    /// By the key's hash; `None` for a hash that names no usable key.
    remembered: Remembered<String, Option<Standing>, MAX_REMEMBERED>,
}

/// What a key is now.
#[derive(Debug, Clone)]
struct Standing {
    id: Uuid,
    role: Role,
    affiliate_id: Option<Uuid>,
    records_conversions: bool,
    /// The key (or this secret of it, after a rotation) is refused from then on.
    usable_until: Option<DateTime<Utc>>,
    revoked: bool,
    /// For AFFILIATE keys: the affiliate is active.
    affiliate_active: bool,
}

impl ApiKeys {
    /// The caller a key stands for, or UNAUTHENTICATED.
    pub async fn check(&self, db: &DatabaseConnection, key: &str) -> AppResult<Caller> {
        let refused = |why: &str| Err(AppError::Unauthenticated(why.into()));
        if !api_key::well_formed(key) {
            return refused("not a valid API key");
        }
        let hash = api_key::hash(key);
        let standing = match self.remembered.get(&hash) {
            Some(standing) => standing,
            None => {
                let standing = read_standing(db, &hash).await?;
                if let Some(found) = &standing {
                    touch(db.clone(), found.id);
                }
                self.remembered.put(hash, standing.clone());
                standing
            }
        };
        let Some(standing) = standing else {
            return refused("unknown API key");
        };
        if standing.revoked {
            return refused("this API key was revoked");
        }
        if standing.usable_until.is_some_and(|until| until <= Utc::now()) {
            return refused("this API key has expired");
        }
        if standing.role == Role::Affiliate && !standing.affiliate_active {
            return refused("this API key's affiliate is not active");
        }
        Ok(Caller {
            key: Some(KeyGrant { id: standing.id, records_conversions: standing.records_conversions }),
            ..Caller::person(None, standing.role, standing.affiliate_id)
        })
    }

    /// After a change to a key through this replica: read it again on its next use.
    pub fn forget(&self, id: Uuid) {
        self.remembered.forget_where(|standing| standing.as_ref().is_some_and(|s| s.id == id));
    }

    /// After a change that touches many keys (an affiliate's status).
    pub fn forget_all(&self) {
        self.remembered.clear();
    }
}

async fn read_standing(db: &DatabaseConnection, hash: &str) -> AppResult<Option<Standing>> {
    let now = Utc::now();
    let (key, usable_until) =
        match api_keys::Entity::find().filter(api_keys::Column::SecretHash.eq(hash)).one(db).await? {
            Some(key) => {
                let until = key.expires_at;
                (key, until)
            }
            None => {
                // The secret before the last rotation, while its grace period lasts.
                let previous = api_keys::Entity::find()
                    .filter(api_keys::Column::PreviousHash.eq(hash))
                    .filter(api_keys::Column::PreviousExpiresAt.gt(now))
                    .one(db)
                    .await?;
                let Some(key) = previous else { return Ok(None) };
                let until = match (key.expires_at, key.previous_expires_at) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                (key, until)
            }
        };
    let affiliate_active = affiliate_is_active(db, key.affiliate_id).await?;
    Ok(Some(Standing {
        id: key.id,
        role: key.role.into(),
        affiliate_id: key.affiliate_id,
        records_conversions: key.records_conversions,
        usable_until,
        revoked: key.revoked_at.is_some(),
        affiliate_active,
    }))
}

/// Notes when a key was last used, off the request's path (best effort).
fn touch(db: DatabaseConnection, id: Uuid) {
    tokio::spawn(async move {
        let result = api_keys::Entity::update_many()
            .col_expr(api_keys::Column::LastUsedAt, sea_orm::sea_query::Expr::value(Utc::now()))
            .filter(api_keys::Column::Id.eq(id))
            .exec(&db)
            .await;
        if let Err(err) = result {
            tracing::debug!(key = %id, error = %err, "could not note the API key's use");
        }
    });
}
