//! Tracking ingest: impressions, clicks, views and conversions from sites and partners
//! (seeds 001, 002, 003), stored exactly once and fast.
//!
//! Every write goes through one [`Ingestor`]: requests queue up while the previous
//! transaction commits, and the next transaction takes all of them at once (group
//! commit). A request is answered only after its transaction committed, so an
//! acknowledged event is durable; many requests share the cost of one commit.

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
};

use chrono::{DateTime, SubsecRound, Utc};
use entity::{
    affiliates::{self, AffiliateStatus},
    campaigns::{self, CampaignStatus},
    conversions::{self, ConversionStatus, ConversionType},
    identity_links,
    interactions::{self, InteractionKind},
    tracking_links, tracking_sessions,
};
use rust_decimal::Decimal;
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect};
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::{
    insert_in_chunks, outbox,
    sqlite_writer::{self, Key, SqliteWriter, Unit},
    Page, PageRequest,
};
use crate::{
    auth::Caller,
    db,
    domain::{
        envelope::{Envelope, Topic},
        money::{json_number, Currency},
        pii,
        tracking::{self, ConversionKind, TouchKind},
    },
    error::{AppError, AppResult},
};

/// Most requests one transaction takes.
const MAX_BATCH: usize = 512;
/// Requests waiting for the writer before new ones are refused with 503.
const QUEUE: usize = 8192;

/// A campaign or affiliate as a client names it (id or code), or as we already know it.
#[derive(Debug, Clone)]
pub enum Ref {
    Given { value: String, field: &'static str },
    Known(Uuid),
}

/// Which seed event a touchpoint publishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TouchEvent {
    /// `evento-impresion-registrada` (seed 002).
    Impression,
    /// `interaccion-registrada` with the seed 003 `InteraccionRegistrada` payload.
    Interaction,
}

/// A new tracking session (seed 001), opened by a click through a tracking link.
#[derive(Debug, Clone, Default)]
pub struct SessionInput {
    pub utm_source: Option<String>,
    pub utm_medium: Option<String>,
    pub utm_campaign: Option<String>,
    pub utm_term: Option<String>,
    pub utm_content: Option<String>,
    pub landing_path: Option<String>,
}

#[derive(Debug, Clone)]
pub struct TouchInput {
    /// The client's id, the idempotency key; generated when absent.
    pub external_id: Option<String>,
    pub kind: TouchKind,
    pub occurred_at: DateTime<Utc>,
    pub campaign: Option<Ref>,
    pub affiliate: Option<Ref>,
    pub tracking_link_id: Option<Uuid>,
    pub user_id: Option<String>,
    pub anonymous_id: Option<String>,
    pub source: Option<String>,
    pub medium: Option<String>,
    pub gclid: Option<String>,
    pub fbclid: Option<String>,
    pub referrer: Option<String>,
    pub user_agent: Option<String>,
    /// The raw IP; only its salted hash is stored.
    pub ip: Option<String>,
    pub session: Option<SessionInput>,
    pub flags: Vec<String>,
    pub event: TouchEvent,
}

#[derive(Debug, Clone)]
pub struct ConversionInput {
    pub external_id: Option<String>,
    pub kind: ConversionKind,
    pub value: Decimal,
    pub currency: String,
    pub occurred_at: DateTime<Utc>,
    pub campaign: Option<Ref>,
    pub affiliate: Option<Ref>,
    pub user_id: Option<String>,
    pub anonymous_id: Option<String>,
    /// The click that led here (`alpes_cid`), when known.
    pub click_id: Option<String>,
    pub channel: Option<String>,
    pub customer_email: Option<String>,
    pub customer: Value,
    pub products: Value,
    pub metadata: Value,
    pub referrer: Option<String>,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
}

#[derive(Debug, Clone)]
pub enum Item {
    Touch(TouchInput),
    Conversion(ConversionInput),
}

#[derive(Debug, Clone)]
pub enum Stored {
    Touch(interactions::Model),
    Conversion(conversions::Model),
}

/// What the ingest answered: the stored row, and whether it was already there.
#[derive(Debug, Clone)]
pub struct Receipt {
    pub stored: Stored,
    pub replayed: bool,
}

struct Job {
    item: Item,
    reply: oneshot::Sender<AppResult<Receipt>>,
}

/// The group-commit writer. Cheap to clone; all clones feed the same writer tasks.
#[derive(Clone)]
pub struct Ingestor {
    sender: mpsc::Sender<Job>,
}

/// How long a campaign or affiliate looked up by the writer is reused without asking
/// the database again. Short: a paused campaign is flagged within this time.
const DIRECTORY_TTL: std::time::Duration = std::time::Duration::from_secs(2);

/// Campaigns and affiliates recently looked up, by id and by code.
#[derive(Default)]
struct DirectoryCache {
    campaigns: HashMap<String, (std::time::Instant, campaigns::Model)>,
    affiliates: HashMap<String, (std::time::Instant, affiliates::Model)>,
}

type SharedCache = Arc<std::sync::Mutex<DirectoryCache>>;

