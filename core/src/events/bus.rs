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
    streams: Vec<stream::Config>,
    /// The single stream of earlier versions was found at connect: [`run`] retires it.
    legacy: bool,
    /// Subscribed at connect, so no event published after `connect` returns is missed live.
    live: std::sync::Mutex<Option<async_nats::Subscriber>>,
}

/// A group of topics kept in one JetStream stream, with seed 004's retention.
pub struct StreamGroup {
    /// Its name in settings (`ALPES_NATS_RETENTION_DAYS`); the stream is `<PREFIX>_<NAME>`.
    pub name: &'static str,
    /// Subjects after the prefix.
    pub subjects: &'static [&'static str],
    /// Days a message is kept by default (seed 004's table; `1y` = 365).
    pub retention_days: u32,
}

/// The streams. Subjects of two streams may not overlap (JetStream refuses it), and every
/// topic we publish or consume is in exactly one (a test checks both).
pub const STREAM_GROUPS: [StreamGroup; 6] = [
    StreamGroup { name: "afiliados", subjects: &["afiliados.>"], retention_days: 30 },
    // Tracking, conversions and their attribution (seeds 002 and 003 name these subjects);
    // the inbound consumer reads here, so every inbound subject must be in this group.
    StreamGroup {
        name: "conversiones",
        subjects: &[
            "conversiones.>",
            "interaccion-registrada",
            "evento-impresion-registrada",
            "evento-conversion-registrada",
            "comando-registrar-impresion",
            "comando-registrar-conversion",
            "eventos-atribucion",
            "atribucion-revertida",
            "revertir-atribucion",
        ],
        retention_days: 90,
    },
    StreamGroup { name: "marketing", subjects: &["marketing.>"], retention_days: 60 },
    StreamGroup { name: "comisiones", subjects: &["comisiones.>"], retention_days: 365 },
    StreamGroup { name: "auditoria", subjects: &["auditoria.>"], retention_days: 365 },
    StreamGroup { name: "sistema", subjects: &["sistema.>"], retention_days: 7 },
];

/// How the streams are kept: seed 004's retention unless overridden.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamSettings {
    /// Days kept per group name; a group not listed keeps its default.
    pub retention_days: Vec<(String, u32)>,
    /// Bytes each stream may hold before its oldest messages go; 0 = no limit.
    pub max_bytes: u64,
    /// Copies of each message in a JetStream cluster (1–5).
    pub replicas: usize,
}

impl Default for StreamSettings {
    fn default() -> Self {
        Self { retention_days: Vec::new(), max_bytes: 0, replicas: 1 }
    }
}

impl StreamSettings {
    /// Parses `afiliados=30,comisiones=730` (days per group).
    pub fn parse_retention(list: &str) -> Result<Vec<(String, u32)>, String> {
        let mut out = Vec::new();
        for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (group, days) = item.split_once('=').ok_or_else(|| format!("'{item}' is not <group>=<days>"))?;
            let group = group.trim().to_ascii_lowercase();
            if !STREAM_GROUPS.iter().any(|g| g.name == group) {
                let names: Vec<&str> = STREAM_GROUPS.iter().map(|g| g.name).collect();
                return Err(format!("unknown stream group '{group}' (one of {})", names.join(", ")));
            }
            let days: u32 = days
                .trim()
                .parse()
                .ok()
                .filter(|d| (1..=36_500).contains(d))
                .ok_or_else(|| format!("'{item}': days must be a whole number from 1 to 36500"))?;
            out.push((group, days));
        }
        Ok(out)
    }

    fn days(&self, group: &StreamGroup) -> u32 {
        self.retention_days.iter().rev().find(|(name, _)| name == group.name).map_or(group.retention_days, |(_, d)| *d)
    }

    /// The stream configurations for `prefix`.
    pub fn configs(&self, prefix: &str) -> Vec<stream::Config> {
        STREAM_GROUPS
            .iter()
            .map(|group| stream::Config {
                name: group_stream_name(prefix, group),
                subjects: group.subjects.iter().map(|s| format!("{prefix}.{s}")).collect(),
                max_age: Duration::from_secs(u64::from(self.days(group)) * 86_400),
                max_bytes: if self.max_bytes == 0 { -1 } else { i64::try_from(self.max_bytes).unwrap_or(i64::MAX) },
                num_replicas: self.replicas.max(1),
                duplicate_window: Duration::from_secs(600),
                ..Default::default()
            })
            .collect()
    }
}

