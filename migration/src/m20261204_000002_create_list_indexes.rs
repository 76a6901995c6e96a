//! Indexes for the lists and reads that filtered large tables without one (found by the
//! query-plan test): orders by status, campaign or affiliate, newest first; webhook events
//! by status, newest first; attributed journeys by creation time (the Markov paths).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// (index, table, columns)
const INDEXES: [(&str, &str, &[&str]); 5] = [
    ("idx_orders_status_created_at", "orders", &["status", "created_at", "id"]),
    ("idx_orders_campaign_created_at", "orders", &["campaign_id", "created_at", "id"]),
    ("idx_orders_affiliate_created_at", "orders", &["affiliate_id", "created_at", "id"]),
    ("idx_stripe_webhook_events_status_received_at", "stripe_webhook_events", &["status", "received_at"]),
    ("idx_journeys_status_created_at", "journeys", &["status", "created_at"]),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_indexes(manager, &INDEXES).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_indexes(manager, &INDEXES).await
    }
}

/// Creates each `(index, table, columns)`.
pub(crate) async fn create_indexes(
    manager: &SchemaManager<'_>,
    indexes: &[(&str, &str, &[&str])],
) -> Result<(), DbErr> {
    for (name, table, columns) in indexes {
        let mut index = Index::create();
        index.name(*name).table(Alias::new(*table));
        for column in *columns {
            index.col(Alias::new(*column));
        }
        manager.create_index(index.to_owned()).await?;
    }
    Ok(())
}

/// Drops each `(index, table, _)`.
pub(crate) async fn drop_indexes(manager: &SchemaManager<'_>, indexes: &[(&str, &str, &[&str])]) -> Result<(), DbErr> {
    for (name, table, _) in indexes {
        manager.drop_index(Index::drop().name(*name).table(Alias::new(*table)).to_owned()).await?;
    }
    Ok(())
}
