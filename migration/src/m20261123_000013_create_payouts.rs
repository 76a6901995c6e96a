//! Creates `payouts`. Payouts to affiliates (groups paid commissions).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Payouts::Table)
                    .col(pk_uuid(Payouts::Id))
                    .col(uuid(Payouts::AffiliateId))
                    .col(decimal_len(Payouts::Amount, 20, 4))
                    .col(string_len(Payouts::Currency, 3))
                    .col(string_len(Payouts::Status, 32))
                    .col(integer(Payouts::CommissionCount))
                    .col(uuid_null(Payouts::CreatedBy))
                    .col(timestamp_with_time_zone(Payouts::CreatedAt))
                    .col(timestamp_with_time_zone_null(Payouts::PaidAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_payouts_affiliate_id")
                            .from(Payouts::Table, Payouts::AffiliateId)
                            .to(Affiliates::Table, Affiliates::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_payouts_affiliate_id")
                    .table(Payouts::Table)
                    .col(Payouts::AffiliateId)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Payouts::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum Payouts {
    Table,
    Id,
    AffiliateId,
    Amount,
    Currency,
    Status,
    CommissionCount,
    CreatedBy,
    CreatedAt,
    PaidAt,
}

#[derive(DeriveIden)]
enum Affiliates {
    Table,
    Id,
}
