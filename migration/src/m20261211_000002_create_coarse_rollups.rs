//! Coarser rollups for the programme-wide dashboard and metrics: the daily clicks and
//! conversions of `traffic_daily` and `conversion_daily` summed again per day × campaign,
//! per day × channel and per day × affiliate (conversions × currency, and per channel ×
//! status; per campaign and affiliate only those that count, all a breakdown shows), and
//! the commissions of `commission_daily` per day × currency × status; for the attribution
//! report, the heuristic models' credits of `attribution_daily` per day × model × campaign,
//! × affiliate or × channel (× currency), a campaign or affiliate missing standing for the
//! touch's channel, as the report names such a touch.
//!
//! The daily rollups are keyed by campaign × affiliate × channel, and with thousands of
//! affiliates on a few campaigns and channels each of their rows holds one or two events:
//! a 30-day dashboard over 10 million interactions summed half a million of them four
//! times. Each breakdown now reads a table keyed by what it shows (a day × channel table
//! also gives the days and the totals): 200 campaigns or 12 channels over 30 days are a
//! few thousand rows, whatever the traffic.
//!
//! They are kept by triggers on the daily rollups themselves, in the same transaction as
//! the raw write that moved those (and so by a rebuild of them too): a daily row added,
//! changed or deleted moves its coarse rows by as much. Only clicks are rolled up again
//! (the only traffic the dashboard and metrics count), so the other touches of the ingest
//! path cost nothing more. A daily row's keys never change (they are its primary key; the
//! triggers that keep it change its measures only), so an update moves its coarse rows by
//! the difference of its measures.
//!
//! On PostgreSQL, writers run side by side, and a coarse row (a day's clicks on one
//! channel) is in every writing transaction: kept in place, those rows were locked by
//! each transaction in the order its statements met them, and concurrent writers
//! deadlocked. There each coarse rollup is three objects: `{t}_folded`, its rows;
//! `{t}_pending`, the changes the triggers append (insert only: no row is locked, no
//! transaction waits for another); and the view `{t}`, both summed per key, which the
//! readers read. [`fold`], run by a background job every second, moves the pending
//! changes into the folded rows in one statement, one folder at a time. A read is one
//! statement, so it sees a change either pending or folded, never both nor neither.

use sea_orm_migration::{
    prelude::*,
    sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement, TransactionTrait},
};

use crate::m20261202_000001_create_daily_rollups::{create, Rollup};

#[derive(DeriveMigrationName)]
pub struct Migration;

pub const TABLES: [&str; 10] = [
    "clicks_by_campaign",
    "clicks_by_channel",
    "clicks_by_affiliate",
    "conversions_by_campaign",
    "conversions_by_channel",
    "conversions_by_affiliate",
    "commissions_by_day",
    "attribution_by_campaign",
    "attribution_by_affiliate",
    "attribution_by_channel",
];

