//! `api_keys`: keys of machine clients (the shop's server, BI tools, seed-style REST
//! clients). A key is shown once; only its SHA-256 is kept. Rotating keeps the previous
//! secret working until `previous_expires_at`, so a client can be switched without a gap.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ApiKeys::Table)
                    .col(pk_uuid(ApiKeys::Id))
                    .col(string_len(ApiKeys::Name, 100))
                    .col(string_len(ApiKeys::Prefix, 32))
                    .col(string_len_uniq(ApiKeys::SecretHash, 64))
                    .col(string_len_null(ApiKeys::PreviousHash, 64))
                    .col(timestamp_with_time_zone_null(ApiKeys::PreviousExpiresAt))
                    .col(string_len(ApiKeys::Role, 32))
                    .col(uuid_null(ApiKeys::AffiliateId))
                    .col(boolean(ApiKeys::RecordsConversions).default(false))
                    .col(uuid_null(ApiKeys::CreatedBy))
                    .col(timestamp_with_time_zone(ApiKeys::CreatedAt))
                    .col(timestamp_with_time_zone_null(ApiKeys::ExpiresAt))
                    .col(timestamp_with_time_zone_null(ApiKeys::RotatedAt))
                    .col(timestamp_with_time_zone_null(ApiKeys::LastUsedAt))
                    .col(timestamp_with_time_zone_null(ApiKeys::RevokedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_api_keys_affiliate_id")
                            .from(ApiKeys::Table, ApiKeys::AffiliateId)
                            .to(Affiliates::Table, Affiliates::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_api_keys_created_by")
                            .from(ApiKeys::Table, ApiKeys::CreatedBy)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_api_keys_previous_hash")
                    .table(ApiKeys::Table)
                    .col(ApiKeys::PreviousHash)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_api_keys_affiliate_id")
                    .table(ApiKeys::Table)
                    .col(ApiKeys::AffiliateId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(ApiKeys::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum ApiKeys {
    Table,
    Id,
    Name,
    Prefix,
    SecretHash,
    PreviousHash,
    PreviousExpiresAt,
    Role,
    AffiliateId,
    RecordsConversions,
    CreatedBy,
    CreatedAt,
    ExpiresAt,
    RotatedAt,
    LastUsedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum Affiliates {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}
