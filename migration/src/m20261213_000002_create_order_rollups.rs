//! Orders summed per day, as conversions and commissions are:
//!
//! - `order_daily`: orders per UTC day of creation × campaign × affiliate × currency ×
//!   status, with their amounts and what was refunded of them (integer ten-thousandths),
//!   kept by triggers on `orders` in the same transaction as each write of an order;
//! - `orders_by_day`: the same per day × currency × status, kept from `order_daily` as the
//!   other coarse rollups are (on PostgreSQL through pending changes and a fold, so
//!   concurrent checkouts lock no shared row).
//!
//! The orders list's total (all orders, or those of a status, over whole days) is read
//! from `orders_by_day`: a few rows a day, where counting the orders themselves read a
//! million index entries at ten million interactions.
//!
//! An order's status moves (paid, refunded), so its daily row is a key that changes: like
//! conversions, a change of a watched column takes the old row's measures off its day's
//! row and adds the new row's to its own. `orders_by_day` is summed from `order_daily`,
//! whose keys never change.

use sea_orm_migration::{
    prelude::*,
    sea_orm::{ConnectionTrait, DbBackend},
};

use crate::m20261202_000001_create_daily_rollups::{
    create, drop_triggers, postgres_triggers_of, refill, sqlite_triggers_of, Dialect, Rollup,
};
use crate::m20261211_000002_create_coarse_rollups::{self as coarse, Measure, Source};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The daily rollup of orders, and its coarse sum.
pub const TABLES: [&str; 2] = ["order_daily", "orders_by_day"];

const DAILY_SQL: &str = r#"
CREATE TABLE order_daily (
    day varchar(10) NOT NULL,
    campaign_id UUID NOT NULL,
    affiliate_id UUID NOT NULL,
    currency varchar(3) NOT NULL,
    status varchar(32) NOT NULL,
    orders bigint NOT NULL,
    amount bigint NOT NULL,
    refunded bigint NOT NULL,
    PRIMARY KEY (day, campaign_id, affiliate_id, currency, status)
);
CREATE INDEX idx_order_daily_affiliate ON order_daily (affiliate_id, day);
"#;

const COARSE_SQL: &str = r#"
CREATE TABLE orders_by_day (
    day varchar(10) NOT NULL,
    currency varchar(3) NOT NULL,
    status varchar(32) NOT NULL,
    orders bigint NOT NULL,
    amount bigint NOT NULL,
    refunded bigint NOT NULL,
    PRIMARY KEY (day, currency, status)
);
"#;

/// The columns of an order whose change moves it to another daily row or changes its measures.
const WATCHED: [&str; 7] =
    ["created_at", "campaign_id", "affiliate_id", "currency", "status", "amount", "refunded_amount"];

/// The daily row of the order `{r}`.
fn daily(dialect: &Dialect, r: &str) -> Rollup {
    Rollup {
        table: "order_daily",
        keys: &["day", "campaign_id", "affiliate_id", "currency", "status"],
        key_values: vec![
            dialect.day(&format!("{r}created_at")),
            dialect.id(&format!("{r}campaign_id")),
            dialect.id(&format!("{r}affiliate_id")),
            format!("{r}currency"),
            format!("{r}status"),
        ],
        measures: &["orders", "amount", "refunded"],
        measure_values: vec![
            "1".into(),
            dialect.money(&format!("{r}amount")),
            dialect.money(&format!("{r}refunded_amount")),
        ],
    }
}

fn by_day(r: &str, m: Measure, _: &str) -> Vec<Rollup> {
    vec![Rollup {
        table: "orders_by_day",
        keys: &["day", "currency", "status"],
        key_values: vec![format!("{r}day"), format!("{r}currency"), format!("{r}status")],
        measures: &["orders", "amount", "refunded"],
        measure_values: vec![m("orders"), m("amount"), m("refunded")],
    }]
}

/// The coarse rollup of `order_daily`.
pub(crate) const COARSE: [Source; 1] =
    [Source { name: "order_daily_coarse", table: "order_daily", filter: coarse::every, rollups: by_day }];

/// Recomputes `order_daily` of the UTC days `[from, to)` (all days when `None`) from the
/// orders (its coarse sum is rebuilt with the others'). Run it in a transaction that keeps
/// writers out.
pub async fn rebuild_daily<C: ConnectionTrait>(db: &C, days: Option<(&str, &str)>) -> Result<(), DbErr> {
    let dialect = Dialect { backend: db.get_database_backend() };
    refill(db, &daily(&dialect, ""), "orders", "created_at", "", days).await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let backend = manager.get_database_backend();
        let dialect = Dialect { backend };
        if backend == DbBackend::Postgres {
            create(db, DAILY_SQL, postgres_triggers_of("orders", &daily(&dialect, "r."), &WATCHED, true)).await?;
            let objects = [coarse::postgres_objects(&COARSE), coarse::triggers(backend, &COARSE)].concat();
            create(db, &coarse::folded(COARSE_SQL, &TABLES[1..]), objects).await?;
        } else {
            let triggers =
                sqlite_triggers_of("orders", &daily(&dialect, "NEW."), &daily(&dialect, "OLD."), &WATCHED, true);
            create(db, DAILY_SQL, triggers).await?;
            create(db, COARSE_SQL, coarse::triggers(backend, &COARSE)).await?;
        }
        rebuild_daily(db, None).await?;
        coarse::rebuild_of(db, None, &COARSE).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        coarse::drop_rollups(db, &COARSE, &TABLES[1..]).await?;
        drop_triggers(db, &["orders"]).await?;
        db.execute_unprepared("DROP TABLE IF EXISTS order_daily").await?;
        Ok(())
    }
}
