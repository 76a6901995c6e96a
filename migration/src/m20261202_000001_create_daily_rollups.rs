//! Daily rollups (UTC days) that dashboards and metrics read instead of raw rows:
//!
//! - `traffic_daily`: interactions per day × kind × campaign × affiliate × channel;
//! - `conversion_daily`: conversions and their value per day × campaign × affiliate ×
//!   channel × currency × status;
//! - `commission_daily`: commissions per day of creation × campaign × affiliate × currency ×
//!   status, with the sum of their amounts, of what they hold (the amount, or the base
//!   amount of one not yet calculated) and, since a later migration, of what they are
//!   expected to pay (the amount, or the expected amount of one not yet calculated).
//!
//! Triggers keep them in step in the same transaction as every write of the raw tables,
//! whoever writes (the ingest writer, a service, an import), so they cannot drift. Money
//! is summed as integer ten-thousandths (the money columns' scale): exact on SQLite too,
//! where `DECIMAL` columns hold binary floating point. A missing campaign or affiliate is
//! the nil UUID and a missing channel the empty string, so every key is a real value.
//!
//! Raw interactions may be deleted (retention) without changing `traffic_daily`: the
//! rollups keep the history. Conversions and commissions are counted out when deleted.
//! [`rebuild`] recomputes any range of days from the raw tables.

use sea_orm_migration::{
    prelude::*,
    sea_orm::{ConnectionTrait, DbBackend, Statement},
};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The rollup tables, each with the raw table it sums.
pub const TABLES: [&str; 3] = ["traffic_daily", "conversion_daily", "commission_daily"];

/// The tables and their indexes; `UUID` is the backend's type for ids.
const TABLES_SQL: &str = r#"
CREATE TABLE traffic_daily (
    day varchar(10) NOT NULL,
    kind varchar(32) NOT NULL,
    campaign_id UUID NOT NULL,
    affiliate_id UUID NOT NULL,
    channel varchar(128) NOT NULL,
    events bigint NOT NULL,
    PRIMARY KEY (kind, day, campaign_id, affiliate_id, channel)
);
CREATE TABLE conversion_daily (
    day varchar(10) NOT NULL,
    campaign_id UUID NOT NULL,
    affiliate_id UUID NOT NULL,
    channel varchar(128) NOT NULL,
    currency varchar(3) NOT NULL,
    status varchar(32) NOT NULL,
    conversions bigint NOT NULL,
    value bigint NOT NULL,
    PRIMARY KEY (day, campaign_id, affiliate_id, channel, currency, status)
);
CREATE TABLE commission_daily (
    day varchar(10) NOT NULL,
    campaign_id UUID NOT NULL,
    affiliate_id UUID NOT NULL,
    currency varchar(3) NOT NULL,
    status varchar(32) NOT NULL,
    commissions bigint NOT NULL,
    amount bigint NOT NULL,
    held bigint NOT NULL,
    PRIMARY KEY (day, campaign_id, affiliate_id, currency, status)
);
CREATE INDEX idx_traffic_daily_affiliate ON traffic_daily (affiliate_id, kind, day);
CREATE INDEX idx_conversion_daily_affiliate ON conversion_daily (affiliate_id, day);
CREATE INDEX idx_commission_daily_affiliate ON commission_daily (affiliate_id, day);
"#;

/// SQL fragments of one backend: the UTC day of a timestamp, a key of a nullable UUID,
/// and money as integer ten-thousandths.
pub(crate) struct Dialect {
    pub(crate) backend: DbBackend,
}

impl Dialect {
    pub(crate) fn day(&self, column: &str) -> String {
        match self.backend {
            DbBackend::Postgres => format!("to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"),
            // Timestamps are stored as RFC 3339 text in UTC: the day is the first ten characters.
            _ => format!("substr({column}, 1, 10)"),
        }
    }

    pub(crate) fn id(&self, column: &str) -> String {
        match self.backend {
            DbBackend::Postgres => format!("COALESCE({column}, '00000000-0000-0000-0000-000000000000'::uuid)"),
            _ => format!("COALESCE({column}, zeroblob(16))"),
        }
    }

    pub(crate) fn money(&self, expr: &str) -> String {
        match self.backend {
            DbBackend::Postgres => format!("CAST(({expr}) * 10000 AS BIGINT)"),
            _ => format!("CAST(ROUND(({expr}) * 10000) AS INTEGER)"),
        }
    }

