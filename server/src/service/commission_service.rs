//! Commissions and payouts: the money lifecycle (seed 004 "Marketing / Comisiones",
//! seed 003's "Reservada" commission).
//!
//! `PENDING` (reserved at attribution) → `CALCULATED` → `APPROVED` → `PAID`, with
//! `CANCELED` and `REJECTED` ending it (rules in `domain::commission`). Every move bumps
//! `version` with a conditional update, so two people approving the same commission
//! cannot both win: the second gets `CONFLICT`. Every move writes an audit row and a
//! `comisiones.eventos` event in its transaction.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use entity::{
    affiliates::{self, AffiliateTier},
    attribution_credits, campaigns,
    commissions::{self, CommissionStatus, CommissionType},
    conversions::{self, ConversionStatus, ConversionType},
    payouts::{self, PayoutStatus},
};
use rust_decimal::Decimal;
use sea_orm::{
    sea_query::Expr, ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde_json::{json, Value};
use uuid::Uuid;

use super::{affiliate_service, audit, campaign_service, outbox, Page, PageRequest};
use crate::{
    auth::Caller,
    db,
    domain::{
        commission::{self as rules, Kind, Move, Period, Status},
        envelope::{Envelope, Topic},
        money::{json_number, scaled, Currency},
        validate,
    },
    error::{AppError, AppResult},
    state::AppState,
};

/// At most this many ids in one bulk approval.
pub const MAX_BULK: usize = 500;
/// At most this many rows in one CSV export.
pub const MAX_EXPORT: u64 = 10_000;

impl From<CommissionStatus> for Status {
    fn from(status: CommissionStatus) -> Self {
        match status {
            CommissionStatus::Pending => Status::Pending,
            CommissionStatus::Calculated => Status::Calculated,
            CommissionStatus::Approved => Status::Approved,
            CommissionStatus::Paid => Status::Paid,
            CommissionStatus::Canceled => Status::Canceled,
            CommissionStatus::Rejected => Status::Rejected,
        }
    }
}

impl From<Status> for CommissionStatus {
    fn from(status: Status) -> Self {
        match status {
            Status::Pending => CommissionStatus::Pending,
            Status::Calculated => CommissionStatus::Calculated,
            Status::Approved => CommissionStatus::Approved,
            Status::Paid => CommissionStatus::Paid,
            Status::Canceled => CommissionStatus::Canceled,
            Status::Rejected => CommissionStatus::Rejected,
        }
    }
}

fn type_of(kind: Kind) -> CommissionType {
    match kind {
        Kind::Percentage => CommissionType::Percentage,
        Kind::Flat => CommissionType::Flat,
    }
}

/// The seed's `tipo_comision`.
pub fn type_name(kind: CommissionType) -> &'static str {
    match kind {
        CommissionType::Percentage => "porcentual",
        CommissionType::Flat => "fijo",
    }
}

/// The seed's `estado`.
pub fn status_name(status: CommissionStatus) -> &'static str {
    Status::from(status).seed_name()
}

/// A commission asked for by a person (seed 004 `POST /api/v1/comisiones`).
#[derive(Debug, Clone, Default)]
pub struct NewCommission {
    /// Affiliate id or code.
    pub affiliate: String,
    /// Campaign id or code.
    pub campaign: Option<String>,
    pub conversion_id: Option<Uuid>,
    /// The base (seed `monto_base.valor`); the conversion's value when not given.
    pub base_amount: Option<Decimal>,
    pub currency: Option<String>,
    pub kind: Option<Kind>,
    /// A percentage (or, for FLAT, the amount) agreed for this commission; the rules
    /// of `domain::commission` decide when not given.
    pub rate: Option<Decimal>,
    /// Free-form settings (seed `configuracion`); `objetivo_cumplido: true` earns the bonus.
    pub config: Option<Value>,
}