impl Ingestor {
    /// Starts the writer tasks on `db`. `on_commit` runs after every committed batch.
    /// SQLite has one writer at a time, so one task; PostgreSQL commits in parallel, so
    /// several tasks overlap their round trips.
    pub fn start(db: DatabaseConnection, ip_salt: String, on_commit: impl Fn() + Send + Sync + 'static) -> Self {
        let (sender, receiver) = mpsc::channel(QUEUE);
        let writers = match db.get_database_backend() {
            sea_orm::DbBackend::Sqlite => 1,
            _ => 4,
        };
        let sqlite = SqliteWriter::start(&db)
            .inspect_err(|err| tracing::error!(error = %err, "cannot open the SQLite ingest writer; using the pool"))
            .ok()
            .flatten()
            .map(Arc::new);
        let context = Arc::new(Context { db, ip_salt, cache: SharedCache::default(), sqlite });
        let receiver = Arc::new(tokio::sync::Mutex::new(receiver));
        let on_commit: Arc<dyn Fn() + Send + Sync> = Arc::new(on_commit);
        for _ in 0..writers {
            tokio::spawn(writer(context.clone(), receiver.clone(), on_commit.clone()));
        }
        Self { sender }
    }

    /// Stores one item; resolves once it is committed (or refused).
    pub async fn submit(&self, item: Item) -> AppResult<Receipt> {
        let (reply, answer) = oneshot::channel();
        self.sender
            .try_send(Job { item, reply })
            .map_err(|_| AppError::Unavailable("tracking ingest is overloaded; retry shortly".into()))?;
        answer.await.map_err(|_| AppError::Unavailable("tracking ingest is shutting down".into()))?
    }
}

/// What the writer tasks share.
struct Context {
    db: DatabaseConnection,
    ip_salt: String,
    cache: SharedCache,
    /// SQLite on a file: the writer thread that stores the batches.
    sqlite: Option<Arc<SqliteWriter>>,
}

/// Takes the queued jobs as one batch, writes it, answers each job. On SQLite the next
/// batch is prepared while the writer thread stores this one.
async fn writer(
    context: Arc<Context>,
    receiver: Arc<tokio::sync::Mutex<mpsc::Receiver<Job>>>,
    on_commit: Arc<dyn Fn() + Send + Sync>,
) {
    let mut jobs: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    loop {
        let received = receiver.lock().await.recv_many(&mut jobs, MAX_BATCH).await;
        if received == 0 {
            break;
        }
        let mut batch = std::mem::take(&mut jobs);
        let started = std::time::Instant::now();
        let written = match &context.sqlite {
            Some(sqlite) => start_sqlite(&context, sqlite, &receiver, &mut batch).await,
            None => {
                let items: Vec<&Item> = batch.iter().map(|j| &j.item).collect();
                Box::pin(std::future::ready(write_batch(&context, &items).await))
            }
        };
        let context = context.clone();
        let on_commit = on_commit.clone();
        tokio::spawn(async move {
            let results = match written.await {
                Ok(results) => results,
                Err(err) if batch.len() > 1 => {
                    // One bad row must not fail its neighbours: retry one by one.
                    tracing::warn!(error = %err, size = batch.len(), "ingest batch failed; retrying items singly");
                    write_singly(&context, &batch).await
                }
                Err(err) => vec![Err(err)],
            };
            tracing::debug!(size = batch.len(), elapsed_us = started.elapsed().as_micros() as u64, "ingest batch");
            on_commit();
            for (job, result) in batch.into_iter().zip(results) {
                let _ = job.reply.send(result);
            }
        });
    }
}

