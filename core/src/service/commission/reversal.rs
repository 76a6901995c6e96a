//! What attribution and refunds do to commissions: reserve one per credit, cancel or
//! claw back on a reversal, shrink in proportion on a partial refund.

use super::*;

/// Reserves one PENDING commission per credit that names an affiliate (credits of
/// the conversion's current attribution). Idempotent: a credit already reserved is skipped.
pub async fn reserve_for_credits<C: ConnectionTrait>(
    conn: &C,
    conversion: &conversions::Model,
    credits: &[attribution_credits::Model],
) -> AppResult<Vec<Commission>> {
    let mut wanted: Vec<&attribution_credits::Model> = credits
        .iter()
        .filter(|c| c.affiliate_id.is_some() && c.is_current && c.conversion_id == conversion.id)
        .collect();
    // Made today, so in their rollup rows' order (`lifecycle::rollup_order`) when in the
    // order of campaign, affiliate and currency.
    wanted.sort_by_key(|c| (c.campaign_id, c.affiliate_id, c.currency.clone(), c.id));
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    // A commission asked for by hand at the same moment waits, or is seen.
    lifecycle::lock_conversion(conn, conversion.id).await?;
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
        // A person asked for this affiliate's commission before the attribution was done
        // (seed 004 registers a conversion, then POSTs its commission; an import brings
        // one, maybe already rejected): that one stands for the credit, never a second
        // commission beside it. It becomes the credit's when it is on the credit's
        // amount; on a base of the person's own it stays theirs.
        let asked = commissions::Entity::find()
            .filter(commissions::Column::ConversionId.eq(conversion.id))
            .filter(commissions::Column::AffiliateId.eq(affiliate_id))
            .filter(commissions::Column::AdjustsCommissionId.is_null())
            .filter(commissions::Column::CreditId.is_null())
            .one(conn)
            .await?;
        if let Some(asked) = asked {
            if asked.base_amount != credit.amount {
                continue;
            }
            commissions::Entity::update_many()
                .col_expr(commissions::Column::CreditId, Expr::value(credit.id))
                .col_expr(commissions::Column::CampaignId, Expr::value(asked.campaign_id.or(credit.campaign_id)))
                .filter(commissions::Column::Id.eq(asked.id))
                .filter(commissions::Column::CreditId.is_null())
                .exec(conn)
                .await?;
            continue;
        }
        let mut model = draft(affiliate_id, &credit.currency, credit.amount, now);
        model.conversion_id = Some(conversion.id);
        model.credit_id = Some(credit.id);
        model.campaign_id = credit.campaign_id;
        model.config =
            json!({ "origen": "atribucion", "journey_id": credit.journey_id, "peso": credit.weight.to_string() });
        // A subscription's renewal earns at the rate its campaign (or first sale) set.
        if let Some(renewal) = crate::model::conversions::renewal_of(conversion) {
            model.config["origen"] = json!("renovacion");
            model.config["renovacion"] = renewal.clone();
            if let Some(rate) = renewal.get("tasa_explicita").filter(|r| r.is_object()) {
                model.config["tasa_explicita"] = rate.clone();
            }
        }
        let model = insert(conn, model).await?;
        record_created(conn, &caller, &model).await?;
        made.push(model.into());
    }
    if follow_earlier_refund(conn, conversion).await? && !made.is_empty() {
        // As they stand after the refund.
        let ids: Vec<Uuid> = made.iter().map(|c: &Commission| c.id).collect();
        made = commissions::Entity::find()
            .filter(commissions::Column::Id.is_in(ids))
            .order_by_asc(commissions::Column::CreatedAt)
            .all(conn)
            .await?
            .into_iter()
            .map(Commission::from)
            .collect();
    }
    Ok(made)
}

/// Commissions reserved after the sale was partly refunded (attribution behind a refund, a
/// conversion released from review after it) are on the net sale, as if the refund had
/// come after them.
/// Whether there was such a refund.
pub(super) async fn follow_earlier_refund<C: ConnectionTrait>(
    conn: &C,
    conversion: &conversions::Model,
) -> AppResult<bool> {
    let Some(order_id) = conversion.order_id else { return Ok(false) };
    let Some(order) = entity::orders::Entity::find_by_id(order_id).one(conn).await? else { return Ok(false) };
    if order.refunded_amount <= Decimal::ZERO || order.refunded_amount >= order.amount {
        return Ok(false);
    }
    let kept = order.amount - order.refunded_amount;
    adjust_for_refund(conn, conversion.id, kept, "reembolso parcial (Stripe) anterior a la atribución").await?;
    Ok(true)
}

