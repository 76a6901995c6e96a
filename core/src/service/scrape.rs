//! The gauges `/metrics` reads from the database when scraped: backlogs and lags that
//! every replica shares (the outbox, attribution, outbound deliveries), and this
//! replica's pool and memory. Each is one indexed query whose cost grows with the
//! backlog, not with the tables.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use entity::{
    conversions::{self, ConversionStatus},
    integration_deliveries::{self, DeliveryStatus, Integration},
    outbox_events,
};
use rust_decimal::{prelude::ToPrimitive, Decimal};
use sea_orm::{ColumnTrait, DbBackend, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::{
    context::Ctx,
    error::AppResult,
    metrics::Sample,
    service::{integration_service, rollup},
};

/// Delivery states that are not done: the backlog, and those given up on.
const OPEN_DELIVERIES: [DeliveryStatus; 4] =
    [DeliveryStatus::Pending, DeliveryStatus::InProgress, DeliveryStatus::Retrying, DeliveryStatus::Dead];

pub async fn gauges(ctx: &Ctx) -> AppResult<Vec<Sample>> {
    let db = &ctx.db;
    let now = Utc::now();
    let age = |at: Option<DateTime<Utc>>| at.map_or(0.0, |at| (now - at).num_milliseconds().max(0) as f64 / 1000.0);
    let mut samples = Vec::new();

    let unpublished = outbox_events::Entity::find().filter(outbox_events::Column::PublishedAt.is_null());
    let backlog = unpublished.clone().count(db).await?;
    let oldest = unpublished
        .order_by_asc(outbox_events::Column::Seq)
        .select_only()
        .column(outbox_events::Column::CreatedAt)
        .into_tuple::<DateTime<Utc>>()
        .one(db)
        .await?;
    samples.push(Sample::new("alpes_outbox_backlog", backlog as f64));
    samples.push(Sample::new("alpes_outbox_lag_seconds", age(oldest)));

    let waiting = conversions::Entity::find().filter(conversions::Column::Status.eq(ConversionStatus::Registered));
    let backlog = waiting.clone().count(db).await?;
    let oldest = waiting
        .select_only()
        .column_as(conversions::Column::CreatedAt.min(), "oldest")
        .into_tuple::<Option<DateTime<Utc>>>()
        .one(db)
        .await?
        .flatten();
    samples.push(Sample::new("alpes_attribution_backlog", backlog as f64));
    samples.push(Sample::new("alpes_attribution_lag_seconds", age(oldest)));
    // The coarse rollups' changes not folded yet (PostgreSQL): grows if no replica folds.
    samples.push(Sample::new("alpes_rollup_pending_changes", rollup::pending(db).await? as f64));

    let deliveries: Vec<(Integration, DeliveryStatus, i64)> = integration_deliveries::Entity::find()
        .filter(integration_deliveries::Column::Status.is_in(OPEN_DELIVERIES))
        .select_only()
        .column(integration_deliveries::Column::Integration)
        .column(integration_deliveries::Column::Status)
        .column_as(integration_deliveries::Column::Id.count(), "n")
        .group_by(integration_deliveries::Column::Integration)
        .group_by(integration_deliveries::Column::Status)
        .into_tuple()
        .all(db)
        .await?;
    // Every open state of every integration, zero included: alerts see a series go up.
    for integration in [Integration::MetaCapi, Integration::GoogleAds, Integration::Pipedrive] {
        for status in OPEN_DELIVERIES {
            let n = deliveries.iter().find(|(i, s, _)| *i == integration && *s == status).map_or(0, |(_, _, n)| *n);
            samples.push(
                Sample::new("alpes_integration_deliveries", n as f64)
                    .with("integration", integration_service::integration_name(integration))
                    .with("state", format!("{status:?}").to_ascii_uppercase()),
            );
        }
    }

    // Today's (UTC) conversions that count and their value, per currency, from the rollup.
    let today = Utc::now().date_naive();
    let days = rollup::Days { first: today, last: today };
    let mut by_currency: BTreeMap<String, (u64, Decimal)> = BTreeMap::new();
    for group in rollup::conversions(db, days, &rollup::Scope::default(), rollup::Dimension::Total).await? {
        if !group.counts() {
            continue;
        }
        let entry = by_currency.entry(group.currency).or_default();
        entry.0 += group.conversions;
        entry.1 += group.value;
    }
    for (currency, (conversions, value)) in by_currency {
        samples.push(Sample::new("alpes_conversions_today", conversions as f64).with("currency", currency.clone()));
        samples.push(Sample::new("alpes_revenue_today", value.to_f64().unwrap_or(0.0)).with("currency", currency));
    }

    let (size, idle) = match db.get_database_backend() {
        DbBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            (pool.size() as usize, pool.num_idle())
        }
        DbBackend::Sqlite => {
            let pool = db.get_sqlite_connection_pool();
            (pool.size() as usize, pool.num_idle())
        }
        _ => (0, 0),
    };
    samples.push(Sample::new("alpes_db_pool_connections", size.saturating_sub(idle) as f64).with("state", "in_use"));
    samples.push(Sample::new("alpes_db_pool_connections", idle as f64).with("state", "idle"));
    if let Some(rss) = crate::metrics::resident_memory_bytes() {
        samples.push(Sample::new("alpes_process_resident_memory_bytes", rss as f64));
    }
    Ok(samples)
}
