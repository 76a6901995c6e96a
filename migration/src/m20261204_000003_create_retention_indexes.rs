//! Indexes on the columns that name an interaction (`conversions.interaction_id`,
//! `attribution_credits.interaction_id`): deleting interactions past their retention sets
//! those links to NULL, which without them reads every conversion and credit per deleted
//! interaction.

use sea_orm_migration::prelude::*;

use crate::m20261204_000002_create_list_indexes::{create_indexes, drop_indexes};

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEXES: [(&str, &str, &[&str]); 2] = [
    ("idx_conversions_interaction_id", "conversions", &["interaction_id"]),
    ("idx_attribution_credits_interaction_id", "attribution_credits", &["interaction_id"]),
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
