//! Two indexes on `commissions`:
//! - `ux_commissions_credit_id`: one commission per attribution credit, held by the
//!   database. Attribution may deliver the same credits twice (a retried event, two
//!   replicas); the second reservation must fail rather than pay the affiliate twice.
//!   Clawbacks and commissions made by hand have no credit (NULL), which a unique index
//!   allows many times on both backends.
//! - `idx_commissions_created_at_id`: the lists' order (newest first, id as tie-break),
//!   so a page is read from the index instead of sorting every commission.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const CREDIT_INDEX: &str = "ux_commissions_credit_id";
const ORDER_INDEX: &str = "idx_commissions_created_at_id";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(CREDIT_INDEX)
                    .table(Commissions::Table)
                    .col(Commissions::CreditId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(ORDER_INDEX)
                    .table(Commissions::Table)
                    .col(Commissions::CreatedAt)
                    .col(Commissions::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name(ORDER_INDEX).table(Commissions::Table).to_owned()).await?;
        manager.drop_index(Index::drop().name(CREDIT_INDEX).table(Commissions::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum Commissions {
    Table,
    CreditId,
    CreatedAt,
    Id,
}
