//! Creates `journeys`. Attribution journey of one conversion.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Journeys::Table)
                    .col(pk_uuid(Journeys::Id))
                    .col(uuid(Journeys::ConversionId))
                    .col(string_len_null(Journeys::UserId, 128))
                    .col(string_len_null(Journeys::AnonymousId, 128))
                    .col(string_len(Journeys::Model, 32))
                    .col(integer(Journeys::LookbackDays))
                    .col(string_len(Journeys::Status, 32))
                    .col(json_binary(Journeys::Touchpoints))
                    .col(timestamp_with_time_zone(Journeys::CreatedAt))
                    .col(timestamp_with_time_zone(Journeys::UpdatedAt))
                    .col(timestamp_with_time_zone_null(Journeys::RevertedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_journeys_conversion_id")
                            .from(Journeys::Table, Journeys::ConversionId)
                            .to(Conversions::Table, Conversions::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_journeys_conversion_id")
                    .table(Journeys::Table)
                    .col(Journeys::ConversionId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Journeys::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum Journeys {
    Table,
    Id,
    ConversionId,
    UserId,
    AnonymousId,
    Model,
    LookbackDays,
    Status,
    Touchpoints,
    CreatedAt,
    UpdatedAt,
    RevertedAt,
}

#[derive(DeriveIden)]
enum Conversions {
    Table,
    Id,
}
