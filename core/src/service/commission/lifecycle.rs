//! A commission's moves asked for by people: create, calculate, approve (one or many),
//! reject, cancel.

use super::*;
use sea_orm::PaginatorTrait;

/// A commission asked for by a person. A conversion gets one commission per affiliate: when
/// it already has one for this affiliate (the one its attribution reserved, say, as seed
/// 004's flow registers a conversion and then asks for its commission), asking again is
/// idempotent — the existing commission is the answer, `false` beside it — provided the
/// request asks for nothing it does not already have (base, currency, campaign, rate);
/// a request that disagrees is CONFLICT, naming the commission and the difference.
pub async fn create(ctx: &Ctx, caller: &Caller, input: NewCommission) -> AppResult<(Commission, bool)> {
    caller.require_admin()?;
    let config = match input.config {
        None | Some(Value::Null) => json!({}),
        Some(Value::Object(map)) => Value::Object(map),
        Some(_) => return Err(AppError::validation("configuracion", "configuracion must be an object")),
    };
    let (txn, _turn) = db::write_txn(&ctx.db).await?;
    let conversion = match input.conversion.as_deref() {
        Some(reference) => Some(
            tracking::resolve_conversion(&txn, reference)
                .await
                .map_err(|_| unknown("conversion_id", "conversion", reference))?,
        ),
        None => None,
    };
    let affiliate_ref = match (&input.affiliate, &conversion) {
        (Some(reference), _) => reference.clone(),
        (None, Some(conversion)) => match conversion.affiliate_id {
            Some(id) => id.to_string(),
            None => {
                return Err(AppError::validation(
                    "afiliado_id",
                    "the conversion is credited to no affiliate: give afiliado_id",
                ))
            }
        },
        (None, None) => return Err(AppError::validation("afiliado_id", "give afiliado_id or a conversion_id")),
    };
    let affiliate = affiliate_service::resolve(&txn, &affiliate_ref)
        .await
        .map_err(|_| unknown("afiliado_id", "affiliate", &affiliate_ref))?;
    let campaign = match input.campaign.as_deref() {
        Some(reference) => Some(
            campaign_service::resolve(&txn, reference)
                .await
                .map_err(|_| unknown("campana_id", "campaign", reference))?,
        ),
        None => None,
    };
    let existing = match &conversion {
        Some(conversion) => {
            ensure_conversion_payable(conversion)?;
            lock_conversion(&txn, conversion.id).await?;
            commission_of(&txn, conversion.id, affiliate.id).await?
        }
        None => None,
    };
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
    if let Some(existing) = existing {
        let asked = Terms {
            base: input.base_amount.map(|_| base),
            currency: currency.code(),
            campaign: campaign.as_ref().map(|c| c.id),
            rule: explicit.as_ref(),
        };
        return match disagreement(&txn, &existing, &asked).await? {
            None => Ok((existing.into(), false)),
            Some(difference) => Err(AppError::conflict(
                "conversion_id",
                format!(
                    "conversion {} already has commission {} for this affiliate, {difference}",
                    existing.conversion_id.map(|id| id.to_string()).unwrap_or_default(),
                    existing.id
                ),
            )),
        };
    }
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
    let mut model = insert(&txn, model).await?;
    record_created(&txn, caller, &model).await?;
    if let (None, Some(conversion)) = (input.base_amount, &conversion) {
        // On the sale's value, then on what is left of it after a refund so far.
        if follow_earlier_refund(&txn, conversion).await? {
            model = find(&txn, model.id).await?;
        }
    }
    txn.commit().await?;
    ctx.events_committed();
    Ok((model.into(), true))
}

/// Holds the conversion's row for the rest of the transaction, so that a commission
/// asked for by hand and the attribution's reservation for the same conversion see each
/// other instead of both making one. PostgreSQL: `FOR UPDATE` (the other waits for the
/// commit, then reads what it made); SQLite's writers already take turns.
pub(super) async fn lock_conversion<C: ConnectionTrait>(conn: &C, id: Uuid) -> AppResult<()> {
    if conn.get_database_backend() == sea_orm::DbBackend::Postgres {
        conversions::Entity::find_by_id(id)
            .select_only()
            .column(conversions::Column::Id)
            .lock_exclusive()
            .into_tuple::<Uuid>()
            .one(conn)
            .await?;
    }
    Ok(())
}

