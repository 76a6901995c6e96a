//! Reconciliation reads the clawbacks of each paid commission it checks and the payouts of
//! a period: without these indexes each of those would read every commission or payout.
//! The clawback index holds only clawbacks (partial): with every other commission's NULL
//! in it, the planner would judge a look-up by it no better than a scan.

use sea_orm_migration::prelude::*;

use crate::m20261204_000002_create_list_indexes::{create_indexes, drop_indexes};

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEXES: [(&str, &str, &[&str]); 1] = [("idx_payouts_created_at", "payouts", &["created_at"])];

const CLAWBACKS: &str = "CREATE INDEX IF NOT EXISTS idx_commissions_adjusts_commission_id \
    ON commissions (adjusts_commission_id) WHERE adjusts_commission_id IS NOT NULL";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_indexes(manager, &INDEXES).await?;
        manager.get_connection().execute_unprepared(CLAWBACKS).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP INDEX IF EXISTS idx_commissions_adjusts_commission_id")
            .await?;
        drop_indexes(manager, &INDEXES).await
    }
}
