//! Retention of raw interactions (`ALPES_RETENTION_DAYS`): interactions older than that are
//! deleted by a background job, in small batches each in its own short transaction with a
//! pause between, so ingest keeps its turn. The daily rollups keep their history (the
//! dashboards still show those days), and conversions, journeys, credits, commissions and
//! money are kept; a conversion or credit that named a deleted interaction keeps everything
//! but that link.
//!
//! Stripe events are kept as sent for `ALPES_STRIPE_RAW_DAYS` (deliveries to Pipedrive and
//! Meta, and their retries, read the customer's email, name and IP from them); after that
//! the same job replaces their personal values by hashes ([`pii::minimise_stripe_event`]).

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use entity::{interactions, stripe_webhook_events};
use sea_orm::{sea_query::Expr, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{context::Ctx, db, domain::pii, error::AppResult};

/// Stripe events minimised per transaction.
pub const EVENT_BATCH: u64 = 200;

/// Interactions deleted per transaction: on SQLite's one writer, a batch of 500 at ten
/// million interactions holds ingest up 50-140 ms (2 000: 140-450 ms).
pub const BATCH: u64 = 500;
/// Pause between two batches, for the writers waiting on the database.
const PAUSE: StdDuration = StdDuration::from_millis(50);

/// Deletes the interactions that occurred before `now` minus the retention, a batch at a
/// time; returns how many. Nothing without `ALPES_RETENTION_DAYS`.
pub async fn purge(ctx: &Ctx, now: DateTime<Utc>, shutdown: &CancellationToken) -> AppResult<u64> {
    let Some(days) = ctx.config.retention_days else { return Ok(0) };
    let cutoff = now - Duration::days(i64::from(days));
    let mut deleted = 0;
    while !shutdown.is_cancelled() {
        let n = purge_batch(&ctx.db, cutoff).await?;
        deleted += n;
        if n < BATCH {
            break;
        }
        tokio::time::sleep(PAUSE).await;
    }
    Ok(deleted)
}

/// One batch: the oldest interactions before `cutoff`.
async fn purge_batch(db: &DatabaseConnection, cutoff: DateTime<Utc>) -> AppResult<u64> {
    let (txn, _turn) = db::write_txn(db).await?;
    let ids: Vec<Uuid> = interactions::Entity::find()
        .select_only()
        .column(interactions::Column::Id)
        .filter(interactions::Column::OccurredAt.lt(cutoff))
        .order_by_asc(interactions::Column::OccurredAt)
        .limit(BATCH)
        .into_tuple()
        .all(&txn)
        .await?;
    if ids.is_empty() {
        return Ok(0);
    }
    let deleted = interactions::Entity::delete_many().filter(interactions::Column::Id.is_in(ids)).exec(&txn).await?;
    txn.commit().await?;
    Ok(deleted.rows_affected)
}

/// Replaces the personal values of the Stripe events received before `now` minus
/// `ALPES_STRIPE_RAW_DAYS` by hashes, a batch at a time; returns how many.
pub async fn minimise_stripe_events(ctx: &Ctx, now: DateTime<Utc>, shutdown: &CancellationToken) -> AppResult<u64> {
    let cutoff = now - Duration::days(i64::from(ctx.config.stripe_raw_days));
    let mut done = 0;
    while !shutdown.is_cancelled() {
        let (n, more) = minimise_batch(&ctx.db, cutoff, now).await?;
        done += n;
        if !more {
            break;
        }
        tokio::time::sleep(PAUSE).await;
    }
    Ok(done)
}

/// One batch: the oldest raw events before `cutoff`; whether there may be more.
async fn minimise_batch(db: &DatabaseConnection, cutoff: DateTime<Utc>, now: DateTime<Utc>) -> AppResult<(u64, bool)> {
    let (txn, _turn) = db::write_txn(db).await?;
    let events = stripe_webhook_events::Entity::find()
        .filter(stripe_webhook_events::Column::MinimisedAt.is_null())
        .filter(stripe_webhook_events::Column::ReceivedAt.lt(cutoff))
        .order_by_asc(stripe_webhook_events::Column::ReceivedAt)
        .limit(EVENT_BATCH)
        .all(&txn)
        .await?;
    let found = events.len() as u64;
    for event in events {
        let mut update = stripe_webhook_events::Entity::update_many()
            .col_expr(stripe_webhook_events::Column::MinimisedAt, Expr::value(now))
            .filter(stripe_webhook_events::Column::StripeEventId.eq(event.stripe_event_id));
        if let Some(minimised) = pii::minimise_stripe_event(&event.payload) {
            update = update.col_expr(stripe_webhook_events::Column::Payload, Expr::value(minimised));
        }
        update.exec(&txn).await?;
    }
    txn.commit().await?;
    Ok((found, found == EVENT_BATCH))
}

/// Runs [`purge`] and [`minimise_stripe_events`] at start-up and then every `every`, until
/// `shutdown`.
pub async fn run(ctx: Ctx, every: StdDuration, shutdown: CancellationToken) {
    if let Some(days) = ctx.config.retention_days {
        tracing::info!(days, "raw interactions are kept {days} days");
    }
    loop {
        match purge(&ctx, Utc::now(), &shutdown).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, "raw interactions past retention deleted"),
            Err(err) => tracing::warn!(error = %err, "retention pass failed; retrying later"),
        }
        match minimise_stripe_events(&ctx, Utc::now(), &shutdown).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(events = n, "personal data of older Stripe events replaced by hashes"),
            Err(err) => tracing::warn!(error = %err, "minimising Stripe events failed; retrying later"),
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(every) => {}
        }
    }
}
