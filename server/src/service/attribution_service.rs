//! Attribution (seed 003): every recorded conversion gets its journey — the touches of
//! the person (user id and every anonymous id linked to it) inside the campaign's
//! lookback window — a fraud score, and credits under the campaign's model.
//!
//! Conversions are recorded by the ingest writer and by Stripe webhooks with status
//! `REGISTERED`; the worker here attributes them shortly after, each in its own
//! transaction that moves the status on only if it is still `REGISTERED`, so a
//! conversion is attributed exactly once however many replicas run the worker.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    sync::Arc,
    time::{Duration as StdDuration, Instant},
};

use chrono::{DateTime, Duration, SubsecRound, Utc};
use entity::{
    affiliates,
    attribution_credits::{self, AttributionModel as StoredModel},
    campaigns,
    conversions::{self, ConversionStatus, ConversionType},
    identity_links,
    interactions::{self, InteractionKind},
    journeys::{self, JourneyStatus},
};
use rust_decimal::Decimal;
use sea_orm::{
    sea_query::Expr, ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::{Mutex, Notify};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::audit::{self, Change};
use super::{commission_service, outbox};
use crate::{
    auth::Caller,
    config::AttributionSettings,
    db,
    domain::{
        attribution::{self as model, MarkovCounts, MarkovModel, Touchpoint, DIRECT},
        envelope::{Envelope, Topic},
        fraud::{self, FraudFacts},
        money::{json_number, Currency},
        pii,
    },
    error::{AppError, AppResult},
    state::AppState,
};

/// Conversions attributed per worker pass.
const BATCH: u64 = 200;
/// Touches of one journey at most (the most recent ones).
const MAX_TOUCHES: u64 = 500;
/// How long the worker waits for more conversions after a wake-up.
const COALESCE: StdDuration = StdDuration::from_millis(10);
/// How often the worker looks without being woken (conversions left by a crash, by another replica).
const POLL: StdDuration = StdDuration::from_secs(5);
/// Markov path counts are reused this long.
const MARKOV_TTL: StdDuration = StdDuration::from_secs(600);
/// Touches this little after a conversion's time still count (times in whole seconds).
const CLOCK_SLACK: Duration = Duration::seconds(1);
/// Two conversions of one customer and value this close are duplicates.
const DUPLICATE_WINDOW: Duration = Duration::minutes(10);

/// The worker's shared parts: its wake-up and the fitted Markov model.
#[derive(Default)]
pub struct Runtime {
    wakeup: Notify,
    markov: Mutex<Option<MarkovCache>>,
}

/// Path counts of the Markov chain, and when they were taken (monotonic and UTC).
struct MarkovCache {
    fresh_since: Instant,
    taken: DateTime<Utc>,
    counts: Arc<MarkovCounts>,
}

impl Runtime {
    /// New conversions are committed.
    pub fn wake(&self) {
        self.wakeup.notify_one();
    }
}

/// Attributes conversions as they come, until `shutdown`.
pub async fn run(state: AppState, shutdown: CancellationToken) {
    loop {
        match attribute_pending(&state).await {
            Ok(n) if n as u64 >= BATCH => continue,
            Ok(_) => {}
            Err(err) => tracing::warn!(error = %err, "attribution pass failed; retrying"),
        }
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = state.attribution.wakeup.notified() => tokio::time::sleep(COALESCE).await,
            () = tokio::time::sleep(POLL) => {}
        }
    }
}

/// Attributes the conversions still `REGISTERED` (oldest first, one batch). Returns how
/// many this call attributed.
pub async fn attribute_pending(state: &AppState) -> AppResult<usize> {
    let pending = conversions::Entity::find()
        .filter(conversions::Column::Status.eq(ConversionStatus::Registered))
        .order_by_asc(conversions::Column::CreatedAt)
        .order_by_asc(conversions::Column::Id)
        .limit(BATCH)
        .all(&state.db)
        .await?;
    let mut done = 0;
    for conversion in pending {
        let id = conversion.id;
        match attribute(state, conversion).await {
            Ok(true) => done += 1,
            Ok(false) => {}
            Err(err) => tracing::warn!(conversion = %id, error = %err, "attribution failed"),
        }
    }
    if done > 0 {
        // Their events (and commissions) wait in the outbox.
        state.outbox_wakeup.notify_one();
    }
    Ok(done)
}

// ---------------------------------------------------------------------------------------
// Journeys

/// One touch as stored in `journeys.touchpoints`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JourneyTouch {
    /// 1-based, in time order.
    pub position: i32,
    /// The interaction; `None` for the conversion itself when it names its campaign and no touch was tracked.
    pub interaction_id: Option<Uuid>,
    pub at: DateTime<Utc>,
    pub kind: String,
    pub channel: String,
    pub campaign_id: Option<Uuid>,
    pub affiliate_id: Option<Uuid>,
    pub source: Option<String>,
    pub medium: Option<String>,
    pub is_click: bool,
}

impl JourneyTouch {
    fn touchpoint(&self) -> Touchpoint {
        Touchpoint {
            id: self.interaction_id.unwrap_or_default(),
            at: self.at,
            channel: self.channel.clone(),
            campaign: self.campaign_id.map(|id| id.to_string()),
            affiliate: self.affiliate_id.map(|id| id.to_string()),
            is_click: self.is_click,
        }
    }
}

pub fn touches_of(journey: &journeys::Model) -> Vec<JourneyTouch> {
    serde_json::from_value(journey.touchpoints.clone()).unwrap_or_default()
}

/// The anonymous ids and user id that are one person with this conversion's.
async fn identity<C: ConnectionTrait>(
    conn: &C,
    user_id: Option<&str>,
    anonymous_id: Option<&str>,
) -> AppResult<(Option<String>, Vec<String>)> {
    let mut user = user_id.map(str::to_owned);
    if user.is_none() {
        if let Some(anon) = anonymous_id {
            user = identity_links::Entity::find_by_id(anon.to_string()).one(conn).await?.map(|link| link.user_id);
        }
    }
    let mut anons: Vec<String> = anonymous_id.map(|a| vec![a.to_string()]).unwrap_or_default();
    if let Some(user) = &user {
        let linked = identity_links::Entity::find().filter(identity_links::Column::UserId.eq(user)).all(conn).await?;
        for link in linked {
            if !anons.contains(&link.anonymous_id) {
                anons.push(link.anonymous_id);
            }
        }
    }
    Ok((user, anons))
}

