//! People who sign in: admins, analysts and affiliate-portal users.

use chrono::{DateTime, Duration, Utc};
use entity::{
    revoked_tokens,
    users::{self, UserRole},
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Set,
};
use serde_json::json;
use uuid::Uuid;

use super::{affiliate_service, audit};
use crate::{
    auth::{password, Caller, JwtKeys, Role, Token},
    config::Config,
    context::Ctx,
    db,
    domain::validate,
    error::{AppError, AppResult},
    model::users::User,
};

pub const DEFAULT_ADMIN_EMAIL: &str = "admin@alpes.local";

#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: String,
    pub password: String,
    pub role: Role,
    /// Affiliate id or code; required for AFFILIATE users, refused for others.
    pub affiliate: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Session {
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub user: User,
}

/// Checks email and password and issues a token. Unknown email and wrong password
/// get the same answer, so the form does not reveal who has an account. Guessing is
/// slowed down per client IP and per account (see [`crate::auth::LoginThrottle`]).
pub async fn login(
    ctx: &Ctx,
    jwt: &JwtKeys,
    email: &str,
    password_given: &str,
    client: Option<std::net::IpAddr>,
) -> AppResult<Session> {
    let attempt = ctx.login_throttle.attempt(client, email)?;
    let result = sign_in(ctx, jwt, email, password_given).await;
    match &result {
        Ok(_) => ctx.login_throttle.succeeded(attempt),
        Err(_) => ctx.login_throttle.failed(attempt),
    }
    result
}

async fn sign_in(ctx: &Ctx, jwt: &JwtKeys, email: &str, password_given: &str) -> AppResult<Session> {
    let refused = || AppError::Unauthenticated("invalid email or password".into());
    let email = validate::email(email).map_err(|_| refused())?;
    let user = users::Entity::find().filter(users::Column::Email.eq(&email)).one(&ctx.db).await?;
    let Some(user) = user else {
        // Spend the same time as a real check.
        password::verify_bounded(password_given, &DUMMY_HASH).await?;
        return Err(refused());
    };
    if !password::verify_bounded(password_given, &user.password_hash).await? || !user.is_active {
        return Err(refused());
    }
    if let Some(affiliate_id) = user.affiliate_id {
        let affiliate = entity::affiliates::Entity::find_by_id(affiliate_id).one(&ctx.db).await?;
        if affiliate.is_none_or(|a| a.status != entity::affiliates::AffiliateStatus::Active) {
            return Err(refused());
        }
    }
    if let Some(revoked_at) = user.sessions_revoked_at {
        // Tokens say their issue time in whole seconds: one issued in the second of a
        // "sign out everywhere" would count as signed out.
        let wait = revoked_at.timestamp_millis() + 1_000 - Utc::now().timestamp_millis();
        if wait > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(wait as u64)).await;
        }
    }
    let caller = Caller::person(Some(user.id), user.role.into(), user.affiliate_id);
    let (token, expires_at) = jwt.issue(&caller, Duration::hours(ctx.config.token_ttl_hours))?;
    let mut active: users::ActiveModel = user.into();
    active.last_login_at = Set(Some(Utc::now()));
    let user = active.update(&ctx.db).await?;
    Ok(Session { token, expires_at, user: user.into() })
}

/// Signs out the session of `token` (the one the request came with).
pub async fn logout(ctx: &Ctx, token: &Token) -> AppResult<()> {
    let (Some(user_id), Some(id)) = (token.caller.user_id, token.id) else {
        return Err(AppError::validation("token", "this token has no session to sign out"));
    };
    let now = Utc::now();
    let (txn, _turn) = db::write_txn(&ctx.db).await?;
    // Rows of tokens past their expiry are no longer needed.
    revoked_tokens::Entity::delete_many().filter(revoked_tokens::Column::ExpiresAt.lte(now)).exec(&txn).await?;
    if revoked_tokens::Entity::find_by_id(id).one(&txn).await?.is_none() {
        revoked_tokens::ActiveModel { id: Set(id), user_id: Set(user_id), expires_at: Set(token.expires_at) }
            .insert(&txn)
            .await?;
    }
    txn.commit().await?;
    ctx.sessions.forget(user_id);
    Ok(())
}

/// Ends every session of a user: tokens issued until now are refused. Callers may sign
/// themselves out everywhere; admins may do it for anyone.
pub async fn sign_out_everywhere(ctx: &Ctx, caller: &Caller, user_id: Uuid) -> AppResult<User> {
    if caller.user_id != Some(user_id) {
        caller.require_admin()?;
    }
    update_user(ctx, caller, user_id, "user.sign_out_everywhere", |user| {
        user.sessions_revoked_at = Set(Some(Utc::now()));
    })
    .await
}

