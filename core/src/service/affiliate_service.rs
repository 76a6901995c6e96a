//! Affiliates: the partners who bring traffic and earn commissions (seed 004).

use chrono::Utc;
use entity::affiliates::{self, AffiliateStatus, AffiliateTier};
use rust_decimal::Decimal;
use sea_orm::{
    sea_query::{Expr, ExprTrait, Func},
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, Set,
};
use serde_json::{json, Value};
use uuid::Uuid;

use super::{audit, free_code, like_pattern, outbox, taken, Page, PageRequest};
use crate::{
    auth::Caller,
    context::Ctx,
    db,
    domain::{
        code,
        money::{self, Currency},
        validate,
    },
    error::{AppError, AppResult, Problems},
    model::affiliates::Affiliate,
    wire::{
        events::affiliate as event,
        names::{affiliate_status as status_name, affiliate_tier as tier_name},
    },
};

#[derive(Debug, Clone, Default)]
pub struct Document {
    pub kind: String,
    pub number: String,
}

#[derive(Debug, Clone, Default)]
pub struct BankDetails {
    pub bank: String,
    pub account_type: String,
    pub account_number: String,
}

#[derive(Debug, Clone)]
pub struct CommissionSettings {
    pub base_rate: Decimal,
    pub premium_rate: Option<Decimal>,
    pub minimum_payout: Decimal,
    pub currency: Option<String>,
}

/// What an affiliate gets when nobody says otherwise (an application, the seed's minimal
/// body): 10 % of each sale, paid from 50 in the programme's currency.
impl Default for CommissionSettings {
    fn default() -> Self {
        Self { base_rate: Decimal::TEN, premium_rate: None, minimum_payout: Decimal::from(50), currency: None }
    }
}

#[derive(Debug, Clone)]
pub struct NewAffiliate {
    pub code: Option<String>,
    pub name: String,
    pub email: String,
    pub phone: Option<String>,
    pub document: Option<Document>,
    pub tier: AffiliateTier,
    pub bank_details: Option<BankDetails>,
    pub commission: CommissionSettings,
}

/// A partial update: `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct AffiliatePatch {
    pub code: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub document: Option<Document>,
    pub tier: Option<AffiliateTier>,
    pub bank_details: Option<BankDetails>,
    pub commission: Option<CommissionSettings>,
    pub status: Option<AffiliateStatus>,
}

#[derive(Debug, Clone, Default)]
pub struct AffiliateFilter {
    pub status: Option<AffiliateStatus>,
    pub tier: Option<AffiliateTier>,
    pub search: Option<String>,
}

pub async fn create(ctx: &Ctx, caller: &Caller, input: NewAffiliate) -> AppResult<Affiliate> {
    caller.require_admin()?;
    let checked = check_new(input)?;
    let (txn, _turn) = db::write_txn(&ctx.db).await?;
    let model = insert(&txn, caller, checked, AffiliateStatus::Active, "afiliado_creado").await?;
    txn.commit().await?;
    ctx.events_committed();
    Ok(model.into())
}

/// A new affiliate's inputs, each checked.
pub(crate) struct CheckedAffiliate {
    name: String,
    email: String,
    phone: Option<String>,
    code: Option<String>,
    tier: AffiliateTier,
    document: Option<Document>,
    bank: Option<BankDetails>,
    settings: Settings,
}

impl CheckedAffiliate {
    /// The email, normalised.
    pub(crate) fn email(&self) -> &str {
        &self.email
    }
}

