//! An affiliate's commissions and conversions of one status (the commissions page filtered
//! by affiliate and status, an affiliate's own work list) read their page in order from an
//! index on (affiliate, status, newest first): with a million commissions, the
//! (affiliate, newest first) index alone read every commission of the affiliate to keep
//! those of the status (150 ms for one busy affiliate).

use sea_orm_migration::prelude::*;

use crate::m20261204_000002_create_list_indexes::{create_indexes, drop_indexes};

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEXES: [(&str, &str, &[&str]); 2] = [
    ("idx_commissions_affiliate_status_created_at_id", "commissions", &["affiliate_id", "status", "created_at", "id"]),
    (
        "idx_conversions_affiliate_status_occurred_at_id",
        "conversions",
        &["affiliate_id", "status", "occurred_at", "id"],
    ),
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
