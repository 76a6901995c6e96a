//! NATS JetStream: the event bus between replicas and toward the rest of the ecosystem.
//!
//! Outbound: every outbox row is published on `<prefix>.<topic>` (payload = the envelope,
//! `Nats-Msg-Id` = the outbox id, so JetStream drops a repeat from another replica or a
//! retry), then marked. A crash between the publish and the mark publishes it again, and
//! JetStream drops it.
//!
//! Live subscribers: with a bus, every replica feeds its GraphQL subscriptions from the
//! bus (a subscription on `<prefix>.>`), so a client sees the events of every replica.
//!
//! Inbound: `<prefix>.interaccion-registrada` (seed 003: an `InteraccionRegistrada` from
//! another system), `<prefix>.revertir-atribucion` (`{ "journey_id": … }`), and the seed
//! 002 commands `<prefix>.comando-registrar-impresion` and
//! `<prefix>.comando-registrar-conversion` (the bodies of `POST /tracking/impresiones` and
//! `/tracking/conversiones`; the bus is trusted like an API key that records
//! conversions), through a durable consumer: each message is acknowledged once handled; handling
//! is idempotent (interaction and conversion ids, journey states), so a redelivery
//! changes nothing.

use std::time::Duration;

use async_nats::{
    jetstream::{self, consumer::pull, context::Publish, stream},
    HeaderMap,
};
use chrono::{DateTime, Utc};
use entity::outbox_events;
use futures::StreamExt;
use sea_orm::{sea_query::Expr, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::hub::{EventHub, PublishedEvent};
use crate::{
    auth::Caller,
    context::Ctx,
    error::AppError,
    service::{
        attribution,
        tracking::{self, Ingestor, Recorder},
    },
    wire::tracking::{conversion_from_command, impression_from_command, interaction_from_seed, SEED_002, SEED_003},
};

const BATCH: u64 = 256;
const POLL: Duration = Duration::from_millis(500);
const COALESCE: Duration = Duration::from_millis(10);
/// Waited before trying again when NATS is unreachable.
const BACKOFF: Duration = Duration::from_secs(2);

/// Headers that carry the outbox row beside the envelope; a message with them is ours.
const OUTBOX_ID: &str = "Alpes-Outbox-Id";
const SEQ: &str = "Alpes-Seq";
const EVENT_TYPE: &str = "Alpes-Event-Type";
const AGGREGATE_TYPE: &str = "Alpes-Aggregate-Type";
const AGGREGATE_ID: &str = "Alpes-Aggregate-Id";
const AFFILIATE_ID: &str = "Alpes-Affiliate-Id";
const OCCURRED_AT: &str = "Alpes-Occurred-At";

/// Inbound subjects (after the prefix).
const INBOUND_INTERACTION: &str = "interaccion-registrada";
const INBOUND_REVERT: &str = "revertir-atribucion";
const COMMAND_IMPRESSION: &str = "comando-registrar-impresion";
const COMMAND_CONVERSION: &str = "comando-registrar-conversion";
/// Every inbound subject the consumer takes.
const INBOUND: [&str; 4] = [INBOUND_INTERACTION, INBOUND_REVERT, COMMAND_IMPRESSION, COMMAND_CONVERSION];

pub struct Bus {
    client: async_nats::Client,
    js: jetstream::Context,
    prefix: String,
    /// Subscribed at connect, so no event published after `connect` returns is missed live.
    live: std::sync::Mutex<Option<async_nats::Subscriber>>,
}

impl Bus {
    /// Connects and makes sure the stream of `<prefix>.>` exists.
    pub async fn connect(url: &str, prefix: &str) -> anyhow::Result<Self> {
        let client = async_nats::ConnectOptions::new()
            .name("alpes")
            .connection_timeout(Duration::from_secs(5))
            .connect(url)
            .await
            .map_err(|e| anyhow::anyhow!("cannot connect to NATS at {}: {e}", crate::config::redact(url)))?;
        let js = jetstream::new(client.clone());
        js.get_or_create_stream(stream::Config {
            name: stream_name(prefix),
            subjects: vec![format!("{prefix}.>")],
            duplicate_window: Duration::from_secs(600),
            ..Default::default()
        })
        .await
        .map_err(|e| anyhow::anyhow!("cannot create the JetStream stream {}: {e}", stream_name(prefix)))?;
        let live = client
            .subscribe(format!("{prefix}.>"))
            .await
            .map_err(|e| anyhow::anyhow!("cannot subscribe to {prefix}.> on NATS: {e}"))?;
        Ok(Self { client, js, prefix: prefix.to_string(), live: std::sync::Mutex::new(Some(live)) })
    }

    pub fn subject(&self, topic: &str) -> String {
        format!("{}.{topic}", self.prefix)
    }

    pub fn stream(&self) -> String {
        stream_name(&self.prefix)
    }
}

/// The JetStream stream of a subject prefix: `alpes` → `ALPES`.
pub fn stream_name(prefix: &str) -> String {
    prefix.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect()
}

/// Runs the publisher, the live listener and the inbound consumer until `shutdown`.
pub async fn run(ctx: Ctx, hub: EventHub, ingest: Ingestor, bus: Bus, shutdown: CancellationToken) {
    let bus = std::sync::Arc::new(bus);
    let listener = tokio::spawn(listen(hub, bus.clone(), shutdown.clone()));
    let inbound = tokio::spawn(consume(ctx.clone(), ingest, bus.clone(), shutdown.clone()));
    loop {
        match publish_pending(&ctx, &bus).await {
            Ok(n) if n as u64 == BATCH => continue,
            Ok(_) => {}
            Err(err) => {
                tracing::warn!(error = %err, "publishing to NATS failed; the events wait in the outbox");
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    () = tokio::time::sleep(BACKOFF) => continue,
                }
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = ctx.notifier.outbox().notified() => tokio::time::sleep(COALESCE).await,
            () = tokio::time::sleep(POLL) => {}
        }
    }
    // What was committed during shutdown still goes out.
    let _ = publish_pending(&ctx, &bus).await;
    let _ = bus.client.flush().await;
    listener.abort();
    inbound.abort();
}

/// Publishes one batch of outbox rows not yet on the bus and marks them; returns how many.
pub async fn publish_pending(ctx: &Ctx, bus: &Bus) -> anyhow::Result<usize> {
    let rows = outbox_events::Entity::find()
        .filter(outbox_events::Column::NatsPublishedAt.is_null())
        .order_by_asc(outbox_events::Column::Seq)
        .limit(BATCH)
        .all(&ctx.db)
        .await?;
    if rows.is_empty() {
        return Ok(0);
    }
    let mut acks = Vec::with_capacity(rows.len());
    for row in &rows {
        let mut publish = Publish::build()
            .payload(serde_json::to_vec(&row.payload)?.into())
            .message_id(row.id.to_string())
            .header(OUTBOX_ID, row.id.to_string().as_str())
            .header(SEQ, row.seq.to_string().as_str())
            .header(EVENT_TYPE, row.event_type.as_str())
            .header(AGGREGATE_TYPE, row.aggregate_type.as_str())
            .header(AGGREGATE_ID, row.aggregate_id.as_str())
            .header(OCCURRED_AT, row.created_at.to_rfc3339().as_str());
        if let Some(affiliate) = row.affiliate_id {
            publish = publish.header(AFFILIATE_ID, affiliate.to_string().as_str());
        }
        acks.push(bus.js.send_publish(bus.subject(&row.topic), publish).await?);
    }
    for ack in acks {
        ack.await?;
    }
    let seqs: Vec<i64> = rows.iter().map(|r| r.seq).collect();
    let now = Utc::now();
    let _turn = crate::db::write_turn(&ctx.db).await;
    outbox_events::Entity::update_many()
        .col_expr(outbox_events::Column::NatsPublishedAt, Expr::value(now))
        .col_expr(outbox_events::Column::PublishedAt, Expr::value(now))
        .filter(outbox_events::Column::Seq.is_in(seqs))
        .exec(&ctx.db)
        .await?;
    super::relay::count_topics(&ctx.metrics, rows.iter().map(|r| r.topic.as_str()));
    Ok(rows.len())
}

/// Feeds this replica's live subscribers from the bus.
/// The ids of the last events passed on: a relay that publishes again (its first publish
/// reached the bus but the answer was lost, as when the bus goes away) is dropped by the
/// stream, but core subscribers see both copies.
#[derive(Default)]
struct Recent {
    ids: std::collections::HashSet<Uuid>,
    order: std::collections::VecDeque<Uuid>,
}

impl Recent {
    const KEEP: usize = 8_192;

    /// Whether `id` is new (and remembers it).
    fn first_time(&mut self, id: Uuid) -> bool {
        if !self.ids.insert(id) {
            return false;
        }
        self.order.push_back(id);
        if self.order.len() > Self::KEEP {
            if let Some(old) = self.order.pop_front() {
                self.ids.remove(&old);
            }
        }
        true
    }
}

async fn listen(hub: EventHub, bus: std::sync::Arc<Bus>, shutdown: CancellationToken) {
    let mut recent = Recent::default();
    loop {
        let first = bus.live.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take();
        let subscribed = match first {
            Some(subscriber) => Ok(subscriber),
            None => bus.client.subscribe(format!("{}.>", bus.prefix)).await,
        };
        match subscribed {
            Ok(mut messages) => loop {
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    message = messages.next() => match message {
                        Some(message) => {
                            if let Some(event) = published_event(&bus.prefix, &message.subject, message.headers.as_ref(), &message.payload) {
                                if recent.first_time(event.id) {
                                    hub.publish(event);
                                }
                            }
                        }
                        None => break,
                    }
                }
            },
            Err(err) => tracing::warn!(error = %err, "cannot subscribe to NATS; retrying"),
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(BACKOFF) => {}
        }
    }
}