fn is_touch(kind: InteractionKind) -> bool {
    matches!(kind, InteractionKind::Click | InteractionKind::Impression | InteractionKind::View)
}

fn kind_name(kind: InteractionKind) -> &'static str {
    match kind {
        InteractionKind::Impression => "IMPRESSION",
        InteractionKind::Click => "CLICK",
        InteractionKind::View => "VIEW",
        InteractionKind::Lead => "LEAD",
        InteractionKind::Purchase => "PURCHASE",
        InteractionKind::Conversion => "CONVERSION",
    }
}

/// The touches of the person inside `[at − lookback, at]`, oldest first (ties by id).
async fn touches<C: ConnectionTrait>(
    conn: &C,
    conversion: &conversions::Model,
    user: Option<&str>,
    anons: &[String],
    lookback_days: u32,
) -> AppResult<Vec<interactions::Model>> {
    let mut who = Condition::any();
    if let Some(user) = user {
        who = who.add(interactions::Column::UserId.eq(user));
    }
    if !anons.is_empty() {
        who = who.add(interactions::Column::AnonymousId.is_in(anons.iter().cloned()));
    }
    if let Some(click) = conversion.interaction_id {
        who = who.add(interactions::Column::Id.eq(click));
    }
    if who.is_empty() {
        return Ok(Vec::new());
    }
    let start = conversion.occurred_at - Duration::days(i64::from(lookback_days));
    // Stripe gives whole seconds: a click in the same second as the payment came before it.
    let end = conversion.occurred_at + CLOCK_SLACK;
    let mut rows = interactions::Entity::find()
        .filter(who)
        .filter(interactions::Column::OccurredAt.gte(start))
        .filter(interactions::Column::OccurredAt.lt(end))
        .filter(interactions::Column::Kind.is_in([
            InteractionKind::Click,
            InteractionKind::Impression,
            InteractionKind::View,
        ]))
        .order_by_desc(interactions::Column::OccurredAt)
        .order_by_desc(interactions::Column::Id)
        .limit(MAX_TOUCHES)
        .all(conn)
        .await?;
    rows.reverse();
    Ok(rows)
}

fn journey_touches(rows: &[interactions::Model], conversion: &conversions::Model) -> Vec<JourneyTouch> {
    let mut list: Vec<JourneyTouch> = rows
        .iter()
        .filter(|row| is_touch(row.kind))
        .map(|row| JourneyTouch {
            position: 0,
            interaction_id: Some(row.id),
            at: row.occurred_at,
            kind: kind_name(row.kind).to_string(),
            channel: row.channel.clone().unwrap_or_else(|| DIRECT.to_string()),
            campaign_id: row.campaign_id,
            affiliate_id: row.affiliate_id,
            source: row.source.clone(),
            medium: row.medium.clone(),
            is_click: row.kind == InteractionKind::Click,
        })
        .collect();
    // A conversion that names its campaign or affiliate but whose visitor we never saw
    // (a partner's server-to-server call) is its own touch.
    if list.is_empty() && (conversion.campaign_id.is_some() || conversion.affiliate_id.is_some()) {
        list.push(JourneyTouch {
            position: 0,
            interaction_id: None,
            at: conversion.occurred_at,
            kind: "CONVERSION".into(),
            channel: conversion.channel.clone().unwrap_or_else(|| "affiliate".into()),
            campaign_id: conversion.campaign_id,
            affiliate_id: conversion.affiliate_id,
            source: None,
            medium: None,
            is_click: true,
        });
    }
    for (i, touch) in list.iter_mut().enumerate() {
        touch.position = i as i32 + 1;
    }
    list
}

// ---------------------------------------------------------------------------------------
// Credits

/// One credited touch under one model (stored, or computed to compare models).
#[derive(Debug, Clone, PartialEq)]
pub struct Credit {
    pub id: Option<Uuid>,
    pub position: i32,
    pub interaction_id: Option<Uuid>,
    pub campaign_id: Option<Uuid>,
    pub affiliate_id: Option<Uuid>,
    pub channel: Option<String>,
    pub model: StoredModel,
    pub weight: Decimal,
    pub amount: Decimal,
    pub currency: String,
    pub is_current: bool,
}

impl From<attribution_credits::Model> for Credit {
    fn from(m: attribution_credits::Model) -> Self {
        Self {
            id: Some(m.id),
            position: m.position,
            interaction_id: m.interaction_id,
            campaign_id: m.campaign_id,
            affiliate_id: m.affiliate_id,
            channel: m.channel,
            model: m.model,
            weight: m.weight,
            amount: m.amount,
            currency: m.currency,
            is_current: m.is_current,
        }
    }
}

/// The Markov state of a touch: its campaign when it has one, else its channel.
fn markov_state(touch: &JourneyTouch, codes: &HashMap<Uuid, String>) -> String {
    match touch.campaign_id {
        Some(id) => codes.get(&id).cloned().unwrap_or_else(|| id.to_string()),
        None => touch.channel.clone(),
    }
}

/// Weights of the touches under `stored` (Markov needs a fitted model and the campaign codes).
fn weights_for(
    stored: StoredModel,
    settings: &AttributionSettings,
    touches: &[JourneyTouch],
    conversion_at: DateTime<Utc>,
    markov: Option<(&MarkovModel, &HashMap<Uuid, String>)>,
) -> Vec<Decimal> {
    let points: Vec<Touchpoint> = touches.iter().map(JourneyTouch::touchpoint).collect();
    let heuristic = match stored {
        StoredModel::LastClick => model::AttributionModel::LastClick,
        StoredModel::FirstClick => model::AttributionModel::FirstClick,
        StoredModel::Linear => model::AttributionModel::Linear,
        StoredModel::TimeDecay => {
            model::AttributionModel::TimeDecay { half_life_days: settings.time_decay_half_life_days }
        }
        StoredModel::PositionBased => model::AttributionModel::PositionBased,
        StoredModel::Markov => {
            let Some((fitted, codes)) = markov else {
                return model::weights(&model::AttributionModel::Linear, &points, conversion_at);
            };
            let states: Vec<Touchpoint> = touches
                .iter()
                .zip(points)
                .map(|(touch, point)| Touchpoint { channel: markov_state(touch, codes), ..point })
                .collect();
            return fitted.touchpoint_weights(&states);
        }
    };
    model::weights(&heuristic, &points, conversion_at)
}

