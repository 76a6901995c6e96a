//! `lead_sales`: a sale that came from an earlier lead or sign-up of the same customer
//! (same email or user id, within the lead's campaign window), one per lead, for the
//! dashboard's lead → sale rate. A partial index holds just the leads and sign-ups, so
//! counting a period's leads reads only those.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

const LEADS_INDEX: &str = "CREATE INDEX IF NOT EXISTS idx_conversions_leads_occurred_at ON conversions (occurred_at) \
    WHERE conversion_type IN ('LEAD', 'SIGNUP')";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(LeadSales::Table)
                    .col(uuid(LeadSales::LeadConversionId).primary_key())
                    .col(uuid_uniq(LeadSales::SaleConversionId))
                    .col(timestamp_with_time_zone(LeadSales::LeadOccurredAt))
                    .col(uuid_null(LeadSales::AffiliateId))
                    .col(timestamp_with_time_zone(LeadSales::MatchedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_lead_sales_lead")
                            .from(LeadSales::Table, LeadSales::LeadConversionId)
                            .to(Conversions::Table, Conversions::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_lead_sales_sale")
                            .from(LeadSales::Table, LeadSales::SaleConversionId)
                            .to(Conversions::Table, Conversions::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_lead_sales_lead_occurred_at")
                    .table(LeadSales::Table)
                    .col(LeadSales::LeadOccurredAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_lead_sales_affiliate_occurred_at")
                    .table(LeadSales::Table)
                    .col(LeadSales::AffiliateId)
                    .col(LeadSales::LeadOccurredAt)
                    .to_owned(),
            )
            .await?;
        manager.get_connection().execute_unprepared(LEADS_INDEX).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared("DROP INDEX IF EXISTS idx_conversions_leads_occurred_at").await?;
        manager.drop_table(Table::drop().table(LeadSales::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum LeadSales {
    Table,
    LeadConversionId,
    SaleConversionId,
    LeadOccurredAt,
    AffiliateId,
    MatchedAt,
}

#[derive(DeriveIden)]
enum Conversions {
    Table,
    Id,
}
