//! Creates `conversions`. Registered conversions (sales, leads, ...).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Conversions::Table)
                    .col(pk_uuid(Conversions::Id))
                    .col(string_len_null(Conversions::ExternalId, 128))
                    .col(uuid_null(Conversions::OrderId))
                    .col(uuid_null(Conversions::InteractionId))
                    .col(string_len(Conversions::ConversionType, 32))
                    .col(decimal_len(Conversions::Value, 20, 4))
                    .col(string_len(Conversions::Currency, 3))
                    .col(string_len_null(Conversions::Channel, 64))
                    .col(uuid_null(Conversions::CampaignId))
                    .col(uuid_null(Conversions::AffiliateId))
                    .col(string_len_null(Conversions::UserId, 128))
                    .col(string_len_null(Conversions::AnonymousId, 128))
                    .col(string_len_null(Conversions::CustomerEmailHash, 64))
                    .col(json_binary(Conversions::Customer))
                    .col(json_binary(Conversions::Products))
                    .col(json_binary(Conversions::Metadata))
                    .col(string_len(Conversions::Status, 32))
                    .col(integer(Conversions::FraudScore))
                    .col(json_binary(Conversions::FraudSignals))
                    .col(timestamp_with_time_zone(Conversions::OccurredAt))
                    .col(timestamp_with_time_zone(Conversions::CreatedAt))
                    .col(timestamp_with_time_zone(Conversions::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_conversions_order_id")
                            .from(Conversions::Table, Conversions::OrderId)
                            .to(Orders::Table, Orders::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_conversions_interaction_id")
                            .from(Conversions::Table, Conversions::InteractionId)
                            .to(Interactions::Table, Interactions::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_conversions_campaign_id")
                            .from(Conversions::Table, Conversions::CampaignId)
                            .to(Campaigns::Table, Campaigns::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_conversions_affiliate_id")
                            .from(Conversions::Table, Conversions::AffiliateId)
                            .to(Affiliates::Table, Affiliates::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_conversions_external_id")
                    .table(Conversions::Table)
                    .col(Conversions::ExternalId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_conversions_order_id")
                    .table(Conversions::Table)
                    .col(Conversions::OrderId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_conversions_campaign_id")
                    .table(Conversions::Table)
                    .col(Conversions::CampaignId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_conversions_affiliate_id")
                    .table(Conversions::Table)
                    .col(Conversions::AffiliateId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_conversions_occurred_at")
                    .table(Conversions::Table)
                    .col(Conversions::OccurredAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_conversions_status")
                    .table(Conversions::Table)
                    .col(Conversions::Status)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Conversions::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum Conversions {
    Table,
    Id,
    ExternalId,
    OrderId,
    InteractionId,
    ConversionType,
    Value,
    Currency,
    Channel,
    CampaignId,
    AffiliateId,
    UserId,
    AnonymousId,
    CustomerEmailHash,
    Customer,
    Products,
    Metadata,
    Status,
    FraudScore,
    FraudSignals,
    OccurredAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Affiliates {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Campaigns {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Interactions {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Orders {
    Table,
    Id,
}