/// Credits of `touches` for a conversion of `value` (touches with no weight get none).
fn credits_for(
    stored: StoredModel,
    weights: &[Decimal],
    touches: &[JourneyTouch],
    value: Decimal,
    currency: &str,
) -> Vec<Credit> {
    let minor = Currency::parse(currency, "currency").map(|c| c.minor_units()).unwrap_or(2);
    let amounts = model::split_amount(value, minor, weights);
    touches
        .iter()
        .zip(weights.iter().zip(amounts))
        .filter(|(_, (weight, _))| !weight.is_zero())
        .map(|(touch, (weight, amount))| Credit {
            id: None,
            position: touch.position,
            interaction_id: touch.interaction_id,
            campaign_id: touch.campaign_id,
            affiliate_id: touch.affiliate_id,
            channel: Some(touch.channel.clone()),
            model: stored,
            weight: *weight,
            amount,
            currency: currency.to_string(),
            is_current: true,
        })
        .collect()
}

async fn campaign_codes<C: ConnectionTrait>(
    conn: &C,
    ids: impl Iterator<Item = Uuid>,
) -> AppResult<HashMap<Uuid, String>> {
    let ids: HashSet<Uuid> = ids.collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = campaigns::Entity::find().filter(campaigns::Column::Id.is_in(ids)).all(conn).await?;
    Ok(rows.into_iter().map(|c| (c.id, c.code)).collect())
}

/// The Markov path counts (campaign or channel states) over the configured period, taken
/// again when older than [`MARKOV_TTL`], and when they were taken.
async fn markov_counts(state: &AppState) -> AppResult<(Arc<MarkovCounts>, DateTime<Utc>)> {
    let mut cached = state.attribution.markov.lock().await;
    if let Some(cache) = cached.as_ref() {
        if cache.fresh_since.elapsed() < MARKOV_TTL {
            return Ok((cache.counts.clone(), cache.taken));
        }
    }
    let to = Utc::now();
    let from = to - Duration::days(i64::from(state.config.attribution.markov_period_days));
    let counts = Arc::new(markov_paths(&state.db, &state.config.attribution, from, to, GroupBy::Campaign).await?.0);
    *cached = Some(MarkovCache { fresh_since: Instant::now(), taken: to, counts: counts.clone() });
    Ok((counts, to))
}

/// The Markov model for one journey: the period's paths, plus this journey's own when the
/// counts were taken before it was.
async fn markov_for(
    state: &AppState,
    touches: &[JourneyTouch],
    codes: &HashMap<Uuid, String>,
    created_at: Option<DateTime<Utc>>,
) -> AppResult<MarkovModel> {
    let (counts, taken) = markov_counts(state).await?;
    if created_at.is_some_and(|at| at <= taken) {
        return Ok(counts.fit());
    }
    let mut counts = (*counts).clone();
    let path: Vec<String> = touches.iter().map(|t| markov_state(t, codes)).collect();
    counts.add_path(&path, true);
    Ok(counts.fit())
}

/// Credits of `journey` under `stored`: the stored ones when it is the journey's current
/// model, else computed from its touches (not stored).
pub async fn credits(
    state: &AppState,
    journey: &journeys::Model,
    stored: Option<StoredModel>,
) -> AppResult<Vec<Credit>> {
    let want = stored.unwrap_or(journey.model);
    if want == journey.model {
        // The current credits; after a revert, the last ones given (no longer current).
        let rows = attribution_credits::Entity::find()
            .filter(attribution_credits::Column::JourneyId.eq(journey.id))
            .order_by_asc(attribution_credits::Column::Position)
            .all(&state.db)
            .await?;
        let latest = rows.iter().map(|c| c.created_at).max();
        let shown: Vec<Credit> = if rows.iter().any(|c| c.is_current) {
            rows.into_iter().filter(|c| c.is_current).map(Credit::from).collect()
        } else {
            rows.into_iter().filter(|c| Some(c.created_at) == latest).map(Credit::from).collect()
        };
        if !shown.is_empty() || journey.status != JourneyStatus::HeldForReview {
            return Ok(shown);
        }
    }
    let conversion = conversions::Entity::find_by_id(journey.conversion_id)
        .one(&state.db)
        .await?
        .ok_or_else(|| AppError::not_found("conversion", journey.conversion_id))?;
    let touches = touches_of(journey);
    let codes = campaign_codes(&state.db, touches.iter().filter_map(|t| t.campaign_id)).await?;
    let fitted = match want {
        StoredModel::Markov => Some(markov_for(state, &touches, &codes, Some(journey.created_at)).await?),
        _ => None,
    };
    let weights = weights_for(
        want,
        &state.config.attribution,
        &touches,
        conversion.occurred_at,
        fitted.as_ref().map(|m| (m, &codes)),
    );
    let mut list = credits_for(want, &weights, &touches, conversion.value, &conversion.currency);
    for credit in &mut list {
        credit.is_current = false;
    }
    Ok(list)
}

fn credit_row(
    credit: &Credit,
    journey_id: Uuid,
    conversion_id: Uuid,
    now: DateTime<Utc>,
) -> attribution_credits::ActiveModel {
    attribution_credits::ActiveModel {
        id: Set(Uuid::now_v7()),
        journey_id: Set(journey_id),
        conversion_id: Set(conversion_id),
        interaction_id: Set(credit.interaction_id),
        position: Set(credit.position),
        campaign_id: Set(credit.campaign_id),
        affiliate_id: Set(credit.affiliate_id),
        channel: Set(credit.channel.clone()),
        model: Set(credit.model),
        weight: Set(credit.weight),
        amount: Set(credit.amount),
        currency: Set(credit.currency.clone()),
        is_current: Set(true),
        created_at: Set(now),
    }
}