/// An event of ours, as subscribers see it; `None` for messages from other systems.
fn published_event(prefix: &str, subject: &str, headers: Option<&HeaderMap>, payload: &[u8]) -> Option<PublishedEvent> {
    let headers = headers?;
    let get = |name: &str| headers.get(name).map(|v| v.as_str().to_string());
    let id = Uuid::parse_str(&get(OUTBOX_ID)?).ok()?;
    Some(PublishedEvent {
        seq: get(SEQ).and_then(|s| s.parse().ok()).unwrap_or_default(),
        id,
        topic: subject.strip_prefix(prefix)?.strip_prefix('.')?.to_string(),
        event_type: get(EVENT_TYPE).unwrap_or_default(),
        aggregate_type: get(AGGREGATE_TYPE).unwrap_or_default(),
        aggregate_id: get(AGGREGATE_ID).unwrap_or_default(),
        affiliate_id: get(AFFILIATE_ID).and_then(|s| Uuid::parse_str(&s).ok()),
        occurred_at: get(OCCURRED_AT)
            .and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(Utc::now),
        envelope: serde_json::from_slice(payload).ok()?,
    })
}

/// What to tell JetStream about an inbound message.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    /// Done (or done before): do not send it again.
    Ack,
    /// It can never be handled (malformed, names nothing we know): do not send it again.
    Reject(String),
    /// Our side failed: send it again later.
    Retry(String),
}