/// Builds `batch` for the SQLite writer thread and hands it over with the write turn;
/// the jobs that queued while it was built join it first (the writer is free by then, and
/// a bigger transaction costs less per event than one more commit).
async fn start_sqlite(
    context: &Context,
    sqlite: &SqliteWriter,
    receiver: &tokio::sync::Mutex<mpsc::Receiver<Job>>,
    batch: &mut Vec<Job>,
) -> Written {
    let mut plan = Plan::default();
    let planned = plan.add(context, batch).await;
    let turn = db::write_turn(&context.db).await;
    let start = batch.len();
    {
        let mut receiver = receiver.lock().await;
        while batch.len() < MAX_BATCH {
            match receiver.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
    }
    match planned.and(plan.add(context, &batch[start..]).await) {
        Ok(()) => plan.submit(sqlite, turn, &context.db),
        Err(err) => Box::pin(std::future::ready(Err(err))),
    }
}

/// Each job of a failed batch in a transaction of its own.
async fn write_singly(context: &Context, batch: &[Job]) -> Vec<AppResult<Receipt>> {
    let mut results = Vec::with_capacity(batch.len());
    for job in batch {
        results.push(match write_batch(context, &[&job.item]).await {
            Ok(mut one) => one.pop().unwrap_or_else(|| Err(AppError::internal(anyhow::anyhow!("empty batch result")))),
            Err(err) => Err(err),
        });
    }
    results
}

/// Resolved campaigns and affiliates of one batch, by id and by code.
#[derive(Default)]
struct Directory {
    campaigns: HashMap<String, campaigns::Model>,
    affiliates: HashMap<String, affiliates::Model>,
}

impl Directory {
    async fn load<C: ConnectionTrait>(txn: &C, cache: &SharedCache, items: &[&Item]) -> AppResult<Self> {
        let mut directory = Directory::default();
        let mut campaign_refs = RefSet::default();
        let mut affiliate_refs = RefSet::default();
        {
            let cached = cache.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let fresh = |at: &std::time::Instant| at.elapsed() < DIRECTORY_TTL;
            for item in items {
                let (campaign, affiliate) = match item {
                    Item::Touch(t) => (&t.campaign, &t.affiliate),
                    Item::Conversion(c) => (&c.campaign, &c.affiliate),
                };
                if let Some(key) = campaign.as_ref().map(Ref::key) {
                    match cached.campaigns.get(&key).filter(|(at, _)| fresh(at)) {
                        Some((_, row)) => directory.add_campaign(row.clone()),
                        None => campaign_refs.add(campaign.as_ref()),
                    }
                }
                if let Some(key) = affiliate.as_ref().map(Ref::key) {
                    match cached.affiliates.get(&key).filter(|(at, _)| fresh(at)) {
                        Some((_, row)) => directory.add_affiliate(row.clone()),
                        None => affiliate_refs.add(affiliate.as_ref()),
                    }
                }
            }
        }
        let mut found_campaigns = Vec::new();
        let mut found_affiliates = Vec::new();
        if !campaign_refs.is_empty() {
            found_campaigns = campaigns::Entity::find()
                .filter(
                    Condition::any()
                        .add(campaigns::Column::Id.is_in(campaign_refs.ids.iter().copied()))
                        .add(campaigns::Column::Code.is_in(campaign_refs.codes.iter().cloned())),
                )
                .all(txn)
                .await?;
        }
        if !affiliate_refs.is_empty() {
            found_affiliates = affiliates::Entity::find()
                .filter(affiliates::Column::Status.ne(AffiliateStatus::Deleted))
                .filter(
                    Condition::any()
                        .add(affiliates::Column::Id.is_in(affiliate_refs.ids.iter().copied()))
                        .add(affiliates::Column::Code.is_in(affiliate_refs.codes.iter().cloned())),
                )
                .all(txn)
                .await?;
        }
        if !found_campaigns.is_empty() || !found_affiliates.is_empty() {
            let mut cached = cache.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let now = std::time::Instant::now();
            if cached.campaigns.len() > 10_000 || cached.affiliates.len() > 10_000 {
                *cached = DirectoryCache::default();
            }
            for row in &found_campaigns {
                cached.campaigns.insert(row.id.to_string(), (now, row.clone()));
                cached.campaigns.insert(row.code.clone(), (now, row.clone()));
            }
            for row in &found_affiliates {
                cached.affiliates.insert(row.id.to_string(), (now, row.clone()));
                cached.affiliates.insert(row.code.clone(), (now, row.clone()));
            }
        }
        found_campaigns.into_iter().for_each(|row| directory.add_campaign(row));
        found_affiliates.into_iter().for_each(|row| directory.add_affiliate(row));
        Ok(directory)
    }

    fn add_campaign(&mut self, row: campaigns::Model) {
        self.campaigns.insert(row.id.to_string(), row.clone());
        self.campaigns.insert(row.code.clone(), row);
    }

    fn add_affiliate(&mut self, row: affiliates::Model) {
        self.affiliates.insert(row.id.to_string(), row.clone());
        self.affiliates.insert(row.code.clone(), row);
    }

    fn campaign(&self, reference: Option<&Ref>) -> AppResult<Option<&campaigns::Model>> {
        lookup(&self.campaigns, reference, "campaign")
    }

    fn affiliate(&self, reference: Option<&Ref>) -> AppResult<Option<&affiliates::Model>> {
        lookup(&self.affiliates, reference, "affiliate")
    }
}

fn lookup<'a, T>(
    map: &'a HashMap<String, T>,
    reference: Option<&Ref>,
    entity: &'static str,
) -> AppResult<Option<&'a T>> {
    match reference {
        None => Ok(None),
        Some(Ref::Known(id)) => map.get(&id.to_string()).map(Some).ok_or_else(|| AppError::not_found(entity, id)),
        Some(Ref::Given { value, field }) => map
            .get(&ref_key(value))
            .map(Some)
            .ok_or_else(|| AppError::UnknownReference { field: (*field).to_string(), entity, id: value.clone() }),
    }
}

/// A reference's lookup key: a UUID in canonical form, or a code in lower case.
fn ref_key(value: &str) -> String {
    match Uuid::parse_str(value.trim()) {
        Ok(id) => id.to_string(),
        Err(_) => value.trim().to_lowercase(),
    }
}

#[derive(Default)]
struct RefSet {
    ids: HashSet<Uuid>,
    codes: HashSet<String>,
}

impl RefSet {
    fn add(&mut self, reference: Option<&Ref>) {
        match reference {
            Some(Ref::Known(id)) => {
                self.ids.insert(*id);
            }
            Some(Ref::Given { value, .. }) => match Uuid::parse_str(value.trim()) {
                Ok(id) => {
                    self.ids.insert(id);
                }
                Err(_) => {
                    self.codes.insert(value.trim().to_lowercase());
                }
            },
            None => {}
        }
    }

    fn is_empty(&self) -> bool {
        self.ids.is_empty() && self.codes.is_empty()
    }
}

/// Rows a batch will insert.
#[derive(Default)]
struct Writes {
    sessions: Vec<tracking_sessions::Model>,
    interactions: Vec<interactions::Model>,
    conversions: Vec<conversions::Model>,
    links: Vec<identity_links::Model>,
    events: Vec<Envelope>,
}

/// Per-item answers of a batch (refusals included), in order, once it is written.
type Written = std::pin::Pin<Box<dyn std::future::Future<Output = AppResult<Vec<AppResult<Receipt>>>> + Send>>;

/// Writes one batch in one transaction; per-item results (refusals included) in order.
async fn write_batch(context: &Context, items: &[&Item]) -> AppResult<Vec<AppResult<Receipt>>> {
    match &context.sqlite {
        Some(sqlite) => {
            let mut plan = Plan::default();
            plan.add_items(context, items).await?;
            plan.submit(sqlite, db::write_turn(&context.db).await, &context.db).await
        }
        None => write_batch_orm(&context.db, &context.ip_salt, &context.cache, items).await,
    }
}

/// An item of a batch on its way to the SQLite writer.
enum Planned {
    /// Refused, unless its key is stored already (then it is answered as the first send).
    Refused(AppError, Option<Key>),
    /// New rows in unit `unit`; the answer if the writer stores them.
    New { unit: usize, receipt: Box<Receipt> },
    /// The same key as item `first` of this batch.
    SameAs(usize),
}

