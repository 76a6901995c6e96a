//! Creates `identity_links`. Anonymous id -> user id, so a journey sees the anonymous history.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(IdentityLinks::Table)
                    .col(string_len(IdentityLinks::AnonymousId, 128).primary_key())
                    .col(string_len(IdentityLinks::UserId, 128))
                    .col(timestamp_with_time_zone(IdentityLinks::LinkedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_identity_links_user_id")
                    .table(IdentityLinks::Table)
                    .col(IdentityLinks::UserId)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(IdentityLinks::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum IdentityLinks {
    Table,
    AnonymousId,
    UserId,
    LinkedAt,
}
