//! One commission per attribution credit, held by the database: attribution may deliver
//! the same credits twice (a retried event, two replicas), and the second reservation
//! must fail rather than pay the affiliate twice. Clawbacks and commissions made by
//! hand have no credit (NULL), which a unique index allows many times on both backends.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEX: &str = "ux_commissions_credit_id";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create().name(INDEX).table(Commissions::Table).col(Commissions::CreditId).unique().to_owned(),
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
    CreditId,
}
