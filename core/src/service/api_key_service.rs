//! API keys of machine clients (the shop's server, BI tools, seed-style REST clients):
//! created, listed, rotated and revoked by admins. A key's secret is shown once, when it is
//! made or rotated; only its hash is kept.

use chrono::{Duration, Utc};
use entity::api_keys;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde_json::{json, Value};
use uuid::Uuid;

use super::{affiliate_service, audit};
use crate::{
    auth::{Caller, Role},
    context::Ctx,
    db,
    domain::{api_key, validate},
    error::{AppError, AppResult},
    model::api_keys::ApiKey,
};

/// Keys not revoked past this many are refused: a programme needs a handful.
pub const MAX_ACTIVE_KEYS: u64 = 500;

/// How long a rotated key's previous secret keeps working when the caller does not say.
pub const DEFAULT_GRACE_HOURS: u32 = 24;
/// The longest a previous secret may keep working (a week).
pub const MAX_GRACE_HOURS: u32 = 168;
/// The longest a key may be made to last (ten years); without one it lasts until revoked.
pub const MAX_EXPIRY_DAYS: u32 = 3650;

#[derive(Debug, Clone)]
pub struct NewKey {
    pub name: String,
    pub role: Role,
    /// Affiliate id or code; required for AFFILIATE keys, refused for others.
    pub affiliate: Option<String>,
    /// May record conversions (not for AFFILIATE keys).
    pub records_conversions: bool,
    /// Days until the key stops working; `None`: until revoked.
    pub expires_in_days: Option<u32>,
}

/// A key with its secret, the one time the secret is known.
#[derive(Debug, Clone)]
pub struct IssuedKey {
    pub key: ApiKey,
    pub secret: String,
}

/// Every key, newest first (ADMIN).
pub async fn list(db_conn: &DatabaseConnection, caller: &Caller) -> AppResult<Vec<ApiKey>> {
    caller.require_admin()?;
    Ok(api_keys::Entity::find()
        .order_by_desc(api_keys::Column::CreatedAt)
        .order_by_desc(api_keys::Column::Id)
        .limit(MAX_ACTIVE_KEYS * 4)
        .all(db_conn)
        .await?
        .into_iter()
        .map(ApiKey::from)
        .collect())
}

/// Makes a key (ADMIN); its secret is in the answer and nowhere else.
pub async fn create(ctx: &Ctx, caller: &Caller, input: NewKey) -> AppResult<IssuedKey> {
    caller.require_admin()?;
    let name = validate::text(&input.name, "name", 100)?;
    if input.role == Role::Affiliate && input.records_conversions {
        return Err(AppError::validation("recordsConversions", "affiliates cannot record conversions"));
    }
    let expires_at = match input.expires_in_days {
        Some(days @ 1..=MAX_EXPIRY_DAYS) => Some(Utc::now() + Duration::days(i64::from(days))),
        Some(_) => {
            return Err(AppError::validation(
                "expiresInDays",
                format!("expiresInDays must be between 1 and {MAX_EXPIRY_DAYS}"),
            ))
        }
        None => None,
    };
    let (txn, _turn) = db::write_txn(&ctx.db).await?;
    let affiliate_id = match (input.role, input.affiliate.as_deref().map(str::trim).filter(|a| !a.is_empty())) {
        (Role::Affiliate, Some(reference)) => Some(affiliate_service::resolve(&txn, reference).await?.id),
        (Role::Affiliate, None) => {
            return Err(AppError::validation("affiliateId", "an AFFILIATE key needs its affiliate"))
        }
        (_, Some(_)) => return Err(AppError::validation("affiliateId", "only AFFILIATE keys belong to an affiliate")),
        (_, None) => None,
    };
    let active = api_keys::Entity::find().filter(api_keys::Column::RevokedAt.is_null()).count(&txn).await?;
    if active >= MAX_ACTIVE_KEYS {
        return Err(AppError::validation(
            "name",
            format!("there are already {MAX_ACTIVE_KEYS} keys in use; revoke some first"),
        ));
    }
    let secret = api_key::generate();
    let now = Utc::now();
    let key = api_keys::ActiveModel {
        id: Set(Uuid::now_v7()),
        name: Set(name),
        prefix: Set(api_key::shown_part(&secret)),
        secret_hash: Set(api_key::hash(&secret)),
        previous_hash: Set(None),
        previous_expires_at: Set(None),
        role: Set(input.role.into()),
        affiliate_id: Set(affiliate_id),
        records_conversions: Set(input.records_conversions),
        created_by: Set(caller.user_id),
        created_at: Set(now),
        expires_at: Set(expires_at),
        rotated_at: Set(None),
        last_used_at: Set(None),
        revoked_at: Set(None),
    }
    .insert(&txn)
    .await?;
    audit::record(&txn, caller, change("api_key.create", &key, None, Some(view(&key)))).await?;
    txn.commit().await?;
    Ok(IssuedKey { key: key.into(), secret })
}

