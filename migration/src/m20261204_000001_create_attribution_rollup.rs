//! The attribution report's rollup:
//!
//! - `attribution_shares`: what each heuristic model (last click, first click, linear, time
//!   decay, position based) credits of one conversion to each campaign × affiliate ×
//!   channel — weights as integer 10⁻¹² (the weights' scale), amounts as integer
//!   ten-thousandths. The service writes them once, with the conversion's journey; they
//!   depend only on the journey's touches and the conversion, which do not change.
//! - `attribution_daily`: those shares summed per UTC day of the conversion × model ×
//!   campaign × affiliate × channel × currency, over the conversions that are `ATTRIBUTED`
//!   now.
//!
//! Triggers keep `attribution_daily` in step in the same transaction as every write that
//! moves it: shares stored or removed, a conversion entering or leaving `ATTRIBUTED` (a
//! revert, a refund, a release from review), a conversion deleted. [`rebuild`] recomputes
//! any range of days from the shares.

use sea_orm_migration::{
    prelude::*,
    sea_orm::{ConnectionTrait, DbBackend},
};

use crate::m20261202_000001_create_daily_rollups::{create, refill, Dialect, Rollup};

#[derive(DeriveMigrationName)]
pub struct Migration;

pub const TABLES: [&str; 2] = ["attribution_shares", "attribution_daily"];

const TABLES_SQL: &str = r#"
CREATE TABLE attribution_shares (
    conversion_id UUID NOT NULL,
    model varchar(32) NOT NULL,
    campaign_id UUID NOT NULL,
    affiliate_id UUID NOT NULL,
    channel varchar(128) NOT NULL,
    weight bigint NOT NULL,
    amount bigint NOT NULL,
    PRIMARY KEY (conversion_id, model, campaign_id, affiliate_id, channel)
);
CREATE TABLE attribution_daily (
    day varchar(10) NOT NULL,
    model varchar(32) NOT NULL,
    campaign_id UUID NOT NULL,
    affiliate_id UUID NOT NULL,
    channel varchar(128) NOT NULL,
    currency varchar(3) NOT NULL,
    conversions bigint NOT NULL,
    value bigint NOT NULL,
    PRIMARY KEY (day, model, campaign_id, affiliate_id, channel, currency)
);
"#;

/// The rollup row of a share (columns of `sh`) of a conversion (columns of `c`).
fn rollup(dialect: &Dialect, c: &str, sh: &str) -> Rollup {
    Rollup {
        table: "attribution_daily",
        keys: &["day", "model", "campaign_id", "affiliate_id", "channel", "currency"],
        key_values: vec![
            dialect.day(&format!("{c}occurred_at")),
            format!("{sh}model"),
            format!("{sh}campaign_id"),
            format!("{sh}affiliate_id"),
            format!("{sh}channel"),
            format!("{c}currency"),
        ],
        measures: &["conversions", "value"],
        measure_values: vec![format!("{sh}weight"), format!("{sh}amount")],
    }
}

const ATTRIBUTED: &str = "'ATTRIBUTED'";

fn sqlite_triggers() -> Vec<String> {
    let d = Dialect { backend: DbBackend::Sqlite };
    let moved = "(OLD.status IS NOT NEW.status OR OLD.occurred_at IS NOT NEW.occurred_at \
                 OR OLD.currency IS NOT NEW.currency)";
    vec![
        format!(
            "CREATE TRIGGER attribution_shares_rollup_insert AFTER INSERT ON attribution_shares BEGIN {}; END",
            rollup(&d, "c.", "NEW.").sum_into(
                "conversions c",
                &format!("WHERE c.id = NEW.conversion_id AND c.status = {ATTRIBUTED}"),
                true
            )
        ),
        format!(
            "CREATE TRIGGER attribution_shares_rollup_delete AFTER DELETE ON attribution_shares BEGIN {}; END",
            rollup(&d, "c.", "OLD.").subtract_grouped(
                "conversions c",
                &format!("WHERE c.id = OLD.conversion_id AND c.status = {ATTRIBUTED}")
            )
        ),
        format!(
            "CREATE TRIGGER conversions_attribution_update AFTER UPDATE OF status, occurred_at, currency ON conversions \
             WHEN {moved} AND (OLD.status = {ATTRIBUTED} OR NEW.status = {ATTRIBUTED}) BEGIN {}; {}; END",
            rollup(&d, "OLD.", "sh.").subtract_grouped(
                "attribution_shares sh",
                &format!("WHERE sh.conversion_id = OLD.id AND OLD.status = {ATTRIBUTED}")
            ),
            rollup(&d, "NEW.", "sh.").sum_into(
                "attribution_shares sh",
                &format!("WHERE sh.conversion_id = NEW.id AND NEW.status = {ATTRIBUTED}"),
                true
            )
        ),
        // The shares go with their conversion (their own trigger then finds no conversion).
        format!(
            "CREATE TRIGGER conversions_attribution_delete AFTER DELETE ON conversions BEGIN {}; \
             DELETE FROM attribution_shares WHERE conversion_id = OLD.id; END",
            rollup(&d, "OLD.", "sh.").subtract_grouped(
                "attribution_shares sh",
                &format!("WHERE sh.conversion_id = OLD.id AND OLD.status = {ATTRIBUTED}")
            )
        ),
    ]
}

