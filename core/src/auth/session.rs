//! Sessions follow their user: every request's token is checked against what the user is
//! now (exists, active, its affiliate active, not signed out), not what it was when the
//! token was issued. What a user is now is read at most once per [`super::recheck::RECHECK`]
//! per user and replica; changes made through this replica take effect at once.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use entity::{
    affiliates::{self, AffiliateStatus},
    revoked_tokens, users,
};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use super::{jwt::Token, recheck::Remembered, Caller, Role};
use crate::error::{AppError, AppResult};

/// Remembered users past this many are forgotten (all of them: they are read again).
const MAX_REMEMBERED: usize = 100_000;

#[derive(Default)]
pub struct Sessions {
    remembered: Remembered<Uuid, Option<Standing>, MAX_REMEMBERED>,
}

/// What a user is now; `None` in the cache for a user that does not exist.
#[derive(Debug, Clone)]
struct Standing {
    role: Role,
    affiliate_id: Option<Uuid>,
    /// The user is active and, for AFFILIATE users, so is its affiliate.
    active: bool,
    revoked_at: Option<DateTime<Utc>>,
    revoked_tokens: HashSet<Uuid>,
}

impl Sessions {
    /// The caller a verified token stands for now, or UNAUTHENTICATED. Tokens minted by
    /// `alpes token` (no user) stand for what they say until they expire.
    pub async fn check(&self, db: &impl ConnectionTrait, token: &Token) -> AppResult<Caller> {
        let Some(user_id) = token.caller.user_id else {
            return Ok(token.caller.clone());
        };
        let standing = match self.remembered.get(&user_id) {
            Some(standing) => standing,
            None => {
                let standing = read_standing(db, user_id).await?;
                self.remembered.put(user_id, standing.clone());
                standing
            }
        };
        let refused = |why: &str| Err(AppError::Unauthenticated(why.into()));
        let Some(standing) = standing else {
            return refused("the token's user does not exist");
        };
        if !standing.active {
            return refused("this account is disabled");
        }
        if standing.revoked_at.is_some_and(|at| token.issued_at <= at)
            || token.id.is_some_and(|id| standing.revoked_tokens.contains(&id))
        {
            return refused("this session was signed out; sign in again");
        }
        if standing.role == Role::Affiliate && standing.affiliate_id.is_none() {
            return refused("this account has no affiliate");
        }
        Ok(Caller::person(Some(user_id), standing.role, standing.affiliate_id))
    }

    /// After a change to a user through this replica: read it again on its next request.
    pub fn forget(&self, user_id: Uuid) {
        self.remembered.forget(&user_id);
    }

    /// After a change that touches many users (an affiliate's status).
    pub fn forget_all(&self) {
        self.remembered.clear();
    }
}

async fn read_standing(db: &impl ConnectionTrait, user_id: Uuid) -> AppResult<Option<Standing>> {
    let Some(user) = users::Entity::find_by_id(user_id).one(db).await? else {
        return Ok(None);
    };
    let affiliate_active = affiliate_is_active(db, user.affiliate_id).await?;
    let revoked_tokens = revoked_tokens::Entity::find()
        .select_only()
        .column(revoked_tokens::Column::Id)
        .filter(revoked_tokens::Column::UserId.eq(user_id))
        .filter(revoked_tokens::Column::ExpiresAt.gt(Utc::now()))
        .into_tuple::<Uuid>()
        .all(db)
        .await?;
    Ok(Some(Standing {
        role: user.role.into(),
        affiliate_id: user.affiliate_id,
        active: user.is_active && affiliate_active,
        revoked_at: user.sessions_revoked_at,
        revoked_tokens: revoked_tokens.into_iter().collect(),
    }))
}

/// For a user or key of an affiliate: that affiliate still exists and is ACTIVE (true
/// without one).
pub(super) async fn affiliate_is_active(db: &impl ConnectionTrait, affiliate_id: Option<Uuid>) -> AppResult<bool> {
    let Some(affiliate_id) = affiliate_id else { return Ok(true) };
    Ok(affiliates::Entity::find_by_id(affiliate_id)
        .select_only()
        .column(affiliates::Column::Status)
        .into_tuple::<AffiliateStatus>()
        .one(db)
        .await?
        .is_some_and(|status| status == AffiliateStatus::Active))
}
