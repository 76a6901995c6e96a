//! The conversions and commissions lists filtered by status, campaign or affiliate (the
//! admin app's work lists, an affiliate's own lists) read their page in order from an index
//! on (filter, newest first) instead of sorting every row that matches.

use sea_orm_migration::prelude::*;

use crate::m20261204_000002_create_list_indexes::{create_indexes, drop_indexes};

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEXES: [(&str, &str, &[&str]); 6] = [
    ("idx_commissions_status_created_at_id", "commissions", &["status", "created_at", "id"]),
    ("idx_commissions_affiliate_created_at_id", "commissions", &["affiliate_id", "created_at", "id"]),
    ("idx_commissions_campaign_created_at_id", "commissions", &["campaign_id", "created_at", "id"]),
    ("idx_conversions_status_occurred_at_id", "conversions", &["status", "occurred_at", "id"]),
    ("idx_conversions_affiliate_occurred_at_id", "conversions", &["affiliate_id", "occurred_at", "id"]),
    ("idx_conversions_campaign_occurred_at_id", "conversions", &["campaign_id", "occurred_at", "id"]),
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
