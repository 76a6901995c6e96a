//! The attribution worker: wakes on new conversions (or polls), attributes each in its own
//! transaction, and keeps the fitted Markov model for a while.

use super::*;

/// Conversions attributed per worker pass.
pub(super) const BATCH: u64 = 200;
/// How long the worker waits for more conversions after a wake-up.
pub(super) const COALESCE: StdDuration = StdDuration::from_millis(10);
/// How often the worker looks without being woken (conversions left by a crash, by another replica).
pub(super) const POLL: StdDuration = StdDuration::from_secs(5);
/// Markov path counts are reused this long.
pub(super) const MARKOV_TTL: StdDuration = StdDuration::from_secs(600);
/// A period `[from, to]` whose Markov paths are counted (a report's, or the attribution's own).
type Window = (DateTime<Utc>, DateTime<Utc>);

/// Periods whose path counts are kept: the attribution's and a few of the report's.
const KEPT_PERIODS: usize = 9;

/// Markov path counts per period `[from, to]`, which read every touch of it: the report's
/// periods and the attribution's own (the last `markov_period_days` whole UTC days) alike.
/// Counts are served for [`MARKOV_TTL`], then served stale while a background task takes
/// them again, so that only the first ask of a period waits for its count. One count runs
/// at a time; a count that outlives the request that asked for it still finishes and is kept.
#[derive(Default)]
pub struct Markov {
    kept: Arc<KeptPaths>,
}

#[derive(Default)]
struct KeptPaths {
    periods: Mutex<HashMap<Window, Kept>>,
    counting: Mutex<()>,
}

struct Kept {
    fresh_since: Instant,
    paths: Arc<MarkovPaths>,
    refreshing: bool,
}

impl Markov {
    /// The path counts of `[from, to]`.
    pub(super) async fn paths(&self, ctx: &Ctx, from: DateTime<Utc>, to: DateTime<Utc>) -> AppResult<Arc<MarkovPaths>> {
        {
            let mut periods = self.kept.periods.lock().await;
            if let Some(entry) = periods.get_mut(&(from, to)) {
                if entry.fresh_since.elapsed() >= MARKOV_TTL && !entry.refreshing {
                    entry.refreshing = true;
                    tokio::spawn(self.kept.clone().count(ctx.clone(), from, to));
                }
                return Ok(entry.paths.clone());
            }
        }
        // Counted by a task of its own, so a request that gives up (time limit) does not
        // waste the count.
        tokio::spawn(self.kept.clone().count(ctx.clone(), from, to))
            .await
            .map_err(|e| AppError::internal(anyhow::anyhow!("Markov path count: {e}")))?
    }

    /// Counts the paths of `[from, to]` in the background (the report page's period, at start).
    fn count_ahead(&self, ctx: &Ctx, (from, to): Window) {
        tokio::spawn(self.kept.clone().count(ctx.clone(), from, to));
    }
}

impl KeptPaths {
    /// Counts the paths of `[from, to]` (unless another count just did) and keeps them.
    async fn count(self: Arc<Self>, ctx: Ctx, from: DateTime<Utc>, to: DateTime<Utc>) -> AppResult<Arc<MarkovPaths>> {
        let _counting = self.counting.lock().await;
        if let Some(entry) = self.periods.lock().await.get(&(from, to)) {
            if entry.fresh_since.elapsed() < MARKOV_TTL {
                return Ok(entry.paths.clone());
            }
        }
        let counted = markov_paths(&ctx.db, &ctx.config.attribution, from, to).await;
        let mut periods = self.periods.lock().await;
        let paths = match counted {
            Ok(paths) => Arc::new(paths),
            Err(err) => {
                if let Some(entry) = periods.get_mut(&(from, to)) {
                    entry.refreshing = false;
                }
                tracing::warn!(error = %err, "Markov path count failed");
                return Err(err);
            }
        };
        if periods.len() >= KEPT_PERIODS && !periods.contains_key(&(from, to)) {
            if let Some(oldest) = periods.iter().min_by_key(|(_, e)| e.fresh_since).map(|(k, _)| *k) {
                periods.remove(&oldest);
            }
        }
        periods.insert((from, to), Kept { fresh_since: Instant::now(), paths: paths.clone(), refreshing: false });
        Ok(paths)
    }
}