const TABLES_SQL: &str = r#"
CREATE TABLE clicks_by_campaign (
    day varchar(10) NOT NULL,
    campaign_id UUID NOT NULL,
    clicks bigint NOT NULL,
    PRIMARY KEY (day, campaign_id)
);
CREATE TABLE clicks_by_channel (
    day varchar(10) NOT NULL,
    channel varchar(128) NOT NULL,
    clicks bigint NOT NULL,
    PRIMARY KEY (day, channel)
);
CREATE TABLE clicks_by_affiliate (
    day varchar(10) NOT NULL,
    affiliate_id UUID NOT NULL,
    clicks bigint NOT NULL,
    PRIMARY KEY (day, affiliate_id)
);
CREATE TABLE conversions_by_campaign (
    day varchar(10) NOT NULL,
    campaign_id UUID NOT NULL,
    currency varchar(3) NOT NULL,
    conversions bigint NOT NULL,
    value bigint NOT NULL,
    PRIMARY KEY (day, campaign_id, currency)
);
CREATE TABLE conversions_by_channel (
    day varchar(10) NOT NULL,
    channel varchar(128) NOT NULL,
    currency varchar(3) NOT NULL,
    status varchar(32) NOT NULL,
    conversions bigint NOT NULL,
    value bigint NOT NULL,
    PRIMARY KEY (day, channel, currency, status)
);
CREATE TABLE conversions_by_affiliate (
    day varchar(10) NOT NULL,
    affiliate_id UUID NOT NULL,
    currency varchar(3) NOT NULL,
    conversions bigint NOT NULL,
    value bigint NOT NULL,
    PRIMARY KEY (day, affiliate_id, currency)
);
CREATE TABLE commissions_by_day (
    day varchar(10) NOT NULL,
    currency varchar(3) NOT NULL,
    status varchar(32) NOT NULL,
    commissions bigint NOT NULL,
    amount bigint NOT NULL,
    held bigint NOT NULL,
    expected bigint NOT NULL,
    PRIMARY KEY (day, currency, status)
);
CREATE TABLE attribution_by_campaign (
    day varchar(10) NOT NULL,
    model varchar(32) NOT NULL,
    campaign_id UUID NOT NULL,
    channel varchar(128) NOT NULL,
    currency varchar(3) NOT NULL,
    conversions bigint NOT NULL,
    value bigint NOT NULL,
    PRIMARY KEY (day, model, campaign_id, channel, currency)
);
CREATE TABLE attribution_by_affiliate (
    day varchar(10) NOT NULL,
    model varchar(32) NOT NULL,
    affiliate_id UUID NOT NULL,
    channel varchar(128) NOT NULL,
    currency varchar(3) NOT NULL,
    conversions bigint NOT NULL,
    value bigint NOT NULL,
    PRIMARY KEY (day, model, affiliate_id, channel, currency)
);
CREATE TABLE attribution_by_channel (
    day varchar(10) NOT NULL,
    model varchar(32) NOT NULL,
    channel varchar(128) NOT NULL,
    currency varchar(3) NOT NULL,
    conversions bigint NOT NULL,
    value bigint NOT NULL,
    PRIMARY KEY (day, model, channel, currency)
);
"#;

/// A measure of a row: the row's own (`r.m`), or the difference of two versions of it.
pub(crate) type Measure<'a> = &'a dyn Fn(&str) -> String;

/// A daily rollup and what is rolled up again from it.
pub(crate) struct Source {
    /// Its triggers' name (and on PostgreSQL their functions'), before the event.
    pub(crate) name: &'static str,
    pub(crate) table: &'static str,
    /// Which of its rows count, as a condition on the row `{r}` (empty: all of them).
    pub(crate) filter: fn(&str) -> String,
    /// Its coarse rollups, from the row `{r}` with measures `{m}` (the row's own, or the
    /// difference of two versions of it); `nil` is the backend's nil UUID.
    pub(crate) rollups: fn(&str, Measure, &str) -> Vec<Rollup>,
}

fn clicks(r: &str) -> String {
    format!("{r}kind = 'CLICK'")
}

pub(crate) fn every(_: &str) -> String {
    String::new()
}

fn click_rollups(r: &str, m: Measure, _: &str) -> Vec<Rollup> {
    [("clicks_by_campaign", "campaign_id"), ("clicks_by_channel", "channel"), ("clicks_by_affiliate", "affiliate_id")]
        .into_iter()
        .map(|(table, key)| Rollup {
            table,
            keys: match key {
                "campaign_id" => &["day", "campaign_id"],
                "channel" => &["day", "channel"],
                _ => &["day", "affiliate_id"],
            },
            key_values: vec![format!("{r}day"), format!("{r}{key}")],
            measures: &["clicks"],
            measure_values: vec![m("events")],
        })
        .collect()
}

fn conversion_rollups(r: &str, m: Measure, _: &str) -> Vec<Rollup> {
    vec![Rollup {
        table: "conversions_by_channel",
        keys: &["day", "channel", "currency", "status"],
        key_values: vec![format!("{r}day"), format!("{r}channel"), format!("{r}currency"), format!("{r}status")],
        measures: &["conversions", "value"],
        measure_values: vec![m("conversions"), m("value")],
    }]
}

/// The conversions that count (not reverted, rejected, refunded or held for review): all
/// a breakdown by campaign or affiliate shows of them, so those are kept without status.
fn counted(r: &str) -> String {
    let uncounted: Vec<String> = UNCOUNTED_STATUSES.iter().map(|s| format!("'{s}'")).collect();
    format!("{r}status NOT IN ({})", uncounted.join(", "))
}

/// The statuses of conversions that do not count: reverted, rejected, refunded, or held for
/// review until an admin releases them.
pub const UNCOUNTED_STATUSES: [&str; 4] = ["REVERTED", "REJECTED", "REFUNDED", "HELD_FOR_REVIEW"];

