//! `idx_commissions_status_created_at_id`: the commissions list filtered by status (the
//! admin app's work lists) reads its page in order from the index instead of sorting every
//! commission of that status.

use sea_orm_migration::prelude::*;

use crate::m20261204_000002_create_list_indexes::{create_indexes, drop_indexes};

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEXES: [(&str, &str, &[&str]); 1] =
    [("idx_commissions_status_created_at_id", "commissions", &["status", "created_at", "id"])];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_indexes(manager, &INDEXES).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_indexes(manager, &INDEXES).await
    }
}
