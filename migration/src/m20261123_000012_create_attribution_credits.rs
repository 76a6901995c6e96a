//! Creates `attribution_credits`. Credit given to one touchpoint of a journey.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AttributionCredits::Table)
                    .col(pk_uuid(AttributionCredits::Id))
                    .col(uuid(AttributionCredits::JourneyId))
                    .col(uuid(AttributionCredits::ConversionId))
                    .col(uuid_null(AttributionCredits::InteractionId))
                    .col(integer(AttributionCredits::Position))
                    .col(uuid_null(AttributionCredits::CampaignId))
                    .col(uuid_null(AttributionCredits::AffiliateId))
                    .col(string_len_null(AttributionCredits::Channel, 128))
                    .col(string_len(AttributionCredits::Model, 32))
                    .col(decimal_len(AttributionCredits::Weight, 20, 12))
                    .col(decimal_len(AttributionCredits::Amount, 20, 4))
                    .col(string_len(AttributionCredits::Currency, 3))
                    .col(boolean(AttributionCredits::IsCurrent))
                    .col(timestamp_with_time_zone(AttributionCredits::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_attribution_credits_journey_id")
                            .from(AttributionCredits::Table, AttributionCredits::JourneyId)
                            .to(Journeys::Table, Journeys::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_attribution_credits_conversion_id")
                            .from(AttributionCredits::Table, AttributionCredits::ConversionId)
                            .to(Conversions::Table, Conversions::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_attribution_credits_interaction_id")
                            .from(AttributionCredits::Table, AttributionCredits::InteractionId)
                            .to(Interactions::Table, Interactions::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_attribution_credits_campaign_id")
                            .from(AttributionCredits::Table, AttributionCredits::CampaignId)
                            .to(Campaigns::Table, Campaigns::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_attribution_credits_affiliate_id")
                            .from(AttributionCredits::Table, AttributionCredits::AffiliateId)
                            .to(Affiliates::Table, Affiliates::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_attribution_credits_journey_id")
                    .table(AttributionCredits::Table)
                    .col(AttributionCredits::JourneyId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_attribution_credits_conversion_id")
                    .table(AttributionCredits::Table)
                    .col(AttributionCredits::ConversionId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_attribution_credits_campaign_id")
                    .table(AttributionCredits::Table)
                    .col(AttributionCredits::CampaignId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_attribution_credits_affiliate_id")
                    .table(AttributionCredits::Table)
                    .col(AttributionCredits::AffiliateId)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(AttributionCredits::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum AttributionCredits {
    Table,
    Id,
    JourneyId,
    ConversionId,
    InteractionId,
    Position,
    CampaignId,
    AffiliateId,
    Channel,
    Model,
    Weight,
    Amount,
    Currency,
    IsCurrent,
    CreatedAt,
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
enum Conversions {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Interactions {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Journeys {
    Table,
    Id,
}
