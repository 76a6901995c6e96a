//! The automatic approval policy and the background loop that applies it.

use super::*;

/// Approves every CALCULATED commission the automatic policy allows (fraud score below
/// the threshold, holding period over, conversion not recorded without a key), recorded
/// as `automatico`. Returns those approved.
pub async fn auto_approve(ctx: &Ctx, caller: &Caller, now: DateTime<Utc>) -> AppResult<Vec<Commission>> {
    caller.require_admin()?;
    let policy = ctx.config.auto_approval_policy();
    if !policy.enabled {
        return Ok(Vec::new());
    }
    let candidates = commissions::Entity::find()
        .filter(commissions::Column::Status.eq(CommissionStatus::Calculated))
        .find_also_related(conversions::Entity)
        .order_by_asc(commissions::Column::CreatedAt)
        .limit(MAX_BULK as u64)
        .all(&ctx.db)
        .await?;
    let due: Vec<Uuid> = candidates
        .into_iter()
        .filter(|(commission, conversion)| match conversion {
            // A conversion recorded without a key is approved by a person or not at all.
            Some(c) => {
                !closed_conversion(c.status)
                    && !fraud::has_signal(&c.fraud_signals, fraud::UNVERIFIED_SOURCE)
                    && policy.allows(c.fraud_score, c.occurred_at, now)
            }
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
        match approve_many_in_one(ctx, caller, &[id], approval).await {
            Ok(mut done) => approved.append(&mut done),
            Err(AppError::Conflict { .. } | AppError::InvalidTransition { .. }) => {}
            Err(err) => return Err(err),
        }
    }
    Ok(approved.into_iter().map(Commission::from).collect())
}

/// Prices pending commissions left without an expected amount, then runs the automatic
/// approval every `every` until `shutdown`.
pub async fn auto_approval_loop(ctx: Ctx, every: std::time::Duration, shutdown: tokio_util::sync::CancellationToken) {
    match price_unpriced(&ctx).await {
        Ok(0) => {}
        Ok(priced) => tracing::info!(priced, "expected amounts of pending commissions priced"),
        Err(err) => tracing::warn!(error = %err, "pricing pending commissions failed"),
    }
    // The month whose tier bonuses were last awarded here: once per month (and at start).
    let mut awarded: Option<Period> = None;
    loop {
        let last_month = crate::domain::tier::month_of(
            crate::domain::tier::month_of(Utc::now()).from - chrono::Duration::seconds(1),
        );
        if awarded != Some(last_month) {
            match award_tier_bonuses(&ctx, &Caller::system(), last_month, Utc::now()).await {
                Ok(done) => {
                    awarded = Some(last_month);
                    if !done.is_empty() {
                        tracing::info!(count = done.len(), "tier bonuses awarded");
                    }
                }
                Err(err) => tracing::warn!(error = %err, "awarding tier bonuses failed"),
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(every) => {}
        }
        match auto_approve(&ctx, &Caller::system(), Utc::now()).await {
            Ok(done) if !done.is_empty() => tracing::info!(count = done.len(), "commissions approved automatically"),
            Ok(_) => {}
            Err(err) => tracing::warn!(error = %err, "automatic commission approval failed"),
        }
    }
}

// ---------------------------------------------------------------------------------
// Called by attribution and Stripe inside their own transaction.
// ---------------------------------------------------------------------------------
