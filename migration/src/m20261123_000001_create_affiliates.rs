//! Creates `affiliates`. Partner (affiliate) accounts.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Affiliates::Table)
                    .col(pk_uuid(Affiliates::Id))
                    .col(string_len(Affiliates::Code, 64))
                    .col(string_len(Affiliates::Name, 200))
                    .col(string_len(Affiliates::Email, 320))
                    .col(string_len_null(Affiliates::Phone, 40))
                    .col(string_len_null(Affiliates::DocumentType, 40))
                    .col(string_len_null(Affiliates::DocumentNumber, 64))
                    .col(string_len(Affiliates::Tier, 32))
                    .col(string_len_null(Affiliates::BankName, 120))
                    .col(string_len_null(Affiliates::BankAccountType, 40))
                    .col(string_len_null(Affiliates::BankAccountNumber, 64))
                    .col(decimal_len(Affiliates::BaseRate, 9, 4))
                    .col(decimal_len_null(Affiliates::PremiumRate, 9, 4))
                    .col(decimal_len(Affiliates::MinimumPayout, 20, 4))
                    .col(string_len(Affiliates::PayoutCurrency, 3))
                    .col(string_len(Affiliates::Status, 32))
                    .col(timestamp_with_time_zone_null(Affiliates::DeletedAt))
                    .col(timestamp_with_time_zone(Affiliates::CreatedAt))
                    .col(timestamp_with_time_zone(Affiliates::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_affiliates_code")
                    .table(Affiliates::Table)
                    .col(Affiliates::Code)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_affiliates_email")
                    .table(Affiliates::Table)
                    .col(Affiliates::Email)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_affiliates_status")
                    .table(Affiliates::Table)
                    .col(Affiliates::Status)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_affiliates_created_at")
                    .table(Affiliates::Table)
                    .col(Affiliates::CreatedAt)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Affiliates::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum Affiliates {
    Table,
    Id,
    Code,
    Name,
    Email,
    Phone,
    DocumentType,
    DocumentNumber,
    Tier,
    BankName,
    BankAccountType,
    BankAccountNumber,
    BaseRate,
    PremiumRate,
    MinimumPayout,
    PayoutCurrency,
    Status,
    DeletedAt,
    CreatedAt,
    UpdatedAt,
}
