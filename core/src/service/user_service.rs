//! People who sign in: admins, analysts and affiliate-portal users.

use chrono::{DateTime, Duration, Utc};
use entity::users::{self, UserRole};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
};
use serde_json::json;
use uuid::Uuid;

use super::{affiliate_service, audit};
use crate::{
    auth::{password, Caller, JwtKeys, Role},
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
/// get the same answer, so the form does not reveal who has an account.
pub async fn login(ctx: &Ctx, jwt: &JwtKeys, email: &str, password_given: &str) -> AppResult<Session> {
    let refused = || AppError::Unauthenticated("invalid email or password".into());
    let email = validate::email(email).map_err(|_| refused())?;
    let user = users::Entity::find().filter(users::Column::Email.eq(&email)).one(&ctx.db).await?;
    let Some(user) = user else {
        // Spend the same time as a real check.
        let _ = password::verify_bounded(password_given, &DUMMY_HASH).await;
        return Err(refused());
    };
    if !password::verify_bounded(password_given, &user.password_hash).await || !user.is_active {
        return Err(refused());
    }
    let caller = Caller { user_id: Some(user.id), role: user.role.into(), affiliate_id: user.affiliate_id };
    let (token, expires_at) = jwt.issue(&caller, Duration::hours(ctx.config.token_ttl_hours))?;
    let mut active: users::ActiveModel = user.into();
    active.last_login_at = Set(Some(Utc::now()));
    let user = active.update(&ctx.db).await?;
    Ok(Session { token, expires_at, user: user.into() })
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
    let affiliate_id = match (input.role, input.affiliate.as_deref()) {
        (Role::Affiliate, Some(reference)) => Some(affiliate_service::resolve(&txn, reference).await?.id),
        (Role::Affiliate, None) => {
            return Err(AppError::validation("affiliateId", "an AFFILIATE user needs its affiliate"))
        }
        (_, Some(_)) => return Err(AppError::validation("affiliateId", "only AFFILIATE users belong to an affiliate")),
        (_, None) => None,
    };
    if users::Entity::find().filter(users::Column::Email.eq(&email)).count(&txn).await? > 0 {
        return Err(AppError::conflict("email", format!("a user with email {email} already exists")));
    }
    let now = Utc::now();
    let user = users::ActiveModel {
        id: Set(Uuid::now_v7()),
        email: Set(email),
        password_hash: Set(password_hash),
        role: Set(input.role.into()),
        affiliate_id: Set(affiliate_id),
        is_active: Set(true),
        last_login_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await
    .map_err(|e| AppError::from_db_unique(e, &["email"]))?;
    audit::record(
        &txn,
        caller.unwrap_or(&Caller::system()),
        audit::Change {
            action: "user.create",
            entity_type: "user",
            entity_id: user.id.to_string(),
            before: None,
            after: Some(json!({ "email": user.email, "role": user.role, "affiliateId": user.affiliate_id })),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(user.into())
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
