//! Creates `stripe_webhook_events`. Received Stripe webhook events (seed 001 `STRIPE_WEBHOOK_EVENT`).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(StripeWebhookEvents::Table)
                    .col(string_len(StripeWebhookEvents::StripeEventId, 255).primary_key())
                    .col(string_len(StripeWebhookEvents::EventType, 128))
                    .col(boolean(StripeWebhookEvents::Livemode))
                    .col(string_len(StripeWebhookEvents::Status, 32))
                    .col(text_null(StripeWebhookEvents::Error))
                    .col(integer(StripeWebhookEvents::Attempts))
                    .col(json_binary(StripeWebhookEvents::Payload))
                    .col(timestamp_with_time_zone(StripeWebhookEvents::ReceivedAt))
                    .col(timestamp_with_time_zone_null(StripeWebhookEvents::ProcessedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_stripe_webhook_events_received_at")
                    .table(StripeWebhookEvents::Table)
                    .col(StripeWebhookEvents::ReceivedAt)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(StripeWebhookEvents::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum StripeWebhookEvents {
    Table,
    StripeEventId,
    EventType,
    Livemode,
    Status,
    Error,
    Attempts,
    Payload,
    ReceivedAt,
    ProcessedAt,
}