/// A batch for the SQLite writer thread: its rows, built here, and how each item will be
/// answered. The writer skips the units whose key is already stored and writes the rest in
/// one transaction.
///
/// A batch is built before the previous one is committed. What it reads meanwhile is safe
/// to read early: campaigns and affiliates, and the clicks its conversions name, which a
/// browser learns only from a committed click's answer. Whether a key is stored is decided
/// by the writer, in order.
#[derive(Default)]
struct Plan {
    planned: Vec<Planned>,
    units: Vec<Unit>,
    /// The first item of each key, so that a repeat in the same batch is answered as it.
    first_of: HashMap<Key, usize>,
}

impl Plan {
    async fn add(&mut self, context: &Context, jobs: &[Job]) -> AppResult<()> {
        let items: Vec<&Item> = jobs.iter().map(|j| &j.item).collect();
        self.add_items(context, &items).await
    }

    /// Builds the rows of `items`, answered after those already planned.
    async fn add_items(&mut self, context: &Context, items: &[&Item]) -> AppResult<()> {
        if items.is_empty() {
            return Ok(());
        }
        let db = &context.db;
        let directory = Directory::load(db, &context.cache, items).await?;
        let now = Utc::now().trunc_subsecs(6);
        let known_clicks = known_clicks(db, items).await?;
        for item in items {
            let index = self.planned.len();
            let key = match item {
                Item::Touch(t) => t.external_id.clone().map(Key::Interaction),
                Item::Conversion(c) => c.external_id.clone().map(Key::Conversion),
            };
            if let Some(first) = key.as_ref().and_then(|k| self.first_of.get(k)) {
                self.planned.push(Planned::SameAs(*first));
                continue;
            }
            let mut writes = Writes::default();
            let receipt = match item {
                Item::Touch(input) => touch(input, &directory, &context.ip_salt, now, &mut writes),
                Item::Conversion(input) => {
                    conversion(input, &directory, &known_clicks, &context.ip_salt, now, &mut writes)
                }
            };
            match receipt.and_then(|receipt| Ok((writes.into_unit(key.clone())?, receipt))) {
                Ok((unit, receipt)) => {
                    if let Some(key) = key {
                        self.first_of.insert(key, index);
                    }
                    self.units.push(unit);
                    self.planned.push(Planned::New { unit: self.units.len() - 1, receipt: Box::new(receipt) });
                }
                Err(err) => self.planned.push(Planned::Refused(err, key)),
            }
        }
        Ok(())
    }

    /// Hands the rows to the writer with this process's write turn; returns at once, the
    /// answers follow when the writer is done.
    fn submit(self, sqlite: &SqliteWriter, turn: db::WriteTurn, db: &DatabaseConnection) -> Written {
        let keys: Vec<Option<Key>> = self.units.iter().map(|u| u.key.clone()).collect();
        let pending = sqlite.submit(self.units, turn);
        let planned = self.planned;
        let db = db.clone();
        Box::pin(async move {
            let replayed = pending?.wait().await?;
            Ok(answers(&db, planned, &keys, &replayed).await)
        })
    }
}

/// The answer to each planned item, given which units the writer found stored already.
async fn answers(
    db: &DatabaseConnection,
    planned: Vec<Planned>,
    keys: &[Option<Key>],
    replayed: &[bool],
) -> Vec<AppResult<Receipt>> {
    let mut results: Vec<AppResult<Receipt>> = Vec::with_capacity(planned.len());
    for plan in planned {
        results.push(match plan {
            Planned::Refused(err, None) => Err(err),
            Planned::Refused(err, Some(key)) => match stored(db, &key).await {
                Ok(stored) => Ok(Receipt { stored, replayed: true }),
                Err(_) => Err(err),
            },
            Planned::New { unit, .. } if replayed.get(unit).copied().unwrap_or(false) => match &keys[unit] {
                Some(key) => stored(db, key).await.map(|stored| Receipt { stored, replayed: true }),
                None => Err(AppError::internal(anyhow::anyhow!("an item without a key was reported as stored"))),
            },
            Planned::New { receipt, .. } => Ok(*receipt),
            Planned::SameAs(first) => match &results[first] {
                Ok(receipt) => Ok(Receipt { stored: receipt.stored.clone(), replayed: true }),
                Err(_) => Err(AppError::Unavailable("the same id failed moments ago in this batch; retry".into())),
            },
        });
    }
    results
}

/// The stored row of `key` (an item sent again).
async fn stored(db: &DatabaseConnection, key: &Key) -> AppResult<Stored> {
    match key {
        Key::Interaction(id) => interactions::Entity::find()
            .filter(interactions::Column::ExternalId.eq(id.as_str()))
            .one(db)
            .await?
            .map(Stored::Touch),
        Key::Conversion(id) => conversions::Entity::find()
            .filter(conversions::Column::ExternalId.eq(id.as_str()))
            .one(db)
            .await?
            .map(Stored::Conversion),
    }
    .ok_or_else(|| AppError::internal(anyhow::anyhow!("stored item {key:?} not found")))
}

/// The interactions the batch's conversions name as their click (`alpes_cid`).
async fn known_clicks<C: ConnectionTrait>(conn: &C, items: &[&Item]) -> AppResult<HashMap<String, Uuid>> {
    let click_ids: Vec<String> = items
        .iter()
        .filter_map(|i| match i {
            Item::Conversion(c) => c.click_id.clone(),
            Item::Touch(_) => None,
        })
        .collect();
    if click_ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(interactions::Entity::find()
        .select_only()
        .column(interactions::Column::ExternalId)
        .column(interactions::Column::Id)
        .filter(interactions::Column::ExternalId.is_in(click_ids))
        .into_tuple::<(String, Uuid)>()
        .all(conn)
        .await?
        .into_iter()
        .collect())
}

