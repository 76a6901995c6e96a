//! Creates `commissions`. Affiliate commissions (and clawback adjustments).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Commissions::Table)
                    .col(pk_uuid(Commissions::Id))
                    .col(uuid_null(Commissions::ConversionId))
                    .col(uuid_null(Commissions::CreditId))
                    .col(uuid(Commissions::AffiliateId))
                    .col(uuid_null(Commissions::CampaignId))
                    .col(uuid_null(Commissions::PayoutId))
                    .col(uuid_null(Commissions::AdjustsCommissionId))
                    .col(string_len(Commissions::CommissionType, 32))
                    .col(decimal_len(Commissions::BaseAmount, 20, 4))
                    .col(decimal_len_null(Commissions::Rate, 9, 4))
                    .col(decimal_len_null(Commissions::Amount, 20, 4))
                    .col(string_len(Commissions::Currency, 3))
                    .col(string_len(Commissions::Status, 32))
                    .col(json_binary(Commissions::Config))
                    .col(text_null(Commissions::ApprovalComments))
                    .col(string_len_null(Commissions::ApprovalLevel, 64))
                    .col(string_len_null(Commissions::ApprovalPolicy, 64))
                    .col(json_binary(Commissions::ApprovalMetadata))
                    .col(text_null(Commissions::RejectionReason))
                    .col(text_null(Commissions::CancelReason))
                    .col(timestamp_with_time_zone_null(Commissions::CalculatedAt))
                    .col(timestamp_with_time_zone_null(Commissions::ApprovedAt))
                    .col(timestamp_with_time_zone_null(Commissions::PaidAt))
                    .col(timestamp_with_time_zone_null(Commissions::CanceledAt))
                    .col(uuid_null(Commissions::ApprovedBy))
                    .col(integer(Commissions::Version))
                    .col(timestamp_with_time_zone(Commissions::CreatedAt))
                    .col(timestamp_with_time_zone(Commissions::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_commissions_conversion_id")
                            .from(Commissions::Table, Commissions::ConversionId)
                            .to(Conversions::Table, Conversions::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_commissions_credit_id")
                            .from(Commissions::Table, Commissions::CreditId)
                            .to(AttributionCredits::Table, AttributionCredits::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_commissions_affiliate_id")
                            .from(Commissions::Table, Commissions::AffiliateId)
                            .to(Affiliates::Table, Affiliates::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_commissions_campaign_id")
                            .from(Commissions::Table, Commissions::CampaignId)
                            .to(Campaigns::Table, Campaigns::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_commissions_payout_id")
                            .from(Commissions::Table, Commissions::PayoutId)
                            .to(Payouts::Table, Payouts::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_commissions_affiliate_id")
                    .table(Commissions::Table)
                    .col(Commissions::AffiliateId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_commissions_campaign_id")
                    .table(Commissions::Table)
                    .col(Commissions::CampaignId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_commissions_conversion_id")
                    .table(Commissions::Table)
                    .col(Commissions::ConversionId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_commissions_status")
                    .table(Commissions::Table)
                    .col(Commissions::Status)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_commissions_created_at")
                    .table(Commissions::Table)
                    .col(Commissions::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_commissions_payout_id")
                    .table(Commissions::Table)
                    .col(Commissions::PayoutId)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Commissions::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum Commissions {
    Table,
    Id,
    ConversionId,
    CreditId,
    AffiliateId,
    CampaignId,
    PayoutId,
    AdjustsCommissionId,
    CommissionType,
    BaseAmount,
    Rate,
    Amount,
    Currency,
    Status,
    Config,
    ApprovalComments,
    ApprovalLevel,
    ApprovalPolicy,
    ApprovalMetadata,
    RejectionReason,
    CancelReason,
    CalculatedAt,
    ApprovedAt,
    PaidAt,
    CanceledAt,
    ApprovedBy,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Affiliates {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum AttributionCredits {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Campaigns {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Conversions {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Payouts {
    Table,
    Id,
}
