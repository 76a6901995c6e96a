//! Creates `tracking_sessions`. Browser tracking sessions (seed 001 `tracking_session`).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(TrackingSessions::Table)
                    .col(pk_uuid(TrackingSessions::Id))
                    .col(string_len_null(TrackingSessions::AnonymousId, 128))
                    .col(string_len_null(TrackingSessions::UserId, 128))
                    .col(string_len_null(TrackingSessions::UtmSource, 255))
                    .col(string_len_null(TrackingSessions::UtmMedium, 255))
                    .col(string_len_null(TrackingSessions::UtmCampaign, 255))
                    .col(string_len_null(TrackingSessions::UtmTerm, 255))
                    .col(string_len_null(TrackingSessions::UtmContent, 255))
                    .col(string_len_null(TrackingSessions::Gclid, 255))
                    .col(string_len_null(TrackingSessions::Fbclid, 255))
                    .col(text_null(TrackingSessions::LandingPath))
                    .col(text_null(TrackingSessions::Referrer))
                    .col(text_null(TrackingSessions::UserAgent))
                    .col(string_len_null(TrackingSessions::IpHash, 64))
                    .col(timestamp_with_time_zone(TrackingSessions::CreatedAt))
                    .col(timestamp_with_time_zone(TrackingSessions::LastSeenAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_tracking_sessions_created_at")
                    .table(TrackingSessions::Table)
                    .col(TrackingSessions::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_tracking_sessions_anonymous_id")
                    .table(TrackingSessions::Table)
                    .col(TrackingSessions::AnonymousId)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(TrackingSessions::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum TrackingSessions {
    Table,
    Id,
    AnonymousId,
    UserId,
    UtmSource,
    UtmMedium,
    UtmCampaign,
    UtmTerm,
    UtmContent,
    Gclid,
    Fbclid,
    LandingPath,
    Referrer,
    UserAgent,
    IpHash,
    CreatedAt,
    LastSeenAt,
}