fn counted_rollups(r: &str, m: Measure, _: &str) -> Vec<Rollup> {
    [("conversions_by_campaign", "campaign_id"), ("conversions_by_affiliate", "affiliate_id")]
        .into_iter()
        .map(|(table, key)| Rollup {
            table,
            keys: if key == "campaign_id" {
                &["day", "campaign_id", "currency"]
            } else {
                &["day", "affiliate_id", "currency"]
            },
            key_values: vec![format!("{r}day"), format!("{r}{key}"), format!("{r}currency")],
            measures: &["conversions", "value"],
            measure_values: vec![m("conversions"), m("value")],
        })
        .collect()
}

fn commission_rollups(r: &str, m: Measure, _: &str) -> Vec<Rollup> {
    vec![Rollup {
        table: "commissions_by_day",
        keys: &["day", "currency", "status"],
        key_values: vec![format!("{r}day"), format!("{r}currency"), format!("{r}status")],
        measures: &["commissions", "amount", "held", "expected"],
        measure_values: vec![m("commissions"), m("amount"), m("held"), m("expected")],
    }]
}

/// The heuristic models' credits per grouping of the attribution report: a campaign (or,
/// for touches of none, their channel), an affiliate (the same), a channel.
fn attribution_rollups(r: &str, m: Measure, nil: &str) -> Vec<Rollup> {
    let unless = |id: &str| format!("CASE WHEN {r}{id} = {nil} THEN {r}channel ELSE '' END");
    let measures: &'static [&'static str] = &["conversions", "value"];
    vec![
        Rollup {
            table: "attribution_by_campaign",
            keys: &["day", "model", "campaign_id", "channel", "currency"],
            key_values: vec![
                format!("{r}day"),
                format!("{r}model"),
                format!("{r}campaign_id"),
                unless("campaign_id"),
                format!("{r}currency"),
            ],
            measures,
            measure_values: vec![m("conversions"), m("value")],
        },
        Rollup {
            table: "attribution_by_affiliate",
            keys: &["day", "model", "affiliate_id", "channel", "currency"],
            key_values: vec![
                format!("{r}day"),
                format!("{r}model"),
                format!("{r}affiliate_id"),
                unless("affiliate_id"),
                format!("{r}currency"),
            ],
            measures,
            measure_values: vec![m("conversions"), m("value")],
        },
        Rollup {
            table: "attribution_by_channel",
            keys: &["day", "model", "channel", "currency"],
            key_values: vec![format!("{r}day"), format!("{r}model"), format!("{r}channel"), format!("{r}currency")],
            measures,
            measure_values: vec![m("conversions"), m("value")],
        },
    ]
}

const SOURCES: [Source; 5] = [
    Source { name: "traffic_daily_clicks", table: "traffic_daily", filter: clicks, rollups: click_rollups },
    Source { name: "conversion_daily_coarse", table: "conversion_daily", filter: every, rollups: conversion_rollups },
    Source { name: "conversion_daily_counted", table: "conversion_daily", filter: counted, rollups: counted_rollups },
    Source { name: "commission_daily_coarse", table: "commission_daily", filter: every, rollups: commission_rollups },
    Source {
        name: "attribution_daily_coarse",
        table: "attribution_daily",
        filter: every,
        rollups: attribution_rollups,
    },
];

/// Every coarse rollup's source: this migration's, and those later migrations added.
fn all_sources() -> impl Iterator<Item = &'static Source> {
    let ours: &'static [Source] = &SOURCES;
    let later: &'static [Source] = &crate::m20261213_000002_create_order_rollups::COARSE;
    ours.iter().chain(later)
}

/// The nil UUID (a missing campaign or affiliate in a rollup's key) on `backend`.
fn nil(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Postgres => "'00000000-0000-0000-0000-000000000000'::uuid",
        _ => "zeroblob(16)",
    }
}

