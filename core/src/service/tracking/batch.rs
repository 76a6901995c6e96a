//! One batch: the campaigns and affiliates it names resolved, repeats answered as the
//! first time, new rows planned and written in one transaction.

use super::*;
use sea_orm::ActiveEnum as _;

/// Resolved campaigns and affiliates of one batch, by id and by code.
#[derive(Default)]
pub(super) struct Directory {
    pub(super) campaigns: HashMap<String, campaigns::Model>,
    pub(super) affiliates: HashMap<String, affiliates::Model>,
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

    pub(super) fn campaign(&self, reference: Option<&Ref>) -> AppResult<Option<&campaigns::Model>> {
        lookup(&self.campaigns, reference, "campaign")
    }

    pub(super) fn affiliate(&self, reference: Option<&Ref>) -> AppResult<Option<&affiliates::Model>> {
        lookup(&self.affiliates, reference, "affiliate")
    }
}

pub(super) fn lookup<'a, T>(
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
pub(super) fn ref_key(value: &str) -> String {
    match Uuid::parse_str(value.trim()) {
        Ok(id) => id.to_string(),
        Err(_) => value.trim().to_lowercase(),
    }
}

#[derive(Default)]
pub(super) struct RefSet {
    pub(super) ids: HashSet<Uuid>,
    pub(super) codes: HashSet<String>,
}

impl RefSet {
    pub(super) fn add(&mut self, reference: Option<&Ref>) {
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
pub(super) struct Writes {
    pub(super) sessions: Vec<tracking_sessions::Model>,
    pub(super) interactions: Vec<interactions::Model>,
    pub(super) conversions: Vec<conversions::Model>,
    pub(super) links: Vec<identity_links::Model>,
    pub(super) events: Vec<Envelope>,
}

/// Per-item answers of a batch (refusals included), in order, once it is written.
pub(super) type Written =
    std::pin::Pin<Box<dyn std::future::Future<Output = AppResult<Vec<AppResult<Receipt>>>> + Send>>;

/// Writes one batch in one transaction; per-item results (refusals included) in order.
pub(super) async fn write_batch(context: &Context, items: &[&Item]) -> AppResult<Vec<AppResult<Receipt>>> {
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
pub(super) enum Planned {
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
pub(super) struct Plan {
    pub(super) planned: Vec<Planned>,
    pub(super) units: Vec<Unit>,
    /// The first item of each key, so that a repeat in the same batch is answered as it.
    pub(super) first_of: HashMap<Key, usize>,
}

impl Plan {
    pub(super) async fn add(&mut self, context: &Context, jobs: &[Job]) -> AppResult<()> {
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
    pub(super) fn submit(self, sqlite: &SqliteWriter, turn: db::WriteTurn, db: &DatabaseConnection) -> Written {
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
pub(super) async fn answers(
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
pub(super) async fn stored(db: &DatabaseConnection, key: &Key) -> AppResult<Stored> {
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
pub(super) async fn known_clicks<C: ConnectionTrait>(conn: &C, items: &[&Item]) -> AppResult<HashMap<String, Uuid>> {
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
pub(super) async fn write_batch_orm(
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

    // Rows go in the order of the rollup rows their triggers move (a statement per chunk
    // of rows): concurrent batches then take those rows' locks in one order, and do not
    // deadlock on them (PostgreSQL, whose text keys compare bytewise under the C collation).
    writes.interactions.sort_by_cached_key(|i| {
        (i.occurred_at.date_naive(), i.kind.to_value(), i.campaign_id, i.affiliate_id, i.channel.clone())
    });
    writes.conversions.sort_by_cached_key(|c| {
        (
            c.occurred_at.date_naive(),
            c.campaign_id,
            c.affiliate_id,
            c.channel.clone(),
            c.currency.clone(),
            c.status.to_value(),
        )
    });
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
