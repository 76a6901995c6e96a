//! Retention of raw interactions (`ALPES_RETENTION_DAYS`): interactions older than that are
//! deleted by a background job, in small batches each in its own short transaction with a
//! pause between, so ingest keeps its turn. The daily rollups keep their history (the
//! dashboards still show those days), and conversions, journeys, credits, commissions and
//! money are kept; a conversion or credit that named a deleted interaction keeps everything
//! but that link.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use entity::interactions;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{context::Ctx, db, error::AppResult};

/// Interactions deleted per transaction.
pub const BATCH: u64 = 2_000;
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

/// Runs [`purge`] at start-up and then every `every`, until `shutdown`.
pub async fn run(ctx: Ctx, every: StdDuration, shutdown: CancellationToken) {
    let Some(days) = ctx.config.retention_days else { return };
    tracing::info!(days, "raw interactions are kept {days} days");
    loop {
        match purge(&ctx, Utc::now(), &shutdown).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, days, "raw interactions past retention deleted"),
            Err(err) => tracing::warn!(error = %err, "retention pass failed; retrying later"),
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(every) => {}
        }
    }
}