/// The triggers that keep the coarse rollups of `sources` in step with their daily rollups.
pub(crate) fn triggers<'a>(backend: DbBackend, sources: impl IntoIterator<Item = &'a Source>) -> Vec<String> {
    let mut sql = Vec::new();
    for source in sources {
        let (name, table) = (source.name, source.table);
        match backend {
            DbBackend::Postgres => {
                let only = |r: &str| match (source.filter)(r) {
                    filter if filter.is_empty() => String::new(),
                    filter => format!("WHERE {filter}"),
                };
                let rollups = (source.rollups)("r.", &|m| format!("r.{m}"), nil(backend));
                let add = |from: &str| rollups.iter().map(|r| pend(r, from, &only("r."), "")).collect::<Vec<_>>();
                let take = |from: &str| rollups.iter().map(|r| pend(r, from, &only("r."), "-")).collect::<Vec<_>>();
                let functions = [
                    ("insert", add("new_rows r"), "NEW TABLE AS new_rows"),
                    (
                        "update",
                        [take("old_rows r"), add("new_rows r")].concat(),
                        "OLD TABLE AS old_rows NEW TABLE AS new_rows",
                    ),
                    ("delete", take("old_rows r"), "OLD TABLE AS old_rows"),
                ];
                for (event, statements, tables) in functions {
                    sql.push(format!(
                        "CREATE FUNCTION {name}_{event}() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n    {};\n    RETURN NULL;\nEND\n$$",
                        statements.join(";\n    ")
                    ));
                    sql.push(format!(
                        "CREATE TRIGGER {name}_{event} AFTER {} ON {table} REFERENCING {tables} \
                         FOR EACH STATEMENT EXECUTE FUNCTION {name}_{event}()",
                        event.to_uppercase()
                    ));
                }
            }
            _ => {
                let when = |r: &str| match (source.filter)(r) {
                    filter if filter.is_empty() => String::new(),
                    filter => format!(" WHEN {filter}"),
                };
                let body = |rollups: Vec<Rollup>, subtract: bool| {
                    rollups.iter().map(|r| if subtract { r.subtract() } else { r.add() }).collect::<Vec<_>>().join("; ")
                };
                let rollups = |r: &str, m: Measure| (source.rollups)(r, m, nil(backend));
                let added = body(rollups("NEW.", &|m| format!("NEW.{m}")), false);
                let moved = body(rollups("NEW.", &|m| format!("(NEW.{m} - OLD.{m})")), false);
                let taken = body(rollups("OLD.", &|m| format!("OLD.{m}")), true);
                sql.push(format!(
                    "CREATE TRIGGER {name}_insert AFTER INSERT ON {table}{} BEGIN {added}; END",
                    when("NEW.")
                ));
                sql.push(format!(
                    "CREATE TRIGGER {name}_update AFTER UPDATE ON {table}{} BEGIN {moved}; END",
                    when("NEW.")
                ));
                sql.push(format!(
                    "CREATE TRIGGER {name}_delete AFTER DELETE ON {table}{} BEGIN {taken}; END",
                    when("OLD.")
                ));
            }
        }
    }
    sql
}

/// Sums the coarse rollups of the UTC days `[from, to)` (both `YYYY-MM-DD`; all days when
/// `None`) again from the daily ones. Run it in a transaction that keeps writers out.
pub async fn rebuild<C: ConnectionTrait>(db: &C, days: Option<(&str, &str)>) -> Result<(), DbErr> {
    rebuild_of(db, days, all_sources()).await
}

/// [`rebuild`] of the coarse rollups of `sources` only.
pub(crate) async fn rebuild_of<'a, C: ConnectionTrait>(
    db: &C,
    days: Option<(&str, &str)>,
    sources: impl IntoIterator<Item = &'a Source>,
) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    let (from, to) = days.unwrap_or(("0001-01-01", "9999-12-31"));
    let (d1, d2) = match backend {
        DbBackend::Postgres => ("$1", "$2"),
        _ => ("?", "?"),
    };
    let within = format!("day >= {d1} AND day < {d2}");
    if backend == DbBackend::Postgres {
        // No fold meanwhile: it would move changes of these days that this deletes.
        db.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({FOLD_LOCK})")).await?;
    }
    for source in sources {
        let filter = match (source.filter)("") {
            filter if filter.is_empty() => format!("WHERE {within}"),
            filter => format!("WHERE {within} AND {filter}"),
        };
        for rollup in (source.rollups)("", &|m| m.to_string(), nil(backend)) {
            let table = stored(backend, rollup.table);
            let mut deletes = vec![format!("DELETE FROM {table} WHERE {within}")];
            if backend == DbBackend::Postgres {
                deletes.push(format!("DELETE FROM {}_pending WHERE {within}", rollup.table));
            }
            for delete in deletes {
                db.execute_raw(Statement::from_sql_and_values(backend, delete, [from.into(), to.into()])).await?;
            }
            let sql = rollup.sum_into_table(&table, source.table, &filter, false);
            db.execute_raw(Statement::from_sql_and_values(backend, sql, [from.into(), to.into()])).await?;
        }
    }
    Ok(())
}