    /// `(key columns, key values of the row in `r`, measures of the row)` of each rollup.
    fn traffic(&self, r: &str) -> Rollup {
        Rollup {
            table: "traffic_daily",
            keys: &["day", "kind", "campaign_id", "affiliate_id", "channel"],
            key_values: vec![
                self.day(&format!("{r}occurred_at")),
                format!("{r}kind"),
                self.id(&format!("{r}campaign_id")),
                self.id(&format!("{r}affiliate_id")),
                format!("COALESCE({r}channel, '')"),
            ],
            measures: &["events"],
            measure_values: vec!["1".into()],
        }
    }

    fn conversion(&self, r: &str) -> Rollup {
        Rollup {
            table: "conversion_daily",
            keys: &["day", "campaign_id", "affiliate_id", "channel", "currency", "status"],
            key_values: vec![
                self.day(&format!("{r}occurred_at")),
                self.id(&format!("{r}campaign_id")),
                self.id(&format!("{r}affiliate_id")),
                format!("COALESCE({r}channel, '')"),
                format!("{r}currency"),
                format!("{r}status"),
            ],
            measures: &["conversions", "value"],
            measure_values: vec!["1".into(), self.money(&format!("{r}value"))],
        }
    }

    fn commission(&self, r: &str, measures: CommissionMeasures) -> Rollup {
        let mut rollup = Rollup {
            table: "commission_daily",
            keys: &["day", "campaign_id", "affiliate_id", "currency", "status"],
            key_values: vec![
                self.day(&format!("{r}created_at")),
                self.id(&format!("{r}campaign_id")),
                format!("{r}affiliate_id"),
                format!("{r}currency"),
                format!("{r}status"),
            ],
            measures: &["commissions", "amount", "held"],
            measure_values: vec![
                "1".into(),
                self.money(&format!("COALESCE({r}amount, 0)")),
                self.money(&format!("COALESCE({r}amount, {r}base_amount)")),
            ],
        };
        if measures == CommissionMeasures::WithExpected {
            rollup.measures = &["commissions", "amount", "held", "expected"];
            rollup.measure_values.push(self.money(&format!("COALESCE({r}amount, {r}expected_amount, 0)")));
        }
        rollup
    }
}

/// What `commission_daily` sums: this migration made it without expected amounts, which
/// `m20261208_000001_add_commission_expected_amount` added. A migration builds the triggers
/// of its own version; rebuilds at run time use the current one.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum CommissionMeasures {
    First,
    WithExpected,
}

pub(crate) struct Rollup {
    pub(crate) table: &'static str,
    pub(crate) keys: &'static [&'static str],
    pub(crate) key_values: Vec<String>,
    pub(crate) measures: &'static [&'static str],
    pub(crate) measure_values: Vec<String>,
}

impl Rollup {
    /// Adds one row's measures (`NEW.` columns) to its rollup row.
    pub(crate) fn add(&self) -> String {
        let table = self.table;
        let columns: Vec<&str> = self.keys.iter().chain(self.measures).copied().collect();
        let values: Vec<&str> = self.key_values.iter().chain(&self.measure_values).map(String::as_str).collect();
        let sums: Vec<String> = self.measures.iter().map(|m| format!("{m} = {table}.{m} + excluded.{m}")).collect();
        format!(
            "INSERT INTO {table} ({}) VALUES ({}) ON CONFLICT ({}) DO UPDATE SET {}",
            columns.join(", "),
            values.join(", "),
            self.keys.join(", "),
            sums.join(", ")
        )
    }

    /// Takes one row's measures (`OLD.` columns) off its rollup row.
    pub(crate) fn subtract(&self) -> String {
        let table = self.table;
        let sets: Vec<String> =
            self.measures.iter().zip(&self.measure_values).map(|(m, v)| format!("{m} = {m} - {v}")).collect();
        let wheres: Vec<String> = self.keys.iter().zip(&self.key_values).map(|(k, v)| format!("{k} = {v}")).collect();
        format!("UPDATE {table} SET {} WHERE {}", sets.join(", "), wheres.join(" AND "))
    }

    /// The measures summed over a group of rows (`COUNT(*)` for the row count).
    fn sums(&self) -> Vec<String> {
        self.measure_values
            .iter()
            .map(|v| if v == "1" { "COUNT(*)".to_string() } else { format!("SUM({v})") })
            .collect()
    }