/// The last `days` whole UTC days, today included.
pub(super) fn last_days(now: DateTime<Utc>, days: u32) -> Window {
    let midnight = |day: chrono::NaiveDate| day.and_time(chrono::NaiveTime::MIN).and_utc();
    let today = now.date_naive();
    (midnight(today - Duration::days(i64::from(days.max(1)) - 1)), midnight(today + Duration::days(1)))
}

/// The period the report page opens on: the last 30 UTC days, today included.
pub(super) fn default_report_period(now: DateTime<Utc>) -> Window {
    last_days(now, 30)
}

/// Attributes conversions as they come, until `shutdown`.
pub async fn run(ctx: Ctx, markov: Arc<Markov>, shutdown: CancellationToken) {
    match backfill_shares(&ctx.db, &ctx.config.attribution).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(conversions = n, "attribution shares computed for journeys stored before them"),
        Err(err) => {
            tracing::warn!(error = %err, "attribution shares backfill failed; the attribution report may miss older conversions until `alpes rollup rebuild`")
        }
    }
    // The report page opens on the last 30 days: their Markov paths are counted ahead.
    markov.count_ahead(&ctx, default_report_period(Utc::now()));
    loop {
        match attribute_pending(&ctx, &markov).await {
            Ok(n) if n as u64 >= BATCH => continue,
            Ok(_) => {}
            Err(err) => tracing::warn!(error = %err, "attribution pass failed; retrying"),
        }
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = ctx.notifier.attribution().notified() => tokio::time::sleep(COALESCE).await,
            () = tokio::time::sleep(POLL) => {}
        }
    }
}

/// Attributes the conversions still `REGISTERED` (oldest first, one batch). Returns how
/// many this call attributed.
pub async fn attribute_pending(ctx: &Ctx, markov: &Markov) -> AppResult<usize> {
    let pending = conversions::Entity::find()
        .filter(conversions::Column::Status.eq(ConversionStatus::Registered))
        .order_by_asc(conversions::Column::CreatedAt)
        .order_by_asc(conversions::Column::Id)
        .limit(BATCH)
        .all(&ctx.db)
        .await?;
    let mut done = 0;
    for conversion in pending {
        let id = conversion.id;
        match attribute(ctx, markov, conversion).await {
            Ok(true) => done += 1,
            Ok(false) => {}
            Err(err) => tracing::warn!(conversion = %id, error = %err, "attribution failed"),
        }
    }
    if done > 0 {
        // Their events (and commissions) wait in the outbox.
        ctx.notifier.outbox().notify_one();
    }
    Ok(done)
}

// ---------------------------------------------------------------------------------------
// Journeys

/// The attribution's Markov path counts: the last `markov_period_days` whole UTC days.
pub(super) async fn markov_counts(ctx: &Ctx, markov: &Markov) -> AppResult<Arc<MarkovPaths>> {
    let (from, to) = last_days(Utc::now(), ctx.config.attribution.markov_period_days);
    markov.paths(ctx, from, to).await
}

/// The Markov model for one journey: the period's paths, plus this journey's own when the
/// counts were taken before it was.
pub(super) async fn markov_for(
    ctx: &Ctx,
    markov: &Markov,
    touches: &[JourneyTouch],
    codes: &HashMap<Uuid, String>,
    created_at: Option<DateTime<Utc>>,
) -> AppResult<Arc<MarkovModel>> {
    let paths = markov_counts(ctx, markov).await?;
    if created_at.is_some_and(|at| at <= paths.taken) {
        return paths.model(GroupBy::Campaign).await;
    }
    let mut counts = paths.counts(GroupBy::Campaign).clone();
    let path: Vec<String> = touches.iter().map(|t| markov_state(t, codes)).collect();
    counts.add_path(&path, true);
    Ok(Arc::new(super::report::fit(Box::new(counts)).await?))
}