impl Writes {
    /// The rows of one item for the SQLite writer, in foreign-key order.
    fn into_unit(self, key: Option<Key>) -> AppResult<Unit> {
        let mut rows = Vec::with_capacity(self.sessions.len() + self.interactions.len() + self.events.len() + 2);
        for m in self.sessions {
            rows.push(sqlite_writer::row(tracking_sessions::ActiveModel::from(m), "")?);
        }
        for m in self.interactions {
            rows.push(sqlite_writer::row(interactions::ActiveModel::from(m), "")?);
        }
        for m in self.conversions {
            rows.push(sqlite_writer::row(conversions::ActiveModel::from(m), "")?);
        }
        for m in self.links {
            // The first link of an anonymous id wins; later ones change nothing.
            rows.push(sqlite_writer::row(
                identity_links::ActiveModel::from(m),
                "ON CONFLICT (anonymous_id) DO NOTHING",
            )?);
        }
        for event in self.events {
            rows.push(sqlite_writer::row(outbox::active_model(event), "")?);
        }
        Ok(Unit { key, rows })
    }
}

/// [`write_batch`] through the ORM: PostgreSQL, and SQLite in memory.
async fn write_batch_orm(
    db: &DatabaseConnection,
    ip_salt: &str,
    cache: &SharedCache,
    items: &[&Item],
) -> AppResult<Vec<AppResult<Receipt>>> {
    let (txn, _turn) = db::write_txn(db).await?;
    let directory = Directory::load(&txn, cache, items).await?;
    // PostgreSQL keeps microseconds: store no finer, so a replay answers exactly as the first time.
    let now = Utc::now().trunc_subsecs(6);

    let touch_ids: Vec<String> = items
        .iter()
        .filter_map(|i| match i {
            Item::Touch(t) => t.external_id.clone(),
            Item::Conversion(_) => None,
        })
        .collect();
    let conversion_ids: Vec<String> = items
        .iter()
        .filter_map(|i| match i {
            Item::Conversion(c) => c.external_id.clone(),
            Item::Touch(_) => None,
        })
        .collect();
    let mut existing_touches: HashMap<String, interactions::Model> = HashMap::new();
    if !touch_ids.is_empty() {
        for row in
            interactions::Entity::find().filter(interactions::Column::ExternalId.is_in(touch_ids)).all(&txn).await?
        {
            existing_touches.insert(row.external_id.clone(), row);
        }
    }
    let mut existing_conversions: HashMap<String, conversions::Model> = HashMap::new();
    if !conversion_ids.is_empty() {
        for row in
            conversions::Entity::find().filter(conversions::Column::ExternalId.is_in(conversion_ids)).all(&txn).await?
        {
            if let Some(key) = row.external_id.clone() {
                existing_conversions.insert(key, row);
            }
        }
    }
    let known_clicks = known_clicks(&txn, items).await?;

    let mut writes = Writes::default();
    let mut results = Vec::with_capacity(items.len());
    for item in items {
        let result = match item {
            Item::Touch(input) => {
                let key = input.external_id.clone();
                match key.as_ref().and_then(|k| existing_touches.get(k)) {
                    Some(row) => Ok(Receipt { stored: Stored::Touch(row.clone()), replayed: true }),
                    None => touch(input, &directory, ip_salt, now, &mut writes).inspect(|receipt| {
                        if let (Some(key), Stored::Touch(row)) = (key, &receipt.stored) {
                            existing_touches.insert(key, row.clone());
                        }
                    }),
                }
            }
            Item::Conversion(input) => {
                let key = input.external_id.clone();
                match key.as_ref().and_then(|k| existing_conversions.get(k)) {
                    Some(row) => Ok(Receipt { stored: Stored::Conversion(row.clone()), replayed: true }),
                    None => {
                        conversion(input, &directory, &known_clicks, ip_salt, now, &mut writes).inspect(|receipt| {
                            if let (Some(key), Stored::Conversion(row)) = (key, &receipt.stored) {
                                existing_conversions.insert(key, row.clone());
                            }
                        })
                    }
                }
            }
        };
        results.push(result);
    }

    insert_in_chunks(&txn, writes.sessions.into_iter().map(tracking_sessions::ActiveModel::from).collect()).await?;
    insert_in_chunks(&txn, writes.interactions.into_iter().map(interactions::ActiveModel::from).collect()).await?;
    insert_in_chunks(&txn, writes.conversions.into_iter().map(conversions::ActiveModel::from).collect()).await?;
    if !writes.links.is_empty() {
        // The first link of an anonymous id wins; later ones change nothing.
        let mut seen = HashSet::new();
        writes.links.retain(|l| seen.insert(l.anonymous_id.clone()));
        identity_links::Entity::insert_many(writes.links.into_iter().map(Into::<identity_links::ActiveModel>::into))
            .on_conflict_do_nothing_on([identity_links::Column::AnonymousId])
            .exec_without_returning(&txn)
            .await?;
    }
    outbox::record_many(&txn, writes.events).await?;
    txn.commit().await?;
    Ok(results)
}