impl Bus {
    /// Connects and makes sure the streams exist with `settings` (created or updated).
    /// The single stream of earlier versions (`<PREFIX>` on `<prefix>.>`) would overlap
    /// them: it is kept until [`run`] has handled what waits in it, then deleted.
    pub async fn connect(url: &str, prefix: &str, settings: &StreamSettings) -> anyhow::Result<Self> {
        let client = async_nats::ConnectOptions::new()
            .name("alpes")
            .connection_timeout(Duration::from_secs(5))
            .connect(url)
            .await
            .map_err(|e| anyhow::anyhow!("cannot connect to NATS at {}: {e}", crate::config::redact(url)))?;
        let js = jetstream::new(client.clone());
        let live = client
            .subscribe(format!("{prefix}.>"))
            .await
            .map_err(|e| anyhow::anyhow!("cannot subscribe to {prefix}.> on NATS: {e}"))?;
        let mut bus = Self {
            client,
            js,
            prefix: prefix.to_string(),
            streams: settings.configs(prefix),
            legacy: false,
            live: std::sync::Mutex::new(Some(live)),
        };
        if bus.has_legacy_stream().await? {
            bus.legacy = true;
        } else {
            bus.ensure_streams().await?;
        }
        Ok(bus)
    }

    pub fn subject(&self, topic: &str) -> String {
        format!("{}.{topic}", self.prefix)
    }

    /// The stream the inbound consumer reads: the one of every inbound subject (a test
    /// checks that they share it).
    fn inbound_stream(&self) -> String {
        stream_of(&self.prefix, INBOUND_INTERACTION).unwrap_or_default()
    }

    /// Creates each stream, or updates it to the settings in force.
    async fn ensure_streams(&self) -> anyhow::Result<()> {
        for config in &self.streams {
            self.js
                .create_or_update_stream(config.clone())
                .await
                .map_err(|e| anyhow::anyhow!("cannot create or update the JetStream stream {}: {e}", config.name))?;
        }
        Ok(())
    }

    /// Whether the one stream of earlier versions is still there.
    async fn has_legacy_stream(&self) -> anyhow::Result<bool> {
        match self.js.get_stream(legacy_stream_name(&self.prefix)).await {
            Ok(mut stream) => {
                let subjects = &stream.info().await?.config.subjects;
                Ok(subjects == &[format!("{}.>", self.prefix)])
            }
            Err(err) => match err.kind() {
                jetstream::context::GetStreamErrorKind::JetStream(e)
                    if e.error_code() == jetstream::ErrorCode::STREAM_NOT_FOUND =>
                {
                    Ok(false)
                }
                _ => Err(anyhow::anyhow!("cannot read the JetStream streams: {err}")),
            },
        }
    }
}

fn group_stream_name(prefix: &str, group: &StreamGroup) -> String {
    format!("{}_{}", legacy_stream_name(prefix), group.name.to_ascii_uppercase())
}

/// The JetStream streams of a subject prefix: `alpes` → `ALPES_AFILIADOS`, ….
pub fn stream_names(prefix: &str) -> Vec<String> {
    STREAM_GROUPS.iter().map(|group| group_stream_name(prefix, group)).collect()
}

/// The stream that holds `<prefix>.<topic>`.
pub fn stream_of(prefix: &str, topic: &str) -> Option<String> {
    STREAM_GROUPS
        .iter()
        .find(|group| group.subjects.iter().any(|s| covers(s, topic)))
        .map(|g| group_stream_name(prefix, g))
}

/// Whether a subject filter (after the prefix) takes `topic`.
fn covers(filter: &str, topic: &str) -> bool {
    match filter.strip_suffix(".>") {
        Some(head) => topic.strip_prefix(head).is_some_and(|rest| rest.len() > 1 && rest.starts_with('.')),
        None => filter == topic,
    }
}

/// The one stream of `<prefix>.>` that versions before the stream groups made.
pub fn legacy_stream_name(prefix: &str) -> String {
    prefix.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect()
}

