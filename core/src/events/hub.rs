//! The in-process hub: committed outbox events fanned out to live subscribers.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::Value;
use tokio::sync::broadcast;
use uuid::Uuid;

/// An event as subscribers see it: the outbox row, envelope included.
#[derive(Debug, Clone)]
pub struct PublishedEvent {
    pub seq: i64,
    pub id: Uuid,
    pub topic: String,
    pub event_type: String,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub affiliate_id: Option<Uuid>,
    pub occurred_at: DateTime<Utc>,
    pub envelope: Value,
}

impl From<entity::outbox_events::Model> for PublishedEvent {
    fn from(row: entity::outbox_events::Model) -> Self {
        Self {
            seq: row.seq,
            id: row.id,
            topic: row.topic,
            event_type: row.event_type,
            aggregate_type: row.aggregate_type,
            aggregate_id: row.aggregate_id,
            affiliate_id: row.affiliate_id,
            occurred_at: row.created_at,
            envelope: row.payload,
        }
    }
}

#[derive(Clone)]
pub struct EventHub {
    sender: broadcast::Sender<Arc<PublishedEvent>>,
}

impl EventHub {
    pub fn new(capacity: usize) -> Self {
        let (sender, _) = broadcast::channel(capacity);
        Self { sender }
    }

    pub fn publish(&self, event: PublishedEvent) {
        // No subscriber is not an error: the event stays in the outbox table.
        let _ = self.sender.send(Arc::new(event));
    }

    /// Is anyone in this process listening (a GraphQL subscription)?
    pub fn has_subscribers(&self) -> bool {
        self.sender.receiver_count() > 0
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<PublishedEvent>> {
        self.sender.subscribe()
    }
}
