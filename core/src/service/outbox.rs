//! Writing domain events into the outbox, inside the caller's transaction.

use std::collections::BTreeSet;

use entity::outbox_events;
use sea_orm::{ConnectionTrait, Set};
use serde_json::{json, Value};
use uuid::Uuid;

use super::codes::Codes;
use crate::{domain::envelope::Envelope, error::AppError};

/// The id fields of the seed 004 envelope that hold our ids, and the field beside each that
/// carries the name its callers know it by (the seeds' own `af_12345`, `camp_67890`,
/// `conv_98765`): a consumer written for the seed systems finds the ids it sent.
const NAMED: [(&str, &str); 3] =
    [("afiliado_id", "afiliado_codigo"), ("campana_id", "campana_codigo"), ("conversion_id", "conversion_id_externo")];

/// Whether `event` has the id field `key` without its name beside it, and the UUID in it.
fn unnamed(event: &Envelope, key: &str, name: &str) -> Option<Option<Uuid>> {
    let body = event.body.as_object()?;
    if body.contains_key(name) {
        return None;
    }
    Some(body.get(key)?.as_str().and_then(|id| id.parse().ok()))
}

/// Writes beside each of `events`' id fields the name it goes by (looked up in the
/// writer's transaction, once for all the events, so the name is the one of the moment);
/// null beside an id that is null or has no name.
async fn name_ids<C: ConnectionTrait>(conn: &C, events: &mut [Envelope]) -> Result<(), AppError> {
    let mut wanted: [BTreeSet<Uuid>; 3] = Default::default();
    let mut any = false;
    for event in events.iter() {
        for (set, (key, name)) in wanted.iter_mut().zip(NAMED) {
            if let Some(id) = unnamed(event, key, name) {
                any = true;
                set.extend(id);
            }
        }
    }
    if !any {
        return Ok(());
    }
    let [affiliates, campaigns, conversions] = wanted;
    let codes = Codes::load(conn, affiliates, campaigns, conversions).await?;
    for event in events.iter_mut() {
        for (key, name) in NAMED {
            let Some(id) = unnamed(event, key, name) else { continue };
            let known = match key {
                "afiliado_id" => codes.affiliate(id),
                "campana_id" => codes.campaign(id),
                _ => codes.conversion(id),
            };
            if let Value::Object(body) = &mut event.body {
                body.insert(name.to_string(), json!(known));
            }
        }
    }
    Ok(())
}

/// The outbox row of `event`, not yet published, as it is: its writer names its ids
/// (the ingest writer does, with `wire::events::named`; [`record_many`] for the others).
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
    record_many(conn, [event]).await
}

/// Many events in few statements (the ingest path's group commit).
pub async fn record_many<C: ConnectionTrait>(
    conn: &C,
    events: impl IntoIterator<Item = Envelope>,
) -> Result<(), AppError> {
    let mut events: Vec<Envelope> = events.into_iter().collect();
    name_ids(conn, &mut events).await?;
    super::insert_in_chunks(conn, events.into_iter().map(active_model).collect()).await
}
