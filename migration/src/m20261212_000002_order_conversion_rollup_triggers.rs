//! On PostgreSQL, a change of a conversion moves its daily rollup row before its
//! attribution rollup rows, in the order the attribution itself takes them.
//!
//! Triggers of one event fire in the order of their names. `conversions_attribution_update`
//! (`attribution_daily`) fired before `conversions_rollup_update` (`conversion_daily`), so a
//! refund locked a day's attribution row, then its conversion row; the attribution of
//! another sale of the same day claims its conversion (locking that conversion row) and
//! then stores its shares (that attribution row): each waited for the other, and PostgreSQL
//! broke the deadlock by failing one (the crash test's load met it about ten times a
//! minute). Renamed to sort after it, every writer takes `conversion_daily`, then
//! `attribution_daily`. SQLite has one writer at a time: nothing to do there.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const BEFORE: &str = "conversions_attribution_update";
const AFTER: &str = "conversions_rollup_update_attribution";

async fn rename(manager: &SchemaManager<'_>, from: &str, to: &str) -> Result<(), DbErr> {
    if manager.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    manager.get_connection().execute_unprepared(&format!("ALTER TRIGGER {from} ON conversions RENAME TO {to}")).await?;
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        rename(manager, BEFORE, AFTER).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        rename(manager, AFTER, BEFORE).await
    }
}