fn touch(
    input: &TouchInput,
    directory: &Directory,
    ip_salt: &str,
    now: DateTime<Utc>,
    writes: &mut Writes,
) -> AppResult<Receipt> {
    let campaign = directory.campaign(input.campaign.as_ref())?;
    let affiliate = directory.affiliate(input.affiliate.as_ref())?;
    let id = Uuid::now_v7();
    let external_id = input.external_id.clone().unwrap_or_else(|| id.to_string());
    let ip_hash = input.ip.as_deref().map(|ip| pii::hash_ip(ip, ip_salt));
    let mut flags = input.flags.clone();
    if campaign.is_some_and(|c| c.status != CampaignStatus::Active) {
        flags.push("CAMPAIGN_NOT_ACTIVE".into());
    }
    if affiliate.is_some_and(|a| a.status != AffiliateStatus::Active) {
        flags.push("AFFILIATE_NOT_ACTIVE".into());
    }
    flags.dedup();

    let session_id = input.session.as_ref().map(|s| {
        let session = tracking_sessions::Model {
            id: Uuid::now_v7(),
            anonymous_id: input.anonymous_id.clone(),
            user_id: input.user_id.clone(),
            utm_source: s.utm_source.clone(),
            utm_medium: s.utm_medium.clone(),
            utm_campaign: s.utm_campaign.clone(),
            utm_term: s.utm_term.clone(),
            utm_content: s.utm_content.clone(),
            gclid: input.gclid.clone(),
            fbclid: input.fbclid.clone(),
            landing_path: s.landing_path.clone(),
            referrer: input.referrer.clone(),
            user_agent: input.user_agent.clone(),
            ip_hash: ip_hash.clone(),
            created_at: now,
            last_seen_at: now,
        };
        let session_id = session.id;
        writes.sessions.push(session);
        session_id
    });

    let campaign_ref = match &input.campaign {
        Some(Ref::Given { value, .. }) => Some(value.clone()),
        _ => campaign.map(|c| c.code.clone()),
    };
    let affiliate_ref = match &input.affiliate {
        Some(Ref::Given { value, .. }) => Some(value.clone()),
        _ => affiliate.map(|a| a.code.clone()),
    };
    let channel = tracking::channel(
        input.source.as_deref(),
        input.medium.as_deref(),
        input.gclid.is_some(),
        input.fbclid.is_some(),
    );
    let model = interactions::Model {
        id,
        external_id: external_id.clone(),
        kind: kind(input.kind),
        occurred_at: input.occurred_at.trunc_subsecs(6),
        received_at: now,
        session_id,
        tracking_link_id: input.tracking_link_id,
        user_id: input.user_id.clone(),
        anonymous_id: input.anonymous_id.clone(),
        campaign_id: campaign.map(|c| c.id),
        affiliate_id: affiliate.map(|a| a.id),
        campaign_ref,
        affiliate_ref,
        source: input.source.clone(),
        medium: input.medium.clone(),
        channel: Some(channel),
        gclid: input.gclid.clone(),
        fbclid: input.fbclid.clone(),
        referrer: input.referrer.clone(),
        user_agent: input.user_agent.clone(),
        ip_hash,
        value: None,
        currency: None,
        flags: json!(flags),
        payload: json!({}),
    };
    if let (Some(user), Some(anonymous)) = (&input.user_id, &input.anonymous_id) {
        writes.links.push(identity_links::Model {
            anonymous_id: anonymous.clone(),
            user_id: user.clone(),
            linked_at: now,
        });
    }
    writes.events.push(match input.event {
        TouchEvent::Impression => impression_event(&model),
        TouchEvent::Interaction => interaction_event(&model),
    });
    writes.interactions.push(model.clone());
    Ok(Receipt { stored: Stored::Touch(model), replayed: false })
}

fn conversion(
    input: &ConversionInput,
    directory: &Directory,
    known_clicks: &HashMap<String, Uuid>,
    ip_salt: &str,
    now: DateTime<Utc>,
    writes: &mut Writes,
) -> AppResult<Receipt> {
    let campaign = directory.campaign(input.campaign.as_ref())?;
    let affiliate = directory.affiliate(input.affiliate.as_ref())?;
    if !input.products.is_array() {
        return Err(AppError::validation("products", "products must be a JSON array"));
    }
    if !input.metadata.is_object() {
        return Err(AppError::validation("metadata", "metadata must be a JSON object"));
    }
    let currency = Currency::parse(&input.currency, "moneda")?;
    let value = currency.amount(input.value, "valor")?;
    let interaction_id = input.click_id.as_ref().and_then(|id| known_clicks.get(id).copied());
    let mut metadata = match &input.metadata {
        Value::Object(map) => Value::Object(map.clone()),
        _ => json!({}),
    };
    metadata["refs"] = json!({
        "campaign": input.campaign.as_ref().map(ref_text),
        "affiliate": input.affiliate.as_ref().map(ref_text),
    });
    if let Some(ip) = &input.ip {
        metadata["ip_hash"] = json!(pii::hash_ip(ip, ip_salt));
    }
    if let Some(agent) = &input.user_agent {
        metadata["user_agent"] = json!(agent);
    }
    if let Some(referrer) = &input.referrer {
        metadata["referrer"] = json!(referrer);
    }
    let id = Uuid::now_v7();
    let model = conversions::Model {
        id,
        external_id: Some(input.external_id.clone().unwrap_or_else(|| id.to_string())),
        order_id: None,
        interaction_id,
        conversion_type: conversion_type(input.kind),
        value,
        currency: currency.code().to_string(),
        channel: input.channel.clone(),
        campaign_id: campaign.map(|c| c.id),
        affiliate_id: affiliate.map(|a| a.id),
        user_id: input.user_id.clone(),
        anonymous_id: input.anonymous_id.clone(),
        customer_email_hash: input.customer_email.as_deref().map(pii::hash_email),
        customer: input.customer.clone(),
        products: input.products.clone(),
        metadata,
        status: ConversionStatus::Registered,
        fraud_score: 0,
        fraud_signals: json!([]),
        occurred_at: input.occurred_at.trunc_subsecs(6),
        created_at: now,
        updated_at: now,
    };
    if let (Some(user), Some(anonymous)) = (&input.user_id, &input.anonymous_id) {
        writes.links.push(identity_links::Model {
            anonymous_id: anonymous.clone(),
            user_id: user.clone(),
            linked_at: now,
        });
    }
    writes.events.push(conversion_event(&model, input.kind));
    writes.conversions.push(model.clone());
    Ok(Receipt { stored: Stored::Conversion(model), replayed: false })
}