/// Disables or enables a user (ADMIN). A disabled user cannot sign in and its tokens are
/// refused; admins cannot disable themselves.
pub async fn set_active(ctx: &Ctx, caller: &Caller, user_id: Uuid, is_active: bool) -> AppResult<User> {
    caller.require_admin()?;
    if !is_active && caller.user_id == Some(user_id) {
        return Err(AppError::validation("active", "you cannot disable your own account"));
    }
    update_user(ctx, caller, user_id, "user.set_active", |user| user.is_active = Set(is_active)).await
}

/// The affiliate a user of `role` belongs to: an AFFILIATE user its own (id or code, which
/// must exist), any other none.
async fn affiliate_of<C: ConnectionTrait>(conn: &C, role: Role, affiliate: Option<&str>) -> AppResult<Option<Uuid>> {
    match (role, affiliate) {
        (Role::Affiliate, Some(reference)) => Ok(Some(affiliate_service::resolve(conn, reference).await?.id)),
        (Role::Affiliate, None) => Err(AppError::validation("affiliateId", "an AFFILIATE user needs its affiliate")),
        (_, Some(_)) => Err(AppError::validation("affiliateId", "only AFFILIATE users belong to an affiliate")),
        (_, None) => Ok(None),
    }
}

/// Gives a user another role (ADMIN): an AFFILIATE user belongs to its affiliate, others
/// to none. Admins cannot change their own role (so one admin always remains). The
/// user's sessions end: its tokens carried the old role.
pub async fn set_role(
    ctx: &Ctx,
    caller: &Caller,
    user_id: Uuid,
    role: Role,
    affiliate: Option<&str>,
) -> AppResult<User> {
    caller.require_admin()?;
    if caller.user_id == Some(user_id) {
        return Err(AppError::validation("id", "you cannot change your own role"));
    }
    let affiliate_id = affiliate_of(&ctx.db, role, affiliate).await?;
    update_user(ctx, caller, user_id, "user.set_role", |user| {
        user.role = Set(role.into());
        user.affiliate_id = Set(affiliate_id);
        user.sessions_revoked_at = Set(Some(Utc::now()));
    })
    .await
}

/// A new password for a user (ADMIN), generated and returned once to give to them; the
/// old one stops working and the user's sessions end. For their own password, admins
/// use `alpes create-admin`.
pub async fn reset_password(ctx: &Ctx, caller: &Caller, user_id: Uuid) -> AppResult<(User, String)> {
    caller.require_admin()?;
    if caller.user_id == Some(user_id) {
        return Err(AppError::validation("id", "reset your own password with alpes create-admin"));
    }
    let password = password::generate();
    let password_hash = password::hash(&password)?;
    let user = update_user(ctx, caller, user_id, "user.reset_password", |user| {
        user.password_hash = Set(password_hash);
        user.sessions_revoked_at = Set(Some(Utc::now()));
    })
    .await?;
    Ok((user, password))
}

async fn update_user(
    ctx: &Ctx,
    caller: &Caller,
    user_id: Uuid,
    action: &'static str,
    change: impl FnOnce(&mut users::ActiveModel),
) -> AppResult<User> {
    let (txn, _turn) = db::write_txn(&ctx.db).await?;
    let before =
        users::Entity::find_by_id(user_id).one(&txn).await?.ok_or_else(|| AppError::not_found("user", user_id))?;
    let mut active: users::ActiveModel = before.clone().into();
    change(&mut active);
    active.updated_at = Set(Utc::now());
    let user = active.update(&txn).await?;
    // What changed, never the password (its hash neither).
    let view = |u: &users::Model| json!({ "isActive": u.is_active, "role": u.role, "affiliateId": u.affiliate_id, "sessionsRevokedAt": u.sessions_revoked_at });
    audit::record(
        &txn,
        caller,
        audit::Change {
            action,
            entity_type: "user",
            entity_id: user_id.to_string(),
            before: Some(view(&before)),
            after: Some(view(&user)),
        },
    )
    .await?;
    txn.commit().await?;
    ctx.sessions.forget(user_id);
    Ok(user.into())
}

/// A real Argon2 hash, verified against on unknown emails so that they take as long.
static DUMMY_HASH: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| password::hash(&password::generate()).unwrap_or_default());

pub async fn create(ctx: &Ctx, caller: &Caller, input: NewUser) -> AppResult<User> {
    caller.require_admin()?;
    insert_user(&ctx.db, Some(caller), input).await
}