    /// Adds the rows of `from` (whose columns the key and measure values name) that pass
    /// `filter`, grouped, to the rollup: `upsert` adds to existing rows, otherwise the rows
    /// of those keys must not exist. Rows go in key order, so concurrent statements lock
    /// rollup rows in the same order and cannot deadlock on them.
    pub(crate) fn sum_into(&self, from: &str, filter: &str, upsert: bool) -> String {
        self.sum_into_table(self.table, from, filter, upsert)
    }

    /// [`Rollup::sum_into`] a table of the rollup's columns other than its own.
    pub(crate) fn sum_into_table(&self, table: &str, from: &str, filter: &str, upsert: bool) -> String {
        let columns: Vec<&str> = self.keys.iter().chain(self.measures).copied().collect();
        let groups: Vec<String> = (1..=self.keys.len()).map(|i| i.to_string()).collect();
        let mut sql = format!(
            "INSERT INTO {table} ({}) SELECT {}, {} FROM {from} {filter} GROUP BY {} ORDER BY {}",
            columns.join(", "),
            self.key_values.join(", "),
            self.sums().join(", "),
            groups.join(", "),
            groups.join(", ")
        );
        if upsert {
            let sums: Vec<String> = self.measures.iter().map(|m| format!("{m} = {table}.{m} + excluded.{m}")).collect();
            sql.push_str(&format!(" ON CONFLICT ({}) DO UPDATE SET {}", self.keys.join(", "), sums.join(", ")));
        }
        sql
    }

    /// Takes the rows of `from` that pass `filter`, grouped, off the rollup.
    pub(crate) fn subtract_grouped(&self, from: &str, filter: &str) -> String {
        let table = self.table;
        let keyed: Vec<String> = self.key_values.iter().zip(self.keys).map(|(v, k)| format!("{v} AS {k}")).collect();
        let summed: Vec<String> = self.sums().iter().zip(self.measures).map(|(v, m)| format!("{v} AS {m}")).collect();
        let groups: Vec<String> = (1..=self.keys.len()).map(|i| i.to_string()).collect();
        let sets: Vec<String> = self.measures.iter().map(|m| format!("{m} = {table}.{m} - s.{m}")).collect();
        let wheres: Vec<String> = self.keys.iter().map(|k| format!("{table}.{k} = s.{k}")).collect();
        format!(
            "UPDATE {table} SET {} FROM (SELECT {}, {} FROM {from} {filter} GROUP BY {}) s WHERE {}",
            sets.join(", "),
            keyed.join(", "),
            summed.join(", "),
            groups.join(", "),
            wheres.join(" AND ")
        )
    }
}

/// What triggers watch of each raw table: (table, rollup, timestamp column, columns whose
/// change moves a row to another rollup row or changes its measures).
fn sources(
    dialect: &Dialect,
    r: &str,
    measures: CommissionMeasures,
) -> [(&'static str, Rollup, &'static str, &'static [&'static str]); 3] {
    let commission_watched: &'static [&'static str] = match measures {
        CommissionMeasures::First => {
            &["created_at", "campaign_id", "affiliate_id", "currency", "status", "amount", "base_amount"]
        }
        CommissionMeasures::WithExpected => &[
            "created_at",
            "campaign_id",
            "affiliate_id",
            "currency",
            "status",
            "amount",
            "base_amount",
            "expected_amount",
        ],
    };
    [
        (
            "interactions",
            dialect.traffic(r),
            "occurred_at",
            &["occurred_at", "kind", "campaign_id", "affiliate_id", "channel"],
        ),
        (
            "conversions",
            dialect.conversion(r),
            "occurred_at",
            &["occurred_at", "campaign_id", "affiliate_id", "channel", "currency", "status", "value"],
        ),
        ("commissions", dialect.commission(r, measures), "created_at", commission_watched),
    ]
}

/// The triggers of the rollups of the raw tables `of`, as `measures` defines them.
pub(crate) fn triggers(backend: DbBackend, measures: CommissionMeasures, of: &[&str]) -> Vec<String> {
    match backend {
        DbBackend::Postgres => postgres_triggers(measures, of),
        _ => sqlite_triggers(measures, of),
    }
}

fn sqlite_triggers(measures: CommissionMeasures, of: &[&str]) -> Vec<String> {
    let new = Dialect { backend: DbBackend::Sqlite };
    let pairs = sources(&new, "NEW.", measures).into_iter().zip(sources(&new, "OLD.", measures));
    pairs
        .filter(|((source, ..), _)| of.contains(source))
        .flat_map(|((source, add, _, watched), (_, subtract, _, _))| {
            // Interactions leave by retention only, and the rollups keep their history.
            sqlite_triggers_of(source, &add, &subtract, watched, source != "interactions")
        })
        .collect()
}

