//! Writing domain events into the outbox, inside the caller's transaction.

use entity::outbox_events;
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};

use crate::{domain::envelope::Envelope, error::AppError};

/// The outbox row of `event`, not yet published.
pub(crate) fn active_model(event: Envelope) -> outbox_events::ActiveModel {
    outbox_events::ActiveModel {
        id: Set(event.id),
        topic: Set(event.topic.name().to_string()),
        event_type: Set(event.event_type.to_string()),
        aggregate_type: Set(event.aggregate_type.to_string()),
        aggregate_id: Set(event.aggregate_id),
        affiliate_id: Set(event.affiliate_id),
        payload: Set(event.body),
        created_at: Set(event.occurred_at),
        published_at: Set(None),
        nats_published_at: Set(None),
        ..Default::default()
    }
}

pub async fn record<C: ConnectionTrait>(conn: &C, event: Envelope) -> Result<(), AppError> {
    active_model(event).insert(conn).await?;
    Ok(())
}

/// Many events in few statements (the ingest path's group commit).
pub async fn record_many<C: ConnectionTrait>(
    conn: &C,
    events: impl IntoIterator<Item = Envelope>,
) -> Result<(), AppError> {
    super::insert_in_chunks(conn, events.into_iter().map(active_model).collect()).await
}
