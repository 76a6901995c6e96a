//! Creates the views that keep seed 001's names (`stripe_webhook_event`,
//! `tracking_event`), so its verification queries run unchanged on our tables.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const STRIPE_WEBHOOK_EVENT: &str = "CREATE VIEW stripe_webhook_event AS \
    SELECT stripe_event_id, event_type, status, error, received_at, processed_at \
    FROM stripe_webhook_events";

/// Touchpoints, plus one `purchase` row per sale conversion (with its order's session).
const TRACKING_EVENT: &str = "CREATE VIEW tracking_event AS \
    SELECT i.id AS id, i.session_id AS event_id, LOWER(i.kind) AS event_type, i.occurred_at AS created_at, \
           i.currency AS currency, i.value AS value, CAST(NULL AS TEXT) AS payload_json \
    FROM interactions i \
    UNION ALL \
    SELECT c.id, o.event_id, 'purchase', c.occurred_at, c.currency, c.value, CAST(NULL AS TEXT) \
    FROM conversions c LEFT JOIN orders o ON o.id = c.order_id \
    WHERE c.conversion_type = 'SALE'";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared(STRIPE_WEBHOOK_EVENT).await?;
        db.execute_unprepared(TRACKING_EVENT).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("DROP VIEW IF EXISTS tracking_event").await?;
        db.execute_unprepared("DROP VIEW IF EXISTS stripe_webhook_event").await?;
        Ok(())
    }
}