/// Runs the publisher, the live listener and the inbound consumer until `shutdown`.
pub async fn run(ctx: Ctx, hub: EventHub, ingest: Ingestor, bus: Bus, shutdown: CancellationToken) {
    // Until the streams exist, publishing fails and the events wait in the outbox.
    if bus.legacy {
        loop {
            match retire_legacy_stream(&ctx, &ingest, &bus).await {
                Ok(()) => break,
                Err(err) => {
                    tracing::warn!(error = %err, "cannot set up the JetStream streams; retrying");
                    tokio::select! {
                        () = shutdown.cancelled() => return,
                        () = tokio::time::sleep(BACKOFF) => {}
                    }
                }
            }
        }
    }
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

/// Replaces the one stream of earlier versions by the stream groups: the commands other
/// systems sent that wait in it are handled first (like any inbound message), then it is
/// deleted (every event of ours in it is also in the outbox table) and the groups made.
async fn retire_legacy_stream(ctx: &Ctx, ingest: &Ingestor, bus: &Bus) -> anyhow::Result<()> {
    if !bus.has_legacy_stream().await? {
        return bus.ensure_streams().await;
    }
    let legacy = legacy_stream_name(&bus.prefix);
    let stream = bus.js.get_stream(&legacy).await?;
    let durable = format!("{}-inbound", legacy.to_lowercase());
    if let Ok(mut consumer) = stream.get_consumer::<pull::Config>(&durable).await {
        tracing::info!(stream = %legacy, "handling what waits in the former single stream before replacing it");
        // Messages taken by a process that died come back after the consumer's ack wait.
        let deadline = tokio::time::Instant::now() + consumer.cached_info().config.ack_wait + Duration::from_secs(5);
        loop {
            let info = consumer.info().await?;
            if info.num_pending == 0 && info.num_ack_pending == 0 {
                break;
            }
            if tokio::time::Instant::now() > deadline {
                anyhow::bail!("{} message(s) in {legacy} are still being handled elsewhere", info.num_ack_pending);
            }
            let mut batch =
                consumer.fetch().max_messages(BATCH as usize).expires(Duration::from_secs(1)).messages().await?;
            while let Some(message) = batch.next().await {
                let message = message.map_err(|e| anyhow::anyhow!("{e}"))?;
                settle(ctx, ingest, bus, message).await?;
            }
        }
    }
    bus.js.delete_stream(&legacy).await.map_err(|e| anyhow::anyhow!("cannot delete the stream {legacy}: {e}"))?;
    tracing::info!(stream = %legacy, "the former single stream is replaced by one stream per topic group");
    bus.ensure_streams().await
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
    let stream = bus.js.get_stream(bus.inbound_stream()).await?;
    let name = format!("{}-inbound", bus.inbound_stream().to_lowercase());
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
        settle(ctx, ingest, bus, message).await?;
    }
}

/// Handles one inbound message and tells JetStream the outcome.
async fn settle(ctx: &Ctx, ingest: &Ingestor, bus: &Bus, message: jetstream::Message) -> anyhow::Result<()> {
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
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::envelope::Topic;

    /// Every subject we publish on or consume is kept, in exactly one stream.
    #[test]
    fn every_topic_is_in_exactly_one_stream() {
        let ours = Topic::ALL.iter().map(|t| t.name());
        for topic in ours.chain(INBOUND) {
            let holders: Vec<&str> = STREAM_GROUPS
                .iter()
                .filter(|group| group.subjects.iter().any(|s| covers(s, topic)))
                .map(|group| group.name)
                .collect();
            assert_eq!(holders.len(), 1, "{topic} is in {holders:?}");
        }
        for topic in INBOUND {
            assert_eq!(stream_of("alpes", topic).as_deref(), Some("ALPES_CONVERSIONES"), "{topic}");
        }
        assert_eq!(stream_of("alpes", "comisiones.eventos").as_deref(), Some("ALPES_COMISIONES"));
        assert_eq!(stream_of("alpes", "comisiones"), None);
        assert_eq!(stream_of("alpes", "otro-sistema.eventos"), None);
    }

    #[test]
    fn seed_004_retention_unless_overridden() {
        let days = |settings: &StreamSettings| -> Vec<(String, u64)> {
            settings.configs("alpes").into_iter().map(|c| (c.name, c.max_age.as_secs() / 86_400)).collect()
        };
        let seed = [
            ("ALPES_AFILIADOS", 30),
            ("ALPES_CONVERSIONES", 90),
            ("ALPES_MARKETING", 60),
            ("ALPES_COMISIONES", 365),
            ("ALPES_AUDITORIA", 365),
            ("ALPES_SISTEMA", 7),
        ];
        let expected: Vec<(String, u64)> = seed.iter().map(|(n, d)| (n.to_string(), *d)).collect();
        assert_eq!(days(&StreamSettings::default()), expected);

        let retention_days = StreamSettings::parse_retention(" Comisiones=730, sistema=3 ");
        assert_eq!(retention_days, Ok(vec![("comisiones".to_string(), 730), ("sistema".to_string(), 3)]));
        let retention_days = retention_days.unwrap_or_default();
        let settings = StreamSettings { retention_days, max_bytes: 1 << 30, replicas: 3 };
        let configs = settings.configs("alpes");
        assert_eq!(configs[3].max_age, Duration::from_secs(730 * 86_400));
        assert_eq!(configs[5].max_age, Duration::from_secs(3 * 86_400));
        assert_eq!(configs[0].max_age, Duration::from_secs(30 * 86_400));
        assert!(configs.iter().all(|c| c.max_bytes == 1 << 30 && c.num_replicas == 3));
        assert!(StreamSettings::default().configs("alpes").iter().all(|c| c.max_bytes == -1));

        for bad in ["comisiones", "ventas=30", "sistema=0", "sistema=siete", "sistema=40000"] {
            assert!(StreamSettings::parse_retention(bad).is_err(), "{bad}");
        }
        assert_eq!(StreamSettings::parse_retention(""), Ok(Vec::new()));
    }
}