#[derive(Debug, Clone, Default)]
pub struct CommissionFilter {
    pub affiliate_id: Option<Uuid>,
    pub campaign_id: Option<Uuid>,
    pub conversion_id: Option<Uuid>,
    pub payout_id: Option<Uuid>,
    pub status: Option<CommissionStatus>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// How a person approved (seed 004 `metadatos_aprobacion`).
#[derive(Debug, Clone, Default)]
pub struct Approval {
    pub comments: Option<String>,
    pub metadata: Option<Value>,
    /// The version the approver saw; a later change makes the approval a CONFLICT.
    pub expected_version: Option<i32>,
}

// ---------------------------------------------------------------------------------
// Use cases of people (GraphQL and REST).
// ---------------------------------------------------------------------------------

pub async fn create(state: &AppState, caller: &Caller, input: NewCommission) -> AppResult<commissions::Model> {
    caller.require_admin()?;
    let config = match input.config {
        None | Some(Value::Null) => json!({}),
        Some(Value::Object(map)) => Value::Object(map),
        Some(_) => return Err(AppError::validation("configuracion", "configuracion must be an object")),
    };
    let (txn, _turn) = db::write_txn(&state.db).await?;
    let affiliate = affiliate_service::resolve(&txn, &input.affiliate)
        .await
        .map_err(|_| unknown("afiliado_id", "affiliate", &input.affiliate))?;
    let campaign = match input.campaign.as_deref() {
        Some(reference) => Some(
            campaign_service::resolve(&txn, reference)
                .await
                .map_err(|_| unknown("campana_id", "campaign", reference))?,
        ),
        None => None,
    };
    let conversion = match input.conversion_id {
        Some(id) => Some(
            conversions::Entity::find_by_id(id)
                .one(&txn)
                .await?
                .ok_or_else(|| unknown("conversion_id", "conversion", &id.to_string()))?,
        ),
        None => None,
    };
    if let Some(conversion) = &conversion {
        ensure_conversion_payable(conversion)?;
        let existing = commissions::Entity::find()
            .filter(commissions::Column::ConversionId.eq(conversion.id))
            .filter(commissions::Column::AffiliateId.eq(affiliate.id))
            .filter(commissions::Column::AdjustsCommissionId.is_null())
            .filter(commissions::Column::Status.is_not_in([CommissionStatus::Canceled, CommissionStatus::Rejected]))
            .one(&txn)
            .await?;
        if let Some(existing) = existing {
            return Err(AppError::conflict(
                "conversion_id",
                format!("conversion {} already has commission {} for this affiliate", conversion.id, existing.id),
            ));
        }
    }
    let currency_code = input
        .currency
        .clone()
        .or_else(|| conversion.as_ref().map(|c| c.currency.clone()))
        .or_else(|| campaign.as_ref().map(|c| c.currency.clone()))
        .unwrap_or_else(|| affiliate.payout_currency.clone());
    let currency = Currency::parse(&currency_code, "monto_base.moneda")?;
    if let Some(conversion) = &conversion {
        if conversion.currency != currency.code() {
            return Err(AppError::validation(
                "monto_base.moneda",
                format!("the conversion is in {}, not {}", conversion.currency, currency.code()),
            ));
        }
    }
    let base = match (input.base_amount, &conversion) {
        (Some(base), _) => currency.amount(base, "monto_base.valor")?,
        (None, Some(conversion)) => conversion.value,
        (None, None) => {
            return Err(AppError::validation("monto_base.valor", "give monto_base or a conversion_id"));
        }
    };
    if let Some(conversion) = &conversion {
        if base > conversion.value {
            return Err(AppError::validation("monto_base.valor", "the base exceeds the conversion's value"));
        }
    }
    let explicit = match (input.rate, input.kind) {
        (Some(rate), kind) => {
            Some(rules::explicit_rule(kind.unwrap_or(Kind::Percentage), rate, currency, "porcentaje")?)
        }
        (None, Some(Kind::Flat)) => {
            return Err(AppError::validation("porcentaje", "a flat commission needs its amount"));
        }
        (None, _) => None,
    };
    let mut config = config;
    if let Some(rule) = &explicit {
        config["tasa_explicita"] = json!({
            "tipo": if rule.kind == Kind::Flat { "fijo" } else { "porcentual" },
            "valor": rule.value.to_string(),
        });
    }
    let now = Utc::now();
    let mut model = draft(affiliate.id, currency.code(), base, now);
    model.conversion_id = conversion.as_ref().map(|c| c.id);
    model.campaign_id = campaign.as_ref().map(|c| c.id).or_else(|| conversion.as_ref().and_then(|c| c.campaign_id));
    model.commission_type = explicit.map_or(CommissionType::Percentage, |r| type_of(r.kind));
    model.rate = explicit.filter(|r| r.kind == Kind::Percentage).map(|r| r.value);
    model.config = config;
    let model = insert(&txn, model).await?;
    record_created(&txn, caller, &model).await?;
    txn.commit().await?;
    state.events_committed();
    Ok(model)
}

/// PENDING → CALCULATED (or CALCULATED again with `force`). Without `force`, a
/// commission already calculated is returned as it is: asking twice changes nothing.
pub async fn calculate(state: &AppState, caller: &Caller, id: Uuid, force: bool) -> AppResult<commissions::Model> {
    caller.require_admin()?;
    let current = find(&state.db, id).await?;
    if current.status == CommissionStatus::Calculated && !force {
        return Ok(current);
    }
    rules::transition(current.status.into(), Move::Calculate { force })?;
    let (txn, _turn) = db::write_txn(&state.db).await?;
    let (rule, value) = price(&txn, &current).await?;
    let now = Utc::now();
    let next = change(&txn, caller, &current, "commission.calculate", "comision_calculada", |m| {
        m.status = CommissionStatus::Calculated;
        m.commission_type = type_of(rule.kind);
        m.rate = (rule.kind == Kind::Percentage).then_some(rule.value);
        m.amount = Some(value);
        m.calculated_at = Some(now);
        m.config["fuente_tasa"] = json!(rule.source.name());
        if rule.kind == Kind::Flat {
            m.config["monto_fijo"] = json!(rule.value.to_string());
        }
    })
    .await?;
    txn.commit().await?;
    state.events_committed();
    Ok(next)
}

/// CALCULATED → APPROVED by a person (or by the automatic policy).
pub async fn approve(state: &AppState, caller: &Caller, id: Uuid, approval: Approval) -> AppResult<commissions::Model> {
    caller.require_admin()?;
    let approved = approve_many_in_one(state, caller, &[id], approval).await?;
    approved.into_iter().next().ok_or_else(|| AppError::not_found("commission", id))
}

/// Many approvals, all or none: one refused commission leaves every one unchanged.
pub async fn approve_many(state: &AppState, caller: &Caller, ids: &[Uuid]) -> AppResult<Vec<commissions::Model>> {
    caller.require_admin()?;
    if ids.is_empty() || ids.len() > MAX_BULK {
        return Err(AppError::validation("ids", format!("give 1 to {MAX_BULK} commission ids")));
    }
    let unique: HashSet<&Uuid> = ids.iter().collect();
    if unique.len() != ids.len() {
        return Err(AppError::validation("ids", "an id is given twice"));
    }
    approve_many_in_one(state, caller, ids, Approval::default()).await
}

async fn approve_many_in_one(
    state: &AppState,
    caller: &Caller,
    ids: &[Uuid],
    approval: Approval,
) -> AppResult<Vec<commissions::Model>> {
    let comments = validate::optional_text(approval.comments.as_deref(), "comments", 2000)?;
    let metadata = match approval.metadata {
        None | Some(Value::Null) => json!({}),
        Some(Value::Object(map)) => Value::Object(map),
        Some(_) => return Err(AppError::validation("approvalMetadata", "approvalMetadata must be an object")),
    };
    let level = text_field(&metadata, "nivel_aprobacion", "approvalMetadata.nivel_aprobacion")?
        .unwrap_or_else(|| "manual".into());
    let policy = text_field(&metadata, "politica_aplicada", "approvalMetadata.politica_aplicada")?
        .unwrap_or_else(|| "estandar".into());
    // Read before taking the write turn: a concurrent approval that commits in between
    // changes the version, and this one then fails with CONFLICT instead of approving twice.
    let found =
        commissions::Entity::find().filter(commissions::Column::Id.is_in(ids.iter().copied())).all(&state.db).await?;
    let by_id: HashMap<Uuid, commissions::Model> = found.into_iter().map(|m| (m.id, m)).collect();
    let mut current = Vec::with_capacity(ids.len());
    for id in ids {
        let model = by_id.get(id).cloned().ok_or_else(|| AppError::not_found("commission", id))?;
        if let Some(expected) = approval.expected_version {
            if expected != model.version {
                return Err(stale(&model));
            }
        }
        rules::transition(model.status.into(), Move::Approve)?;
        current.push(model);
    }
    let conversion_ids: Vec<Uuid> = current.iter().filter_map(|m| m.conversion_id).collect();
    let conversions: Vec<conversions::Model> = if conversion_ids.is_empty() {
        Vec::new()
    } else {
        conversions::Entity::find().filter(conversions::Column::Id.is_in(conversion_ids)).all(&state.db).await?
    };
    for conversion in &conversions {
        ensure_conversion_payable(conversion)?;
    }
    let (txn, _turn) = db::write_txn(&state.db).await?;
    let now = Utc::now();
    let mut approved = Vec::with_capacity(current.len());
    for model in &current {
        let next = change(&txn, caller, model, "commission.approve", "comision_aprobada", |m| {
            m.status = CommissionStatus::Approved;
            m.approval_comments = comments.clone();
            m.approval_level = Some(level.clone());
            m.approval_policy = Some(policy.clone());
            m.approval_metadata = metadata.clone();
            m.approved_at = Some(now);
            m.approved_by = caller.user_id;
        })
        .await?;
        approved.push(next);
    }
    txn.commit().await?;
    state.events_committed();
    Ok(approved)
}

/// PENDING or CALCULATED → REJECTED, with the reason.
pub async fn reject(state: &AppState, caller: &Caller, id: Uuid, reason: &str) -> AppResult<commissions::Model> {
    caller.require_admin()?;
    let reason = validate::text(reason, "reason", 2000)?;
    let current = find(&state.db, id).await?;
    rules::transition(current.status.into(), Move::Reject)?;
    let (txn, _turn) = db::write_txn(&state.db).await?;
    let next = change(&txn, caller, &current, "commission.reject", "comision_rechazada", |m| {
        m.status = CommissionStatus::Rejected;
        m.rejection_reason = Some(reason.clone());
    })
    .await?;
    txn.commit().await?;
    state.events_committed();
    Ok(next)
}

/// Approves every CALCULATED commission the automatic policy allows (fraud score below
/// the threshold, holding period over), recorded as `automatico`. Returns those approved.
pub async fn auto_approve(state: &AppState, caller: &Caller, now: DateTime<Utc>) -> AppResult<Vec<commissions::Model>> {
    caller.require_admin()?;
    let policy = state.config.auto_approval_policy();
    if !policy.enabled {
        return Ok(Vec::new());
    }
    let candidates = commissions::Entity::find()
        .filter(commissions::Column::Status.eq(CommissionStatus::Calculated))
        .find_also_related(conversions::Entity)
        .order_by_asc(commissions::Column::CreatedAt)
        .limit(MAX_BULK as u64)
        .all(&state.db)
        .await?;
    let due: Vec<Uuid> = candidates
        .into_iter()
        .filter(|(commission, conversion)| match conversion {
            Some(c) => !closed_conversion(c.status) && policy.allows(c.fraud_score, c.occurred_at, now),
            None => policy.allows(0, commission.created_at, now),
        })
        .map(|(commission, _)| commission.id)
        .collect();
    let mut approved = Vec::new();
    for id in due {
        let approval = Approval {
            comments: Some("aprobada automáticamente".into()),
            metadata: Some(json!({ "nivel_aprobacion": "automatico", "politica_aplicada": policy.name() })),
            expected_version: None,
        };
        // One at a time: a commission changed meanwhile is skipped, not a failed run.
        match approve_many_in_one(state, caller, &[id], approval).await {
            Ok(mut done) => approved.append(&mut done),
            Err(AppError::Conflict { .. } | AppError::InvalidTransition { .. }) => {}
            Err(err) => return Err(err),
        }
    }
    Ok(approved)
}

/// Runs the automatic approval every `every` until `shutdown`.
pub async fn auto_approval_loop(
    state: AppState,
    every: std::time::Duration,
    shutdown: tokio_util::sync::CancellationToken,
) {
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(every) => {}
        }
        match auto_approve(&state, &Caller::system(), Utc::now()).await {
            Ok(done) if !done.is_empty() => tracing::info!(count = done.len(), "commissions approved automatically"),
            Ok(_) => {}
            Err(err) => tracing::warn!(error = %err, "automatic commission approval failed"),
        }
    }
}