/// The commission a conversion has for an affiliate (not an adjustment, not canceled or
/// rejected): at most one.
pub(super) async fn commission_of<C: ConnectionTrait>(
    conn: &C,
    conversion_id: Uuid,
    affiliate_id: Uuid,
) -> AppResult<Option<commissions::Model>> {
    Ok(commissions::Entity::find()
        .filter(commissions::Column::ConversionId.eq(conversion_id))
        .filter(commissions::Column::AffiliateId.eq(affiliate_id))
        .filter(commissions::Column::AdjustsCommissionId.is_null())
        .filter(commissions::Column::Status.is_not_in([CommissionStatus::Canceled, CommissionStatus::Rejected]))
        .one(conn)
        .await?)
}

/// What a create asks for, beside its conversion and affiliate.
struct Terms<'a> {
    /// The base, when the request gives one.
    base: Option<Decimal>,
    currency: &'a str,
    campaign: Option<Uuid>,
    rule: Option<&'a rules::Rule>,
}

/// How `existing` differs from what a create asks for, in words; `None` when it does not.
/// A PENDING commission's rate is the one it will be calculated at; a calculated one's is
/// its own.
async fn disagreement<C: ConnectionTrait>(
    conn: &C,
    existing: &commissions::Model,
    asked: &Terms<'_>,
) -> AppResult<Option<String>> {
    if let Some(base) = asked.base.filter(|b| *b != existing.base_amount) {
        return Ok(Some(format!("on a base of {}, not {base}", existing.base_amount)));
    }
    if asked.currency != existing.currency {
        return Ok(Some(format!("in {}, not {}", existing.currency, asked.currency)));
    }
    if let Some(campaign) = asked.campaign.filter(|c| Some(*c) != existing.campaign_id) {
        return Ok(Some(format!("for another campaign than {campaign}")));
    }
    let Some(rule) = asked.rule else { return Ok(None) };
    let (kind, value) = if existing.status == CommissionStatus::Pending {
        let (own, _) = price(conn, existing).await?;
        (own.kind, Some(own.value))
    } else {
        match existing.commission_type {
            CommissionType::Flat => (Kind::Flat, existing.amount),
            _ => (Kind::Percentage, existing.rate),
        }
    };
    let describe = |kind: Kind, value: Option<Decimal>| match (kind, value) {
        (Kind::Percentage, Some(v)) => format!("{} %", v.normalize()),
        (Kind::Flat, Some(v)) => format!("a flat {} {}", v.normalize(), existing.currency),
        (_, None) => "no rate yet".to_string(),
    };
    Ok((kind != rule.kind || value != Some(rule.value))
        .then(|| format!("which earns {}, not {}", describe(kind, value), describe(rule.kind, Some(rule.value)))))
}

/// PENDING → CALCULATED (or CALCULATED again with `force`). Without `force`, a
/// commission already calculated is returned as it is: asking twice changes nothing.
pub async fn calculate(ctx: &Ctx, caller: &Caller, id: Uuid, force: bool) -> AppResult<Commission> {
    caller.require_admin()?;
    let current = find(&ctx.db, id).await?;
    if current.status == CommissionStatus::Calculated && !force {
        return Ok(current.into());
    }
    rules::transition(lifecycle_status(current.status), Move::Calculate { force })?;
    let (txn, _turn) = db::write_txn(&ctx.db).await?;
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
    ctx.events_committed();
    Ok(next.into())
}