async fn consume(ctx: Ctx, ingest: Ingestor, bus: std::sync::Arc<Bus>, shutdown: CancellationToken) {
    loop {
        if let Err(err) = consume_once(&ctx, &ingest, &bus, &shutdown).await {
            tracing::warn!(error = %err, "NATS inbound consumer stopped; restarting");
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(BACKOFF) => {}
        }
    }
}

async fn consume_once(ctx: &Ctx, ingest: &Ingestor, bus: &Bus, shutdown: &CancellationToken) -> anyhow::Result<()> {
    let stream = bus.js.get_stream(bus.stream()).await?;
    let name = format!("{}-inbound", bus.stream().to_lowercase());
    // Created, or updated when an earlier version took fewer subjects.
    let consumer = stream
        .create_consumer(pull::Config {
            durable_name: Some(name.clone()),
            filter_subjects: INBOUND.iter().map(|topic| bus.subject(topic)).collect(),
            ack_wait: Duration::from_secs(30),
            ..Default::default()
        })
        .await?;
    let mut messages = consumer.messages().await?;
    loop {
        let message = tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            message = messages.next() => match message {
                Some(message) => message.map_err(|e| anyhow::anyhow!("{e}"))?,
                None => return Ok(()),
            },
        };
        let ours = message.headers.as_ref().is_some_and(|h| h.get(OUTBOX_ID).is_some());
        let verdict = if ours {
            Verdict::Ack
        } else {
            let topic = message.subject.strip_prefix(&bus.prefix).and_then(|s| s.strip_prefix('.')).unwrap_or("");
            handle(ctx, ingest, topic, &message.payload).await
        };
        match verdict {
            Verdict::Ack => message.ack().await.map_err(|e| anyhow::anyhow!("{e}"))?,
            Verdict::Reject(reason) => {
                tracing::warn!(subject = %message.subject, %reason, "inbound message rejected");
                message.ack_with(jetstream::AckKind::Term).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            }
            Verdict::Retry(reason) => {
                tracing::warn!(subject = %message.subject, %reason, "inbound message failed; it will be redelivered");
                message.ack_with(jetstream::AckKind::Nak(Some(BACKOFF))).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            }
        }
    }
}

async fn handle(ctx: &Ctx, ingest: &Ingestor, topic: &str, payload: &[u8]) -> Verdict {
    let body: Value = match serde_json::from_slice(payload) {
        Ok(body) => body,
        Err(e) => return Verdict::Reject(format!("not JSON: {e}")),
    };
    let result = match topic {
        INBOUND_INTERACTION => match interaction_from_seed(body) {
            Ok((kind, command)) => {
                tracking::record_interaction(ctx, ingest, Recorder::Public, kind, command, &SEED_003).await.map(|_| ())
            }
            Err(err) => Err(err),
        },
        INBOUND_REVERT => match body["journey_id"].as_str() {
            Some(id) => match attribution::revert(ctx, &Caller::system(), id).await {
                // Reverted before: the command is done.
                Err(AppError::InvalidTransition { .. }) => Ok(()),
                other => other.map(|_| ()),
            },
            None => Err(AppError::validation("journey_id", "journey_id is required")),
        },
        COMMAND_IMPRESSION => match impression_from_command(body) {
            Ok(command) => {
                tracking::record_impression(ctx, ingest, Recorder::Public, command, &SEED_002).await.map(|_| ())
            }
            Err(err) => Err(err),
        },
        COMMAND_CONVERSION => match conversion_from_command(body) {
            Ok(command) => {
                let bus = Caller::system();
                tracking::record_conversion(ctx, ingest, Recorder::Caller(&bus), command, &SEED_002).await.map(|_| ())
            }
            Err(err) => Err(err),
        },
        other => return Verdict::Reject(format!("no handler for {other}")),
    };
    match result {
        Ok(()) => Verdict::Ack,
        Err(err @ (AppError::Internal(_) | AppError::Unavailable(_) | AppError::Conflict { .. })) => {
            Verdict::Retry(err.to_string())
        }
        Err(err) => Verdict::Reject(err.to_string()),
    }
}