// ---------------------------------------------------------------------------------
// Called by attribution and Stripe inside their own transaction.
// ---------------------------------------------------------------------------------

/// Reserves one PENDING commission per credit that names an affiliate (credits of
/// the conversion's current attribution). Idempotent: a credit already reserved is skipped.
pub async fn reserve_for_credits<C: ConnectionTrait>(
    conn: &C,
    conversion: &conversions::Model,
    credits: &[attribution_credits::Model],
) -> AppResult<Vec<commissions::Model>> {
    let wanted: Vec<&attribution_credits::Model> = credits
        .iter()
        .filter(|c| c.affiliate_id.is_some() && c.is_current && c.conversion_id == conversion.id)
        .collect();
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let reserved: HashSet<Uuid> = commissions::Entity::find()
        .filter(commissions::Column::CreditId.is_in(wanted.iter().map(|c| c.id)))
        .all(conn)
        .await?
        .into_iter()
        .filter_map(|m| m.credit_id)
        .collect();
    let caller = Caller::system();
    let now = Utc::now();
    let mut made = Vec::new();
    for credit in wanted.into_iter().filter(|c| !reserved.contains(&c.id)) {
        let Some(affiliate_id) = credit.affiliate_id else { continue };
        let mut model = draft(affiliate_id, &credit.currency, credit.amount, now);
        model.conversion_id = Some(conversion.id);
        model.credit_id = Some(credit.id);
        model.campaign_id = credit.campaign_id;
        model.config =
            json!({ "origen": "atribucion", "journey_id": credit.journey_id, "peso": credit.weight.to_string() });
        let model = insert(conn, model).await?;
        record_created(conn, &caller, &model).await?;
        made.push(model);
    }
    Ok(made)
}

/// Attribution reverted, fraud, full refund: unpaid commissions of the conversion → CANCELED
/// with the reason; paid ones get a negative clawback adjustment for the next payout.
pub async fn reverse_for_conversion<C: ConnectionTrait>(conn: &C, conversion_id: Uuid, reason: &str) -> AppResult<()> {
    let reason = validate::text(reason, "reason", 2000)?;
    let caller = Caller::system();
    let now = Utc::now();
    let (originals, adjustments) = of_conversion(conn, conversion_id).await?;
    for model in originals {
        let status = Status::from(model.status);
        if unpaid(&model) {
            rules::transition(status, Move::Cancel)?;
            change(conn, &caller, &model, "commission.cancel", "comision_cancelada", |m| {
                m.status = CommissionStatus::Canceled;
                m.cancel_reason = Some(reason.clone());
                m.canceled_at = Some(now);
            })
            .await?;
        } else if committed(&model) {
            let kept = net_paid(&model, &adjustments);
            if kept > Decimal::ZERO {
                clawback(conn, &caller, &model, -kept, &reason).await?;
            }
        }
    }
    Ok(())
}