/// The ids of a bulk action: 1 to [`MAX_BULK`], none twice.
fn check_bulk(ids: &[Uuid]) -> AppResult<()> {
    if ids.is_empty() || ids.len() > MAX_BULK {
        return Err(AppError::validation("ids", format!("give 1 to {MAX_BULK} commission ids")));
    }
    let unique: HashSet<&Uuid> = ids.iter().collect();
    if unique.len() != ids.len() {
        return Err(AppError::validation("ids", "an id is given twice"));
    }
    Ok(())
}

/// Calculates many PENDING commissions (the admin app's "Calculate pending"). Every id is
/// checked first (it exists, it is PENDING): one that is not refuses the request and
/// nothing is calculated. Each is then calculated as [`calculate`] does, audited.
pub async fn calculate_many(ctx: &Ctx, caller: &Caller, ids: &[Uuid]) -> AppResult<Vec<Commission>> {
    caller.require_admin()?;
    check_bulk(ids)?;
    let found = commissions::Entity::find().filter(commissions::Column::Id.is_in(ids.to_vec())).all(&ctx.db).await?;
    for id in ids {
        let model = found.iter().find(|m| m.id == *id).ok_or_else(|| AppError::not_found("commission", *id))?;
        rules::transition(lifecycle_status(model.status), Move::Calculate { force: false })?;
    }
    let mut calculated = Vec::with_capacity(ids.len());
    for id in ids {
        calculated.push(calculate(ctx, caller, *id, false).await?);
    }
    Ok(calculated)
}

/// The most PENDING commissions one [`calculate_pending`] call calculates; a client asks
/// again for the rest (the admin app does, showing how many are left), so that no request
/// runs for minutes whatever the backlog.
pub const MAX_CALCULATE_PER_CALL: u64 = 1_000;

/// What [`calculate_pending`] did.
#[derive(Debug, Clone, Default)]
pub struct PendingCalculation {
    /// Calculated by this call.
    pub calculated: u64,
    /// Still PENDING under the filter afterwards (those skipped included).
    pub remaining: u64,
    /// Those that could not be calculated, with why (at most 20 listed; `skipped_count` says all).
    pub skipped: Vec<(Uuid, String)>,
    pub skipped_count: u64,
}

/// Calculates every PENDING commission the filter selects — not one page of the list —
/// oldest first, up to [`MAX_CALCULATE_PER_CALL`] a call. Each is calculated as
/// [`calculate`] does (its own transaction, audited, published); one that fails (a
/// concurrent change, a rule it breaks) is skipped and named, the others go on.
pub async fn calculate_pending(ctx: &Ctx, caller: &Caller, filter: CommissionFilter) -> AppResult<PendingCalculation> {
    caller.require_admin()?;
    let filter = CommissionFilter { status: Some(CommissionStatus::Pending), ..filter };
    let condition = super::query::condition(caller, &filter)?;
    let ids: Vec<Uuid> = commissions::Entity::find()
        .select_only()
        .column(commissions::Column::Id)
        .filter(condition.clone())
        .order_by_asc(commissions::Column::CreatedAt)
        .order_by_asc(commissions::Column::Id)
        .limit(MAX_CALCULATE_PER_CALL)
        .into_tuple()
        .all(&ctx.db)
        .await?;
    let mut done = PendingCalculation::default();
    for id in ids {
        match calculate(ctx, caller, id, false).await {
            Ok(_) => done.calculated += 1,
            Err(err @ (AppError::Unavailable(_) | AppError::Timeout(_) | AppError::Internal(_))) => return Err(err),
            Err(err) => {
                done.skipped_count += 1;
                if done.skipped.len() < 20 {
                    done.skipped.push((id, err.public_message()));
                }
            }
        }
    }
    done.remaining = commissions::Entity::find().filter(condition).count(&ctx.db).await?;
    Ok(done)
}

/// CALCULATED → APPROVED by a person (or by the automatic policy).
pub async fn approve(ctx: &Ctx, caller: &Caller, id: Uuid, approval: Approval) -> AppResult<Commission> {
    caller.require_admin()?;
    let approved = approve_many_in_one(ctx, caller, &[id], approval).await?;
    approved.into_iter().next().map(Commission::from).ok_or_else(|| AppError::not_found("commission", id))
}

