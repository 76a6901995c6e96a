//! Creates `integrations_log`. Log of calls to external integrations (seed 001 `INTEGRATIONS_LOG`; names kept).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(IntegrationsLog::Table)
                    .col(pk_uuid(IntegrationsLog::Id))
                    .col(uuid_null(IntegrationsLog::DeliveryId))
                    .col(string_len(IntegrationsLog::Integration, 32))
                    .col(string_len(IntegrationsLog::ReferenceId, 255))
                    .col(string_len(IntegrationsLog::Status, 32))
                    .col(integer_null(IntegrationsLog::HttpStatus))
                    .col(integer_null(IntegrationsLog::LatencyMs))
                    .col(json_binary(IntegrationsLog::RequestPayload))
                    .col(json_binary_null(IntegrationsLog::ResponsePayload))
                    .col(text_null(IntegrationsLog::ErrorMessage))
                    .col(timestamp_with_time_zone(IntegrationsLog::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_integrations_log_delivery_id")
                            .from(IntegrationsLog::Table, IntegrationsLog::DeliveryId)
                            .to(IntegrationDeliveries::Table, IntegrationDeliveries::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_integrations_log_created_at")
                    .table(IntegrationsLog::Table)
                    .col(IntegrationsLog::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_integrations_log_integration")
                    .table(IntegrationsLog::Table)
                    .col(IntegrationsLog::Integration)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_integrations_log_reference_id")
                    .table(IntegrationsLog::Table)
                    .col(IntegrationsLog::ReferenceId)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(IntegrationsLog::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum IntegrationsLog {
    Table,
    Id,
    DeliveryId,
    Integration,
    ReferenceId,
    Status,
    HttpStatus,
    LatencyMs,
    RequestPayload,
    ResponsePayload,
    ErrorMessage,
    CreatedAt,
}

#[derive(DeriveIden)]
enum IntegrationDeliveries {
    Table,
    Id,
}