/// Partial refund: the commissions of the conversion follow the refunded share proportionally
/// (`remaining` = the conversion value still kept).
pub async fn adjust_for_refund<C: ConnectionTrait>(
    conn: &C,
    conversion_id: Uuid,
    remaining: Decimal,
    reason: &str,
) -> AppResult<()> {
    if remaining <= Decimal::ZERO {
        return reverse_for_conversion(conn, conversion_id, reason).await;
    }
    let reason = validate::text(reason, "reason", 2000)?;
    let conversion = conversions::Entity::find_by_id(conversion_id)
        .one(conn)
        .await?
        .ok_or_else(|| AppError::not_found("conversion", conversion_id))?;
    let total = conversion.value;
    let caller = Caller::system();
    let (originals, adjustments) = of_conversion(conn, conversion_id).await?;
    for model in originals {
        let currency = Currency::parse(&model.currency, "currency")?;
        // Always from the amounts before any refund, so two partial refunds do not compound.
        let original_base = original(&model, "monto_base_original").unwrap_or(model.base_amount);
        let original_amount = original(&model, "monto_calculado_original").or(model.amount);
        let (base, amount) = rules::after_refund(original_base, original_amount, remaining, total, currency);
        if unpaid(&model) {
            if base == model.base_amount && amount == model.amount {
                continue;
            }
            change(conn, &caller, &model, "commission.refund_adjust", "comision_calculada", |m| {
                m.config["monto_base_original"] = json!(original_base.to_string());
                if let Some(original_amount) = original_amount {
                    m.config["monto_calculado_original"] = json!(original_amount.to_string());
                }
                m.config["motivo_ajuste"] = json!(reason);
                m.base_amount = base;
                m.amount = amount;
            })
            .await?;
        } else if committed(&model) {
            let owed = amount.unwrap_or(Decimal::ZERO);
            let kept = net_paid(&model, &adjustments);
            if kept > owed {
                clawback(conn, &caller, &model, owed - kept, &reason).await?;
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------
// Payouts.
// ---------------------------------------------------------------------------------

/// Groups the affiliate's APPROVED, unpaid commissions in one currency (the affiliate's
/// payout currency unless given) into a PENDING payout, clawbacks netted, when their sum
/// reaches the affiliate's minimum payout.
pub async fn create_payout(
    state: &AppState,
    caller: &Caller,
    affiliate: &str,
    currency: Option<&str>,
) -> AppResult<payouts::Model> {
    caller.require_admin()?;
    let (txn, _turn) = db::write_txn(&state.db).await?;
    let affiliate = affiliate_service::resolve(&txn, affiliate)
        .await
        .map_err(|_| unknown("affiliateId", "affiliate", affiliate))?;
    let currency = Currency::parse(currency.unwrap_or(&affiliate.payout_currency), "currency")?;
    let due = commissions::Entity::find()
        .filter(commissions::Column::AffiliateId.eq(affiliate.id))
        .filter(commissions::Column::Status.eq(CommissionStatus::Approved))
        .filter(commissions::Column::PayoutId.is_null())
        .filter(commissions::Column::Currency.eq(currency.code()))
        .all(&txn)
        .await?;
    if due.is_empty() {
        return Err(AppError::validation(
            "affiliateId",
            format!("affiliate {} has no approved, unpaid commissions in {}", affiliate.code, currency.code()),
        ));
    }
    let total: Decimal = due.iter().filter_map(|m| m.amount).sum();
    let minimum = if currency.code() == affiliate.payout_currency { affiliate.minimum_payout } else { Decimal::ZERO };
    if total <= Decimal::ZERO || total < minimum {
        return Err(AppError::validation(
            "affiliateId",
            format!(
                "approved commissions total {} {}, below the minimum payout of {} {}",
                scaled(total, currency.code()),
                currency.code(),
                scaled(minimum, currency.code()),
                currency.code()
            ),
        ));
    }
    let now = Utc::now();
    let payout = payouts::ActiveModel {
        id: Set(Uuid::now_v7()),
        affiliate_id: Set(affiliate.id),
        amount: Set(total),
        currency: Set(currency.code().to_string()),
        status: Set(PayoutStatus::Pending),
        commission_count: Set(due.len() as i32),
        created_by: Set(caller.user_id),
        created_at: Set(now),
        paid_at: Set(None),
    }
    .insert(&txn)
    .await?;
    // Only rows still unassigned: a commission is never in two payouts.
    let ids: Vec<Uuid> = due.iter().map(|m| m.id).collect();
    let claimed = commissions::Entity::update_many()
        .col_expr(commissions::Column::PayoutId, Expr::value(payout.id))
        .col_expr(commissions::Column::UpdatedAt, Expr::value(now))
        .filter(commissions::Column::Id.is_in(ids))
        .filter(commissions::Column::PayoutId.is_null())
        .filter(commissions::Column::Status.eq(CommissionStatus::Approved))
        .exec(&txn)
        .await?;
    if claimed.rows_affected != due.len() as u64 {
        return Err(AppError::conflict("affiliateId", "commissions changed meanwhile; try again"));
    }
    outbox::record(&txn, payout_event(&payout, "pago_creado", &due)).await?;
    audit::record(
        &txn,
        caller,
        audit::Change {
            action: "payout.create",
            entity_type: "payout",
            entity_id: payout.id.to_string(),
            before: None,
            after: Some(json!({
                "status": "PENDING",
                "amount": payout.amount.to_string(),
                "currency": payout.currency,
                "commissions": due.iter().map(|m| m.id).collect::<Vec<_>>(),
            })),
        },
    )
    .await?;
    txn.commit().await?;
    state.events_committed();
    Ok(payout)
}

/// PENDING payout → PAID; each of its commissions APPROVED → PAID.
pub async fn mark_payout_paid(state: &AppState, caller: &Caller, id: Uuid) -> AppResult<payouts::Model> {
    caller.require_admin()?;
    let (txn, _turn) = db::write_txn(&state.db).await?;
    let payout = payouts::Entity::find_by_id(id).one(&txn).await?.ok_or_else(|| AppError::not_found("payout", id))?;
    if payout.status != PayoutStatus::Pending {
        return Err(AppError::InvalidTransition {
            entity: "payout",
            from: format!("{:?}", payout.status).to_uppercase(),
            to: "PAID".into(),
        });
    }
    let now = Utc::now();
    let members = commissions::Entity::find().filter(commissions::Column::PayoutId.eq(payout.id)).all(&txn).await?;
    for model in &members {
        rules::transition(model.status.into(), Move::Pay)?;
        change(&txn, caller, model, "commission.pay", "comision_pagada", |m| {
            m.status = CommissionStatus::Paid;
            m.paid_at = Some(now);
        })
        .await?;
    }
    let mut active = payout.clone().into_active_model();
    active.status = Set(PayoutStatus::Paid);
    active.paid_at = Set(Some(now));
    let paid = active.update(&txn).await?;
    outbox::record(&txn, payout_event(&paid, "pago_realizado", &members)).await?;
    audit::record(
        &txn,
        caller,
        audit::Change {
            action: "payout.pay",
            entity_type: "payout",
            entity_id: paid.id.to_string(),
            before: Some(json!({ "status": "PENDING" })),
            after: Some(json!({ "status": "PAID", "paidAt": now })),
        },
    )
    .await?;
    txn.commit().await?;
    state.events_committed();
    Ok(paid)
}

// ---------------------------------------------------------------------------------
// Reads. An AFFILIATE caller sees its own affiliate's rows only, everywhere.
// ---------------------------------------------------------------------------------

/// One commission, if the caller may see it (another affiliate's is NOT_FOUND).
pub async fn get(db: &DatabaseConnection, caller: &Caller, id: Uuid) -> AppResult<commissions::Model> {
    let model = find(db, id).await?;
    if caller.affiliate_scope().is_some_and(|own| own != model.affiliate_id) {
        return Err(AppError::not_found("commission", id));
    }
    Ok(model)
}

/// Commissions, newest first.
pub async fn list(
    db: &DatabaseConnection,
    caller: &Caller,
    filter: CommissionFilter,
    page: PageRequest,
) -> AppResult<Page<commissions::Model>> {
    let condition = condition(caller, &filter)?;
    let query = commissions::Entity::find().filter(condition);
    super::newest_first(db, query, commissions::Column::CreatedAt, commissions::Column::Id, page).await
}

fn condition(caller: &Caller, filter: &CommissionFilter) -> AppResult<Condition> {
    let mut condition = Condition::all();
    if let Some(id) = filter.affiliate_id {
        caller.require_affiliate_access(id)?;
        condition = condition.add(commissions::Column::AffiliateId.eq(id));
    }
    if let Some(own) = caller.affiliate_scope() {
        condition = condition.add(commissions::Column::AffiliateId.eq(own));
    }
    if let Some(id) = filter.campaign_id {
        condition = condition.add(commissions::Column::CampaignId.eq(id));
    }
    if let Some(id) = filter.conversion_id {
        condition = condition.add(commissions::Column::ConversionId.eq(id));
    }
    if let Some(id) = filter.payout_id {
        condition = condition.add(commissions::Column::PayoutId.eq(id));
    }
    if let Some(status) = filter.status {
        condition = condition.add(commissions::Column::Status.eq(status));
    }
    if let (Some(from), Some(to)) = (filter.from, filter.to) {
        if to <= from {
            return Err(AppError::validation("filter.to", "to must be after from"));
        }
    }
    if let Some(from) = filter.from {
        condition = condition.add(commissions::Column::CreatedAt.gte(from));
    }
    if let Some(to) = filter.to {
        condition = condition.add(commissions::Column::CreatedAt.lt(to));
    }
    Ok(condition)
}

/// What to group a report by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    Affiliate,
    Campaign,
    Status,
}

/// One line of a report: one group in one currency (amounts are never summed across currencies).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRow {
    /// Affiliate or campaign code, or the status name.
    pub key: String,
    pub name: String,
    pub currency: String,
    pub count: u64,
    /// What is or will be owed: calculated, approved and paid amounts, clawbacks
    /// included; reserved (no amount yet), canceled and rejected commissions add nothing.
    pub amount: Decimal,
    pub approved_amount: Decimal,
    pub paid_amount: Decimal,
}

/// Totals of one currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrencyTotal {
    pub currency: String,
    pub count: u64,
    pub amount: Decimal,
    pub approved_amount: Decimal,
    pub paid_amount: Decimal,
}

#[derive(Debug, Clone)]
pub struct Report {
    pub period: Period,
    pub group_by: GroupBy,
    pub rows: Vec<ReportRow>,
    pub totals: Vec<CurrencyTotal>,
}

/// What a report reads of a commission: affiliate, campaign, status, amount, currency.
type ReportLine = (Uuid, Option<Uuid>, CommissionStatus, Option<Decimal>, String);

/// Commissions created in `period`, grouped, with totals per currency.
pub async fn report(
    db: &DatabaseConnection,
    caller: &Caller,
    period: Period,
    group_by: GroupBy,
    mut filter: CommissionFilter,
) -> AppResult<Report> {
    filter.from = Some(period.from);
    filter.to = Some(period.to);
    let condition = condition(caller, &filter)?;
    let rows: Vec<ReportLine> = commissions::Entity::find()
        .select_only()
        .column(commissions::Column::AffiliateId)
        .column(commissions::Column::CampaignId)
        .column(commissions::Column::Status)
        .column(commissions::Column::Amount)
        .column(commissions::Column::Currency)
        .filter(condition)
        .into_tuple()
        .all(db)
        .await?;
    // Names of the groups, in one query each.
    let names: HashMap<Uuid, (String, String)> = match group_by {
        GroupBy::Affiliate => {
            let ids: HashSet<Uuid> = rows.iter().map(|r| r.0).collect();
            affiliates::Entity::find()
                .filter(affiliates::Column::Id.is_in(ids))
                .all(db)
                .await?
                .into_iter()
                .map(|a| (a.id, (a.code, a.name)))
                .collect()
        }
        GroupBy::Campaign => {
            let ids: HashSet<Uuid> = rows.iter().filter_map(|r| r.1).collect();
            campaigns::Entity::find()
                .filter(campaigns::Column::Id.is_in(ids))
                .all(db)
                .await?
                .into_iter()
                .map(|c| (c.id, (c.code, c.name)))
                .collect()
        }
        GroupBy::Status => HashMap::new(),
    };
    let mut groups: BTreeMap<(String, String), ReportRow> = BTreeMap::new();
    let mut totals: BTreeMap<String, CurrencyTotal> = BTreeMap::new();
    for (affiliate_id, campaign_id, status, amount, currency) in rows {
        let (key, name) = match group_by {
            GroupBy::Affiliate => {
                names.get(&affiliate_id).cloned().unwrap_or((affiliate_id.to_string(), String::new()))
            }
            GroupBy::Campaign => match campaign_id {
                Some(id) => names.get(&id).cloned().unwrap_or((id.to_string(), String::new())),
                None => ("-".into(), "sin campaña".into()),
            },
            GroupBy::Status => (Status::from(status).name().to_string(), Status::from(status).seed_name().to_string()),
        };
        let worth = match status {
            CommissionStatus::Calculated | CommissionStatus::Approved | CommissionStatus::Paid => {
                amount.unwrap_or(Decimal::ZERO)
            }
            _ => Decimal::ZERO,
        };
        let approved = if status == CommissionStatus::Approved { worth } else { Decimal::ZERO };
        let paid = if status == CommissionStatus::Paid { worth } else { Decimal::ZERO };
        let row = groups.entry((key.clone(), currency.clone())).or_insert_with(|| ReportRow {
            key,
            name,
            currency: currency.clone(),
            count: 0,
            amount: Decimal::ZERO,
            approved_amount: Decimal::ZERO,
            paid_amount: Decimal::ZERO,
        });
        row.count += 1;
        row.amount += worth;
        row.approved_amount += approved;
        row.paid_amount += paid;
        let total = totals.entry(currency.clone()).or_insert_with(|| CurrencyTotal {
            currency: currency.clone(),
            count: 0,
            amount: Decimal::ZERO,
            approved_amount: Decimal::ZERO,
            paid_amount: Decimal::ZERO,
        });
        total.count += 1;
        total.amount += worth;
        total.approved_amount += approved;
        total.paid_amount += paid;
    }
    let shown = |d: Decimal, c: &str| scaled(d, c);
    let rows = groups
        .into_values()
        .map(|r| ReportRow {
            amount: shown(r.amount, &r.currency),
            approved_amount: shown(r.approved_amount, &r.currency),
            paid_amount: shown(r.paid_amount, &r.currency),
            ..r
        })
        .collect();
    let totals = totals
        .into_values()
        .map(|t| CurrencyTotal {
            amount: shown(t.amount, &t.currency),
            approved_amount: shown(t.approved_amount, &t.currency),
            paid_amount: shown(t.paid_amount, &t.currency),
            ..t
        })
        .collect();
    Ok(Report { period, group_by, rows, totals })
}

/// The header of the commissions CSV export. Fixed: columns are only ever appended.
pub const CSV_HEADER: &str = "comision_id,afiliado_id,campana_id,conversion_id,pago_id,ajusta_comision_id,tipo_comision,monto_base,porcentaje,monto_calculado,moneda,estado,fecha_creacion,fecha_aprobacion,fecha_pago";

/// The header of the report CSV export. Fixed: columns are only ever appended.
pub const REPORT_CSV_HEADER: &str = "clave,nombre,moneda,cantidad,monto,monto_aprobado,monto_pagado";

/// The commissions as CSV, header first.
pub fn to_csv(rows: &[commissions::Model]) -> String {
    let mut out = String::with_capacity(64 + rows.len() * 200);
    out.push_str(CSV_HEADER);
    out.push('\n');
    let opt = |v: Option<Uuid>| v.map(|v| v.to_string()).unwrap_or_default();
    let time = |t: Option<DateTime<Utc>>| t.map(|t| t.to_rfc3339()).unwrap_or_default();
    for m in rows {
        let fields = [
            m.id.to_string(),
            m.affiliate_id.to_string(),
            opt(m.campaign_id),
            opt(m.conversion_id),
            opt(m.payout_id),
            opt(m.adjusts_commission_id),
            type_name(m.commission_type).to_string(),
            scaled(m.base_amount, &m.currency).to_string(),
            m.rate.map(|r| r.normalize().to_string()).unwrap_or_default(),
            m.amount.map(|a| scaled(a, &m.currency).to_string()).unwrap_or_default(),
            m.currency.clone(),
            status_name(m.status).to_string(),
            m.created_at.to_rfc3339(),
            time(m.approved_at),
            time(m.paid_at),
        ];
        push_csv_line(&mut out, &fields);
    }
    out
}

/// A report as CSV, header first; the per-currency totals follow as rows keyed `TOTAL`.
pub fn report_to_csv(report: &Report) -> String {
    let mut out = String::new();
    out.push_str(REPORT_CSV_HEADER);
    out.push('\n');
    for r in &report.rows {
        let fields = [
            r.key.clone(),
            r.name.clone(),
            r.currency.clone(),
            r.count.to_string(),
            r.amount.to_string(),
            r.approved_amount.to_string(),
            r.paid_amount.to_string(),
        ];
        push_csv_line(&mut out, &fields);
    }
    for t in &report.totals {
        let fields = [
            "TOTAL".to_string(),
            String::new(),
            t.currency.clone(),
            t.count.to_string(),
            t.amount.to_string(),
            t.approved_amount.to_string(),
            t.paid_amount.to_string(),
        ];
        push_csv_line(&mut out, &fields);
    }
    out
}

/// One CSV line (RFC 4180 quoting); a leading `=+-@` is defused so spreadsheets do not
/// run a cell as a formula.
fn push_csv_line(out: &mut String, fields: &[String]) {
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let risky = field.starts_with(['=', '+', '@']) || (field.starts_with('-') && field.parse::<Decimal>().is_err());
        let text = if risky { format!("'{field}") } else { field.clone() };
        if text.contains([',', '"', '\n', '\r']) {
            out.push('"');
            out.push_str(&text.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(&text);
        }
    }
    out.push('\n');
}

/// Payouts, newest first.
pub async fn list_payouts(
    db: &DatabaseConnection,
    caller: &Caller,
    affiliate_id: Option<Uuid>,
    status: Option<PayoutStatus>,
    page: PageRequest,
) -> AppResult<Page<payouts::Model>> {
    let mut query = payouts::Entity::find();
    if let Some(id) = affiliate_id {
        caller.require_affiliate_access(id)?;
        query = query.filter(payouts::Column::AffiliateId.eq(id));
    }
    if let Some(own) = caller.affiliate_scope() {
        query = query.filter(payouts::Column::AffiliateId.eq(own));
    }
    if let Some(status) = status {
        query = query.filter(payouts::Column::Status.eq(status));
    }
    super::newest_first(db, query, payouts::Column::CreatedAt, payouts::Column::Id, page).await
}

/// One payout, if the caller may see it.
pub async fn get_payout(db: &DatabaseConnection, caller: &Caller, id: Uuid) -> AppResult<payouts::Model> {
    let payout = payouts::Entity::find_by_id(id).one(db).await?.ok_or_else(|| AppError::not_found("payout", id))?;
    if caller.affiliate_scope().is_some_and(|own| own != payout.affiliate_id) {
        return Err(AppError::not_found("payout", id));
    }
    Ok(payout)
}

/// The commissions of one payout.
pub async fn of_payout(
    db: &DatabaseConnection,
    caller: &Caller,
    payout: &payouts::Model,
) -> AppResult<Vec<commissions::Model>> {
    caller.require_affiliate_access(payout.affiliate_id)?;
    Ok(commissions::Entity::find()
        .filter(commissions::Column::PayoutId.eq(payout.id))
        .order_by_asc(commissions::Column::CreatedAt)
        .all(db)
        .await?)
}

// ---------------------------------------------------------------------------------
// Internals.
// ---------------------------------------------------------------------------------

/// A new PENDING commission with nothing decided yet; callers set what they know.
fn draft(affiliate_id: Uuid, currency: &str, base_amount: Decimal, now: DateTime<Utc>) -> commissions::Model {
    commissions::Model {
        id: Uuid::now_v7(),
        conversion_id: None,
        credit_id: None,
        affiliate_id,
        campaign_id: None,
        payout_id: None,
        adjusts_commission_id: None,
        commission_type: CommissionType::Percentage,
        base_amount,
        rate: None,
        amount: None,
        currency: currency.to_string(),
        status: CommissionStatus::Pending,
        config: json!({}),
        approval_comments: None,
        approval_level: None,
        approval_policy: None,
        approval_metadata: json!({}),
        rejection_reason: None,
        cancel_reason: None,
        calculated_at: None,
        approved_at: None,
        paid_at: None,
        canceled_at: None,
        approved_by: None,
        version: 1,
        created_at: now,
        updated_at: now,
    }
}

async fn insert<C: ConnectionTrait>(conn: &C, model: commissions::Model) -> AppResult<commissions::Model> {
    // A credit reserved meanwhile by someone else trips `ux_commissions_credit_id`: CONFLICT.
    model.into_active_model().reset_all().insert(conn).await.map_err(|e| AppError::from_db_unique(e, &["credit_id"]))
}

async fn find<C: ConnectionTrait>(conn: &C, id: Uuid) -> AppResult<commissions::Model> {
    commissions::Entity::find_by_id(id).one(conn).await?.ok_or_else(|| AppError::not_found("commission", id))
}

fn unknown(field: &str, entity: &'static str, id: &str) -> AppError {
    AppError::UnknownReference { field: field.to_string(), entity, id: id.to_string() }
}

fn stale(model: &commissions::Model) -> AppError {
    AppError::conflict("id", format!("commission {} was changed by someone else; reload and try again", model.id))
}

fn text_field(value: &Value, key: &str, field: &str) -> AppResult<Option<String>> {
    match value.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(validate::text(s, field, 64)?)),
        Some(_) => Err(AppError::validation(field, format!("{key} must be text"))),
    }
}