/// The SQLite triggers that keep `source`'s rollup: `add` of its `NEW.` row, `subtract` of
/// its `OLD.` row, moved when a `watched` column changes; on delete too when `deletes`.
pub(crate) fn sqlite_triggers_of(
    source: &str,
    add: &Rollup,
    subtract: &Rollup,
    watched: &[&str],
    deletes: bool,
) -> Vec<String> {
    let changed: Vec<String> = watched.iter().map(|c| format!("OLD.{c} IS NOT NEW.{c}")).collect();
    let mut sql = vec![
        format!("CREATE TRIGGER {source}_rollup_insert AFTER INSERT ON {source} BEGIN {}; END", add.add()),
        format!(
            "CREATE TRIGGER {source}_rollup_update AFTER UPDATE OF {} ON {source} WHEN {} BEGIN {}; {}; END",
            watched.join(", "),
            changed.join(" OR "),
            subtract.subtract(),
            add.add()
        ),
    ];
    if deletes {
        sql.push(format!(
            "CREATE TRIGGER {source}_rollup_delete AFTER DELETE ON {source} BEGIN {}; END",
            subtract.subtract()
        ));
    }
    sql
}

/// On PostgreSQL, triggers run once per statement over its transition tables, so a
/// statement of many rows (an ingest batch, an import) updates each rollup row once, not
/// once per raw row.
fn postgres_triggers(measures: CommissionMeasures, of: &[&str]) -> Vec<String> {
    let pg = Dialect { backend: DbBackend::Postgres };
    sources(&pg, "r.", measures)
        .into_iter()
        .filter(|(s, ..)| of.contains(s))
        // Interactions leave by retention only, and the rollups keep their history.
        .flat_map(|(source, rollup, _, watched)| {
            postgres_triggers_of(source, &rollup, watched, source != "interactions")
        })
        .collect()
}

/// The PostgreSQL triggers that keep `source`'s rollup (of the row `r.`), moved when a
/// `watched` column changes; on delete too when `deletes`.
pub(crate) fn postgres_triggers_of(source: &str, rollup: &Rollup, watched: &[&str], deletes: bool) -> Vec<String> {
    let mut sql = Vec::new();
    // Only rows whose key or measures changed move: `r` is the side summed, `x` the other.
    let changed = |r: &str, x: &str| {
        let (ours, theirs): (Vec<String>, Vec<String>) =
            watched.iter().map(|c| (format!("{r}.{c}"), format!("{x}.{c}"))).unzip();
        format!("WHERE ({}) IS DISTINCT FROM ({})", ours.join(", "), theirs.join(", "))
    };
    let functions = [
        ("insert", rollup.sum_into("new_rows r", "", true), "NEW TABLE AS new_rows"),
        (
            "update",
            format!(
                "{};\n    {}",
                rollup.subtract_grouped("old_rows r JOIN new_rows x ON x.id = r.id", &changed("r", "x")),
                rollup.sum_into("new_rows r JOIN old_rows x ON x.id = r.id", &changed("r", "x"), true)
            ),
            "OLD TABLE AS old_rows NEW TABLE AS new_rows",
        ),
        ("delete", rollup.subtract_grouped("old_rows r", ""), "OLD TABLE AS old_rows"),
    ];
    for (event, body, tables) in functions {
        if event == "delete" && !deletes {
            continue;
        }
        sql.push(format!(
            "CREATE FUNCTION {source}_rollup_{event}() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n    {body};\n    RETURN NULL;\nEND\n$$"
        ));
        sql.push(format!(
            "CREATE TRIGGER {source}_rollup_{event} AFTER {} ON {source} REFERENCING {tables} \
             FOR EACH STATEMENT EXECUTE FUNCTION {source}_rollup_{event}()",
            event.to_uppercase()
        ));
    }
    sql
}

/// `expr` (a money value, scale 4 at most) as an integer count of ten-thousandths, exactly
/// on both backends: summing these is exact where summing the stored values is not (SQLite).
pub fn money_units(backend: DbBackend, expr: &str) -> String {
    Dialect { backend }.money(expr)
}

/// Recomputes the rollups of the UTC days `[from, to)` (both `YYYY-MM-DD`; all days when
/// `None`) from the raw tables. Run it in a transaction that keeps writers out.
pub async fn rebuild<C: ConnectionTrait>(db: &C, days: Option<(&str, &str)>) -> Result<(), DbErr> {
    rebuild_as(db, days, CommissionMeasures::WithExpected, &SOURCES).await
}

