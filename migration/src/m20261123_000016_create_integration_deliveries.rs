//! Creates `integration_deliveries`. Outgoing deliveries of orders to external integrations (retry queue).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(IntegrationDeliveries::Table)
                    .col(pk_uuid(IntegrationDeliveries::Id))
                    .col(uuid(IntegrationDeliveries::OrderId))
                    .col(string_len(IntegrationDeliveries::Integration, 32))
                    .col(string_len(IntegrationDeliveries::EventKind, 32))
                    .col(string_len(IntegrationDeliveries::Status, 32))
                    .col(integer(IntegrationDeliveries::Attempts))
                    .col(integer(IntegrationDeliveries::MaxAttempts))
                    .col(timestamp_with_time_zone(IntegrationDeliveries::NextAttemptAt))
                    .col(timestamp_with_time_zone_null(IntegrationDeliveries::LockedUntil))
                    .col(text_null(IntegrationDeliveries::LastError))
                    .col(integer_null(IntegrationDeliveries::LastHttpStatus))
                    .col(timestamp_with_time_zone(IntegrationDeliveries::CreatedAt))
                    .col(timestamp_with_time_zone(IntegrationDeliveries::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_integration_deliveries_order_id")
                            .from(IntegrationDeliveries::Table, IntegrationDeliveries::OrderId)
                            .to(Orders::Table, Orders::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_integration_deliveries_order_integration_kind")
                    .table(IntegrationDeliveries::Table)
                    .col(IntegrationDeliveries::OrderId)
                    .col(IntegrationDeliveries::Integration)
                    .col(IntegrationDeliveries::EventKind)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_integration_deliveries_status_next")
                    .table(IntegrationDeliveries::Table)
                    .col(IntegrationDeliveries::Status)
                    .col(IntegrationDeliveries::NextAttemptAt)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(IntegrationDeliveries::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum IntegrationDeliveries {
    Table,
    Id,
    OrderId,
    Integration,
    EventKind,
    Status,
    Attempts,
    MaxAttempts,
    NextAttemptAt,
    LockedUntil,
    LastError,
    LastHttpStatus,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Orders {
    Table,
    Id,
}