fn closed_conversion(status: ConversionStatus) -> bool {
    matches!(status, ConversionStatus::Reverted | ConversionStatus::Refunded | ConversionStatus::Rejected)
}

/// A commission of a reverted, refunded or rejected conversion is not paid.
fn ensure_conversion_payable(conversion: &conversions::Model) -> AppResult<()> {
    if closed_conversion(conversion.status) {
        return Err(AppError::conflict(
            "conversion_id",
            format!("conversion {} is {:?}; its commission cannot be paid", conversion.id, conversion.status)
                .to_lowercase(),
        ));
    }
    Ok(())
}

fn original(model: &commissions::Model, key: &str) -> Option<Decimal> {
    model.config.get(key).and_then(Value::as_str).and_then(|s| s.parse().ok())
}

/// The rule and the amount of a commission, from its affiliate, campaign and conversion.
async fn price<C: ConnectionTrait>(conn: &C, model: &commissions::Model) -> AppResult<(rules::Rule, Decimal)> {
    let currency = Currency::parse(&model.currency, "currency")?;
    let affiliate = affiliates::Entity::find_by_id(model.affiliate_id)
        .one(conn)
        .await?
        .ok_or_else(|| AppError::not_found("affiliate", model.affiliate_id))?;
    let campaign = match model.campaign_id {
        Some(id) => campaigns::Entity::find_by_id(id).one(conn).await?,
        None => None,
    };
    let conversion = match model.conversion_id {
        Some(id) => conversions::Entity::find_by_id(id).one(conn).await?,
        None => None,
    };
    let explicit = model.config.get("tasa_explicita").and_then(|t| {
        let kind = if t.get("tipo").and_then(Value::as_str) == Some("fijo") { Kind::Flat } else { Kind::Percentage };
        let value = t.get("valor").and_then(Value::as_str)?.parse().ok()?;
        Some(rules::Rule { kind, value, source: rules::RateSource::Explicit })
    });
    let affiliate_rules = rules::AffiliateRules {
        premium: affiliate.tier == AffiliateTier::Premium,
        base_rate: affiliate.base_rate,
        premium_rate: affiliate.premium_rate,
    };
    // A campaign's flat amount is in its own currency; it applies only to commissions in that currency.
    let campaign_rules = campaign.as_ref().map(|c| rules::CampaignRules {
        conversion_rate: c.conversion_rate,
        sale_rate: c.sale_rate,
        bonus_targets: c.bonus_targets,
        flat_amount: (c.commission_type == CommissionType::Flat && c.currency == model.currency)
            .then_some(c.flat_amount)
            .flatten(),
    });
    let kind = match conversion.as_ref().map(|c| c.conversion_type) {
        Some(ConversionType::Sale) | None => rules::ConversionKind::Sale,
        Some(_) => rules::ConversionKind::Other,
    };
    let rule = rules::choose_rule(explicit, &affiliate_rules, campaign_rules.as_ref(), kind);
    let share = match &conversion {
        Some(c) if c.value > Decimal::ZERO => {
            let base = original(model, "monto_base_original").unwrap_or(model.base_amount);
            (base / c.value).min(Decimal::ONE)
        }
        _ => Decimal::ONE,
    };
    let target_met = model.config.get("objetivo_cumplido").and_then(Value::as_bool).unwrap_or(false);
    let bonus = if target_met { campaign_rules.and_then(|c| c.bonus_targets) } else { None };
    let mut value = rules::amount(&rule, model.base_amount, share, bonus, currency);
    if rule.kind == Kind::Flat {
        // A partial refund shrinks a flat commission with its base, too.
        if let Some(original_base) = original(model, "monto_base_original").filter(|b| !b.is_zero()) {
            value = currency.round(rule.value * share * model.base_amount / original_base);
        }
    }
    Ok((rule, value))
}