/// The raw tables the daily rollups sum.
pub(crate) const SOURCES: [&str; 3] = ["interactions", "conversions", "commissions"];

/// [`rebuild`] of the rollups of the raw tables `of`, as `measures` defines them.
pub(crate) async fn rebuild_as<C: ConnectionTrait>(
    db: &C,
    days: Option<(&str, &str)>,
    measures: CommissionMeasures,
    of: &[&str],
) -> Result<(), DbErr> {
    let dialect = Dialect { backend: db.get_database_backend() };
    for (source, rollup, at, _) in sources(&dialect, "", measures).into_iter().filter(|(s, ..)| of.contains(s)) {
        refill(db, &rollup, source, at, "", days).await?;
    }
    Ok(())
}

/// Deletes the rows of `rollup` of the UTC days `[from, to)` (all days when `None`) and
/// sums them again from `source`, whose rows are dated by `at` and pass `filter` (a
/// condition `AND`-ed to the days', or empty).
pub(crate) async fn refill<C: ConnectionTrait>(
    db: &C,
    rollup: &Rollup,
    source: &str,
    at: &str,
    filter: &str,
    days: Option<(&str, &str)>,
) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    let (from, to) = days.unwrap_or(("0001-01-01", "9999-12-31"));
    // The raw rows of those days: from midnight of the first to midnight of the last.
    let (p1, p2, start, end) = match backend {
        DbBackend::Postgres => (
            "CAST($1 AS timestamptz)",
            "CAST($2 AS timestamptz)",
            format!("{from}T00:00:00+00:00"),
            format!("{to}T00:00:00+00:00"),
        ),
        _ => ("?", "?", format!("{from}T00:00:00"), format!("{to}T00:00:00")),
    };
    let (d1, d2) = match backend {
        DbBackend::Postgres => ("$1", "$2"),
        _ => ("?", "?"),
    };
    db.execute_raw(Statement::from_sql_and_values(
        backend,
        format!("DELETE FROM {} WHERE day >= {d1} AND day < {d2}", rollup.table),
        [from.into(), to.into()],
    ))
    .await?;
    let and = if filter.is_empty() { String::new() } else { format!(" AND {filter}") };
    let sql = rollup.sum_into(source, &format!("WHERE {at} >= {p1} AND {at} < {p2}{and}"), false);
    db.execute_raw(Statement::from_sql_and_values(backend, sql, [start.into(), end.into()])).await?;
    Ok(())
}

/// Creates rollup tables (`UUID` standing for the backend's type of ids) and their triggers.
pub(crate) async fn create<C: ConnectionTrait>(db: &C, tables: &str, triggers: Vec<String>) -> Result<(), DbErr> {
    let uuid = match db.get_database_backend() {
        DbBackend::Postgres => "uuid",
        _ => "uuid_text",
    };
    for sql in tables.replace("UUID", uuid).split(';').map(str::trim).filter(|s| !s.is_empty()) {
        db.execute_unprepared(sql).await?;
    }
    for sql in triggers {
        db.execute_unprepared(&sql).await?;
    }
    Ok(())
}

/// Drops the rollup triggers (and on PostgreSQL their functions) of the raw tables `of`.
pub(crate) async fn drop_triggers<C: ConnectionTrait>(db: &C, of: &[&str]) -> Result<(), DbErr> {
    for source in of {
        for event in ["insert", "update", "delete"] {
            if db.get_database_backend() == DbBackend::Postgres {
                db.execute_unprepared(&format!("DROP TRIGGER IF EXISTS {source}_rollup_{event} ON {source}")).await?;
                db.execute_unprepared(&format!("DROP FUNCTION IF EXISTS {source}_rollup_{event}()")).await?;
            } else {
                db.execute_unprepared(&format!("DROP TRIGGER IF EXISTS {source}_rollup_{event}")).await?;
            }
        }
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let triggers = triggers(manager.get_database_backend(), CommissionMeasures::First, &SOURCES);
        create(db, TABLES_SQL, triggers).await?;
        rebuild_as(db, None, CommissionMeasures::First, &SOURCES).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        drop_triggers(db, &SOURCES).await?;
        for table in TABLES {
            db.execute_unprepared(&format!("DROP TABLE IF EXISTS {table}")).await?;
        }
        Ok(())
    }
}