/// Checks every input of a new affiliate, so that a form hears of all its wrong fields at once.
pub(crate) fn check_new(input: NewAffiliate) -> AppResult<CheckedAffiliate> {
    let mut problems = Problems::default();
    let name = problems.check(validate::text(&input.name, "name", 200));
    let email = problems.check(validate::email(&input.email));
    let phone = problems.check(validate::optional_text(input.phone.as_deref(), "phone", 40));
    let settings = commission_settings(&input.commission, &mut problems);
    let code = problems.check(input.code.as_deref().map(|c| code::parse(c, "code")).transpose());
    let document = problems.check(input.document.map(validate_document).transpose());
    let bank = problems.check(input.bank_details.map(validate_bank).transpose());
    let (Some(name), Some(email), Some(phone), Some(settings), Some(code), Some(document), Some(bank)) =
        (name, email, phone, settings, code, document, bank)
    else {
        return Err(problems.into_error());
    };
    Ok(CheckedAffiliate { name, email, phone, code, tier: input.tier, document, bank, settings })
}

/// Stores a new affiliate in `status` with its event (`event_type`) and audit row, in the
/// caller's transaction: the email and code must be free (CONFLICT naming the field).
pub(crate) async fn insert<C: ConnectionTrait>(
    txn: &C,
    caller: &Caller,
    new: CheckedAffiliate,
    status: AffiliateStatus,
    event_type: &'static str,
) -> AppResult<affiliates::Model> {
    ensure_email_free(txn, &new.email, None).await?;
    let code = match new.code {
        Some(code) => {
            ensure_code_free(txn, &code, None).await?;
            code
        }
        None => {
            free_code::<affiliates::Entity, _>(txn, affiliates::Column::Code, affiliates::Column::Id, &new.name).await?
        }
    };
    let (base_rate, premium_rate, minimum_payout, currency) = new.settings;
    let now = Utc::now();
    let model = affiliates::ActiveModel {
        id: Set(Uuid::now_v7()),
        code: Set(code),
        name: Set(new.name),
        email: Set(new.email),
        phone: Set(new.phone),
        document_type: Set(new.document.as_ref().map(|d| d.kind.clone())),
        document_number: Set(new.document.map(|d| d.number)),
        tier: Set(new.tier),
        bank_name: Set(new.bank.as_ref().map(|b| b.bank.clone())),
        bank_account_type: Set(new.bank.as_ref().map(|b| b.account_type.clone())),
        bank_account_number: Set(new.bank.map(|b| b.account_number)),
        base_rate: Set(base_rate),
        premium_rate: Set(premium_rate),
        minimum_payout: Set(minimum_payout),
        payout_currency: Set(currency.code().to_string()),
        status: Set(status),
        deleted_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(txn)
    .await
    .map_err(|e| AppError::from_db_unique(e, &["email", "code"]))?;

    outbox::record(txn, event(&model, event_type)).await?;
    audit::record(
        txn,
        caller,
        audit::Change {
            action: "affiliate.create",
            entity_type: "affiliate",
            entity_id: model.id.to_string(),
            before: None,
            after: Some(audit_view(&model)),
        },
    )
    .await?;
    Ok(model)
}

pub async fn update(ctx: &Ctx, caller: &Caller, id: Uuid, patch: AffiliatePatch) -> AppResult<Affiliate> {
    caller.require_admin()?;
    let (txn, _turn) = db::write_txn(&ctx.db).await?;
    let before = find_live(&txn, id).await?;
    let mut active: affiliates::ActiveModel = before.clone().into();

    // Every field given is checked before any is applied: all wrong ones are named at once.
    let mut problems = Problems::default();
    let name = patch.name.as_deref().map(|name| problems.check(validate::text(name, "name", 200)));
    let email = patch.email.as_deref().map(|email| problems.check(validate::email(email)));
    let code = patch.code.as_deref().map(|code| problems.check(code::parse(code, "code")));
    let phone = patch.phone.as_deref().map(|phone| problems.check(validate::optional_text(Some(phone), "phone", 40)));
    let document = patch.document.map(|document| problems.check(validate_document(document)));
    let bank = patch.bank_details.map(|mut bank| {
        // A blank account number keeps the one on file (it is never shown back in full):
        // the bank or account type can be changed alone.
        if bank.account_number.trim().is_empty() {
            bank.account_number = before.bank_account_number.clone().unwrap_or_default();
        }
        problems.check(validate_bank(bank))
    });
    let settings = patch.commission.as_ref().map(|settings| {
        let settings = CommissionSettings {
            currency: settings.currency.clone().or_else(|| Some(before.payout_currency.clone())),
            ..settings.clone()
        };
        commission_settings(&settings, &mut problems)
    });
    if !problems.is_empty() {
        return Err(problems.into_error());
    }

    if let Some(Some(name)) = name {
        active.name = Set(name);
    }
    if let Some(Some(email)) = email {
        ensure_email_free(&txn, &email, Some(id)).await?;
        active.email = Set(email);
    }
    if let Some(Some(code)) = code {
        ensure_code_free(&txn, &code, Some(id)).await?;
        active.code = Set(code);
    }
    if let Some(Some(phone)) = phone {
        active.phone = Set(phone);
    }
    if let Some(Some(document)) = document {
        active.document_type = Set(Some(document.kind));
        active.document_number = Set(Some(document.number));
    }
    if let Some(tier) = patch.tier {
        active.tier = Set(tier);
    }
    if let Some(Some(bank)) = bank {
        active.bank_name = Set(Some(bank.bank));
        active.bank_account_type = Set(Some(bank.account_type));
        active.bank_account_number = Set(Some(bank.account_number));
    }
    if let Some(Some((base_rate, premium_rate, minimum_payout, currency))) = settings {
        active.base_rate = Set(base_rate);
        active.premium_rate = Set(premium_rate);
        active.minimum_payout = Set(minimum_payout);
        active.payout_currency = Set(currency.code().to_string());
    }
    if let Some(status) = patch.status {
        if status == AffiliateStatus::Deleted {
            return Err(AppError::validation("status", "use deleteAffiliate to delete an affiliate"));
        }
        if matches!(status, AffiliateStatus::Applied | AffiliateStatus::Rejected)
            || matches!(before.status, AffiliateStatus::Applied | AffiliateStatus::Rejected)
        {
            return Err(AppError::validation(
                "status",
                "an application is approved or rejected (approveAffiliateApplication / rejectAffiliateApplication)",
            ));
        }
        active.status = Set(status);
    }
    active.updated_at = Set(Utc::now());
    let model = active.update(&txn).await.map_err(|e| AppError::from_db_unique(e, &["email", "code"]))?;

    let event_type = match (before.status, model.status) {
        (AffiliateStatus::Active, AffiliateStatus::Suspended) => "afiliado_suspendido",
        (AffiliateStatus::Suspended, AffiliateStatus::Active) => "afiliado_reactivado",
        _ => "afiliado_actualizado",
    };
    outbox::record(&txn, event(&model, event_type)).await?;
    audit::record(
        &txn,
        caller,
        audit::Change {
            action: "affiliate.update",
            entity_type: "affiliate",
            entity_id: id.to_string(),
            before: Some(audit_view(&before)),
            after: Some(audit_view(&model)),
        },
    )
    .await?;
    txn.commit().await?;
    if before.status != model.status {
        // Its users' sessions follow: a suspension signs them out.
        ctx.sessions.forget_all();
        ctx.api_keys.forget_all();
    }
    ctx.events_committed();
    Ok(model.into())
}

/// Deletes an affiliate. The row is kept (status `DELETED`) because commissions and
/// payouts refer to it; it disappears from lists and lookups.
pub async fn delete(ctx: &Ctx, caller: &Caller, id: Uuid) -> AppResult<Affiliate> {
    caller.require_admin()?;
    let (txn, _turn) = db::write_txn(&ctx.db).await?;
    let before = find_live(&txn, id).await?;
    let mut active: affiliates::ActiveModel = before.clone().into();
    let now = Utc::now();
    active.status = Set(AffiliateStatus::Deleted);
    active.deleted_at = Set(Some(now));
    active.updated_at = Set(now);
    let model = active.update(&txn).await?;
    outbox::record(&txn, event(&model, "afiliado_eliminado")).await?;
    audit::record(
        &txn,
        caller,
        audit::Change {
            action: "affiliate.delete",
            entity_type: "affiliate",
            entity_id: id.to_string(),
            before: Some(audit_view(&before)),
            after: Some(audit_view(&model)),
        },
    )
    .await?;
    txn.commit().await?;
    ctx.sessions.forget_all();
    ctx.api_keys.forget_all();
    ctx.events_committed();
    Ok(model.into())
}

/// One affiliate by id or by code, if the caller may see it.
pub async fn get(db: &DatabaseConnection, caller: &Caller, id_or_code: &str) -> AppResult<Affiliate> {
    let model = resolve(db, id_or_code).await?;
    if caller.affiliate_scope().is_some_and(|own| own != model.id) {
        // Another affiliate answers as a missing one does: no existence oracle.
        return Err(AppError::not_found("affiliate", id_or_code));
    }
    Ok(model.into())
}

/// The id of a live affiliate named by UUID or by code.
pub async fn resolve_id(db: &DatabaseConnection, id_or_code: &str) -> AppResult<Uuid> {
    Ok(resolve(db, id_or_code).await?.id)
}

/// Finds a live affiliate by UUID or by code (outside systems may use either).
pub(crate) async fn resolve<C: ConnectionTrait>(conn: &C, id_or_code: &str) -> AppResult<affiliates::Model> {
    let query = affiliates::Entity::find().filter(affiliates::Column::Status.ne(AffiliateStatus::Deleted));
    let found = match Uuid::parse_str(id_or_code.trim()) {
        Ok(id) => query.filter(affiliates::Column::Id.eq(id)).one(conn).await?,
        Err(_) => query.filter(affiliates::Column::Code.eq(id_or_code.trim().to_lowercase())).one(conn).await?,
    };
    found.ok_or_else(|| AppError::not_found("affiliate", id_or_code))
}

pub async fn list(
    db: &DatabaseConnection,
    caller: &Caller,
    filter: AffiliateFilter,
    page: PageRequest,
) -> AppResult<Page<Affiliate>> {
    let mut condition = Condition::all();
    match filter.status {
        Some(status) => condition = condition.add(affiliates::Column::Status.eq(status)),
        None => condition = condition.add(affiliates::Column::Status.ne(AffiliateStatus::Deleted)),
    }
    if let Some(tier) = filter.tier {
        condition = condition.add(affiliates::Column::Tier.eq(tier));
    }
    if let Some(term) = filter.search.as_deref().filter(|t| !t.trim().is_empty()) {
        let pattern = like_pattern(term);
        condition = condition.add(
            Condition::any()
                .add(Expr::expr(Func::lower(Expr::col(affiliates::Column::Name))).like(pattern.clone()))
                .add(affiliates::Column::Email.like(pattern.clone()))
                .add(affiliates::Column::Code.like(pattern)),
        );
    }
    if let Some(own) = caller.affiliate_scope() {
        condition = condition.add(affiliates::Column::Id.eq(own));
    }
    let query = affiliates::Entity::find().filter(condition);
    Ok(super::newest_first(db, query, affiliates::Column::CreatedAt, affiliates::Column::Id, page)
        .await?
        .map(Affiliate::from))
}

/// Batch lookup for the GraphQL DataLoader: what the caller may see among `ids`.
pub async fn load_many(db: &DatabaseConnection, caller: &Caller, ids: &[Uuid]) -> AppResult<Vec<Affiliate>> {
    let mut query = affiliates::Entity::find().filter(affiliates::Column::Id.is_in(ids.iter().copied()));
    if let Some(own) = caller.affiliate_scope() {
        query = query.filter(affiliates::Column::Id.eq(own));
    }
    Ok(query.all(db).await?.into_iter().map(Affiliate::from).collect())
}

async fn find_live<C: ConnectionTrait>(conn: &C, id: Uuid) -> AppResult<affiliates::Model> {
    affiliates::Entity::find_by_id(id)
        .filter(affiliates::Column::Status.ne(AffiliateStatus::Deleted))
        .one(conn)
        .await?
        .ok_or_else(|| AppError::not_found("affiliate", id))
}

async fn ensure_email_free<C: ConnectionTrait>(conn: &C, email: &str, except: Option<Uuid>) -> AppResult<()> {
    use affiliates::Column;
    if taken::<affiliates::Entity, C>(conn, Column::Email, Column::Id, email, except).await? {
        return Err(AppError::conflict("email", format!("an affiliate with email {email} already exists")));
    }
    Ok(())
}

async fn ensure_code_free<C: ConnectionTrait>(conn: &C, code: &str, except: Option<Uuid>) -> AppResult<()> {
    use affiliates::Column;
    if taken::<affiliates::Entity, C>(conn, Column::Code, Column::Id, code, except).await? {
        return Err(AppError::conflict("code", format!("an affiliate with code {code} already exists")));
    }
    Ok(())
}

type Settings = (Decimal, Option<Decimal>, Decimal, Currency);

/// The commission settings, each checked (problems kept in `problems`).
fn commission_settings(settings: &CommissionSettings, problems: &mut Problems) -> Option<Settings> {
    let base_rate = problems.check(money::rate(settings.base_rate, "commissionConfig.baseRate"));
    let premium_rate =
        problems.check(settings.premium_rate.map(|r| money::rate(r, "commissionConfig.premiumRate")).transpose());
    let currency = problems.check(Currency::parse(
        settings.currency.as_deref().unwrap_or(money::DEFAULT_CURRENCY),
        "commissionConfig.currency",
    ));
    let minimum_payout = currency.and_then(|currency| {
        problems.check(currency.amount(settings.minimum_payout, "commissionConfig.minimumPayout"))
    });
    Some((base_rate?, premium_rate?, minimum_payout?, currency?))
}

fn validate_document(document: Document) -> AppResult<Document> {
    let mut problems = Problems::default();
    let kind = problems.check(validate::text(&document.kind, "document.type", 40));
    let number = problems.check(validate::text(&document.number, "document.number", 64));
    match (kind, number) {
        (Some(kind), Some(number)) => Ok(Document { kind, number }),
        _ => Err(problems.into_error()),
    }
}

fn validate_bank(bank: BankDetails) -> AppResult<BankDetails> {
    let mut problems = Problems::default();
    let number =
        problems.check(validate::text(&bank.account_number, "bankDetails.accountNumber", 64).and_then(|number| {
            if !number.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == ' ') {
                Err(crate::domain::DomainError::invalid(
                    "bankDetails.accountNumber",
                    "account number may hold letters, digits, spaces and dashes only",
                ))
            } else if crate::domain::iban::looks_like(&number) {
                // An IBAN is checked (country, length, check digits) and kept compact.
                crate::domain::iban::parse(&number, "bankDetails.accountNumber")
            } else {
                Ok(number)
            }
        }));
    let name = problems.check(validate::text(&bank.bank, "bankDetails.bank", 120));
    let account_type = problems.check(validate::text(&bank.account_type, "bankDetails.accountType", 40));
    match (name, account_type, number) {
        (Some(bank), Some(account_type), Some(account_number)) => {
            Ok(BankDetails { bank, account_type, account_number })
        }
        _ => Err(problems.into_error()),
    }
}

/// What the audit log keeps of an affiliate: bank numbers masked.
fn audit_view(model: &affiliates::Model) -> Value {
    json!({
        "code": model.code,
        "name": model.name,
        "email": model.email,
        "phone": model.phone,
        "tier": tier_name(model.tier),
        "status": status_name(model.status),
        "bankAccountNumber": model.bank_account_number.as_deref().map(crate::domain::pii::mask_account),
        "baseRate": model.base_rate.to_string(),
        "premiumRate": model.premium_rate.map(|r| r.to_string()),
        "minimumPayout": model.minimum_payout.to_string(),
        "payoutCurrency": model.payout_currency,
    })
}
