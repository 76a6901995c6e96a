//! The fraud check's usual order value (the median of a campaign's latest attributed or
//! refunded sales in one currency) reads each status's latest sales from an index on
//! (campaign, currency, status, newest first). With the (campaign, newest first) index it
//! walked every sale of the campaign to keep those two statuses: a campaign whose sales
//! are mostly unattributed made each attribution read all of them, and each one slower
//! than the last.

use sea_orm_migration::prelude::*;

use crate::m20261204_000002_create_list_indexes::{create_indexes, drop_indexes};

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEXES: [(&str, &str, &[&str]); 1] = [(
    "idx_conversions_campaign_currency_status_occurred_at_id",
    "conversions",
    &["campaign_id", "currency", "status", "occurred_at", "id"],
)];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_indexes(manager, &INDEXES).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_indexes(manager, &INDEXES).await
    }
}
