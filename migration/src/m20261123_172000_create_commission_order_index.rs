//! `idx_commissions_created_at_id`: the commission lists' order (newest first, id as the
//! tie-break), so a page is read from the index instead of sorting every commission.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEX: &str = "idx_commissions_created_at_id";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(INDEX)
                    .table(Commissions::Table)
                    .col(Commissions::CreatedAt)
                    .col(Commissions::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name(INDEX).table(Commissions::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum Commissions {
    Table,
    CreatedAt,
    Id,
}
