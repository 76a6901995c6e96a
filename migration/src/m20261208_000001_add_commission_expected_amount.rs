//! `commissions.expected_amount`: what a commission not yet calculated is expected to pay,
//! priced by the same rules as its calculation when it is reserved (and again when a
//! refund changes its base). `commission_daily` sums it as `expected` (the amount once
//! calculated), so that dashboards show money owed, never the sale amounts a pending
//! commission is based on.
//!
//! Commissions pending before this migration have no expected amount until the service
//! prices them (it does so at start, in small batches); a partial index holds just those,
//! so the look-up at each start reads nothing once they are priced.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261202_000001_create_daily_rollups::{drop_triggers, rebuild_as, triggers, CommissionMeasures};

#[derive(DeriveMigrationName)]
pub struct Migration;

const OF: [&str; 1] = ["commissions"];

/// Commissions neither calculated nor priced: only those left from before this migration.
const UNPRICED: &str = "CREATE INDEX IF NOT EXISTS idx_commissions_unpriced ON commissions (status) \
    WHERE amount IS NULL AND expected_amount IS NULL";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// One transaction on every backend: the triggers are dropped and made again on one
    /// connection, and a failure leaves the old ones in place.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Commissions::Table)
                    .add_column(decimal_len_null(Commissions::ExpectedAmount, 20, 4))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(CommissionDaily::Table)
                    .add_column(big_integer(CommissionDaily::Expected).default(0))
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        drop_triggers(db, &OF).await?;
        for sql in triggers(manager.get_database_backend(), CommissionMeasures::WithExpected, &OF) {
            db.execute_unprepared(&sql).await?;
        }
        db.execute_unprepared(UNPRICED).await?;
        rebuild_as(db, None, CommissionMeasures::WithExpected, &OF).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("DROP INDEX IF EXISTS idx_commissions_unpriced").await?;
        drop_triggers(db, &OF).await?;
        for sql in triggers(manager.get_database_backend(), CommissionMeasures::First, &OF) {
            db.execute_unprepared(&sql).await?;
        }
        manager
            .alter_table(Table::alter().table(CommissionDaily::Table).drop_column(CommissionDaily::Expected).to_owned())
            .await?;
        manager
            .alter_table(Table::alter().table(Commissions::Table).drop_column(Commissions::ExpectedAmount).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Commissions {
    Table,
    ExpectedAmount,
}

#[derive(DeriveIden)]
enum CommissionDaily {
    Table,
    Expected,
}