/// Applies one lifecycle move: conditional on the version read (else CONFLICT), with its
/// audit row and event, in the caller's transaction.
async fn change<C: ConnectionTrait>(
    conn: &C,
    caller: &Caller,
    current: &commissions::Model,
    action: &str,
    event_type: &'static str,
    edit: impl FnOnce(&mut commissions::Model),
) -> AppResult<commissions::Model> {
    let mut next = current.clone();
    edit(&mut next);
    next.version = current.version + 1;
    next.updated_at = Utc::now();
    let updated = commissions::Entity::update_many()
        .set(next.clone().into_active_model().reset_all())
        .filter(commissions::Column::Id.eq(current.id))
        .filter(commissions::Column::Version.eq(current.version))
        .exec(conn)
        .await?;
    if updated.rows_affected != 1 {
        return Err(stale(current));
    }
    outbox::record(conn, event(&next, event_type)).await?;
    audit::record(
        conn,
        caller,
        audit::Change {
            action,
            entity_type: "commission",
            entity_id: next.id.to_string(),
            before: Some(audit_view(current)),
            after: Some(audit_view(&next)),
        },
    )
    .await?;
    Ok(next)
}

async fn record_created<C: ConnectionTrait>(conn: &C, caller: &Caller, model: &commissions::Model) -> AppResult<()> {
    outbox::record(conn, event(model, "comision_creada")).await?;
    audit::record(
        conn,
        caller,
        audit::Change {
            action: "commission.create",
            entity_type: "commission",
            entity_id: model.id.to_string(),
            before: None,
            after: Some(audit_view(model)),
        },
    )
    .await
}

