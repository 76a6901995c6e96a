//! Programme tiers: thresholds on an affiliate's credited sales in a calendar month (UTC),
//! each with the rate sales earn once it is reached and a bonus paid when the month ends
//! at or above it; `tier_awards` holds each bonus once per affiliate, month and tier. An
//! index on commissions by affiliate and creation reads one affiliate's month of sales.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CommissionTiers::Table)
                    .col(pk_uuid(CommissionTiers::Id))
                    .col(string_len(CommissionTiers::Name, 100))
                    .col(string_len(CommissionTiers::Currency, 3))
                    .col(decimal_len(CommissionTiers::MinSales, 20, 4))
                    .col(decimal_len_null(CommissionTiers::Rate, 9, 4))
                    .col(decimal_len_null(CommissionTiers::Bonus, 20, 4))
                    .col(timestamp_with_time_zone(CommissionTiers::CreatedAt))
                    .col(timestamp_with_time_zone(CommissionTiers::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_commission_tiers_currency_min_sales")
                    .table(CommissionTiers::Table)
                    .col(CommissionTiers::Currency)
                    .col(CommissionTiers::MinSales)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(TierAwards::Table)
                    .col(uuid(TierAwards::AffiliateId))
                    .col(string_len(TierAwards::Period, 7))
                    .col(uuid(TierAwards::TierId))
                    .col(decimal_len(TierAwards::Sales, 20, 4))
                    .col(decimal_len(TierAwards::Amount, 20, 4))
                    .col(string_len(TierAwards::Currency, 3))
                    .col(uuid(TierAwards::CommissionId))
                    .col(timestamp_with_time_zone(TierAwards::CreatedAt))
                    .primary_key(
                        Index::create().col(TierAwards::AffiliateId).col(TierAwards::Period).col(TierAwards::TierId),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_tier_awards_period")
                    .table(TierAwards::Table)
                    .col(TierAwards::Period)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_commissions_affiliate_id_created_at")
                    .table(Commissions::Table)
                    .col(Commissions::AffiliateId)
                    .col(Commissions::CreatedAt)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop().name("idx_commissions_affiliate_id_created_at").table(Commissions::Table).to_owned(),
            )
            .await?;
        manager.drop_table(Table::drop().table(TierAwards::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(CommissionTiers::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum CommissionTiers {
    Table,
    Id,
    Name,
    Currency,
    MinSales,
    Rate,
    Bonus,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum TierAwards {
    Table,
    AffiliateId,
    Period,
    TierId,
    Sales,
    Amount,
    Currency,
    CommissionId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Commissions {
    Table,
    AffiliateId,
    CreatedAt,
}