/// Many approvals, all or none: one refused commission leaves every one unchanged.
pub async fn approve_many(ctx: &Ctx, caller: &Caller, ids: &[Uuid]) -> AppResult<Vec<Commission>> {
    caller.require_admin()?;
    check_bulk(ids)?;
    let approved = approve_many_in_one(ctx, caller, ids, Approval::default()).await?;
    Ok(approved.into_iter().map(Commission::from).collect())
}

pub(super) async fn approve_many_in_one(
    ctx: &Ctx,
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
        commissions::Entity::find().filter(commissions::Column::Id.is_in(ids.iter().copied())).all(&ctx.db).await?;
    let by_id: HashMap<Uuid, commissions::Model> = found.into_iter().map(|m| (m.id, m)).collect();
    let mut current = Vec::with_capacity(ids.len());
    for id in ids {
        let model = by_id.get(id).cloned().ok_or_else(|| AppError::not_found("commission", id))?;
        if let Some(expected) = approval.expected_version {
            if expected != model.version {
                return Err(stale(&model));
            }
        }
        rules::transition(lifecycle_status(model.status), Move::Approve)?;
        current.push(model);
    }
    let conversion_ids: Vec<Uuid> = current.iter().filter_map(|m| m.conversion_id).collect();
    let conversions: Vec<conversions::Model> = if conversion_ids.is_empty() {
        Vec::new()
    } else {
        conversions::Entity::find().filter(conversions::Column::Id.is_in(conversion_ids)).all(&ctx.db).await?
    };
    for conversion in &conversions {
        ensure_conversion_payable(conversion)?;
    }
    let (txn, _turn) = db::write_txn(&ctx.db).await?;
    let now = Utc::now();
    // Moved in their rollup rows' order, answered in the order asked.
    let mut order: Vec<usize> = (0..current.len()).collect();
    order.sort_by_key(|&i| rollup_order(&current[i]));
    let mut approved: Vec<Option<commissions::Model>> = vec![None; current.len()];
    for i in order {
        let model = &current[i];
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
        approved[i] = Some(next);
    }
    txn.commit().await?;
    ctx.events_committed();
    Ok(approved.into_iter().flatten().collect())
}

/// PENDING or CALCULATED → REJECTED, with the reason.
pub async fn reject(ctx: &Ctx, caller: &Caller, id: Uuid, reason: &str) -> AppResult<Commission> {
    caller.require_admin()?;
    let reason = validate::text(reason, "reason", 2000)?;
    let current = find(&ctx.db, id).await?;
    rules::transition(lifecycle_status(current.status), Move::Reject)?;
    let (txn, _turn) = db::write_txn(&ctx.db).await?;
    let next = change(&txn, caller, &current, "commission.reject", "comision_rechazada", |m| {
        m.status = CommissionStatus::Rejected;
        m.rejection_reason = Some(reason.clone());
    })
    .await?;
    txn.commit().await?;
    ctx.events_committed();
    Ok(next.into())
}

/// PENDING, CALCULATED or APPROVED (unpaid, in no payout) → CANCELED, with the reason: a
/// commission a person voids outside the flows that cancel one by themselves (a refund,
/// a reverted attribution), such as one canceled in the system a history is imported from.
pub async fn cancel(ctx: &Ctx, caller: &Caller, id: Uuid, reason: &str) -> AppResult<Commission> {
    caller.require_admin()?;
    let reason = validate::text(reason, "reason", 2000)?;
    let (txn, _turn) = db::write_txn(&ctx.db).await?;
    let current = find(&txn, id).await?;
    rules::transition(lifecycle_status(current.status), Move::Cancel)?;
    if let Some(payout) = current.payout_id {
        return Err(AppError::conflict(
            "id",
            format!("commission {id} is in payout {payout}: cancel the payout first"),
        ));
    }
    let now = Utc::now();
    let next = change(&txn, caller, &current, "commission.cancel", "comision_cancelada", |m| {
        m.status = CommissionStatus::Canceled;
        m.cancel_reason = Some(reason.clone());
        m.canceled_at = Some(now);
    })
    .await?;
    txn.commit().await?;
    ctx.events_committed();
    Ok(next.into())
}