/// Attributes one conversion; `false` when another worker got there first.
pub(super) async fn attribute(ctx: &Ctx, markov: &Markov, conversion: conversions::Model) -> AppResult<bool> {
    let settings = &ctx.config.attribution;
    let campaign = match conversion.campaign_id {
        Some(id) => campaigns::Entity::find_by_id(id).one(&ctx.db).await?,
        None => None,
    };
    let (stored_model, lookback) = match &campaign {
        Some(c) => (c.attribution_model, u32::try_from(c.lookback_days).unwrap_or(settings.attribution_lookback_days)),
        None => (settings.default_model()?, settings.attribution_lookback_days),
    };
    // Markov path counts read the period's interactions: take them before the write turn,
    // which every writer of this process waits for.
    if stored_model == StoredModel::Markov {
        markov_counts(ctx, markov).await?;
    }
    let (txn, _turn) = db::write_txn(&ctx.db).await?;
    let (user, anons) = identity(&txn, conversion.user_id.as_deref(), conversion.anonymous_id.as_deref()).await?;
    let rows = touches(&txn, &conversion, user.as_deref(), &anons, lookback).await?;
    let list = journey_touches(&rows, &conversion);

    let codes = campaign_codes(&txn, list.iter().filter_map(|t| t.campaign_id)).await?;
    let fitted = match stored_model {
        StoredModel::Markov if !list.is_empty() => Some(markov_for(ctx, markov, &list, &codes, None).await?),
        _ => None,
    };
    let weights =
        weights_for(stored_model, settings, &list, conversion.occurred_at, fitted.as_deref().map(|m| (m, &codes)));
    let credit_list = credits_for(stored_model, &weights, &list, conversion.value, &conversion.currency);
    let credited: Vec<Uuid> = credit_list.iter().filter_map(|c| c.affiliate_id).collect();

    let policy = settings.fraud_policy();
    let assessment = fraud::assess(&fraud_facts(&txn, &conversion, &rows, &credited, &policy).await?, &policy);
    let (journey_status, conversion_status) = if list.is_empty() {
        (JourneyStatus::Unattributed, ConversionStatus::Unattributed)
    } else if assessment.held(&settings.fraud_policy()) {
        (JourneyStatus::HeldForReview, ConversionStatus::HeldForReview)
    } else {
        (JourneyStatus::Attributed, ConversionStatus::Attributed)
    };

    let now = Utc::now().trunc_subsecs(6);
    let claimed = conversions::Entity::update_many()
        .col_expr(conversions::Column::Status, Expr::value(conversion_status))
        .col_expr(conversions::Column::FraudScore, Expr::value(assessment.score))
        .col_expr(conversions::Column::FraudSignals, Expr::value(json!(assessment.signals)))
        .col_expr(conversions::Column::UpdatedAt, Expr::value(now))
        .filter(conversions::Column::Id.eq(conversion.id))
        .filter(conversions::Column::Status.eq(ConversionStatus::Registered))
        .exec(&txn)
        .await?;
    if claimed.rows_affected != 1 {
        txn.rollback().await?;
        return Ok(false);
    }
    let journey = journeys::ActiveModel {
        id: Set(Uuid::now_v7()),
        conversion_id: Set(conversion.id),
        user_id: Set(user),
        anonymous_id: Set(conversion.anonymous_id.clone()),
        model: Set(stored_model),
        lookback_days: Set(lookback as i32),
        status: Set(journey_status),
        touchpoints: Set(json!(list)),
        created_at: Set(now),
        updated_at: Set(now),
        reverted_at: Set(None),
    }
    .insert(&txn)
    .await
    .map_err(|e| AppError::from_db_unique(e, &["conversion_id"]))?;
    // What every heuristic model gives, for the report: counted while the conversion is ATTRIBUTED.
    let shares =
        shares_of(settings, &touches_of(&journey), conversion.occurred_at, conversion.value, &conversion.currency);
    store_shares(&txn, conversion.id, &shares).await?;
    let conversion = conversions::Model {
        status: conversion_status,
        fraud_score: assessment.score,
        fraud_signals: json!(assessment.signals),
        updated_at: now,
        ..conversion
    };
    outbox::record_many(&txn, outcome_events(&conversion, journey_status == JourneyStatus::Attributed)).await?;
    if journey_status == JourneyStatus::Attributed {
        let stored = store_credits(&txn, &credit_list, journey.id, conversion.id, now).await?;
        outbox::record_many(&txn, attributed_events(&txn, &journey, &conversion, &stored).await?).await?;
        commission::reserve_for_credits(&txn, &conversion, &stored).await?;
    }
    txn.commit().await?;
    Ok(true)
}

// ---------------------------------------------------------------------------------------
// Reads
