use async_graphql::{Json, Object, ID};
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::sync::Arc;

use crate::events::hub::PublishedEvent;

/// A domain event as written to the outbox, with its seed 004 envelope.
pub struct Event(pub Arc<PublishedEvent>);

#[Object]
impl Event {
    /// The envelope's `evento_id`.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Position in the outbox (increasing).
    async fn seq(&self) -> i64 {
        self.0.seq
    }
    /// Topic, named as in the seeds (`afiliados.eventos`, …).
    async fn topic(&self) -> &str {
        &self.0.topic
    }
    /// The envelope's `tipo_evento` (`afiliado_creado`, …).
    async fn event_type(&self) -> &str {
        &self.0.event_type
    }
    async fn aggregate_type(&self) -> &str {
        &self.0.aggregate_type
    }
    async fn aggregate_id(&self) -> &str {
        &self.0.aggregate_id
    }
    async fn occurred_at(&self) -> DateTime<Utc> {
        self.0.occurred_at
    }
    /// The whole envelope, field for field.
    async fn envelope(&self) -> Json<Value> {
        Json(self.0.envelope.clone())
    }
}
