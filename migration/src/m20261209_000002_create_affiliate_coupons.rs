//! `affiliate_coupons`: an affiliate's coupon / promotion codes. A checkout that used one
//! (Stripe `discounts[].promotion_code`, or the code in its metadata) credits its affiliate
//! even without a click; `orders.coupon_id` keeps which one, for the usage report.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AffiliateCoupons::Table)
                    .col(pk_uuid(AffiliateCoupons::Id))
                    .col(uuid(AffiliateCoupons::AffiliateId))
                    .col(string_len_uniq(AffiliateCoupons::Code, 64))
                    .col(string_len_null(AffiliateCoupons::StripePromotionCode, 255).unique_key())
                    .col(uuid_null(AffiliateCoupons::CampaignId))
                    .col(uuid_null(AffiliateCoupons::CreatedBy))
                    .col(timestamp_with_time_zone(AffiliateCoupons::CreatedAt))
                    .col(timestamp_with_time_zone_null(AffiliateCoupons::DeactivatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_affiliate_coupons_affiliate_id")
                            .from(AffiliateCoupons::Table, AffiliateCoupons::AffiliateId)
                            .to(Affiliates::Table, Affiliates::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_affiliate_coupons_campaign_id")
                            .from(AffiliateCoupons::Table, AffiliateCoupons::CampaignId)
                            .to(Campaigns::Table, Campaigns::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_affiliate_coupons_affiliate_id")
                    .table(AffiliateCoupons::Table)
                    .col(AffiliateCoupons::AffiliateId)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(Table::alter().table(Orders::Table).add_column(uuid_null(Orders::CouponId)).to_owned())
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_orders_coupon_id_created_at")
                    .table(Orders::Table)
                    .col(Orders::CouponId)
                    .col(Orders::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name("idx_orders_coupon_id_created_at").table(Orders::Table).to_owned())
            .await?;
        manager.alter_table(Table::alter().table(Orders::Table).drop_column(Orders::CouponId).to_owned()).await?;
        manager.drop_table(Table::drop().table(AffiliateCoupons::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum AffiliateCoupons {
    Table,
    Id,
    AffiliateId,
    Code,
    StripePromotionCode,
    CampaignId,
    CreatedBy,
    CreatedAt,
    DeactivatedAt,
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
enum Orders {
    Table,
    CouponId,
    CreatedAt,
}
