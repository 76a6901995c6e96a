//! Recurring commissions: the Stripe subscriptions that began with an attributed checkout,
//! each invoice of theirs once (`subscription_invoices`, keyed by Stripe's invoice id), and
//! the campaign's rule for renewals (rate, and for how many months or the lifetime).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Subscriptions::Table)
                    .col(pk_uuid(Subscriptions::Id))
                    .col(string_len_uniq(Subscriptions::StripeSubscriptionId, 255))
                    .col(string_len_null(Subscriptions::StripeCustomerId, 255))
                    .col(uuid_uniq(Subscriptions::OrderId))
                    .col(uuid_null(Subscriptions::AffiliateId))
                    .col(uuid_null(Subscriptions::CampaignId))
                    .col(string_len(Subscriptions::Currency, 3))
                    .col(string_len(Subscriptions::Status, 32))
                    .col(timestamp_with_time_zone(Subscriptions::StartedAt))
                    .col(timestamp_with_time_zone_null(Subscriptions::EarnsUntil))
                    .col(integer(Subscriptions::Renewals).default(0))
                    .col(timestamp_with_time_zone_null(Subscriptions::CanceledAt))
                    .col(timestamp_with_time_zone(Subscriptions::CreatedAt))
                    .col(timestamp_with_time_zone(Subscriptions::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_subscriptions_order_id")
                            .from(Subscriptions::Table, Subscriptions::OrderId)
                            .to(Orders::Table, Orders::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_subscriptions_affiliate_id_started_at")
                    .table(Subscriptions::Table)
                    .col(Subscriptions::AffiliateId)
                    .col(Subscriptions::StartedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_subscriptions_started_at")
                    .table(Subscriptions::Table)
                    .col(Subscriptions::StartedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_subscriptions_status_started_at")
                    .table(Subscriptions::Table)
                    .col(Subscriptions::Status)
                    .col(Subscriptions::StartedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SubscriptionInvoices::Table)
                    .col(string_len(SubscriptionInvoices::StripeInvoiceId, 255).primary_key())
                    .col(uuid(SubscriptionInvoices::SubscriptionId))
                    .col(string_len(SubscriptionInvoices::BillingReason, 64))
                    .col(decimal_len(SubscriptionInvoices::Amount, 20, 4))
                    .col(string_len(SubscriptionInvoices::Currency, 3))
                    .col(string_len(SubscriptionInvoices::Status, 32))
                    .col(string_len(SubscriptionInvoices::Outcome, 32))
                    .col(text_null(SubscriptionInvoices::Reason))
                    .col(uuid_null(SubscriptionInvoices::OrderId))
                    .col(timestamp_with_time_zone(SubscriptionInvoices::OccurredAt))
                    .col(timestamp_with_time_zone(SubscriptionInvoices::CreatedAt))
                    .col(timestamp_with_time_zone(SubscriptionInvoices::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_subscription_invoices_subscription_id")
                            .from(SubscriptionInvoices::Table, SubscriptionInvoices::SubscriptionId)
                            .to(Subscriptions::Table, Subscriptions::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_subscription_invoices_subscription_id_occurred_at")
                    .table(SubscriptionInvoices::Table)
                    .col(SubscriptionInvoices::SubscriptionId)
                    .col(SubscriptionInvoices::OccurredAt)
                    .to_owned(),
            )
            .await?;
        for column in [
            ColumnDef::new(Campaigns::RecurringRate).decimal_len(9, 4).null().to_owned(),
            ColumnDef::new(Campaigns::RecurringMonths).integer().null().to_owned(),
            ColumnDef::new(Campaigns::RecurringLifetime).boolean().not_null().default(false).to_owned(),
        ] {
            manager.alter_table(Table::alter().table(Campaigns::Table).add_column(column).to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [Campaigns::RecurringRate, Campaigns::RecurringMonths, Campaigns::RecurringLifetime] {
            manager.alter_table(Table::alter().table(Campaigns::Table).drop_column(column).to_owned()).await?;
        }
        manager.drop_table(Table::drop().table(SubscriptionInvoices::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Subscriptions::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum Subscriptions {
    Table,
    Id,
    StripeSubscriptionId,
    StripeCustomerId,
    OrderId,
    AffiliateId,
    CampaignId,
    Currency,
    Status,
    StartedAt,
    EarnsUntil,
    Renewals,
    CanceledAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum SubscriptionInvoices {
    Table,
    StripeInvoiceId,
    SubscriptionId,
    BillingReason,
    Amount,
    Currency,
    Status,
    Outcome,
    Reason,
    OrderId,
    OccurredAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Orders {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Campaigns {
    Table,
    RecurringRate,
    RecurringMonths,
    RecurringLifetime,
}