/// Creates a user; `caller` is `None` for the CLI and first-start bootstrap.
async fn insert_user(db_conn: &DatabaseConnection, caller: Option<&Caller>, input: NewUser) -> AppResult<User> {
    let email = validate::email(&input.email)?;
    validate::password(&input.password)?;
    let password_hash = password::hash(&input.password)?;
    let (txn, _turn) = db::write_txn(db_conn).await?;
    let affiliate_id = affiliate_of(&txn, input.role, input.affiliate.as_deref()).await?;
    let user =
        insert_checked(&txn, caller.unwrap_or(&Caller::system()), email, password_hash, input.role, affiliate_id)
            .await?;
    txn.commit().await?;
    Ok(user.into())
}

/// Stores a user whose email and password were checked (the password hashed), with its
/// audit row, in the caller's transaction; an email in use is CONFLICT.
pub(crate) async fn insert_checked<C: ConnectionTrait>(
    txn: &C,
    caller: &Caller,
    email: String,
    password_hash: String,
    role: Role,
    affiliate_id: Option<Uuid>,
) -> AppResult<users::Model> {
    if users::Entity::find().filter(users::Column::Email.eq(&email)).count(txn).await? > 0 {
        return Err(AppError::conflict("email", format!("a user with email {email} already exists")));
    }
    let now = Utc::now();
    let user = users::ActiveModel {
        id: Set(Uuid::now_v7()),
        email: Set(email),
        password_hash: Set(password_hash),
        role: Set(role.into()),
        affiliate_id: Set(affiliate_id),
        is_active: Set(true),
        last_login_at: Set(None),
        sessions_revoked_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(txn)
    .await
    .map_err(|e| AppError::from_db_unique(e, &["email"]))?;
    audit::record(
        txn,
        caller,
        audit::Change {
            action: "user.create",
            entity_type: "user",
            entity_id: user.id.to_string(),
            before: None,
            after: Some(json!({ "email": user.email, "role": user.role, "affiliateId": user.affiliate_id })),
        },
    )
    .await?;
    Ok(user)
}

/// `alpes create-admin`: a new admin, or a new password for an existing one.
pub async fn create_or_reset_admin(db_conn: &DatabaseConnection, email: &str, password_given: &str) -> AppResult<User> {
    let email = validate::email(email)?;
    validate::password(password_given)?;
    if let Some(existing) = users::Entity::find().filter(users::Column::Email.eq(&email)).one(db_conn).await? {
        let mut active: users::ActiveModel = existing.into();
        active.password_hash = Set(password::hash(password_given)?);
        active.role = Set(UserRole::Admin);
        active.affiliate_id = Set(None);
        active.is_active = Set(true);
        // A new password ends the sessions opened with the old one.
        active.sessions_revoked_at = Set(Some(Utc::now()));
        active.updated_at = Set(Utc::now());
        return Ok(active.update(db_conn).await?.into());
    }
    insert_user(
        db_conn,
        None,
        NewUser { email, password: password_given.to_string(), role: Role::Admin, affiliate: None },
    )
    .await
}

/// On first start (no admin yet) creates one: from the configured email and password,
/// or with a generated password printed once.
pub async fn bootstrap_admin(
    db_conn: &DatabaseConnection,
    config: &Config,
) -> AppResult<Option<(String, Option<String>)>> {
    let admins = users::Entity::find().filter(users::Column::Role.eq(UserRole::Admin)).count(db_conn).await?;
    if admins > 0 {
        return Ok(None);
    }
    let email = config.admin_email.clone().unwrap_or_else(|| DEFAULT_ADMIN_EMAIL.to_string());
    let (password_used, generated) = match &config.admin_password {
        Some(p) => (p.clone(), None),
        None => {
            let p = password::generate();
            (p.clone(), Some(p))
        }
    };
    create_or_reset_admin(db_conn, &email, &password_used).await?;
    Ok(Some((email, generated)))
}

pub async fn get(db_conn: &DatabaseConnection, id: Uuid) -> AppResult<User> {
    let user = users::Entity::find_by_id(id).one(db_conn).await?;
    user.map(User::from).ok_or_else(|| AppError::not_found("user", id))
}

/// Users, for admins.
pub async fn list(db_conn: &DatabaseConnection, caller: &Caller) -> AppResult<Vec<User>> {
    caller.require_admin()?;
    Ok(users::Entity::find()
        .order_by_asc(users::Column::Email)
        .all(db_conn)
        .await?
        .into_iter()
        .map(User::from)
        .collect())
}
