//! Creates `outbox_events`. Transactional outbox of domain events.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(OutboxEvents::Table)
                    .col(big_integer(OutboxEvents::Seq).auto_increment().primary_key())
                    .col(uuid(OutboxEvents::Id))
                    .col(string_len(OutboxEvents::Topic, 64))
                    .col(string_len(OutboxEvents::EventType, 64))
                    .col(string_len(OutboxEvents::AggregateType, 64))
                    .col(string_len(OutboxEvents::AggregateId, 128))
                    .col(uuid_null(OutboxEvents::AffiliateId))
                    .col(json_binary(OutboxEvents::Payload))
                    .col(timestamp_with_time_zone(OutboxEvents::CreatedAt))
                    .col(timestamp_with_time_zone_null(OutboxEvents::PublishedAt))
                    .col(timestamp_with_time_zone_null(OutboxEvents::NatsPublishedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_outbox_events_id")
                    .table(OutboxEvents::Table)
                    .col(OutboxEvents::Id)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_outbox_events_published_at")
                    .table(OutboxEvents::Table)
                    .col(OutboxEvents::PublishedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_outbox_events_nats_published_at")
                    .table(OutboxEvents::Table)
                    .col(OutboxEvents::NatsPublishedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_outbox_events_topic")
                    .table(OutboxEvents::Table)
                    .col(OutboxEvents::Topic)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(OutboxEvents::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum OutboxEvents {
    Table,
    Seq,
    Id,
    Topic,
    EventType,
    AggregateType,
    AggregateId,
    AffiliateId,
    Payload,
    CreatedAt,
    PublishedAt,
    NatsPublishedAt,
}
