//! Coarser rollups for the programme-wide dashboard and metrics: the daily clicks and
//! conversions of `traffic_daily` and `conversion_daily` summed again per day × campaign,
//! per day × channel and per day × affiliate (conversions also × currency × status), and
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

use sea_orm_migration::{
    prelude::*,
    sea_orm::{ConnectionTrait, DbBackend, Statement},
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
    status varchar(32) NOT NULL,
    conversions bigint NOT NULL,
    value bigint NOT NULL,
    PRIMARY KEY (day, campaign_id, currency, status)
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
    status varchar(32) NOT NULL,
    conversions bigint NOT NULL,
    value bigint NOT NULL,
    PRIMARY KEY (day, affiliate_id, currency, status)
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
type Measure<'a> = &'a dyn Fn(&str) -> String;

/// A daily rollup and what is rolled up again from it.
struct Source {
    table: &'static str,
    /// Which of its rows count, as a condition on the row `{r}` (empty: all of them).
    filter: fn(&str) -> String,
    /// Its coarse rollups, from the row `{r}` with measures `{m}` (the row's own, or the
    /// difference of two versions of it); `nil` is the backend's nil UUID.
    rollups: fn(&str, Measure, &str) -> Vec<Rollup>,
}

fn clicks(r: &str) -> String {
    format!("{r}kind = 'CLICK'")
}

fn every(_: &str) -> String {
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
    [
        ("conversions_by_campaign", "campaign_id"),
        ("conversions_by_channel", "channel"),
        ("conversions_by_affiliate", "affiliate_id"),
    ]
    .into_iter()
    .map(|(table, key)| Rollup {
        table,
        keys: match key {
            "campaign_id" => &["day", "campaign_id", "currency", "status"],
            "channel" => &["day", "channel", "currency", "status"],
            _ => &["day", "affiliate_id", "currency", "status"],
        },
        key_values: vec![format!("{r}day"), format!("{r}{key}"), format!("{r}currency"), format!("{r}status")],
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

const SOURCES: [Source; 4] = [
    Source { table: "traffic_daily", filter: clicks, rollups: click_rollups },
    Source { table: "conversion_daily", filter: every, rollups: conversion_rollups },
    Source { table: "commission_daily", filter: every, rollups: commission_rollups },
    Source { table: "attribution_daily", filter: every, rollups: attribution_rollups },
];

/// The nil UUID (a missing campaign or affiliate in a rollup's key) on `backend`.
fn nil(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Postgres => "'00000000-0000-0000-0000-000000000000'::uuid",
        _ => "zeroblob(16)",
    }
}

/// The triggers that keep the coarse rollups in step with their daily rollups.
pub(crate) fn triggers(backend: DbBackend) -> Vec<String> {
    let mut sql = Vec::new();
    for source in &SOURCES {
        let table = source.table;
        match backend {
            DbBackend::Postgres => {
                let only = |r: &str| match (source.filter)(r) {
                    filter if filter.is_empty() => String::new(),
                    filter => format!("WHERE {filter}"),
                };
                let rollups = (source.rollups)("r.", &|m| format!("r.{m}"), nil(backend));
                let add = |from: &str| rollups.iter().map(|r| r.sum_into(from, &only("r."), true)).collect::<Vec<_>>();
                let take =
                    |from: &str| rollups.iter().map(|r| r.subtract_grouped(from, &only("r."))).collect::<Vec<_>>();
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
                        "CREATE FUNCTION {table}_coarse_{event}() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n    {};\n    RETURN NULL;\nEND\n$$",
                        statements.join(";\n    ")
                    ));
                    sql.push(format!(
                        "CREATE TRIGGER {table}_coarse_{event} AFTER {} ON {table} REFERENCING {tables} \
                         FOR EACH STATEMENT EXECUTE FUNCTION {table}_coarse_{event}()",
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
                    "CREATE TRIGGER {table}_coarse_insert AFTER INSERT ON {table}{} BEGIN {added}; END",
                    when("NEW.")
                ));
                sql.push(format!(
                    "CREATE TRIGGER {table}_coarse_update AFTER UPDATE ON {table}{} BEGIN {moved}; END",
                    when("NEW.")
                ));
                sql.push(format!(
                    "CREATE TRIGGER {table}_coarse_delete AFTER DELETE ON {table}{} BEGIN {taken}; END",
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
    let backend = db.get_database_backend();
    let (from, to) = days.unwrap_or(("0001-01-01", "9999-12-31"));
    let (d1, d2) = match backend {
        DbBackend::Postgres => ("$1", "$2"),
        _ => ("?", "?"),
    };
    let within = format!("day >= {d1} AND day < {d2}");
    for source in &SOURCES {
        let filter = match (source.filter)("") {
            filter if filter.is_empty() => format!("WHERE {within}"),
            filter => format!("WHERE {within} AND {filter}"),
        };
        for rollup in (source.rollups)("", &|m| m.to_string(), nil(backend)) {
            let delete = format!("DELETE FROM {} WHERE {within}", rollup.table);
            db.execute_raw(Statement::from_sql_and_values(backend, delete, [from.into(), to.into()])).await?;
            let sql = rollup.sum_into(source.table, &filter, false);
            db.execute_raw(Statement::from_sql_and_values(backend, sql, [from.into(), to.into()])).await?;
        }
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        create(db, TABLES_SQL, triggers(manager.get_database_backend())).await?;
        rebuild(db, None).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for source in &SOURCES {
            for event in ["insert", "update", "delete"] {
                let name = format!("{}_coarse_{event}", source.table);
                if db.get_database_backend() == DbBackend::Postgres {
                    db.execute_unprepared(&format!("DROP TRIGGER IF EXISTS {name} ON {}", source.table)).await?;
                    db.execute_unprepared(&format!("DROP FUNCTION IF EXISTS {name}()")).await?;
                } else {
                    db.execute_unprepared(&format!("DROP TRIGGER IF EXISTS {name}")).await?;
                }
            }
        }
        for table in TABLES {
            db.execute_unprepared(&format!("DROP TABLE IF EXISTS {table}")).await?;
        }
        Ok(())
    }
}