/// The advisory lock (PostgreSQL) of whoever moves pending changes: [`fold`], [`rebuild`].
const FOLD_LOCK: i64 = 0x616c_7065_7366_6f6c;

/// The table that holds a coarse rollup's rows: on PostgreSQL `{table}_folded` (`{table}`
/// is the view of those and the pending changes), elsewhere the table itself.
fn stored(backend: DbBackend, table: &str) -> String {
    match backend {
        DbBackend::Postgres => format!("{table}_folded"),
        _ => table.to_string(),
    }
}

/// Appends the rows of `from` that pass `filter`, summed per key (negated by `sign` `-`),
/// to the pending changes of `rollup` (PostgreSQL).
fn pend(rollup: &Rollup, from: &str, filter: &str, sign: &str) -> String {
    let columns: Vec<&str> = rollup.keys.iter().chain(rollup.measures).copied().collect();
    let sums: Vec<String> = rollup.measure_values.iter().map(|v| format!("{sign}SUM({v})")).collect();
    let groups: Vec<String> = (1..=rollup.keys.len()).map(|i| i.to_string()).collect();
    format!(
        "INSERT INTO {}_pending ({}) SELECT {}, {} FROM {from} {filter} GROUP BY {}",
        rollup.table,
        columns.join(", "),
        rollup.key_values.join(", "),
        sums.join(", "),
        groups.join(", ")
    )
}

/// Each coarse rollup of `sources` once, as its columns name it.
fn coarse_rollups<'a>(backend: DbBackend, sources: impl IntoIterator<Item = &'a Source>) -> Vec<Rollup> {
    let mut rollups: Vec<Rollup> = Vec::new();
    for source in sources {
        for rollup in (source.rollups)("", &|m| m.to_string(), nil(backend)) {
            if !rollups.iter().any(|r| r.table == rollup.table) {
                rollups.push(rollup);
            }
        }
    }
    rollups
}

/// On PostgreSQL: the pending changes' tables and the views the readers read of the coarse
/// rollups of `sources` (their folded tables are their tables renamed: [`folded`]).
pub(crate) fn postgres_objects<'a>(sources: impl IntoIterator<Item = &'a Source>) -> Vec<String> {
    let mut sql = Vec::new();
    for rollup in coarse_rollups(DbBackend::Postgres, sources) {
        let table = rollup.table;
        let columns: Vec<&str> = rollup.keys.iter().chain(rollup.measures).copied().collect();
        let columns = columns.join(", ");
        let keys = rollup.keys.join(", ");
        let sums: Vec<String> = rollup.measures.iter().map(|m| format!("CAST(SUM({m}) AS BIGINT) AS {m}")).collect();
        sql.push(format!("CREATE TABLE {table}_pending (LIKE {table}_folded)"));
        sql.push(format!(
            "CREATE VIEW {table} AS SELECT {keys}, {} FROM (SELECT {columns} FROM {table}_folded \
             UNION ALL SELECT {columns} FROM {table}_pending) u GROUP BY {keys}",
            sums.join(", ")
        ));
    }
    sql
}