impl Ref {
    /// The lookup key: a UUID in canonical form, or a code in lower case.
    fn key(&self) -> String {
        match self {
            Ref::Known(id) => id.to_string(),
            Ref::Given { value, .. } => ref_key(value),
        }
    }
}

fn ref_text(reference: &Ref) -> String {
    match reference {
        Ref::Given { value, .. } => value.clone(),
        Ref::Known(id) => id.to_string(),
    }
}

fn kind(kind: TouchKind) -> InteractionKind {
    match kind {
        TouchKind::Impression => InteractionKind::Impression,
        TouchKind::Click => InteractionKind::Click,
        TouchKind::View => InteractionKind::View,
        TouchKind::Lead => InteractionKind::Lead,
        TouchKind::Purchase => InteractionKind::Purchase,
        TouchKind::Conversion => InteractionKind::Conversion,
    }
}

pub fn touch_kind(kind: InteractionKind) -> TouchKind {
    match kind {
        InteractionKind::Impression => TouchKind::Impression,
        InteractionKind::Click => TouchKind::Click,
        InteractionKind::View => TouchKind::View,
        InteractionKind::Lead => TouchKind::Lead,
        InteractionKind::Purchase => TouchKind::Purchase,
        InteractionKind::Conversion => TouchKind::Conversion,
    }
}

fn conversion_type(kind: ConversionKind) -> ConversionType {
    match kind {
        ConversionKind::Sale => ConversionType::Sale,
        ConversionKind::Lead => ConversionType::Lead,
        ConversionKind::Signup => ConversionType::Signup,
        ConversionKind::Other => ConversionType::Other,
    }
}

pub fn conversion_kind(kind: ConversionType) -> ConversionKind {
    match kind {
        ConversionType::Sale => ConversionKind::Sale,
        ConversionType::Lead => ConversionKind::Lead,
        ConversionType::Signup => ConversionKind::Signup,
        ConversionType::Other => ConversionKind::Other,
    }
}

/// Seed 002 `ImpresionRegistrada`, in the seed 004 envelope.
fn impression_event(m: &interactions::Model) -> Envelope {
    Envelope::new(
        Topic::ImpressionRecorded,
        "impresion_registrada",
        "interaction",
        m.id,
        &[
            ("impresion_id", json!(m.external_id)),
            ("campana_id", json!(m.campaign_id)),
            ("afiliado_id", json!(m.affiliate_id)),
        ],
        "datos_impresion",
        json!({
            "id": m.external_id,
            "campaña_id": m.campaign_ref,
            "influencer_id": m.affiliate_ref,
            "usuario_id": m.user_id,
            "tipo_evento": "IMPRESION",
            "referrer": m.referrer,
            "timestamp": m.occurred_at,
        }),
    )
    .for_affiliate(m.affiliate_id)
}

/// Seed 003 `InteraccionRegistrada`, field for field.
pub fn interaction_event(m: &interactions::Model) -> Envelope {
    Envelope::raw(
        Topic::InteractionRecorded,
        "interaccion_registrada",
        "interaction",
        m.id,
        json!({
            "id_interaccion": m.external_id,
            "tipo": touch_kind(m.kind).seed_name(),
            "marca_temporal": m.occurred_at.timestamp_millis(),
            "identidad_usuario": { "id_usuario": m.user_id, "id_anonimo": m.anonymous_id },
            "parametros_tracking": {
                "fuente": m.source,
                "medio": m.medium,
                "campania": m.campaign_ref,
                "id_afiliado": m.affiliate_ref,
            },
        }),
    )
    .for_affiliate(m.affiliate_id)
}

/// Seed 004 `conversion_registrada` on `conversiones.eventos`.
pub(crate) fn conversion_event(m: &conversions::Model, kind: ConversionKind) -> Envelope {
    Envelope::new(
        Topic::Conversions,
        "conversion_registrada",
        "conversion",
        m.id,
        &[("conversion_id", json!(m.id)), ("afiliado_id", json!(m.affiliate_id)), ("campana_id", json!(m.campaign_id))],
        "datos_conversion",
        json!({
            "tipo_conversion": kind.seed_name(),
            "valor_conversion": json_number(m.value),
            "moneda": m.currency,
            "canal_origen": m.channel,
        }),
    )
    .for_affiliate(m.affiliate_id)
}

/// A stored touchpoint by our id or the client's id, if the caller may see it.
pub async fn get_touch(
    db: &DatabaseConnection,
    caller: &Caller,
    id: &str,
    kind_filter: Option<InteractionKind>,
) -> AppResult<interactions::Model> {
    let mut query = interactions::Entity::find();
    query = match Uuid::parse_str(id.trim()) {
        Ok(uuid) => query.filter(
            Condition::any().add(interactions::Column::Id.eq(uuid)).add(interactions::Column::ExternalId.eq(id.trim())),
        ),
        Err(_) => query.filter(interactions::Column::ExternalId.eq(id.trim())),
    };
    if let Some(kind) = kind_filter {
        query = query.filter(interactions::Column::Kind.eq(kind));
    }
    let row = query.one(db).await?.ok_or_else(|| AppError::not_found("interaction", id))?;
    visible(caller, row.affiliate_id).map_err(|_| AppError::not_found("interaction", id))?;
    Ok(row)
}