/// Statement triggers over transition tables, as for the daily rollups.
fn postgres_triggers() -> Vec<String> {
    let d = Dialect { backend: DbBackend::Postgres };
    let moved = |r: &str, x: &str| {
        format!(
            "({r}.status, {r}.occurred_at, {r}.currency) IS DISTINCT FROM ({x}.status, {x}.occurred_at, {x}.currency)"
        )
    };
    let functions = [
        (
            "attribution_shares_rollup_insert",
            "INSERT ON attribution_shares REFERENCING NEW TABLE AS new_rows",
            rollup(&d, "c.", "sh.").sum_into(
                "new_rows sh JOIN conversions c ON c.id = sh.conversion_id",
                &format!("WHERE c.status = {ATTRIBUTED}"),
                true,
            ),
        ),
        (
            "attribution_shares_rollup_delete",
            "DELETE ON attribution_shares REFERENCING OLD TABLE AS old_rows",
            rollup(&d, "c.", "sh.").subtract_grouped(
                "old_rows sh JOIN conversions c ON c.id = sh.conversion_id",
                &format!("WHERE c.status = {ATTRIBUTED}"),
            ),
        ),
        (
            "conversions_attribution_update",
            "UPDATE ON conversions REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
            format!(
                "{};\n    {}",
                rollup(&d, "c.", "sh.").subtract_grouped(
                    "old_rows c JOIN new_rows x ON x.id = c.id JOIN attribution_shares sh ON sh.conversion_id = c.id",
                    &format!("WHERE c.status = {ATTRIBUTED} AND {}", moved("c", "x")),
                ),
                rollup(&d, "c.", "sh.").sum_into(
                    "new_rows c JOIN old_rows x ON x.id = c.id JOIN attribution_shares sh ON sh.conversion_id = c.id",
                    &format!("WHERE c.status = {ATTRIBUTED} AND {}", moved("c", "x")),
                    true,
                )
            ),
        ),
        (
            "conversions_attribution_delete",
            "DELETE ON conversions REFERENCING OLD TABLE AS old_rows",
            format!(
                "{};\n    DELETE FROM attribution_shares WHERE conversion_id IN (SELECT id FROM old_rows)",
                rollup(&d, "c.", "sh.").subtract_grouped(
                    "old_rows c JOIN attribution_shares sh ON sh.conversion_id = c.id",
                    &format!("WHERE c.status = {ATTRIBUTED}"),
                )
            ),
        ),
    ];
    let mut sql = Vec::new();
    for (name, event, body) in functions {
        sql.push(format!(
            "CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n    {body};\n    RETURN NULL;\nEND\n$$"
        ));
        sql.push(format!("CREATE TRIGGER {name} AFTER {event} FOR EACH STATEMENT EXECUTE FUNCTION {name}()"));
    }
    sql
}

const TRIGGERS: [(&str, &str); 4] = [
    ("attribution_shares_rollup_insert", "attribution_shares"),
    ("attribution_shares_rollup_delete", "attribution_shares"),
    ("conversions_attribution_update", "conversions"),
    ("conversions_attribution_delete", "conversions"),
];

/// Recomputes `attribution_daily` for the UTC days `[from, to)` (all days when `None`) from
/// the stored shares. Run it in a transaction that keeps writers out.
pub async fn rebuild<C: ConnectionTrait>(db: &C, days: Option<(&str, &str)>) -> Result<(), DbErr> {
    let dialect = Dialect { backend: db.get_database_backend() };
    refill(
        db,
        &rollup(&dialect, "c.", "sh."),
        "attribution_shares sh JOIN conversions c ON c.id = sh.conversion_id",
        "c.occurred_at",
        &format!("c.status = {ATTRIBUTED}"),
        days,
    )
    .await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let triggers = match manager.get_database_backend() {
            DbBackend::Postgres => postgres_triggers(),
            _ => sqlite_triggers(),
        };
        create(manager.get_connection(), TABLES_SQL, triggers).await?;
        // The shares of the journeys already stored are computed by the service (they need
        // the attribution models), which fills them in at start-up.
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for (name, table) in TRIGGERS {
            match manager.get_database_backend() {
                DbBackend::Postgres => {
                    db.execute_unprepared(&format!("DROP TRIGGER IF EXISTS {name} ON {table}")).await?;
                    db.execute_unprepared(&format!("DROP FUNCTION IF EXISTS {name}()")).await?;
                }
                _ => {
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
