//! Creates `campaigns`. Marketing campaigns with their commission and attribution settings.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Campaigns::Table)
                    .col(pk_uuid(Campaigns::Id))
                    .col(string_len(Campaigns::Code, 64))
                    .col(string_len(Campaigns::Name, 200))
                    .col(text_null(Campaigns::Description))
                    .col(timestamp_with_time_zone(Campaigns::StartsAt))
                    .col(timestamp_with_time_zone_null(Campaigns::EndsAt))
                    .col(decimal_len_null(Campaigns::Budget, 20, 4))
                    .col(string_len(Campaigns::Currency, 3))
                    .col(string_len(Campaigns::CampaignType, 40))
                    .col(json_binary(Campaigns::Channels))
                    .col(json_binary(Campaigns::Targeting))
                    .col(decimal_len_null(Campaigns::ConversionRate, 9, 4))
                    .col(decimal_len_null(Campaigns::SaleRate, 9, 4))
                    .col(decimal_len_null(Campaigns::BonusTargets, 9, 4))
                    .col(string_len(Campaigns::CommissionType, 32))
                    .col(decimal_len_null(Campaigns::FlatAmount, 20, 4))
                    .col(string_len(Campaigns::AttributionModel, 32))
                    .col(integer(Campaigns::LookbackDays))
                    .col(string_len(Campaigns::Status, 32))
                    .col(timestamp_with_time_zone(Campaigns::CreatedAt))
                    .col(timestamp_with_time_zone(Campaigns::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_campaigns_code")
                    .table(Campaigns::Table)
                    .col(Campaigns::Code)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("idx_campaigns_status").table(Campaigns::Table).col(Campaigns::Status).to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Campaigns::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum Campaigns {
    Table,
    Id,
    Code,
    Name,
    Description,
    StartsAt,
    EndsAt,
    Budget,
    Currency,
    CampaignType,
    Channels,
    Targeting,
    ConversionRate,
    SaleRate,
    BonusTargets,
    CommissionType,
    FlatAmount,
    AttributionModel,
    LookbackDays,
    Status,
    CreatedAt,
    UpdatedAt,
}
