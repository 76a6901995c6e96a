//! Payouts: approved commissions of one currency grouped per affiliate, then paid.

use super::*;

/// Groups the affiliate's APPROVED, unpaid commissions in one currency (the affiliate's
/// payout currency unless given) into a PENDING payout, clawbacks netted, when their sum
/// reaches the affiliate's minimum payout.
pub async fn create_payout(ctx: &Ctx, caller: &Caller, affiliate: &str, currency: Option<&str>) -> AppResult<Payout> {
    caller.require_admin()?;
    let (txn, _turn) = db::write_txn(&ctx.db).await?;
    let affiliate = affiliate_service::resolve(&txn, affiliate)
        .await
        .map_err(|_| unknown("affiliateId", "affiliate", affiliate))?;
    let currency = Currency::parse(currency.unwrap_or(&affiliate.payout_currency), "currency")?;
    let now = Utc::now();
    let payout = payouts::ActiveModel {
        id: Set(Uuid::now_v7()),
        affiliate_id: Set(affiliate.id),
        amount: Set(Decimal::ZERO),
        currency: Set(currency.code().to_string()),
        status: Set(PayoutStatus::Pending),
        commission_count: Set(0),
        created_by: Set(caller.user_id),
        created_at: Set(now),
        paid_at: Set(None),
        reference: Set(None),
    }
    .insert(&txn)
    .await?;
    // Claimed first, summed after: the claim waits for a change of one of them being
    // committed meanwhile (a refund) and returns the rows as they are then, so the total is
    // theirs; a change read before the claim then finds the row claimed and is refused.
    let due = commissions::Entity::update_many()
        .col_expr(commissions::Column::PayoutId, Expr::value(payout.id))
        .col_expr(commissions::Column::UpdatedAt, Expr::value(now))
        .filter(commissions::Column::AffiliateId.eq(affiliate.id))
        .filter(commissions::Column::Status.eq(CommissionStatus::Approved))
        .filter(commissions::Column::PayoutId.is_null())
        .filter(commissions::Column::Currency.eq(currency.code()))
        .exec_with_returning(&txn)
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
    let mut active = payout.into_active_model();
    active.amount = Set(total);
    active.commission_count = Set(due.len() as i32);
    let payout = active.update(&txn).await?;
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
    ctx.events_committed();
    Ok(payout.into())
}

/// A payment made before Alpes, as a history import brings it.
#[derive(Debug, Clone, Default)]
pub struct PaidElsewhere {
    /// The payment's reference in the system that paid it (a bank transfer's, say).
    pub reference: Option<String>,
    /// When it was paid; now when not known.
    pub paid_at: Option<DateTime<Utc>>,
}

/// An APPROVED commission, unpaid and in no payout, paid before Alpes: it gets a PAID
/// payout of its own (at `paid_at`, with the payment's reference), so it is never paid
/// again and the books hold — the payout is the sum of its one commission — as for a
/// payout made here. Audited (`payout.import`, `payout.pay`) and published (`pago_realizado`,
/// `comision_pagada`) as a payout paid here is.
pub async fn record_paid_elsewhere(
    ctx: &Ctx,
    caller: &Caller,
    commission_id: Uuid,
    paid: PaidElsewhere,
) -> AppResult<Payout> {
    caller.require_admin()?;
    let reference = validate::optional_text(paid.reference.as_deref(), "reference", 128)?;
    let now = Utc::now();
    let paid_at = paid.paid_at.unwrap_or(now);
    if paid_at > now {
        return Err(AppError::validation("paid_at", format!("{} is in the future", paid_at.to_rfc3339())));
    }
    let (txn, _turn) = db::write_txn(&ctx.db).await?;
    let current = find(&txn, commission_id).await?;
    rules::transition(lifecycle_status(current.status), Move::Pay)?;
    if let Some(payout) = current.payout_id {
        return Err(AppError::conflict("id", format!("commission {commission_id} is already in payout {payout}")));
    }
    let amount = current.amount.unwrap_or(Decimal::ZERO);
    let payout = payouts::ActiveModel {
        id: Set(Uuid::now_v7()),
        affiliate_id: Set(current.affiliate_id),
        amount: Set(amount),
        currency: Set(current.currency.clone()),
        status: Set(PayoutStatus::Paid),
        commission_count: Set(1),
        created_by: Set(caller.user_id),
        created_at: Set(paid_at),
        paid_at: Set(Some(paid_at)),
        reference: Set(reference.clone()),
    }
    .insert(&txn)
    .await?;
    let member = change(&txn, caller, &current, "commission.pay", "comision_pagada", |m| {
        m.status = CommissionStatus::Paid;
        m.paid_at = Some(paid_at);
        m.payout_id = Some(payout.id);
    })
    .await?;
    outbox::record(&txn, payout_event(&payout, "pago_realizado", std::slice::from_ref(&member))).await?;
    // Its creation and its payment, each audited as a payout's are (the payment made
    // elsewhere, before Alpes).
    for (action, after) in [
        (
            "payout.import",
            json!({ "amount": payout.amount.to_string(), "currency": payout.currency, "commissions": [member.id] }),
        ),
        ("payout.pay", json!({ "status": "PAID", "paidAt": paid_at, "reference": reference, "paidElsewhere": true })),
    ] {
        let change = audit::Change {
            action,
            entity_type: "payout",
            entity_id: payout.id.to_string(),
            before: None,
            after: Some(after),
        };
        audit::record(&txn, caller, change).await?;
    }
    txn.commit().await?;
    ctx.events_committed();
    Ok(payout.into())
}