/// Attribution reverted, fraud, full refund: unpaid commissions of the conversion → CANCELED
/// with the reason; paid ones get a negative clawback adjustment for the next payout.
pub async fn reverse_for_conversion<C: ConnectionTrait>(conn: &C, conversion_id: Uuid, reason: &str) -> AppResult<()> {
    let reason = validate::text(reason, "reason", 2000)?;
    let caller = Caller::system();
    let now = Utc::now();
    // Commissions being reserved for it right now are waited for, then seen.
    lifecycle::lock_conversion(conn, conversion_id).await?;
    let (originals, adjustments) = of_conversion(conn, conversion_id).await?;
    for model in originals {
        let status = lifecycle_status(model.status);
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
    // A reservation in flight (attribution that read the order before this refund) is
    // waited for, so that what it reserves is shrunk here; one that starts after this
    // waits in turn and reads the refund (`follow_earlier_refund`).
    lifecycle::lock_conversion(conn, conversion_id).await?;
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
        // Its amount before any refund: kept when a refund shrank a calculated one; one
        // calculated after a refund shrank its base is scaled back to the original base
        // (taking its shrunk amount for the original clawed back too much).
        let original_amount = original(&model, "monto_calculado_original").or_else(|| {
            model.amount.map(|amount| match model.base_amount {
                base if base.is_zero() || base == original_base => amount,
                base => amount * original_base / base,
            })
        });
        let (base, amount) = rules::after_refund(original_base, original_amount, remaining, total, currency);
        if unpaid(&model) {
            if base == model.base_amount && amount == model.amount {
                continue;
            }
            let adjust = |m: &mut commissions::Model| {
                m.config["monto_base_original"] = json!(original_base.to_string());
                if let Some(original_amount) = original_amount {
                    m.config["monto_calculado_original"] = json!(original_amount.to_string());
                }
                m.config["motivo_ajuste"] = json!(reason);
                m.base_amount = base;
                m.amount = amount;
            };
            // One not yet calculated is expected to pay on what is left of its base.
            let expected = match amount {
                Some(_) => model.expected_amount,
                None => {
                    let mut adjusted = model.clone();
                    adjust(&mut adjusted);
                    Some(lifecycle::price(conn, &adjusted).await?.1)
                }
            };
            change(conn, &caller, &model, "commission.refund_adjust", "comision_calculada", |m| {
                adjust(m);
                m.expected_amount = expected;
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

/// The original commissions of a conversion, and the clawbacks already made against them.
pub(super) async fn of_conversion<C: ConnectionTrait>(
    conn: &C,
    conversion_id: Uuid,
) -> AppResult<(Vec<commissions::Model>, Vec<commissions::Model>)> {
    let mut all = commissions::Entity::find()
        .filter(commissions::Column::ConversionId.eq(conversion_id))
        .order_by_asc(commissions::Column::CreatedAt)
        .all(conn)
        .await?;
    // Moved in their rollup rows' order (`lifecycle::rollup_order`).
    all.sort_by_key(lifecycle::rollup_order);
    Ok(all.into_iter().partition(|m| m.adjusts_commission_id.is_none()))
}

/// Not paid and not in a payout: a reversal cancels it, a partial refund shrinks it.
pub(super) fn unpaid(model: &commissions::Model) -> bool {
    lifecycle_status(model.status).is_open() && model.payout_id.is_none()
}

/// Paid, or in a payout that is on its way: a reversal or refund claws it back instead,
/// so that the payout's total stays what was promised and the difference is netted later.
pub(super) fn committed(model: &commissions::Model) -> bool {
    model.status == CommissionStatus::Paid || (model.status == CommissionStatus::Approved && model.payout_id.is_some())
}

/// What the affiliate still keeps of a paid commission: its amount less the clawbacks so far.
pub(super) fn net_paid(model: &commissions::Model, adjustments: &[commissions::Model]) -> Decimal {
    let clawed: Decimal = adjustments
        .iter()
        .filter(|a| a.adjusts_commission_id == Some(model.id))
        .filter(|a| !matches!(a.status, CommissionStatus::Canceled | CommissionStatus::Rejected))
        .filter_map(|a| a.amount)
        .sum();
    model.amount.unwrap_or(Decimal::ZERO) + clawed
}

/// A negative, already approved commission against a paid one: netted in the next payout.
pub(super) async fn clawback<C: ConnectionTrait>(
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

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;
    use CommissionStatus::*;

    use super::*;

    fn commission(status: CommissionStatus, amount: Option<Decimal>, payout_id: Option<Uuid>) -> commissions::Model {
        let mut model = draft(Uuid::now_v7(), "USD", dec!(100), Utc::now());
        model.status = status;
        model.amount = amount;
        model.payout_id = payout_id;
        model
    }

    #[test]
    fn a_reversal_cancels_what_is_unpaid_and_claws_back_what_is_committed() {
        let payout = Some(Uuid::now_v7());
        let cases = [
            (Pending, None, true, false),
            (Calculated, None, true, false),
            (Approved, None, true, false),
            (Approved, payout, false, true),
            (Paid, payout, false, true),
            (Canceled, None, false, false),
            (Rejected, None, false, false),
        ];
        for (status, payout_id, is_unpaid, is_committed) in cases {
            let model = commission(status, Some(dec!(10)), payout_id);
            assert_eq!((unpaid(&model), committed(&model)), (is_unpaid, is_committed), "{status:?} {payout_id:?}");
        }
    }

    #[test]
    fn what_is_kept_of_a_paid_commission_is_its_amount_less_its_live_clawbacks() {
        let paid = commission(Paid, Some(dec!(50.00)), Some(Uuid::now_v7()));
        let clawback = |amount: Decimal, status, of: Uuid| {
            let mut model = commission(status, Some(amount), None);
            model.adjusts_commission_id = Some(of);
            model
        };
        let adjustments = [
            clawback(dec!(-20.00), Approved, paid.id),
            clawback(dec!(-5.00), Canceled, paid.id),
            clawback(dec!(-3.00), Rejected, paid.id),
            clawback(dec!(-7.00), Approved, Uuid::now_v7()),
        ];
        assert_eq!(net_paid(&paid, &adjustments), dec!(30.00));
        assert_eq!(net_paid(&paid, &[]), dec!(50.00));
    }
}
