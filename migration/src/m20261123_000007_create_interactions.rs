//! Creates `interactions`. Tracked interactions (touchpoints).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Interactions::Table)
                    .col(pk_uuid(Interactions::Id))
                    .col(string_len(Interactions::ExternalId, 128))
                    .col(string_len(Interactions::Kind, 32))
                    .col(timestamp_with_time_zone(Interactions::OccurredAt))
                    .col(timestamp_with_time_zone(Interactions::ReceivedAt))
                    .col(uuid_null(Interactions::SessionId))
                    .col(uuid_null(Interactions::TrackingLinkId))
                    .col(string_len_null(Interactions::UserId, 128))
                    .col(string_len_null(Interactions::AnonymousId, 128))
                    .col(uuid_null(Interactions::CampaignId))
                    .col(uuid_null(Interactions::AffiliateId))
                    .col(string_len_null(Interactions::CampaignRef, 128))
                    .col(string_len_null(Interactions::AffiliateRef, 128))
                    .col(string_len_null(Interactions::Source, 128))
                    .col(string_len_null(Interactions::Medium, 128))
                    .col(string_len_null(Interactions::Channel, 128))
                    .col(string_len_null(Interactions::Gclid, 255))
                    .col(string_len_null(Interactions::Fbclid, 255))
                    .col(text_null(Interactions::Referrer))
                    .col(text_null(Interactions::UserAgent))
                    .col(string_len_null(Interactions::IpHash, 64))
                    .col(decimal_len_null(Interactions::Value, 20, 4))
                    .col(string_len_null(Interactions::Currency, 3))
                    .col(json_binary(Interactions::Flags))
                    .col(json_binary(Interactions::Payload))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_interactions_session_id")
                            .from(Interactions::Table, Interactions::SessionId)
                            .to(TrackingSessions::Table, TrackingSessions::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_interactions_tracking_link_id")
                            .from(Interactions::Table, Interactions::TrackingLinkId)
                            .to(TrackingLinks::Table, TrackingLinks::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_interactions_campaign_id")
                            .from(Interactions::Table, Interactions::CampaignId)
                            .to(Campaigns::Table, Campaigns::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_interactions_affiliate_id")
                            .from(Interactions::Table, Interactions::AffiliateId)
                            .to(Affiliates::Table, Affiliates::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_interactions_external_id")
                    .table(Interactions::Table)
                    .col(Interactions::ExternalId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_interactions_user_id_occurred_at")
                    .table(Interactions::Table)
                    .col(Interactions::UserId)
                    .col(Interactions::OccurredAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_interactions_anonymous_id_occurred_at")
                    .table(Interactions::Table)
                    .col(Interactions::AnonymousId)
                    .col(Interactions::OccurredAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_interactions_campaign_id")
                    .table(Interactions::Table)
                    .col(Interactions::CampaignId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_interactions_affiliate_id")
                    .table(Interactions::Table)
                    .col(Interactions::AffiliateId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_interactions_occurred_at")
                    .table(Interactions::Table)
                    .col(Interactions::OccurredAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_interactions_ip_hash")
                    .table(Interactions::Table)
                    .col(Interactions::IpHash)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_interactions_session_id")
                    .table(Interactions::Table)
                    .col(Interactions::SessionId)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Interactions::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum Interactions {
    Table,
    Id,
    ExternalId,
    Kind,
    OccurredAt,
    ReceivedAt,
    SessionId,
    TrackingLinkId,
    UserId,
    AnonymousId,
    CampaignId,
    AffiliateId,
    CampaignRef,
    AffiliateRef,
    Source,
    Medium,
    Channel,
    Gclid,
    Fbclid,
    Referrer,
    UserAgent,
    IpHash,
    Value,
    Currency,
    Flags,
    Payload,
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
enum TrackingLinks {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum TrackingSessions {
    Table,
    Id,
}
