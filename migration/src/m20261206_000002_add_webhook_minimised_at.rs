//! `stripe_webhook_events.minimised_at`: when the event's raw personal data (customer name,
//! email, phone, address, IPs) was replaced by hashes. Raw events are kept only as long as
//! deliveries may need them (`ALPES_STRIPE_RAW_DAYS`); the index finds those still raw.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(StripeWebhookEvents::Table)
                    .add_column(timestamp_with_time_zone_null(StripeWebhookEvents::MinimisedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_stripe_webhook_events_minimised_at_received_at")
                    .table(StripeWebhookEvents::Table)
                    .col(StripeWebhookEvents::MinimisedAt)
                    .col(StripeWebhookEvents::ReceivedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_stripe_webhook_events_minimised_at_received_at")
                    .table(StripeWebhookEvents::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(StripeWebhookEvents::Table)
                    .drop_column(StripeWebhookEvents::MinimisedAt)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum StripeWebhookEvents {
    Table,
    MinimisedAt,
    ReceivedAt,
}
