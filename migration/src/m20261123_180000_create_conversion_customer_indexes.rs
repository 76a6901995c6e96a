//! `idx_conversions_customer_email_hash`, `idx_conversions_user_id`: attribution looks for
//! a duplicate conversion of the same customer (email hash or user id) minutes earlier,
//! once per conversion; without these it would read every conversion.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const EMAIL: &str = "idx_conversions_customer_email_hash";
const USER: &str = "idx_conversions_user_id";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(EMAIL)
                    .table(Conversions::Table)
                    .col(Conversions::CustomerEmailHash)
                    .col(Conversions::OccurredAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(USER)
                    .table(Conversions::Table)
                    .col(Conversions::UserId)
                    .col(Conversions::OccurredAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name(USER).table(Conversions::Table).to_owned()).await?;
        manager.drop_index(Index::drop().name(EMAIL).table(Conversions::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum Conversions {
    Table,
    CustomerEmailHash,
    UserId,
    OccurredAt,
}