async fn store_credits<C: ConnectionTrait>(
    conn: &C,
    list: &[Credit],
    journey_id: Uuid,
    conversion_id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<Vec<attribution_credits::Model>> {
    let mut stored = Vec::with_capacity(list.len());
    for credit in list {
        stored.push(credit_row(credit, journey_id, conversion_id, now).insert(conn).await?);
    }
    Ok(stored)
}

// ---------------------------------------------------------------------------------------
// Events (seed 003, field for field)

fn seed_conversion_type(kind: ConversionType) -> &'static str {
    match kind {
        ConversionType::Sale => "PURCHASE",
        ConversionType::Lead => "LEAD",
        ConversionType::Signup => "SIGNUP",
        ConversionType::Other => "OTHER",
    }
}

/// `ConversionAtribuida` on `eventos-atribucion`: one per credited campaign.
async fn attributed_events<C: ConnectionTrait>(
    conn: &C,
    journey: &journeys::Model,
    conversion: &conversions::Model,
    credits: &[attribution_credits::Model],
) -> AppResult<Vec<Envelope>> {
    let codes = campaign_codes(conn, credits.iter().filter_map(|c| c.campaign_id)).await?;
    let mut per_campaign: BTreeMap<Uuid, (Decimal, HashSet<Option<Uuid>>)> = BTreeMap::new();
    for credit in credits {
        if let Some(campaign) = credit.campaign_id {
            let entry = per_campaign.entry(campaign).or_default();
            entry.0 += credit.amount;
            entry.1.insert(credit.affiliate_id);
        }
    }
    Ok(per_campaign
        .into_iter()
        .map(|(campaign, (amount, affiliates))| {
            let affiliate = if affiliates.len() == 1 { affiliates.into_iter().next().flatten() } else { None };
            Envelope::raw(
                Topic::Attribution,
                "ConversionAtribuida",
                "journey",
                journey.id,
                json!({
                    "id_interaccion_atribuida": journey.id,
                    "id_campania": codes.get(&campaign).cloned().unwrap_or_else(|| campaign.to_string()),
                    "tipo_conversion": seed_conversion_type(conversion.conversion_type),
                    "monto_atribuido": { "valor": json_number(amount), "moneda": conversion.currency },
                    "id_interaccion_original": conversion.external_id.clone().unwrap_or_else(|| conversion.id.to_string()),
                    "score_fraude": conversion.fraud_score,
                }),
            )
            .for_affiliate(affiliate)
        })
        .collect())
}

/// `AtribucionRevertida` on `atribucion-revertida`.
async fn reverted_event<C: ConnectionTrait>(conn: &C, journey: &journeys::Model) -> AppResult<Envelope> {
    let touches = touches_of(journey);
    let codes = campaign_codes(conn, touches.iter().filter_map(|t| t.campaign_id)).await?;
    let list: Vec<String> = touches
        .iter()
        .map(|t| {
            let campaign = t.campaign_id.and_then(|id| codes.get(&id).cloned()).unwrap_or_default();
            format!("orden:{},campania:{}", t.position, campaign)
        })
        .collect();
    Ok(Envelope::raw(
        Topic::AttributionReverted,
        "AtribucionRevertida",
        "journey",
        journey.id,
        json!({ "journey_id_revertido": journey.id, "interacciones": list }),
    ))
}

// ---------------------------------------------------------------------------------------
// Attributing one conversion

async fn fraud_facts<C: ConnectionTrait>(
    conn: &C,
    conversion: &conversions::Model,
    rows: &[interactions::Model],
    credited_affiliates: &[Uuid],
) -> AppResult<FraudFacts> {
    let last_click = rows.iter().rev().find(|r| r.kind == InteractionKind::Click);
    let secs = last_click.map(|c| (conversion.occurred_at - c.occurred_at).num_seconds());
    let mut flood = 0;
    if let Some(hash) = last_click.and_then(|c| c.ip_hash.clone()) {
        flood = interactions::Entity::find()
            .filter(interactions::Column::IpHash.eq(hash))
            .filter(interactions::Column::Kind.eq(InteractionKind::Click))
            .filter(interactions::Column::OccurredAt.gte(conversion.occurred_at - Duration::hours(1)))
            .filter(interactions::Column::OccurredAt.lte(conversion.occurred_at))
            .count(conn)
            .await?;
    }
    let agents: Vec<String> =
        rows.iter().filter(|r| r.kind == InteractionKind::Click).filter_map(|r| r.user_agent.clone()).collect();
    let mut self_referral = false;
    if let (Some(hash), false) = (&conversion.customer_email_hash, credited_affiliates.is_empty()) {
        let partners = affiliates::Entity::find()
            .filter(affiliates::Column::Id.is_in(credited_affiliates.to_vec()))
            .all(conn)
            .await?;
        self_referral = partners.iter().any(|a| &pii::hash_email(&a.email) == hash);
    }
    let mut same_customer = Condition::any();
    if let Some(hash) = &conversion.customer_email_hash {
        same_customer = same_customer.add(conversions::Column::CustomerEmailHash.eq(hash.clone()));
    }
    if let Some(user) = &conversion.user_id {
        same_customer = same_customer.add(conversions::Column::UserId.eq(user.clone()));
    }
    let mut duplicate = None;
    if !same_customer.is_empty() {
        duplicate = conversions::Entity::find()
            .filter(same_customer)
            .filter(conversions::Column::Id.ne(conversion.id))
            .filter(conversions::Column::Value.eq(conversion.value))
            .filter(conversions::Column::Currency.eq(conversion.currency.clone()))
            .filter(conversions::Column::OccurredAt.gte(conversion.occurred_at - DUPLICATE_WINDOW))
            .filter(conversions::Column::OccurredAt.lte(conversion.occurred_at))
            .filter(conversions::Column::CreatedAt.lte(conversion.created_at))
            .filter(conversions::Column::Status.ne(ConversionStatus::Rejected))
            .one(conn)
            .await?
            .map(|other| other.external_id.unwrap_or_else(|| other.id.to_string()));
    }
    Ok(FraudFacts {
        secs_since_last_click: secs,
        clicks_from_ip_last_hour: flood,
        user_agents: agents,
        self_referral,
        duplicate_of: duplicate,
    })
}