pub(super) fn text_field(value: &Value, key: &str, field: &str) -> AppResult<Option<String>> {
    match value.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(validate::text(s, field, 64)?)),
        Some(_) => Err(AppError::validation(field, format!("{key} must be text"))),
    }
}

pub(super) fn closed_conversion(status: ConversionStatus) -> bool {
    matches!(status, ConversionStatus::Reverted | ConversionStatus::Refunded | ConversionStatus::Rejected)
}

/// A commission of a reverted, refunded or rejected conversion is not paid.
pub(super) fn ensure_conversion_payable(conversion: &conversions::Model) -> AppResult<()> {
    if closed_conversion(conversion.status) {
        return Err(AppError::conflict(
            "conversion_id",
            format!("conversion {} is {:?}; its commission cannot be paid", conversion.id, conversion.status)
                .to_lowercase(),
        ));
    }
    Ok(())
}

pub(super) fn original(model: &commissions::Model, key: &str) -> Option<Decimal> {
    model.config.get(key).and_then(Value::as_str).and_then(|s| s.parse().ok())
}

/// The rule and the amount of a commission, from its affiliate, campaign and conversion.
pub(super) async fn price<C: ConnectionTrait>(
    conn: &C,
    model: &commissions::Model,
) -> AppResult<(rules::Rule, Decimal)> {
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
    // A sale in a month whose sales reached a programme tier may earn the tier's rate.
    let rule = match &conversion {
        Some(sale) if sale.conversion_type == ConversionType::Sale => {
            crate::service::tier_service::with_tiers(conn, rule, model, sale).await?
        }
        _ => rule,
    };
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

/// The order in which a transaction that moves several commissions moves them: that of
/// their `commission_daily` rows (day of creation, campaign, affiliate, currency). Each
/// move locks its rollup rows until the transaction ends; on PostgreSQL two transactions
/// that took the same rows in opposite orders deadlocked (an approval and a payout, say).
pub(super) fn rollup_order(model: &commissions::Model) -> impl Ord {
    (model.created_at.date_naive(), model.campaign_id, model.affiliate_id, model.currency.clone(), model.id)
}

/// Applies one lifecycle move: conditional on the version read (else CONFLICT), with its
/// audit row and event, in the caller's transaction.
pub(super) async fn change<C: ConnectionTrait>(
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
        // A payout claims or releases rows without a new version: one claimed or released
        // since this was read is stale too.
        .filter(match current.payout_id {
            Some(id) => commissions::Column::PayoutId.eq(id),
            None => commissions::Column::PayoutId.is_null(),
        })
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

/// Prices the commissions not yet calculated that have no expected amount (those reserved
/// before expected amounts existed), a few hundred per transaction so that writers are
/// not held up. Returns how many it priced.
pub async fn price_unpriced(ctx: &Ctx) -> AppResult<u64> {
    const BATCH: u64 = 200;
    let mut priced = 0;
    loop {
        let (txn, _turn) = db::write_txn(&ctx.db).await?;
        let batch = commissions::Entity::find()
            .filter(commissions::Column::Amount.is_null())
            .filter(commissions::Column::ExpectedAmount.is_null())
            .filter(commissions::Column::Status.eq(CommissionStatus::Pending))
            .limit(BATCH)
            .all(&txn)
            .await?;
        for model in &batch {
            let (_, expected) = price(&txn, model).await?;
            commissions::Entity::update_many()
                .col_expr(commissions::Column::ExpectedAmount, Expr::value(expected))
                .filter(commissions::Column::Id.eq(model.id))
                .exec(&txn)
                .await?;
        }
        txn.commit().await?;
        priced += batch.len() as u64;
        if (batch.len() as u64) < BATCH {
            return Ok(priced);
        }
    }
}
