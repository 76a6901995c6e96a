//! Fewer index writes per tracked event (the ingest's hot path writes one interaction and
//! one outbox row per event):
//! - the outbox relays look for rows not yet published, in `seq` order: partial indexes
//!   on `seq` of exactly those rows replace full indexes on `published_at` and
//!   `nats_published_at`, which also held every published row and were rewritten on
//!   every mark;
//! - `idx_outbox_events_topic` and `idx_interactions_session_id` served no query, and
//!   `ux_outbox_events_id` guarded ids that are time-ordered random UUIDs we generate.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for sql in [
            "DROP INDEX IF EXISTS idx_outbox_events_topic",
            "DROP INDEX IF EXISTS ux_outbox_events_id",
            "DROP INDEX IF EXISTS idx_outbox_events_published_at",
            "DROP INDEX IF EXISTS idx_outbox_events_nats_published_at",
            "DROP INDEX IF EXISTS idx_interactions_session_id",
            "CREATE INDEX idx_outbox_events_unpublished ON outbox_events (seq) WHERE published_at IS NULL",
            "CREATE INDEX idx_outbox_events_nats_unpublished ON outbox_events (seq) WHERE nats_published_at IS NULL",
        ] {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for sql in [
            "DROP INDEX IF EXISTS idx_outbox_events_unpublished",
            "DROP INDEX IF EXISTS idx_outbox_events_nats_unpublished",
            "CREATE INDEX idx_outbox_events_topic ON outbox_events (topic)",
            "CREATE UNIQUE INDEX ux_outbox_events_id ON outbox_events (id)",
            "CREATE INDEX idx_outbox_events_published_at ON outbox_events (published_at)",
            "CREATE INDEX idx_outbox_events_nats_published_at ON outbox_events (nats_published_at)",
            "CREATE INDEX idx_interactions_session_id ON interactions (session_id)",
        ] {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }
}