/// Attributes one conversion; `false` when another worker got there first.
async fn attribute(state: &AppState, conversion: conversions::Model) -> AppResult<bool> {
    let settings = &state.config.attribution;
    let campaign = match conversion.campaign_id {
        Some(id) => campaigns::Entity::find_by_id(id).one(&state.db).await?,
        None => None,
    };
    let (stored_model, lookback) = match &campaign {
        Some(c) => (c.attribution_model, u32::try_from(c.lookback_days).unwrap_or(settings.attribution_lookback_days)),
        None => (settings.default_model()?, settings.attribution_lookback_days),
    };
    // Markov path counts read the period's interactions: take them before the write turn,
    // which every writer of this process waits for.
    if stored_model == StoredModel::Markov {
        markov_counts(state).await?;
    }
    let (txn, _turn) = db::write_txn(&state.db).await?;
    let (user, anons) = identity(&txn, conversion.user_id.as_deref(), conversion.anonymous_id.as_deref()).await?;
    let rows = touches(&txn, &conversion, user.as_deref(), &anons, lookback).await?;
    let list = journey_touches(&rows, &conversion);

    let codes = campaign_codes(&txn, list.iter().filter_map(|t| t.campaign_id)).await?;
    let fitted = match stored_model {
        StoredModel::Markov if !list.is_empty() => Some(markov_for(state, &list, &codes, None).await?),
        _ => None,
    };
    let weights =
        weights_for(stored_model, settings, &list, conversion.occurred_at, fitted.as_ref().map(|m| (m, &codes)));
    let credit_list = credits_for(stored_model, &weights, &list, conversion.value, &conversion.currency);
    let credited: Vec<Uuid> = credit_list.iter().filter_map(|c| c.affiliate_id).collect();

    let assessment = fraud::assess(&fraud_facts(&txn, &conversion, &rows, &credited).await?, &settings.fraud_policy());
    let (journey_status, conversion_status) = if list.is_empty() {
        (JourneyStatus::Unattributed, ConversionStatus::Unattributed)
    } else if assessment.held(&settings.fraud_policy()) {
        (JourneyStatus::HeldForReview, ConversionStatus::HeldForReview)
    } else {
        (JourneyStatus::Attributed, ConversionStatus::Attributed)
    };

    let now = Utc::now().trunc_subsecs(6);
    let claimed = conversions::Entity::update_many()
        .col_expr(conversions::Column::Status, Expr::value(conversion_status))
        .col_expr(conversions::Column::FraudScore, Expr::value(assessment.score))
        .col_expr(conversions::Column::FraudSignals, Expr::value(json!(assessment.signals)))
        .col_expr(conversions::Column::UpdatedAt, Expr::value(now))
        .filter(conversions::Column::Id.eq(conversion.id))
        .filter(conversions::Column::Status.eq(ConversionStatus::Registered))
        .exec(&txn)
        .await?;
    if claimed.rows_affected != 1 {
        txn.rollback().await?;
        return Ok(false);
    }
    let journey = journeys::ActiveModel {
        id: Set(Uuid::now_v7()),
        conversion_id: Set(conversion.id),
        user_id: Set(user),
        anonymous_id: Set(conversion.anonymous_id.clone()),
        model: Set(stored_model),
        lookback_days: Set(lookback as i32),
        status: Set(journey_status),
        touchpoints: Set(json!(list)),
        created_at: Set(now),
        updated_at: Set(now),
        reverted_at: Set(None),
    }
    .insert(&txn)
    .await
    .map_err(|e| AppError::from_db_unique(e, &["conversion_id"]))?;
    if journey_status == JourneyStatus::Attributed {
        let conversion = conversions::Model {
            status: conversion_status,
            fraud_score: assessment.score,
            fraud_signals: json!(assessment.signals),
            updated_at: now,
            ..conversion
        };
        let stored = store_credits(&txn, &credit_list, journey.id, conversion.id, now).await?;
        outbox::record_many(&txn, attributed_events(&txn, &journey, &conversion, &stored).await?).await?;
        commission_service::reserve_for_credits(&txn, &conversion, &stored).await?;
    }
    txn.commit().await?;
    Ok(true)
}

// ---------------------------------------------------------------------------------------
// Reads

pub async fn journey_of_conversions(
    db: &DatabaseConnection,
    conversion_ids: &[Uuid],
) -> AppResult<Vec<journeys::Model>> {
    Ok(journeys::Entity::find().filter(journeys::Column::ConversionId.is_in(conversion_ids.to_vec())).all(db).await?)
}

/// A journey by id, if the caller may see its conversion.
pub async fn get_journey(db: &DatabaseConnection, caller: &Caller, id: &str) -> AppResult<journeys::Model> {
    let uuid = Uuid::parse_str(id.trim()).map_err(|_| AppError::not_found("journey", id))?;
    let journey =
        journeys::Entity::find_by_id(uuid).one(db).await?.ok_or_else(|| AppError::not_found("journey", id))?;
    if let Some(own) = caller.affiliate_scope() {
        let conversion = conversions::Entity::find_by_id(journey.conversion_id).one(db).await?;
        if conversion.and_then(|c| c.affiliate_id) != Some(own) {
            return Err(AppError::not_found("journey", id));
        }
    }
    Ok(journey)
}

// ---------------------------------------------------------------------------------------
// Revert and re-attribute (ADMIN)

/// The stored (UPPER_SNAKE) name of a status.
fn upper<T: Serialize>(value: T) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