/// Moves the pending changes of the coarse rollups into their rows (PostgreSQL; nothing
/// elsewhere), each table in one statement, in one transaction: a reader sees a change
/// pending or folded, never both. Returns how many changes it moved, or `None` when
/// another fold or a rebuild holds the turn.
pub async fn fold(db: &DatabaseConnection) -> Result<Option<u64>, DbErr> {
    let backend = db.get_database_backend();
    if backend != DbBackend::Postgres {
        return Ok(Some(0));
    }
    let txn = db.begin().await?;
    let turn = txn
        .query_one_raw(Statement::from_string(backend, format!("SELECT pg_try_advisory_xact_lock({FOLD_LOCK}) AS ok")))
        .await?;
    if !turn.map(|row| row.try_get::<bool>("", "ok")).transpose()?.unwrap_or(false) {
        return Ok(None);
    }
    let mut moved = 0;
    for rollup in coarse_rollups(backend, all_sources()) {
        let table = rollup.table;
        let columns: Vec<&str> = rollup.keys.iter().chain(rollup.measures).copied().collect();
        let sums: Vec<String> = rollup.measures.iter().map(|m| format!("SUM({m})")).collect();
        let adds: Vec<String> =
            rollup.measures.iter().map(|m| format!("{m} = {table}_folded.{m} + excluded.{m}")).collect();
        let groups: Vec<String> = (1..=rollup.keys.len()).map(|i| i.to_string()).collect();
        let sql = format!(
            "WITH moved AS (DELETE FROM {table}_pending RETURNING {columns}), \
             folded AS (INSERT INTO {table}_folded ({columns}) SELECT {keys}, {sums} FROM moved \
             GROUP BY {groups} ORDER BY {groups} ON CONFLICT ({keys}) DO UPDATE SET {adds}) \
             SELECT COUNT(*) AS n FROM moved",
            columns = columns.join(", "),
            keys = rollup.keys.join(", "),
            sums = sums.join(", "),
            groups = groups.join(", "),
            adds = adds.join(", "),
        );
        if let Some(row) = txn.query_one_raw(Statement::from_string(backend, sql)).await? {
            moved += row.try_get::<i64>("", "n")?;
        }
    }
    txn.commit().await?;
    Ok(Some(<u64 as TryFrom<i64>>::try_from(moved).unwrap_or(0)))
}

/// The pending changes of the coarse rollups not folded yet (PostgreSQL; 0 elsewhere).
pub async fn pending<C: ConnectionTrait>(db: &C) -> Result<u64, DbErr> {
    let backend = db.get_database_backend();
    if backend != DbBackend::Postgres {
        return Ok(0);
    }
    let counts: Vec<String> = coarse_rollups(backend, all_sources())
        .iter()
        .map(|r| format!("(SELECT COUNT(*) FROM {}_pending)", r.table))
        .collect();
    let sql = format!("SELECT CAST({} AS BIGINT) AS n", counts.join(" + "));
    let n = match db.query_one_raw(Statement::from_string(backend, sql)).await? {
        Some(row) => row.try_get::<i64>("", "n")?,
        None => 0,
    };
    Ok(<u64 as TryFrom<i64>>::try_from(n).unwrap_or(0))
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let backend = manager.get_database_backend();
        if backend == DbBackend::Postgres {
            let tables = folded(TABLES_SQL, &TABLES);
            create(db, &tables, [postgres_objects(&SOURCES), triggers(backend, &SOURCES)].concat()).await?;
        } else {
            create(db, TABLES_SQL, triggers(backend, &SOURCES)).await?;
        }
        rebuild_of(db, None, &SOURCES).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_rollups(manager.get_connection(), &SOURCES, &TABLES).await
    }
}

/// `tables_sql` (`CREATE TABLE` statements) with each of `tables` made `{table}_folded`:
/// what a coarse rollup's rows are stored in on PostgreSQL.
pub(crate) fn folded(tables_sql: &str, tables: &[&str]) -> String {
    let mut sql = tables_sql.to_string();
    for table in tables {
        sql = sql.replace(&format!("CREATE TABLE {table} ("), &format!("CREATE TABLE {table}_folded ("));
    }
    sql
}

/// Drops the coarse rollups `tables` and the triggers of `sources` that keep them.
pub(crate) async fn drop_rollups<C: ConnectionTrait>(db: &C, sources: &[Source], tables: &[&str]) -> Result<(), DbErr> {
    for source in sources {
        for event in ["insert", "update", "delete"] {
            let name = format!("{}_{event}", source.name);
            if db.get_database_backend() == DbBackend::Postgres {
                db.execute_unprepared(&format!("DROP TRIGGER IF EXISTS {name} ON {}", source.table)).await?;
                db.execute_unprepared(&format!("DROP FUNCTION IF EXISTS {name}()")).await?;
            } else {
                db.execute_unprepared(&format!("DROP TRIGGER IF EXISTS {name}")).await?;
            }
        }
    }
    for table in tables {
        if db.get_database_backend() == DbBackend::Postgres {
            db.execute_unprepared(&format!("DROP VIEW IF EXISTS {table}")).await?;
            db.execute_unprepared(&format!("DROP TABLE IF EXISTS {table}_pending")).await?;
            db.execute_unprepared(&format!("DROP TABLE IF EXISTS {table}_folded")).await?;
        } else {
            db.execute_unprepared(&format!("DROP TABLE IF EXISTS {table}")).await?;
        }
    }
    Ok(())
}
