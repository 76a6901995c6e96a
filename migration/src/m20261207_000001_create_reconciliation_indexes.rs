//! Reconciliation reads the clawbacks of each paid commission it checks and the payouts of
//! a period: without these indexes each of those would read every commission or payout.

use sea_orm_migration::prelude::*;

use crate::m20261204_000002_create_list_indexes::{create_indexes, drop_indexes};

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEXES: [(&str, &str, &[&str]); 2] = [
    ("idx_commissions_adjusts_commission_id", "commissions", &["adjusts_commission_id"]),
    ("idx_payouts_created_at", "payouts", &["created_at"]),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_indexes(manager, &INDEXES).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_indexes(manager, &INDEXES).await
    }
}