/// `RevertirAtribucion`: the journey → `REVERTED_FRAUD`, its conversion → `REVERTED`, its
/// credits no longer current; `AtribucionRevertida` is published. Twice is an error.
pub async fn revert(state: &AppState, caller: &Caller, journey_id: &str) -> AppResult<journeys::Model> {
    caller.require_admin()?;
    let uuid = Uuid::parse_str(journey_id.trim()).map_err(|_| AppError::not_found("journey", journey_id))?;
    let (txn, _turn) = db::write_txn(&state.db).await?;
    let journey = journeys::Entity::find_by_id(uuid)
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::not_found("journey", journey_id))?;
    if !matches!(journey.status, JourneyStatus::Attributed | JourneyStatus::HeldForReview) {
        return Err(AppError::InvalidTransition {
            entity: "journey",
            from: upper(journey.status),
            to: upper(JourneyStatus::RevertedFraud),
        });
    }
    let now = Utc::now().trunc_subsecs(6);
    let moved = journeys::Entity::update_many()
        .col_expr(journeys::Column::Status, Expr::value(JourneyStatus::RevertedFraud))
        .col_expr(journeys::Column::RevertedAt, Expr::value(now))
        .col_expr(journeys::Column::UpdatedAt, Expr::value(now))
        .filter(journeys::Column::Id.eq(journey.id))
        .filter(journeys::Column::Status.eq(journey.status))
        .exec(&txn)
        .await?;
    if moved.rows_affected != 1 {
        return Err(AppError::Conflict { field: None, message: "the journey changed meanwhile; try again".into() });
    }
    retire_credits(&txn, journey.id).await?;
    commission_service::reverse_for_conversion(&txn, journey.conversion_id, "atribución revertida").await?;
    conversions::Entity::update_many()
        .col_expr(conversions::Column::Status, Expr::value(ConversionStatus::Reverted))
        .col_expr(conversions::Column::UpdatedAt, Expr::value(now))
        .filter(conversions::Column::Id.eq(journey.conversion_id))
        .exec(&txn)
        .await?;
    let after = journeys::Model {
        status: JourneyStatus::RevertedFraud,
        reverted_at: Some(now),
        updated_at: now,
        ..journey.clone()
    };
    outbox::record(&txn, reverted_event(&txn, &after).await?).await?;
    audit::record(
        &txn,
        caller,
        Change {
            action: "attribution.revert",
            entity_type: "journey",
            entity_id: journey.id.to_string(),
            before: Some(json!({ "status": journey.status })),
            after: Some(json!({ "status": after.status })),
        },
    )
    .await?;
    txn.commit().await?;
    state.events_committed();
    Ok(after)
}

async fn retire_credits<C: ConnectionTrait>(conn: &C, journey_id: Uuid) -> AppResult<()> {
    attribution_credits::Entity::update_many()
        .col_expr(attribution_credits::Column::IsCurrent, Expr::value(false))
        .filter(attribution_credits::Column::JourneyId.eq(journey_id))
        .filter(attribution_credits::Column::IsCurrent.eq(true))
        .exec(conn)
        .await?;
    Ok(())
}

/// What a person decides when re-attributing a conversion.
pub enum Reattribution {
    /// Credit it again under another model.
    Model(StoredModel),
    /// Give all of it to this affiliate (id or code).
    Affiliate(String),
}

/// Re-attributes a conversion (ADMIN): its current credits are retired and new ones made;
/// a conversion held for review is released this way. Audited.
pub async fn reattribute(
    state: &AppState,
    caller: &Caller,
    conversion_id: &str,
    decision: Reattribution,
) -> AppResult<conversions::Model> {
    caller.require_admin()?;
    let uuid = Uuid::parse_str(conversion_id.trim()).map_err(|_| AppError::not_found("conversion", conversion_id))?;
    // Markov path counts read a lot; take them before the write turn.
    if matches!(decision, Reattribution::Model(StoredModel::Markov)) {
        markov_counts(state).await?;
    }
    let (txn, _turn) = db::write_txn(&state.db).await?;
    let conversion = conversions::Entity::find_by_id(uuid)
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::not_found("conversion", conversion_id))?;
    let journey =
        journeys::Entity::find().filter(journeys::Column::ConversionId.eq(conversion.id)).one(&txn).await?.ok_or_else(
            || AppError::InvalidTransition {
                entity: "conversion",
                from: upper(conversion.status),
                to: upper(ConversionStatus::Attributed),
            },
        )?;
    if !matches!(journey.status, JourneyStatus::Attributed | JourneyStatus::HeldForReview | JourneyStatus::Unattributed)
    {
        return Err(AppError::InvalidTransition {
            entity: "journey",
            from: upper(journey.status),
            to: upper(JourneyStatus::Attributed),
        });
    }
    let touches = touches_of(&journey);
    let previous = attribution_credits::Entity::find()
        .filter(attribution_credits::Column::JourneyId.eq(journey.id))
        .filter(attribution_credits::Column::IsCurrent.eq(true))
        .all(&txn)
        .await?;
    let (new_model, list, change) = match decision {
        Reattribution::Model(stored) => {
            if touches.is_empty() {
                return Err(AppError::validation(
                    "model",
                    "the conversion has no touchpoints to credit; give it to an affiliate instead",
                ));
            }
            let codes = campaign_codes(&txn, touches.iter().filter_map(|t| t.campaign_id)).await?;
            let fitted = match stored {
                StoredModel::Markov => Some(markov_for(state, &touches, &codes, Some(journey.created_at)).await?),
                _ => None,
            };
            let weights = weights_for(
                stored,
                &state.config.attribution,
                &touches,
                conversion.occurred_at,
                fitted.as_ref().map(|m| (m, &codes)),
            );
            let list = credits_for(stored, &weights, &touches, conversion.value, &conversion.currency);
            (stored, list, json!({ "model": stored }))
        }
        Reattribution::Affiliate(reference) => {
            let affiliate = find_affiliate(&txn, &reference).await?;
            let campaign_id = conversion.campaign_id.or_else(|| {
                previous.iter().max_by_key(|c| c.amount).and_then(|c| c.campaign_id).or_else(|| {
                    touches.iter().rev().find(|t| t.affiliate_id == Some(affiliate.id)).and_then(|t| t.campaign_id)
                })
            });
            let list = vec![Credit {
                id: None,
                position: 0,
                interaction_id: None,
                campaign_id,
                affiliate_id: Some(affiliate.id),
                channel: Some("manual".into()),
                model: journey.model,
                weight: Decimal::new(1, 0),
                amount: conversion.value,
                currency: conversion.currency.clone(),
                is_current: true,
            }];
            (journey.model, list, json!({ "affiliate_id": affiliate.id, "affiliate": affiliate.code }))
        }
    };
    let now = Utc::now().trunc_subsecs(6);
    retire_credits(&txn, journey.id).await?;
    let mut active: journeys::ActiveModel = journey.clone().into();
    active.model = Set(new_model);
    active.status = Set(JourneyStatus::Attributed);
    active.updated_at = Set(now);
    let journey_after = active.update(&txn).await?;
    let mut active: conversions::ActiveModel = conversion.clone().into();
    active.status = Set(ConversionStatus::Attributed);
    active.updated_at = Set(now);
    let conversion_after = active.update(&txn).await?;
    let stored = store_credits(&txn, &list, journey.id, conversion.id, now).await?;
    outbox::record_many(&txn, attributed_events(&txn, &journey_after, &conversion_after, &stored).await?).await?;
    // The commissions follow the new credits: the old ones canceled (or clawed back once
    // paid), one reserved per new credit.
    commission_service::reverse_for_conversion(&txn, conversion.id, "conversión reatribuida").await?;
    commission_service::reserve_for_credits(&txn, &conversion_after, &stored).await?;
    audit::record(
        &txn,
        caller,
        Change {
            action: "attribution.reattribute",
            entity_type: "conversion",
            entity_id: conversion.id.to_string(),
            before: Some(json!({
                "status": journey.status,
                "model": journey.model,
                "credits": previous.iter().map(|c| json!({ "affiliate_id": c.affiliate_id, "campaign_id": c.campaign_id, "amount": c.amount.to_string() })).collect::<Vec<_>>(),
            })),
            after: Some(json!({ "status": JourneyStatus::Attributed, "decision": change })),
        },
    )
    .await?;
    txn.commit().await?;
    state.events_committed();
    Ok(conversion_after)
}