/// A stored conversion by our id or the client's id, if the caller may see it.
pub async fn get_conversion(db: &DatabaseConnection, caller: &Caller, id: &str) -> AppResult<conversions::Model> {
    let mut query = conversions::Entity::find();
    query = match Uuid::parse_str(id.trim()) {
        Ok(uuid) => query.filter(
            Condition::any().add(conversions::Column::Id.eq(uuid)).add(conversions::Column::ExternalId.eq(id.trim())),
        ),
        Err(_) => query.filter(conversions::Column::ExternalId.eq(id.trim())),
    };
    let row = query.one(db).await?.ok_or_else(|| AppError::not_found("conversion", id))?;
    visible(caller, row.affiliate_id).map_err(|_| AppError::not_found("conversion", id))?;
    Ok(row)
}

fn visible(caller: &Caller, affiliate_id: Option<Uuid>) -> AppResult<()> {
    match (caller.affiliate_scope(), affiliate_id) {
        (None, _) => Ok(()),
        (Some(own), Some(id)) if own == id => Ok(()),
        _ => Err(AppError::Forbidden("affiliates can only see their own data".into())),
    }
}

/// Touchpoints of one campaign (id or code), newest first.
pub async fn touches_of_campaign(
    db: &DatabaseConnection,
    caller: &Caller,
    campaign: &str,
    kind_filter: InteractionKind,
    page: PageRequest,
) -> AppResult<Page<interactions::Model>> {
    let campaign = super::campaign_service::resolve(db, campaign).await?;
    let mut query = interactions::Entity::find()
        .filter(interactions::Column::CampaignId.eq(campaign.id))
        .filter(interactions::Column::Kind.eq(kind_filter));
    if let Some(own) = caller.affiliate_scope() {
        query = query.filter(interactions::Column::AffiliateId.eq(own));
    }
    super::newest_first(db, query, interactions::Column::OccurredAt, interactions::Column::Id, page).await
}

/// Conversions of one campaign (id or code), newest first.
pub async fn conversions_of_campaign(
    db: &DatabaseConnection,
    caller: &Caller,
    campaign: &str,
    page: PageRequest,
) -> AppResult<Page<conversions::Model>> {
    let campaign = super::campaign_service::resolve(db, campaign).await?;
    let mut query = conversions::Entity::find().filter(conversions::Column::CampaignId.eq(campaign.id));
    if let Some(own) = caller.affiliate_scope() {
        query = query.filter(conversions::Column::AffiliateId.eq(own));
    }
    super::newest_first(db, query, conversions::Column::OccurredAt, conversions::Column::Id, page).await
}

/// The click redirect's lookup: the link, its campaign and its affiliate.
pub async fn link_for_redirect(
    db: &DatabaseConnection,
    code: &str,
) -> AppResult<(tracking_links::Model, campaigns::Model, affiliates::Model)> {
    let link = tracking_links::Entity::find()
        .filter(tracking_links::Column::Code.eq(code.trim().to_lowercase()))
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("tracking link", code))?;
    let campaign = campaigns::Entity::find_by_id(link.campaign_id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("campaign", link.campaign_id))?;
    let affiliate = affiliates::Entity::find_by_id(link.affiliate_id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("affiliate", link.affiliate_id))?;
    Ok((link, campaign, affiliate))
}

#[derive(Debug, Clone, Default)]
pub struct ConversionFilter {
    pub affiliate_id: Option<Uuid>,
    pub campaign_id: Option<Uuid>,
    pub status: Option<ConversionStatus>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// Conversions, newest first; an AFFILIATE caller sees only its own.
pub async fn list_conversions(
    db: &DatabaseConnection,
    caller: &Caller,
    filter: ConversionFilter,
    page: PageRequest,
) -> AppResult<Page<conversions::Model>> {
    let mut condition = Condition::all();
    if let Some(id) = filter.affiliate_id {
        condition = condition.add(conversions::Column::AffiliateId.eq(id));
    }
    if let Some(id) = filter.campaign_id {
        condition = condition.add(conversions::Column::CampaignId.eq(id));
    }
    if let Some(status) = filter.status {
        condition = condition.add(conversions::Column::Status.eq(status));
    }
    if let Some(from) = filter.from {
        condition = condition.add(conversions::Column::OccurredAt.gte(from));
    }
    if let Some(to) = filter.to {
        condition = condition.add(conversions::Column::OccurredAt.lt(to));
    }
    if let Some(own) = caller.affiliate_scope() {
        condition = condition.add(conversions::Column::AffiliateId.eq(own));
    }
    let query = conversions::Entity::find().filter(condition);
    super::newest_first(db, query, conversions::Column::OccurredAt, conversions::Column::Id, page).await
}

/// Batch lookup for the GraphQL DataLoader: the conversions the caller may see among `ids`.
pub async fn load_conversions(
    db: &DatabaseConnection,
    caller: &Caller,
    ids: &[Uuid],
) -> AppResult<Vec<conversions::Model>> {
    let mut query = conversions::Entity::find().filter(conversions::Column::Id.is_in(ids.iter().copied()));
    if let Some(own) = caller.affiliate_scope() {
        query = query.filter(conversions::Column::AffiliateId.eq(own));
    }
    Ok(query.all(db).await?)
}
