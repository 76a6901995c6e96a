//! Creates `orders`. Checkout orders (seed 001 `ORDERS`; column names kept).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Orders::Table)
                    .col(pk_uuid(Orders::Id))
                    .col(uuid_null(Orders::EventId))
                    .col(uuid_null(Orders::ClickId))
                    .col(string_len(Orders::StripeSessionId, 255))
                    .col(string_len_null(Orders::PaymentIntentId, 255))
                    .col(decimal_len(Orders::Amount, 20, 4))
                    .col(decimal_len(Orders::RefundedAmount, 20, 4))
                    .col(string_len(Orders::Currency, 3))
                    .col(string_len(Orders::Status, 32))
                    .col(string_len_null(Orders::CustomerEmailHash, 64))
                    .col(string_len_null(Orders::CustomerPhoneHash, 64))
                    .col(string_len_null(Orders::Gclid, 255))
                    .col(string_len_null(Orders::Fbclid, 255))
                    .col(string_len_null(Orders::Campaign, 255))
                    .col(string_len_null(Orders::Source, 255))
                    .col(string_len_null(Orders::ProductId, 255))
                    .col(uuid_null(Orders::CampaignId))
                    .col(uuid_null(Orders::AffiliateId))
                    .col(json_binary(Orders::Metadata))
                    .col(string_len_null(Orders::PipedriveDealId, 64))
                    .col(timestamp_with_time_zone(Orders::CreatedAt))
                    .col(timestamp_with_time_zone(Orders::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_orders_event_id")
                            .from(Orders::Table, Orders::EventId)
                            .to(TrackingSessions::Table, TrackingSessions::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_orders_campaign_id")
                            .from(Orders::Table, Orders::CampaignId)
                            .to(Campaigns::Table, Campaigns::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_orders_affiliate_id")
                            .from(Orders::Table, Orders::AffiliateId)
                            .to(Affiliates::Table, Affiliates::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_orders_stripe_session_id")
                    .table(Orders::Table)
                    .col(Orders::StripeSessionId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("idx_orders_event_id").table(Orders::Table).col(Orders::EventId).to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("idx_orders_created_at").table(Orders::Table).col(Orders::CreatedAt).to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_orders_payment_intent_id")
                    .table(Orders::Table)
                    .col(Orders::PaymentIntentId)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Orders::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum Orders {
    Table,
    Id,
    EventId,
    ClickId,
    StripeSessionId,
    PaymentIntentId,
    Amount,
    RefundedAmount,
    Currency,
    Status,
    CustomerEmailHash,
    CustomerPhoneHash,
    Gclid,
    Fbclid,
    Campaign,
    Source,
    ProductId,
    CampaignId,
    AffiliateId,
    Metadata,
    PipedriveDealId,
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
enum TrackingSessions {
    Table,
    Id,
}
