//! Joining the programme: people apply on the public page (or come with an admin's invite
//! link), admins approve or reject. An applicant is an ordinary affiliate in state
//! `APPLIED` with an AFFILIATE user holding the password they chose; neither earns nor
//! signs in until approved (sign-in needs an ACTIVE affiliate). An invite is approved by
//! the admin who made it: who comes with a valid one is ACTIVE at once.
//!
//! The public page is open to anyone, so applications count against the sign-in throttle
//! (per client IP and per email): a flood waits, doubling, like password guessing.

use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};
use entity::{
    affiliate_applications as applications, affiliate_invites as invites,
    affiliates::{self, AffiliateStatus, AffiliateTier},
    users,
};
use rand::{distributions::Alphanumeric, Rng};
use sea_orm::{
    sea_query::Expr, ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use serde_json::json;
use uuid::Uuid;

use super::{
    affiliate_service::{self, CommissionSettings, NewAffiliate},
    audit, outbox, user_service,
};
use crate::{
    auth::{password, Caller, Role},
    context::Ctx,
    db,
    domain::{pii, validate},
    error::{AppError, AppResult, Problems},
    model::affiliates::Affiliate,
    wire::events::affiliate as event,
};

pub use crate::model::onboarding::{Application, Invite};

/// An invite lasts this long unless told otherwise, and at most [`MAX_INVITE_DAYS`].
const DEFAULT_INVITE_DAYS: u32 = 14;
const MAX_INVITE_DAYS: u32 = 90;
const INVITE_PREFIX: &str = "inv_";
const INVITE_RANDOM_CHARS: usize = 40;

#[derive(Debug, Clone)]
pub struct NewApplication {
    pub name: String,
    pub email: String,
    pub password: String,
    pub website: Option<String>,
    pub message: Option<String>,
    /// The token of an invite link.
    pub invite: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Applied {
    /// The applicant's affiliate (APPLIED, or ACTIVE when invited).
    pub affiliate: Affiliate,
    /// Approved at once (they came with a valid invite): they can sign in now.
    pub approved: bool,
}

/// A public application. The answer says whether it is approved already (an invite) or
/// waits for an admin; every wrong field is named at once.
pub async fn apply(ctx: &Ctx, input: NewApplication, client: Option<IpAddr>) -> AppResult<Applied> {
    // Counted as a failed attempt until the throttle forgets: applications are rare, floods are not.
    let _attempt = ctx.login_throttle.attempt(client, &format!("apply:{}", input.email.trim().to_lowercase()))?;
    let mut problems = Problems::default();
    let website = problems.check(
        input
            .website
            .as_deref()
            .map(str::trim)
            .filter(|w| !w.is_empty())
            .map(|w| validate::http_url(w, "website"))
            .transpose(),
    );
    let message = problems.check(validate::optional_text(input.message.as_deref(), "message", 2000));
    let password_ok = problems.check(validate::password(&input.password));
    let checked = problems.check(affiliate_service::check_new(NewAffiliate {
        code: None,
        name: input.name.clone(),
        email: input.email.clone(),
        phone: None,
        document: None,
        tier: AffiliateTier::Standard,
        bank_details: None,
        // The programme's defaults until an admin changes them.
        commission: CommissionSettings { currency: Some(ctx.config.currency.clone()), ..CommissionSettings::default() },
    }));
    let (Some(website), Some(message), Some(()), Some(checked)) = (website, message, password_ok, checked) else {
        return Err(problems.into_error());
    };
    let email = checked.email().to_string();
    let password_hash = password::hash(&input.password)?;

    let (txn, _turn) = db::write_txn(&ctx.db).await?;
    let invite = match input.invite.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        Some(token) => Some(usable_invite(&txn, token, Some(&email)).await?),
        None => None,
    };
    if users::Entity::find().filter(users::Column::Email.eq(&email)).one(&txn).await?.is_some() {
        return Err(AppError::conflict(
            "email",
            "this email already has an application or an account: sign in, or write to the programme",
        ));
    }
    let system = Caller::system();
    let (status, event_type) = if invite.is_some() {
        (AffiliateStatus::Active, "afiliado_creado")
    } else {
        (AffiliateStatus::Applied, "afiliado_solicitado")
    };
    let affiliate =
        affiliate_service::insert(&txn, &system, checked, status, event_type).await.map_err(|err| match err {
            AppError::Conflict { field: Some(field), .. } if field == "email" => AppError::conflict(
                "email",
                "this email already has an application or an account: sign in, or write to the programme",
            ),
            other => other,
        })?;
    user_service::insert_checked(&txn, &system, email, password_hash, Role::Affiliate, Some(affiliate.id)).await?;
    let now = Utc::now();
    if let Some(invite) = &invite {
        // Used once: a second use racing this one finds it used.
        let used = invites::Entity::update_many()
            .col_expr(invites::Column::UsedAt, Expr::value(now))
            .col_expr(invites::Column::AffiliateId, Expr::value(affiliate.id))
            .filter(invites::Column::Id.eq(invite.id))
            .filter(invites::Column::UsedAt.is_null())
            .exec(&txn)
            .await?;
        if used.rows_affected != 1 {
            return Err(invalid_invite());
        }
    }
    applications::ActiveModel {
        id: Set(Uuid::now_v7()),
        affiliate_id: Set(affiliate.id),
        website: Set(website),
        message: Set(message),
        invite_id: Set(invite.as_ref().map(|i| i.id)),
        applied_at: Set(now),
        reviewed_at: Set(invite.as_ref().map(|_| now)),
        reviewed_by: Set(invite.as_ref().and_then(|i| i.created_by)),
        rejection_reason: Set(None),
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    ctx.events_committed();
    Ok(Applied { approved: invite.is_some(), affiliate: affiliate.into() })
}

/// APPLIED → ACTIVE: the affiliate earns from now on and signs in with the password they chose.
pub async fn approve(ctx: &Ctx, caller: &Caller, affiliate_id: Uuid) -> AppResult<Affiliate> {
    review(ctx, caller, affiliate_id, None).await
}

/// APPLIED → REJECTED, with the reason (kept, shown to admins).
pub async fn reject(ctx: &Ctx, caller: &Caller, affiliate_id: Uuid, reason: &str) -> AppResult<Affiliate> {
    let reason = validate::text(reason, "reason", 2000)?;
    review(ctx, caller, affiliate_id, Some(reason)).await
}

async fn review(ctx: &Ctx, caller: &Caller, affiliate_id: Uuid, rejection: Option<String>) -> AppResult<Affiliate> {
    caller.require_admin()?;
    let (txn, _turn) = db::write_txn(&ctx.db).await?;
    let before = affiliates::Entity::find_by_id(affiliate_id)
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::not_found("affiliate", affiliate_id))?;
    let (next, event_type, action) = match rejection {
        None => (AffiliateStatus::Active, "afiliado_aprobado", "affiliate.approve"),
        Some(_) => (AffiliateStatus::Rejected, "afiliado_rechazado", "affiliate.reject"),
    };
    if before.status != AffiliateStatus::Applied {
        return Err(AppError::InvalidTransition {
            entity: "affiliate",
            from: crate::wire::names::affiliate_status(before.status).into(),
            to: crate::wire::names::affiliate_status(next).into(),
        });
    }
    let now = Utc::now();
    let mut active = before.clone().into_active_model();
    active.status = Set(next);
    active.updated_at = Set(now);
    let model = active.update(&txn).await?;
    applications::Entity::update_many()
        .col_expr(applications::Column::ReviewedAt, Expr::value(now))
        .col_expr(applications::Column::ReviewedBy, Expr::value(caller.user_id))
        .col_expr(applications::Column::RejectionReason, Expr::value(rejection.clone()))
        .filter(applications::Column::AffiliateId.eq(affiliate_id))
        .exec(&txn)
        .await?;
    outbox::record(&txn, event(&model, event_type)).await?;
    audit::record(
        &txn,
        caller,
        audit::Change {
            action,
            entity_type: "affiliate",
            entity_id: affiliate_id.to_string(),
            before: Some(json!({ "status": "APPLIED" })),
            after: Some(
                json!({ "status": if rejection.is_some() { "REJECTED" } else { "ACTIVE" }, "reason": rejection }),
            ),
        },
    )
    .await?;
    txn.commit().await?;
    // Their user's session check reads the affiliate's state afresh.
    ctx.sessions.forget_all();
    ctx.events_committed();
    Ok(model.into())
}

/// What an applicant told us, for admins (an affiliate may read their own).
pub async fn application_of(ctx: &Ctx, caller: &Caller, affiliate_id: Uuid) -> AppResult<Option<Application>> {
    caller.require_affiliate_access(affiliate_id)?;
    let row =
        applications::Entity::find().filter(applications::Column::AffiliateId.eq(affiliate_id)).one(&ctx.db).await?;
    Ok(row.map(Application::from))
}

/// A new invite and its token, shown once (only its SHA-256 is kept).
pub async fn create_invite(
    ctx: &Ctx,
    caller: &Caller,
    email: Option<&str>,
    note: Option<&str>,
    days: Option<u32>,
) -> AppResult<(Invite, String)> {
    caller.require_admin()?;
    let mut problems = Problems::default();
    let email = problems.check(email.map(str::trim).filter(|e| !e.is_empty()).map(validate::email).transpose());
    let note = problems.check(validate::optional_text(note, "note", 500));
    let days = days.unwrap_or(DEFAULT_INVITE_DAYS);
    if !(1..=MAX_INVITE_DAYS).contains(&days) {
        problems
            .check::<(), _>(Err(AppError::validation("days", format!("an invite lasts 1 to {MAX_INVITE_DAYS} days"))));
    }
    let (Some(email), Some(note)) = (email, note) else {
        return Err(problems.into_error());
    };
    problems.finish()?;
    let random: String =
        rand::thread_rng().sample_iter(&Alphanumeric).take(INVITE_RANDOM_CHARS).map(char::from).collect();
    let token = format!("{INVITE_PREFIX}{random}");
    let now = Utc::now();
    let (txn, _turn) = db::write_txn(&ctx.db).await?;
    let invite = invites::ActiveModel {
        id: Set(Uuid::now_v7()),
        token_hash: Set(pii::sha256_hex(&token)),
        email: Set(email.clone()),
        note: Set(note),
        created_by: Set(caller.user_id),
        created_at: Set(now),
        expires_at: Set(now + Duration::days(i64::from(days))),
        used_at: Set(None),
        affiliate_id: Set(None),
        revoked_at: Set(None),
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        caller,
        audit::Change {
            action: "affiliate_invite.create",
            entity_type: "affiliate_invite",
            entity_id: invite.id.to_string(),
            before: None,
            after: Some(json!({ "email": email, "expiresAt": invite.expires_at })),
        },
    )
    .await?;
    txn.commit().await?;
    Ok((invite.into(), token))
}

/// The latest invites (at most 100), newest first.
pub async fn list_invites(ctx: &Ctx, caller: &Caller) -> AppResult<Vec<Invite>> {
    caller.require_admin()?;
    let rows = invites::Entity::find()
        .order_by_desc(invites::Column::CreatedAt)
        .order_by_desc(invites::Column::Id)
        .limit(100)
        .all(&ctx.db)
        .await?;
    Ok(rows.into_iter().map(Invite::from).collect())
}

/// An invite not yet used stops working at once.
pub async fn revoke_invite(ctx: &Ctx, caller: &Caller, id: Uuid) -> AppResult<Invite> {
    caller.require_admin()?;
    let (txn, _turn) = db::write_txn(&ctx.db).await?;
    let invite = invites::Entity::find_by_id(id).one(&txn).await?.ok_or_else(|| AppError::not_found("invite", id))?;
    if invite.used_at.is_some() {
        return Err(AppError::InvalidTransition { entity: "invite", from: "used".into(), to: "revoked".into() });
    }
    let mut active = invite.into_active_model();
    active.revoked_at = Set(Some(Utc::now()));
    let invite = active.update(&txn).await?;
    audit::record(
        &txn,
        caller,
        audit::Change {
            action: "affiliate_invite.revoke",
            entity_type: "affiliate_invite",
            entity_id: id.to_string(),
            before: None,
            after: Some(json!({ "revokedAt": invite.revoked_at })),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(invite.into())
}

/// What the application page shows of an invite link: for whom and until when. A token
/// that is not a usable invite is NOT_FOUND, whatever the reason.
pub async fn invite_info(ctx: &Ctx, token: &str) -> AppResult<(Option<String>, DateTime<Utc>)> {
    let invite = usable_invite(&ctx.db, token, None).await.map_err(|_| AppError::not_found("invite", "link"))?;
    Ok((invite.email, invite.expires_at))
}

/// The invite of a token, if it can still be used (by `email`, when it names one).
async fn usable_invite<C: ConnectionTrait>(conn: &C, token: &str, email: Option<&str>) -> AppResult<invites::Model> {
    let well_formed = token
        .strip_prefix(INVITE_PREFIX)
        .is_some_and(|rest| rest.len() == INVITE_RANDOM_CHARS && rest.bytes().all(|b| b.is_ascii_alphanumeric()));
    if !well_formed {
        return Err(invalid_invite());
    }
    let invite = invites::Entity::find()
        .filter(invites::Column::TokenHash.eq(pii::sha256_hex(token)))
        .one(conn)
        .await?
        .ok_or_else(invalid_invite)?;
    if invite.used_at.is_some() || invite.revoked_at.is_some() || invite.expires_at <= Utc::now() {
        return Err(invalid_invite());
    }
    if let (Some(wanted), Some(given)) = (&invite.email, email) {
        if wanted != given {
            return Err(AppError::validation("email", "this invite is for another email address"));
        }
    }
    Ok(invite)
}

fn invalid_invite() -> AppError {
    AppError::validation("invite", "this invite link cannot be used: it was used, revoked or has expired")
}