/// The original commissions of a conversion, and the clawbacks already made against them.
async fn of_conversion<C: ConnectionTrait>(
    conn: &C,
    conversion_id: Uuid,
) -> AppResult<(Vec<commissions::Model>, Vec<commissions::Model>)> {
    let all = commissions::Entity::find()
        .filter(commissions::Column::ConversionId.eq(conversion_id))
        .order_by_asc(commissions::Column::CreatedAt)
        .all(conn)
        .await?;
    Ok(all.into_iter().partition(|m| m.adjusts_commission_id.is_none()))
}

/// Not paid and not in a payout: a reversal cancels it, a partial refund shrinks it.
fn unpaid(model: &commissions::Model) -> bool {
    Status::from(model.status).is_open() && model.payout_id.is_none()
}

/// Paid, or in a payout that is on its way: a reversal or refund claws it back instead,
/// so that the payout's total stays what was promised and the difference is netted later.
fn committed(model: &commissions::Model) -> bool {
    model.status == CommissionStatus::Paid || (model.status == CommissionStatus::Approved && model.payout_id.is_some())
}

/// What the affiliate still keeps of a paid commission: its amount less the clawbacks so far.
fn net_paid(model: &commissions::Model, adjustments: &[commissions::Model]) -> Decimal {
    let clawed: Decimal = adjustments
        .iter()
        .filter(|a| a.adjusts_commission_id == Some(model.id))
        .filter(|a| !matches!(a.status, CommissionStatus::Canceled | CommissionStatus::Rejected))
        .filter_map(|a| a.amount)
        .sum();
    model.amount.unwrap_or(Decimal::ZERO) + clawed
}