async fn find_affiliate<C: ConnectionTrait>(conn: &C, reference: &str) -> AppResult<affiliates::Model> {
    let reference = reference.trim();
    let found = match Uuid::parse_str(reference) {
        Ok(id) => affiliates::Entity::find_by_id(id).one(conn).await?,
        Err(_) => affiliates::Entity::find().filter(affiliates::Column::Code.eq(reference)).one(conn).await?,
    };
    found.ok_or_else(|| AppError::UnknownReference {
        field: "affiliateId".into(),
        entity: "affiliate",
        id: reference.to_string(),
    })
}

// ---------------------------------------------------------------------------------------
// Report

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    Campaign,
    Affiliate,
    Channel,
}

/// One line of the report: what `model` gives to `key` in `currency`.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportRow {
    pub model: StoredModel,
    /// Campaign or affiliate code, or channel.
    pub key: String,
    pub name: String,
    pub conversions: Decimal,
    pub value: Decimal,
    pub currency: String,
    /// MARKOV rows: the key's removal effect.
    pub removal_effect: Option<f64>,
}

pub struct Report {
    pub models: Vec<StoredModel>,
    pub rows: Vec<ReportRow>,
    /// Attributed conversions in the period.
    pub conversions: u64,
}

pub const ALL_MODELS: [StoredModel; 6] = [
    StoredModel::LastClick,
    StoredModel::FirstClick,
    StoredModel::Linear,
    StoredModel::TimeDecay,
    StoredModel::PositionBased,
    StoredModel::Markov,
];

/// Names of the keys of a report.
struct Directory {
    campaigns: HashMap<Uuid, (String, String)>,
    affiliates: HashMap<Uuid, (String, String)>,
}

impl Directory {
    async fn load(db: &DatabaseConnection) -> AppResult<Self> {
        let campaigns = campaigns::Entity::find().all(db).await?;
        let affiliates = affiliates::Entity::find().all(db).await?;
        Ok(Self {
            campaigns: campaigns.into_iter().map(|c| (c.id, (c.code, c.name))).collect(),
            affiliates: affiliates.into_iter().map(|a| (a.id, (a.code, a.name))).collect(),
        })
    }

    /// The report key and name of a touch.
    fn key(&self, group: GroupBy, campaign: Option<Uuid>, affiliate: Option<Uuid>, channel: &str) -> (String, String) {
        let named = match group {
            GroupBy::Campaign => campaign.and_then(|id| self.campaigns.get(&id)),
            GroupBy::Affiliate => affiliate.and_then(|id| self.affiliates.get(&id)),
            GroupBy::Channel => None,
        };
        match named {
            Some((code, name)) => (code.clone(), name.clone()),
            None => (channel.to_string(), channel.to_string()),
        }
    }
}

/// Converting paths (from the attributed journeys) and non-converting ones (the touches of
/// people without a conversion) over `[from, to]`, as sequences of report keys.
async fn markov_paths(
    db: &DatabaseConnection,
    settings: &AttributionSettings,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    group: GroupBy,
) -> AppResult<(MarkovCounts, Directory)> {
    let directory = Directory::load(db).await?;
    let mut counts = MarkovCounts::new();
    let journeys = journeys::Entity::find()
        .filter(journeys::Column::Status.eq(JourneyStatus::Attributed))
        .filter(journeys::Column::CreatedAt.gte(from))
        .filter(journeys::Column::CreatedAt.lte(to + Duration::days(1)))
        .all(db)
        .await?;
    let mut converted: HashSet<String> = HashSet::new();
    for journey in &journeys {
        let path: Vec<String> = touches_of(journey)
            .iter()
            .map(|t| directory.key(group, t.campaign_id, t.affiliate_id, &t.channel).0)
            .collect();
        counts.add_path(&path, true);
    }
    // Everyone who converted (attributed yet or not) is left out of the non-converting paths.
    let people: Vec<(Option<String>, Option<String>)> = conversions::Entity::find()
        .select_only()
        .column(conversions::Column::UserId)
        .column(conversions::Column::AnonymousId)
        .filter(conversions::Column::OccurredAt.gte(from))
        .into_tuple()
        .all(db)
        .await?;
    for (user, anon) in people {
        converted.extend(user);
        converted.extend(anon);
    }
    let links: HashMap<String, String> =
        identity_links::Entity::find().all(db).await?.into_iter().map(|l| (l.anonymous_id, l.user_id)).collect();
    let start = from - Duration::days(i64::from(settings.attribution_lookback_days));
    let rows = interactions::Entity::find()
        .filter(interactions::Column::OccurredAt.gte(start))
        .filter(interactions::Column::OccurredAt.lte(to))
        .filter(interactions::Column::Kind.is_in([
            InteractionKind::Click,
            InteractionKind::Impression,
            InteractionKind::View,
        ]))
        .order_by_asc(interactions::Column::OccurredAt)
        .order_by_asc(interactions::Column::Id)
        .all(db)
        .await?;
    let mut paths: HashMap<String, Vec<String>> = HashMap::new();
    for row in rows {
        let person = row
            .user_id
            .clone()
            .or_else(|| row.anonymous_id.as_ref().map(|anon| links.get(anon).cloned().unwrap_or_else(|| anon.clone())));
        let Some(person) = person else { continue };
        if converted.contains(&person)
            || row.user_id.as_ref().is_some_and(|u| converted.contains(u))
            || row.anonymous_id.as_ref().is_some_and(|a| converted.contains(a))
        {
            continue;
        }
        let channel = row.channel.as_deref().unwrap_or(DIRECT);
        paths.entry(person).or_default().push(directory.key(group, row.campaign_id, row.affiliate_id, channel).0);
    }
    for path in paths.values() {
        counts.add_path(path, false);
    }
    Ok((counts, directory))
}