/// A new secret for a key (ADMIN); the previous one keeps working for `grace_hours`
/// (default [`DEFAULT_GRACE_HOURS`], 0 = stops at once), so a client can be switched over.
pub async fn rotate(ctx: &Ctx, caller: &Caller, id: Uuid, grace_hours: Option<u32>) -> AppResult<IssuedKey> {
    caller.require_admin()?;
    let grace = grace_hours.unwrap_or(DEFAULT_GRACE_HOURS);
    if grace > MAX_GRACE_HOURS {
        return Err(AppError::validation("graceHours", format!("graceHours must be at most {MAX_GRACE_HOURS}")));
    }
    let (txn, _turn) = db::write_txn(&ctx.db).await?;
    let before = api_keys::Entity::find_by_id(id).one(&txn).await?.ok_or_else(|| AppError::not_found("API key", id))?;
    if before.revoked_at.is_some() {
        return Err(AppError::InvalidTransition { entity: "API key", from: "REVOKED".into(), to: "ROTATED".into() });
    }
    let secret = api_key::generate();
    let now = Utc::now();
    let mut active: api_keys::ActiveModel = before.clone().into();
    active.prefix = Set(api_key::shown_part(&secret));
    active.secret_hash = Set(api_key::hash(&secret));
    let (previous_hash, previous_until) = match grace {
        0 => (None, None),
        hours => (Some(before.secret_hash.clone()), Some(now + Duration::hours(i64::from(hours)))),
    };
    active.previous_hash = Set(previous_hash);
    active.previous_expires_at = Set(previous_until);
    active.rotated_at = Set(Some(now));
    let key = active.update(&txn).await?;
    audit::record(&txn, caller, change("api_key.rotate", &key, Some(view(&before)), Some(view(&key)))).await?;
    txn.commit().await?;
    ctx.api_keys.forget(id);
    Ok(IssuedKey { key: key.into(), secret })
}

/// Stops a key at once (ADMIN); revoking a revoked key changes nothing.
pub async fn revoke(ctx: &Ctx, caller: &Caller, id: Uuid) -> AppResult<ApiKey> {
    caller.require_admin()?;
    let (txn, _turn) = db::write_txn(&ctx.db).await?;
    let before = api_keys::Entity::find_by_id(id).one(&txn).await?.ok_or_else(|| AppError::not_found("API key", id))?;
    if before.revoked_at.is_some() {
        return Ok(before.into());
    }
    let mut active: api_keys::ActiveModel = before.clone().into();
    active.revoked_at = Set(Some(Utc::now()));
    active.previous_hash = Set(None);
    active.previous_expires_at = Set(None);
    let key = active.update(&txn).await?;
    audit::record(&txn, caller, change("api_key.revoke", &key, Some(view(&before)), Some(view(&key)))).await?;
    txn.commit().await?;
    ctx.api_keys.forget(id);
    Ok(key.into())
}

/// What the audit log keeps of a key: never its secret or hash.
fn view(key: &api_keys::Model) -> Value {
    json!({
        "name": key.name,
        "prefix": key.prefix,
        "role": key.role,
        "affiliateId": key.affiliate_id,
        "recordsConversions": key.records_conversions,
        "expiresAt": key.expires_at,
        "rotatedAt": key.rotated_at,
        "previousExpiresAt": key.previous_expires_at,
        "revokedAt": key.revoked_at,
    })
}

fn change<'a>(
    action: &'a str,
    key: &api_keys::Model,
    before: Option<Value>,
    after: Option<Value>,
) -> audit::Change<'a> {
    audit::Change { action, entity_type: "api_key", entity_id: key.id.to_string(), before, after }
}