/// A negative, already approved commission against a paid one: netted in the next payout.
async fn clawback<C: ConnectionTrait>(
    conn: &C,
    caller: &Caller,
    paid: &commissions::Model,
    amount: Decimal,
    reason: &str,
) -> AppResult<commissions::Model> {
    let now = Utc::now();
    let mut model = draft(paid.affiliate_id, &paid.currency, Decimal::ZERO, now);
    model.conversion_id = paid.conversion_id;
    model.campaign_id = paid.campaign_id;
    model.adjusts_commission_id = Some(paid.id);
    model.commission_type = paid.commission_type;
    model.amount = Some(amount);
    model.status = CommissionStatus::Approved;
    model.config = json!({ "tipo": "ajuste", "motivo": reason });
    model.approval_comments = Some(reason.to_string());
    model.approval_level = Some("automatico".into());
    model.approval_policy = Some("clawback".into());
    model.approval_metadata = json!({ "nivel_aprobacion": "automatico", "politica_aplicada": "clawback" });
    model.calculated_at = Some(now);
    model.approved_at = Some(now);
    let model = insert(conn, model).await?;
    record_created(conn, caller, &model).await?;
    Ok(model)
}

/// The seed 004 commission event.
pub fn event(m: &commissions::Model, event_type: &'static str) -> Envelope {
    let mut data = json!({
        "monto_base": json_number(scaled(m.base_amount, &m.currency)),
        "monto_calculado": m.amount.map(|a| json_number(scaled(a, &m.currency))),
        "moneda": m.currency,
        "estado": status_name(m.status),
        "tipo_comision": type_name(m.commission_type),
        "porcentaje": m.rate.map(json_number),
        "version": m.version,
    });
    if let Some(adjusts) = m.adjusts_commission_id {
        data["ajusta_comision_id"] = json!(adjusts);
    }
    if let Some(payout) = m.payout_id {
        data["pago_id"] = json!(payout);
    }
    if let Some(reason) = m.cancel_reason.as_ref().or(m.rejection_reason.as_ref()) {
        data["motivo"] = json!(reason);
    }
    if m.status == CommissionStatus::Approved {
        data["nivel_aprobacion"] = json!(m.approval_level);
        data["politica_aplicada"] = json!(m.approval_policy);
    }
    Envelope::new(
        Topic::Commissions,
        event_type,
        "commission",
        m.id,
        &[
            ("comision_id", json!(m.id)),
            ("afiliado_id", json!(m.affiliate_id)),
            ("campana_id", json!(m.campaign_id)),
            ("conversion_id", json!(m.conversion_id)),
        ],
        "datos_comision",
        data,
    )
    .for_affiliate(Some(m.affiliate_id))
}

fn payout_event(p: &payouts::Model, event_type: &'static str, members: &[commissions::Model]) -> Envelope {
    Envelope::new(
        Topic::Commissions,
        event_type,
        "payout",
        p.id,
        &[("pago_id", json!(p.id)), ("afiliado_id", json!(p.affiliate_id))],
        "datos_pago",
        json!({
            "monto": json_number(scaled(p.amount, &p.currency)),
            "moneda": p.currency,
            "estado": match p.status { PayoutStatus::Pending => "pendiente", PayoutStatus::Paid => "pagado", PayoutStatus::Canceled => "cancelado" },
            "comisiones": members.iter().map(|m| m.id).collect::<Vec<_>>(),
        }),
    )
    .for_affiliate(Some(p.affiliate_id))
}

/// What the audit log keeps of a commission: who/when are the audit row's own columns;
/// this is the from/to.
fn audit_view(m: &commissions::Model) -> Value {
    json!({
        "status": Status::from(m.status).name(),
        "amount": m.amount.map(|a| a.to_string()),
        "baseAmount": m.base_amount.to_string(),
        "rate": m.rate.map(|r| r.to_string()),
        "currency": m.currency,
        "payoutId": m.payout_id,
        "version": m.version,
        "approvalLevel": m.approval_level,
        "approvalPolicy": m.approval_policy,
        "reason": m.cancel_reason.as_ref().or(m.rejection_reason.as_ref()),
    })
}