/// `attributionReport`: what each model (or the one asked for) credits to each campaign,
/// affiliate or channel for the conversions attributed in `[from, to]`, per currency.
pub async fn report(
    state: &AppState,
    caller: &Caller,
    only: Option<StoredModel>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    group: GroupBy,
) -> AppResult<Report> {
    caller.require_staff()?;
    if from > to {
        return Err(AppError::validation("from", "from must not be after to"));
    }
    let db = &state.db;
    let settings = &state.config.attribution;
    let models: Vec<StoredModel> = match only {
        Some(m) => vec![m],
        None => ALL_MODELS.to_vec(),
    };
    let attributed = conversions::Entity::find()
        .filter(conversions::Column::Status.eq(ConversionStatus::Attributed))
        .filter(conversions::Column::OccurredAt.gte(from))
        .filter(conversions::Column::OccurredAt.lte(to))
        .all(db)
        .await?;
    let ids: Vec<Uuid> = attributed.iter().map(|c| c.id).collect();
    let mut journeys_by_conversion: HashMap<Uuid, journeys::Model> = HashMap::new();
    for chunk in ids.chunks(500) {
        for j in journey_of_conversions(db, chunk).await? {
            journeys_by_conversion.insert(j.conversion_id, j);
        }
    }
    let (fitted, directory) = if models.contains(&StoredModel::Markov) {
        let (counts, directory) = markov_paths(db, settings, from, to, group).await?;
        (Some(counts.fit()), directory)
    } else {
        (None, Directory::load(db).await?)
    };
    // (model, key, currency) → (name, conversions, value)
    let mut totals: BTreeMap<(usize, String, String), (String, Decimal, Decimal)> = BTreeMap::new();
    let mut per_currency: BTreeMap<String, (u64, Decimal)> = BTreeMap::new();
    for conversion in &attributed {
        let Some(journey) = journeys_by_conversion.get(&conversion.id) else { continue };
        let touches = touches_of(journey);
        if touches.is_empty() {
            continue;
        }
        let entry = per_currency.entry(conversion.currency.clone()).or_default();
        entry.0 += 1;
        entry.1 += conversion.value;
        for (index, stored) in models.iter().enumerate() {
            if *stored == StoredModel::Markov {
                continue;
            }
            let weights = weights_for(*stored, settings, &touches, conversion.occurred_at, None);
            for credit in credits_for(*stored, &weights, &touches, conversion.value, &conversion.currency) {
                let channel = credit.channel.as_deref().unwrap_or(DIRECT);
                let (key, name) = directory.key(group, credit.campaign_id, credit.affiliate_id, channel);
                let line = totals.entry((index, key, conversion.currency.clone())).or_insert((
                    name,
                    Decimal::ZERO,
                    Decimal::ZERO,
                ));
                line.1 += credit.weight;
                line.2 += credit.amount;
            }
        }
    }
    let mut rows: Vec<ReportRow> = totals
        .into_iter()
        .map(|((index, key, currency), (name, conversions, value))| ReportRow {
            model: models[index],
            key,
            name,
            conversions: conversions.round_dp(model::CONVERSION_SCALE).normalize(),
            value,
            currency,
            removal_effect: None,
        })
        .collect();
    if let Some(fitted) = fitted {
        let channels: Vec<(String, f64)> = fitted.channels().map(|(k, e)| (k.to_string(), e)).collect();
        let weights: Vec<Decimal> =
            channels.iter().map(|(_, e)| Decimal::from_f64_retain(*e).unwrap_or(Decimal::ZERO)).collect();
        let names: HashMap<String, String> = directory
            .campaigns
            .values()
            .chain(directory.affiliates.values())
            .map(|(code, name)| (code.clone(), name.clone()))
            .collect();
        for (currency, (count, value)) in &per_currency {
            let minor = Currency::parse(currency, "currency").map(|c| c.minor_units()).unwrap_or(2);
            let mut count = Decimal::from(*count);
            count.rescale(model::CONVERSION_SCALE);
            let conversions = model::split_amount(count, model::CONVERSION_SCALE, &weights);
            let values = model::split_amount(*value, minor, &weights);
            for (((key, effect), conversions), value) in channels.iter().zip(conversions).zip(values) {
                rows.push(ReportRow {
                    model: StoredModel::Markov,
                    key: key.clone(),
                    name: names.get(key).cloned().unwrap_or_else(|| key.clone()),
                    conversions: conversions.normalize(),
                    value,
                    currency: currency.clone(),
                    removal_effect: Some(*effect),
                });
            }
        }
    }
    let order = |m: StoredModel| models.iter().position(|x| *x == m).unwrap_or(usize::MAX);
    rows.sort_by(|a, b| {
        order(a.model)
            .cmp(&order(b.model))
            .then_with(|| a.currency.cmp(&b.currency))
            .then_with(|| b.value.cmp(&a.value))
            .then_with(|| a.key.cmp(&b.key))
    });
    Ok(Report { models, rows, conversions: per_currency.values().map(|(n, _)| n).sum() })
}
