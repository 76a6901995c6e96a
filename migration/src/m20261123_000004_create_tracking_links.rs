//! Creates `tracking_links`. Short tracking links of an affiliate for a campaign.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(TrackingLinks::Table)
                    .col(pk_uuid(TrackingLinks::Id))
                    .col(string_len(TrackingLinks::Code, 64))
                    .col(uuid(TrackingLinks::AffiliateId))
                    .col(uuid(TrackingLinks::CampaignId))
                    .col(text(TrackingLinks::DestinationUrl))
                    .col(uuid_null(TrackingLinks::CreatedBy))
                    .col(timestamp_with_time_zone(TrackingLinks::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_tracking_links_affiliate_id")
                            .from(TrackingLinks::Table, TrackingLinks::AffiliateId)
                            .to(Affiliates::Table, Affiliates::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_tracking_links_campaign_id")
                            .from(TrackingLinks::Table, TrackingLinks::CampaignId)
                            .to(Campaigns::Table, Campaigns::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_tracking_links_code")
                    .table(TrackingLinks::Table)
                    .col(TrackingLinks::Code)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_tracking_links_affiliate_id")
                    .table(TrackingLinks::Table)
                    .col(TrackingLinks::AffiliateId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_tracking_links_campaign_id")
                    .table(TrackingLinks::Table)
                    .col(TrackingLinks::CampaignId)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(TrackingLinks::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum TrackingLinks {
    Table,
    Id,
    Code,
    AffiliateId,
    CampaignId,
    DestinationUrl,
    CreatedBy,
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