/// The payout `id`, which must still be PENDING to move `to` another state.
async fn pending_payout<C: ConnectionTrait>(conn: &C, id: Uuid, to: &str) -> AppResult<payouts::Model> {
    let payout = payouts::Entity::find_by_id(id).one(conn).await?.ok_or_else(|| AppError::not_found("payout", id))?;
    if payout.status != PayoutStatus::Pending {
        return Err(AppError::InvalidTransition {
            entity: "payout",
            from: format!("{:?}", payout.status).to_uppercase(),
            to: to.into(),
        });
    }
    Ok(payout)
}

/// PENDING payout → PAID; each of its commissions APPROVED → PAID.
pub async fn mark_payout_paid(ctx: &Ctx, caller: &Caller, id: Uuid) -> AppResult<Payout> {
    caller.require_admin()?;
    let (txn, _turn) = db::write_txn(&ctx.db).await?;
    let payout = pending_payout(&txn, id, "PAID").await?;
    let now = Utc::now();
    let mut members = commissions::Entity::find().filter(commissions::Column::PayoutId.eq(payout.id)).all(&txn).await?;
    members.sort_by_key(lifecycle::rollup_order);
    for model in &members {
        rules::transition(lifecycle_status(model.status), Move::Pay)?;
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
    ctx.events_committed();
    Ok(paid.into())
}

/// PENDING payout → CANCELED (a wrong amount, a bank that refused it): its commissions
/// are APPROVED and unpaid again, ready for the next payout. A PAID payout cannot be
/// canceled: the money left. Audited with the reason.
pub async fn cancel_payout(ctx: &Ctx, caller: &Caller, id: Uuid, reason: Option<&str>) -> AppResult<Payout> {
    caller.require_admin()?;
    let reason = validate::optional_text(reason, "reason", 2000)?;
    let (txn, _turn) = db::write_txn(&ctx.db).await?;
    let payout = pending_payout(&txn, id, "CANCELED").await?;
    let members = commissions::Entity::find().filter(commissions::Column::PayoutId.eq(payout.id)).all(&txn).await?;
    let now = Utc::now();
    // Released as they were claimed: only the payout link changes.
    commissions::Entity::update_many()
        .col_expr(commissions::Column::PayoutId, Expr::value(Option::<Uuid>::None))
        .col_expr(commissions::Column::UpdatedAt, Expr::value(now))
        .filter(commissions::Column::PayoutId.eq(payout.id))
        .exec(&txn)
        .await?;
    let mut active = payout.clone().into_active_model();
    active.status = Set(PayoutStatus::Canceled);
    let canceled = active.update(&txn).await?;
    outbox::record(&txn, payout_event(&canceled, "pago_cancelado", &members)).await?;
    audit::record(
        &txn,
        caller,
        audit::Change {
            action: "payout.cancel",
            entity_type: "payout",
            entity_id: canceled.id.to_string(),
            before: Some(json!({ "status": "PENDING" })),
            after: Some(json!({
                "status": "CANCELED",
                "reason": reason,
                "released": members.iter().map(|m| m.id).collect::<Vec<_>>(),
            })),
        },
    )
    .await?;
    txn.commit().await?;
    ctx.events_committed();
    Ok(canceled.into())
}

// ---------------------------------------------------------------------------------
// Reads. An AFFILIATE caller sees its own affiliate's rows only, everywhere.
// ---------------------------------------------------------------------------------

/// Payouts, newest first.
pub async fn list_payouts(
    db: &DatabaseConnection,
    caller: &Caller,
    affiliate_id: Option<Uuid>,
    status: Option<PayoutStatus>,
    page: PageRequest,
) -> AppResult<Page<Payout>> {
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
    Ok(crate::service::newest_first(db, query, payouts::Column::CreatedAt, payouts::Column::Id, page)
        .await?
        .map(Payout::from))
}

/// One payout, if the caller may see it.
pub async fn get_payout(db: &DatabaseConnection, caller: &Caller, id: Uuid) -> AppResult<Payout> {
    let payout = payouts::Entity::find_by_id(id).one(db).await?.ok_or_else(|| AppError::not_found("payout", id))?;
    if caller.affiliate_scope().is_some_and(|own| own != payout.affiliate_id) {
        return Err(AppError::not_found("payout", id));
    }
    Ok(payout.into())
}

/// The commissions of one payout.
pub async fn of_payout(db: &DatabaseConnection, caller: &Caller, payout: &Payout) -> AppResult<Vec<Commission>> {
    caller.require_affiliate_access(payout.affiliate_id)?;
    let rows = commissions::Entity::find()
        .filter(commissions::Column::PayoutId.eq(payout.id))
        .order_by_asc(commissions::Column::CreatedAt)
        .all(db)
        .await?;
    Ok(rows.into_iter().map(Commission::from).collect())
}

// ---------------------------------------------------------------------------------
// Internals.
// ---------------------------------------------------------------------------------
