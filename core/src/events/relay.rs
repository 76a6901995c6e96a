//! The outbox relay: reads committed, unpublished outbox rows in order, hands them to
//! the hub, and marks them published. A crash between a commit and the publish loses
//! nothing: on start the relay picks up every row still unpublished.

use std::time::Duration;

use chrono::Utc;
use entity::outbox_events;
use sea_orm::{sea_query::Expr, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use tokio_util::sync::CancellationToken;

use super::hub::EventHub;
use crate::context::Ctx;

const BATCH: u64 = 500;
const POLL: Duration = Duration::from_millis(500);
/// After a wake-up, wait this long for more commits, so that a burst of writes costs
/// one relay pass (one UPDATE), not one per commit.
const COALESCE: Duration = Duration::from_millis(20);

/// Runs until `shutdown` is cancelled.
pub async fn run(ctx: Ctx, hub: EventHub, shutdown: CancellationToken) {
    loop {
        match relay_once(&ctx, &hub).await {
            Ok(n) if n as u64 == BATCH => continue,
            Ok(_) => {}
            Err(err) => tracing::warn!(error = %err, "outbox relay failed; retrying"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = ctx.notifier.outbox().notified() => tokio::time::sleep(COALESCE).await,
            _ = tokio::time::sleep(POLL) => {}
        }
    }
    // Publish what was committed during shutdown, so live subscribers miss nothing.
    let _ = relay_once(&ctx, &hub).await;
}

/// Publishes one batch of pending events; returns how many.
pub async fn relay_once(ctx: &Ctx, hub: &EventHub) -> Result<usize, sea_orm::DbErr> {
    let pending = outbox_events::Entity::find()
        .filter(outbox_events::Column::PublishedAt.is_null())
        .order_by_asc(outbox_events::Column::Seq)
        .limit(BATCH);
    let published: Vec<(i64, String)> = if hub.has_subscribers() {
        let rows = pending.all(&ctx.db).await?;
        let published = rows.iter().map(|r| (r.seq, r.topic.clone())).collect();
        for row in rows {
            hub.publish(row.into());
        }
        published
    } else {
        // Nobody listens in this process: mark them without reading the payloads.
        pending
            .select_only()
            .column(outbox_events::Column::Seq)
            .column(outbox_events::Column::Topic)
            .into_tuple()
            .all(&ctx.db)
            .await?
    };
    if published.is_empty() {
        return Ok(0);
    }
    let count = published.len();
    let seqs: Vec<i64> = published.iter().map(|(seq, _)| *seq).collect();
    let _turn = crate::db::write_turn(&ctx.db).await;
    outbox_events::Entity::update_many()
        .col_expr(outbox_events::Column::PublishedAt, Expr::value(Utc::now()))
        .filter(outbox_events::Column::Seq.is_in(seqs))
        .exec(&ctx.db)
        .await?;
    count_topics(&ctx.metrics, published.iter().map(|(_, topic)| topic.as_str()));
    Ok(count)
}

/// Counts published events by topic, for `alpes_events_published_total`.
pub fn count_topics<'a>(metrics: &crate::metrics::Metrics, topics: impl Iterator<Item = &'a str>) {
    let mut counts: std::collections::BTreeMap<&str, u64> = std::collections::BTreeMap::new();
    for topic in topics {
        *counts.entry(topic).or_default() += 1;
    }
    for (topic, n) in counts {
        metrics.count_published(topic, n);
    }
}
