//! The data `reads` measures on: N interactions over the last 30 days (UTC) ending now,
//! N/10 conversions (a share attributed, with their journey and credits, some with an
//! order) and one commission per conversion, written in bulk.
//!
//! Rows are built as the entities' own models and written with multi-row INSERTs (500
//! rows a statement, one transaction), so every column is encoded as SeaORM encodes it
//! on each backend (UUIDs as 16-byte blobs and timestamps as RFC 3339 text on SQLite).
//! The secondary indexes and the rollup triggers are dropped (PostgreSQL: the triggers
//! disabled) while the rows go in and put back after; the rollups are then rebuilt from
//! the raw tables with `rollup::rebuild`, as an import would.

use std::time::{Duration, Instant};

use ::alpes::{
    config::AttributionSettings,
    service::{
        attribution::{self, JourneyTouch},
        rollup,
    },
};
use chrono::{DateTime, Duration as Span, DurationRound, Utc};
use entity::{
    affiliates, attribution_credits,
    campaigns::{self, AttributionModel},
    commissions::{self, CommissionStatus},
    conversions::{self, ConversionStatus, ConversionType},
    interactions::{self, InteractionKind},
    journeys, orders,
};
use rand::{rngs::StdRng, Rng, SeedableRng};
use rust_decimal::Decimal;
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, IntoActiveModel, Statement,
    TransactionTrait,
};
use serde_json::json;
use uuid::Uuid;

/// Rows per INSERT: 500 × the widest table's 28 columns stays under SQLite's 32 766 and
/// PostgreSQL's 65 535 parameters.
const CHUNK: usize = 500;
/// Version of the data's shape: a kept SQLite file of another version is rebuilt.
pub const FORMAT: i64 = 2;
pub const CAMPAIGNS: usize = 200;
pub const AFFILIATES: usize = 2_000;
pub const CHANNELS: [&str; 12] = [
    "instagram",
    "tiktok",
    "youtube",
    "facebook",
    "google",
    "email",
    "blog",
    "twitter",
    "pinterest",
    "newsletter",
    "podcast",
    "affiliate",
];
const PRICES: [i64; 8] = [1999, 999, 2999, 4900, 9999, 14950, 25000, 1999];
/// Tables the fill writes, parents first.
const FILLED: [&str; 6] = ["interactions", "orders", "conversions", "journeys", "attribution_credits", "commissions"];

/// What the fill wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    pub interactions: u64,
    pub clicks: u64,
    pub people: u64,
    pub conversions: u64,
    pub attributed: u64,
    pub credits: u64,
    pub commissions: u64,
    pub orders: u64,
}

/// One affiliate's promotions: the campaigns and channels it works with.
struct Promoter {
    id: Uuid,
    code: String,
    promotions: Vec<(usize, &'static str)>,
}

struct Campaign {
    id: Uuid,
    code: String,
    model: AttributionModel,
}

/// A touch of the person being generated (before it becomes an interaction row).
struct Touch {
    id: Uuid,
    at: DateTime<Utc>,
    kind: InteractionKind,
    campaign: usize,
    affiliate: usize,
    channel: &'static str,
}

/// A person of the data: who they are known as, and their touches in time order.
struct Person {
    user: Option<String>,
    anon: Option<String>,
    touches: Vec<Touch>,
}

/// Rows waiting for their INSERT, written parents first when one kind fills up.
#[derive(Default)]
struct Pending {
    interactions: Vec<interactions::ActiveModel>,
    orders: Vec<orders::ActiveModel>,
    conversions: Vec<conversions::ActiveModel>,
    journeys: Vec<journeys::ActiveModel>,
    credits: Vec<attribution_credits::ActiveModel>,
    commissions: Vec<commissions::ActiveModel>,
}

impl Pending {
    fn full(&self) -> bool {
        [
            self.interactions.len(),
            self.orders.len(),
            self.conversions.len(),
            self.journeys.len(),
            self.credits.len(),
            self.commissions.len(),
        ]
        .into_iter()
        .any(|n| n >= CHUNK)
    }

    async fn flush<C: ConnectionTrait>(&mut self, conn: &C) -> anyhow::Result<()> {
        insert(conn, std::mem::take(&mut self.interactions)).await?;
        insert(conn, std::mem::take(&mut self.orders)).await?;
        insert(conn, std::mem::take(&mut self.conversions)).await?;
        insert(conn, std::mem::take(&mut self.journeys)).await?;
        insert(conn, std::mem::take(&mut self.credits)).await?;
        insert(conn, std::mem::take(&mut self.commissions)).await
    }
}

async fn insert<C: ConnectionTrait, A: ActiveModelTrait + Send>(conn: &C, rows: Vec<A>) -> anyhow::Result<()> {
    if !rows.is_empty() {
        <A::Entity as EntityTrait>::insert_many(rows).exec_without_returning(conn).await?;
    }
    Ok(())
}

/// Writes the campaigns, affiliates and `size` interactions with their conversions,
/// journeys, credits, orders and commissions, in one transaction on `fill_conn` (on
/// SQLite a connection of its own, without journal or syncs).
pub async fn fill(
    fill_conn: &DatabaseConnection,
    size: u64,
    seed: u64,
    now: DateTime<Utc>,
    progress: &dyn Fn(String),
) -> anyhow::Result<Counts> {
    let backend = fill_conn.get_database_backend();
    let mut rng = StdRng::seed_from_u64(seed);
    // Whole microseconds, as the service stores them.
    let now = now.duration_trunc(Span::microseconds(1))?;
    let start = now - Span::days(30);
    let txn = fill_conn.begin().await?;
    let dropped = Dropped::take(&txn, backend).await?;

    let campaigns: Vec<Campaign> = (0..CAMPAIGNS)
        .map(|i| Campaign {
            id: Uuid::now_v7(),
            code: format!("bench-camp-{i}"),
            model: if i % 5 == 0 { AttributionModel::Linear } else { AttributionModel::LastClick },
        })
        .collect();
    let promoters: Vec<Promoter> = (0..AFFILIATES)
        .map(|i| {
            let mut promotions = Vec::new();
            let mut chosen: Vec<usize> = Vec::new();
            let wanted = rng.gen_range(1..=3usize);
            while chosen.len() < wanted {
                let c = rng.gen_range(0..CAMPAIGNS);
                if !chosen.contains(&c) {
                    chosen.push(c);
                }
            }
            let first = rng.gen_range(0..CHANNELS.len());
            let channels = if rng.gen_bool(0.5) {
                vec![CHANNELS[first]]
            } else {
                vec![CHANNELS[first], CHANNELS[(first + 1 + rng.gen_range(0..CHANNELS.len() - 1)) % CHANNELS.len()]]
            };
            for c in &chosen {
                for ch in &channels {
                    promotions.push((*c, *ch));
                }
            }
            Promoter { id: Uuid::now_v7(), code: format!("bench-af-{i}"), promotions }
        })
        .collect();
    insert_directory(&txn, &campaigns, &promoters, now).await?;

    let mut counts = Counts::default();
    let mut pending = Pending::default();
    let mut reported = Instant::now();
    // The people and their touches first: the rows go in in time order, as ingest appends
    // them (a table written person by person would scatter each day over the whole file).
    let mut people: Vec<Person> = Vec::new();
    let mut generated = 0u64;
    while generated < size {
        let person = people.len() as u64 + 1;
        let touches_n = rng.gen_range(10..=30u64).min(size - generated);
        // A person sees one to three affiliates, the first thousand or so most often.
        let seen: Vec<usize> = (0..rng.gen_range(1..=3))
            .map(|_| ((rng.gen::<f64>().powi(2)) * AFFILIATES as f64) as usize % AFFILIATES)
            .collect();
        let user = rng.gen_bool(0.7).then(|| format!("bench-user-{person}"));
        let anon = if user.is_none() || rng.gen_bool(0.2) { Some(format!("bench-anon-{person}")) } else { None };
        let mut touches: Vec<Touch> = (0..touches_n)
            .map(|_| {
                let affiliate = seen[rng.gen_range(0..seen.len())];
                let (campaign, channel) =
                    promoters[affiliate].promotions[rng.gen_range(0..promoters[affiliate].promotions.len())];
                let roll = rng.gen_range(0..100);
                let kind = match roll {
                    0..=79 => InteractionKind::Impression,
                    80..=94 => InteractionKind::Click,
                    _ => InteractionKind::View,
                };
                let offset = rng.gen_range(0..30 * 86_400 * 1_000_000i64);
                Touch { id: Uuid::nil(), at: start + Span::microseconds(offset), kind, campaign, affiliate, channel }
            })
            .collect();
        touches.sort_by_key(|t| t.at);
        generated += touches_n;
        people.push(Person { user, anon, touches });
    }
    let mut arrivals: Vec<(DateTime<Utc>, u32, u32)> = people
        .iter()
        .enumerate()
        .flat_map(|(p, person)| person.touches.iter().enumerate().map(move |(t, touch)| (touch.at, p as u32, t as u32)))
        .collect();
    arrivals.sort_unstable();
    for (_, p, t) in arrivals {
        let person = &mut people[p as usize];
        let touch = &mut person.touches[t as usize];
        touch.id = Uuid::now_v7();
        counts.interactions += 1;
        if touch.kind == InteractionKind::Click {
            counts.clicks += 1;
        }
        let campaign = &campaigns[touch.campaign];
        let promoter = &promoters[touch.affiliate];
        let ip_hash = format!("{:064x}", (u128::from(p) + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835));
        pending.interactions.push(
            interactions::Model {
                id: touch.id,
                external_id: format!("bench-i-{}", counts.interactions),
                kind: touch.kind,
                occurred_at: touch.at,
                received_at: touch.at + Span::milliseconds(150),
                session_id: None,
                tracking_link_id: None,
                user_id: person.user.clone(),
                anonymous_id: person.anon.clone(),
                campaign_id: Some(campaign.id),
                affiliate_id: Some(promoter.id),
                campaign_ref: Some(campaign.code.clone()),
                affiliate_ref: Some(promoter.code.clone()),
                source: Some(touch.channel.to_string()),
                medium: Some("affiliate".into()),
                channel: Some(touch.channel.to_string()),
                gclid: None,
                fbclid: None,
                referrer: Some(format!("https://{}.example/", touch.channel)),
                user_agent: Some("Mozilla/5.0 (bench)".into()),
                ip_hash: Some(ip_hash),
                value: None,
                currency: None,
                flags: json!([]),
                payload: json!({}),
            }
            .into_active_model()
            .reset_all(),
        );
        if pending.full() {
            pending.flush(&txn).await?;
        }
        if reported.elapsed() >= Duration::from_secs(10) {
            reported = Instant::now();
            progress(format!("  {} of {size} interactions", counts.interactions));
        }
    }
    pending.flush(&txn).await?;
    // About one conversion per ten touches, a little after the touch it follows; drawn
    // person by person, written in time order too.
    let mut sales: Vec<(DateTime<Utc>, u32, u32, u64)> = Vec::new();
    for (p, person) in people.iter().enumerate() {
        for (i, touch) in person.touches.iter().enumerate() {
            if !rng.gen_bool(0.1) {
                continue;
            }
            let at = (touch.at + Span::seconds(rng.gen_range(1..3600))).min(now - Span::seconds(1));
            sales.push((at, p as u32, i as u32, rng.gen()));
        }
    }
    sales.sort_unstable();
    for (conversion_n, (at, p, i, seed)) in sales.into_iter().enumerate() {
        let person = &people[p as usize];
        let touches = &person.touches;
        let before: Vec<&Touch> =
            touches.iter().filter(|t| t.at <= at && t.at >= at - Span::days(30)).take(500).collect();
        let decisive: &Touch = before
            .iter()
            .rev()
            .copied()
            .find(|t| t.kind == InteractionKind::Click)
            .unwrap_or(before.last().copied().unwrap_or(&touches[i as usize]));
        convert(
            &mut StdRng::seed_from_u64(seed),
            &mut pending,
            &mut counts,
            Conversion {
                n: conversion_n as u64 + 1,
                at,
                before: &before,
                decisive,
                user: person.user.clone(),
                anon: person.anon.clone(),
                campaigns: &campaigns,
                promoters: &promoters,
            },
        );
        if pending.full() {
            pending.flush(&txn).await?;
        }
        if reported.elapsed() >= Duration::from_secs(10) {
            reported = Instant::now();
            progress(format!("  {} conversions", counts.conversions));
        }
    }
    pending.flush(&txn).await?;
    counts.people = people.len() as u64;
    progress("  rows written; putting the indexes and triggers back".into());
    dropped.restore(&txn, backend).await?;
    txn.commit().await?;
    Ok(counts)
}

struct Conversion<'a> {
    n: u64,
    at: DateTime<Utc>,
    before: &'a [&'a Touch],
    decisive: &'a Touch,
    user: Option<String>,
    anon: Option<String>,
    campaigns: &'a [Campaign],
    promoters: &'a [Promoter],
}

fn convert(rng: &mut StdRng, pending: &mut Pending, counts: &mut Counts, c: Conversion<'_>) {
    counts.conversions += 1;
    let campaign = &c.campaigns[c.decisive.campaign];
    let promoter = &c.promoters[c.decisive.affiliate];
    let status = match rng.gen_range(0..100) {
        0..=69 => ConversionStatus::Attributed,
        70..=79 => ConversionStatus::Unattributed,
        80..=84 => ConversionStatus::HeldForReview,
        85..=88 => ConversionStatus::Reverted,
        89..=93 => ConversionStatus::Refunded,
        94..=97 => ConversionStatus::Rejected,
        _ => ConversionStatus::Registered,
    };
    let kind = match rng.gen_range(0..100) {
        0..=79 => ConversionType::Sale,
        80..=94 => ConversionType::Lead,
        _ => ConversionType::Signup,
    };
    let value = Decimal::new(PRICES[rng.gen_range(0..PRICES.len())], 2);
    let currency = match rng.gen_range(0..100) {
        0..=84 => "USD",
        85..=94 => "EUR",
        _ => "MXN",
    };
    let id = Uuid::now_v7();
    let order = (kind == ConversionType::Sale && rng.gen_bool(0.5)).then(Uuid::now_v7);
    if let Some(order) = order {
        counts.orders += 1;
        let refunded = status == ConversionStatus::Refunded;
        pending.orders.push(
            orders::Model {
                id: order,
                event_id: None,
                click_id: None,
                stripe_session_id: format!("cs_bench_{}", c.n),
                payment_intent_id: Some(format!("pi_bench_{}", c.n)),
                amount: value,
                refunded_amount: if refunded { value } else { Decimal::ZERO },
                currency: currency.into(),
                status: if refunded { orders::OrderStatus::Refunded } else { orders::OrderStatus::Paid },
                customer_email_hash: None,
                customer_phone_hash: None,
                gclid: None,
                fbclid: None,
                campaign: Some(campaign.code.clone()),
                source: Some(c.decisive.channel.to_string()),
                product_id: Some("PROD001".into()),
                campaign_id: Some(campaign.id),
                affiliate_id: Some(promoter.id),
                metadata: json!({}),
                pipedrive_deal_id: None,
                created_at: c.at,
                updated_at: c.at,
                coupon_id: None,
            }
            .into_active_model()
            .reset_all(),
        );
    }
    pending.conversions.push(
        conversions::Model {
            id,
            external_id: Some(format!("bench-conv-{}", c.n)),
            order_id: order,
            interaction_id: (c.decisive.kind == InteractionKind::Click).then_some(c.decisive.id),
            conversion_type: kind,
            value,
            currency: currency.into(),
            channel: Some(c.decisive.channel.to_string()),
            campaign_id: Some(campaign.id),
            affiliate_id: Some(promoter.id),
            user_id: c.user.clone(),
            anonymous_id: c.anon.clone(),
            customer_email_hash: None,
            customer: json!({}),
            products: json!([]),
            metadata: json!({}),
            status,
            fraud_score: rng.gen_range(0..30),
            fraud_signals: json!([]),
            occurred_at: c.at,
            created_at: c.at,
            updated_at: c.at,
        }
        .into_active_model()
        .reset_all(),
    );
    let attributed_at = c.at + Span::seconds(1);
    let mut credit_of_promoter = None;
    if status == ConversionStatus::Attributed {
        counts.attributed += 1;
        let journey = Uuid::now_v7();
        let touches: Vec<JourneyTouch> = c
            .before
            .iter()
            .enumerate()
            .map(|(i, t)| JourneyTouch {
                position: i as i32 + 1,
                interaction_id: Some(t.id),
                at: t.at,
                kind: match t.kind {
                    InteractionKind::Click => "CLICK",
                    InteractionKind::View => "VIEW",
                    _ => "IMPRESSION",
                }
                .into(),
                channel: t.channel.into(),
                campaign_id: Some(c.campaigns[t.campaign].id),
                affiliate_id: Some(c.promoters[t.affiliate].id),
                source: Some(t.channel.into()),
                medium: Some("affiliate".into()),
                is_click: t.kind == InteractionKind::Click,
            })
            .collect();
        pending.journeys.push(
            journeys::Model {
                id: journey,
                conversion_id: id,
                user_id: c.user.clone(),
                anonymous_id: c.anon.clone(),
                model: campaign.model,
                lookback_days: 30,
                status: journeys::JourneyStatus::Attributed,
                touchpoints: serde_json::to_value(&touches).unwrap_or_default(),
                created_at: attributed_at,
                updated_at: attributed_at,
                reverted_at: None,
            }
            .into_active_model()
            .reset_all(),
        );
        // The credits of the campaign's model: the decisive touch, or every touch alike.
        let credited: Vec<(usize, &Touch)> = match campaign.model {
            AttributionModel::Linear => c.before.iter().copied().enumerate().collect(),
            _ => {
                let at = c.before.iter().position(|t| std::ptr::eq(*t, c.decisive)).unwrap_or(0);
                vec![(at, c.decisive)]
            }
        };
        let n = credited.len() as i64;
        let weight = (Decimal::ONE / Decimal::from(n)).round_dp(12);
        let share = (value / Decimal::from(n)).round_dp(4);
        for (k, (position, t)) in credited.iter().enumerate() {
            counts.credits += 1;
            let last = k as i64 == n - 1;
            let credit = Uuid::now_v7();
            if t.affiliate == c.decisive.affiliate && credit_of_promoter.is_none() && n == 1 {
                credit_of_promoter = Some(credit);
            }
            pending.credits.push(
                attribution_credits::Model {
                    id: credit,
                    journey_id: journey,
                    conversion_id: id,
                    interaction_id: Some(t.id),
                    position: *position as i32 + 1,
                    campaign_id: Some(c.campaigns[t.campaign].id),
                    affiliate_id: Some(c.promoters[t.affiliate].id),
                    channel: Some(t.channel.into()),
                    model: campaign.model,
                    weight: if last { Decimal::ONE - weight * Decimal::from(n - 1) } else { weight },
                    amount: if last { value - share * Decimal::from(n - 1) } else { share },
                    currency: currency.into(),
                    is_current: true,
                    created_at: attributed_at,
                }
                .into_active_model()
                .reset_all(),
            );
        }
    }
    counts.commissions += 1;
    let commission_status = match status {
        ConversionStatus::Reverted | ConversionStatus::Refunded => CommissionStatus::Canceled,
        ConversionStatus::Rejected => CommissionStatus::Rejected,
        _ => match rng.gen_range(0..100) {
            0..=29 => CommissionStatus::Pending,
            30..=59 => CommissionStatus::Calculated,
            60..=79 => CommissionStatus::Approved,
            _ => CommissionStatus::Paid,
        },
    };
    let calculated = commission_status != CommissionStatus::Pending;
    let priced = (value * Decimal::new(10, 2)).round_dp(2);
    let amount = calculated.then_some(priced);
    let created = attributed_at + Span::seconds(1);
    pending.commissions.push(
        commissions::Model {
            id: Uuid::now_v7(),
            conversion_id: Some(id),
            credit_id: credit_of_promoter,
            affiliate_id: promoter.id,
            campaign_id: Some(campaign.id),
            payout_id: None,
            adjusts_commission_id: None,
            commission_type: commissions::CommissionType::Percentage,
            base_amount: value,
            rate: amount.map(|_| Decimal::new(10, 0)),
            amount,
            expected_amount: Some(priced),
            currency: currency.into(),
            status: commission_status,
            config: json!({}),
            approval_comments: None,
            approval_level: None,
            approval_policy: None,
            approval_metadata: json!({}),
            rejection_reason: (commission_status == CommissionStatus::Rejected).then(|| "fraud review".into()),
            cancel_reason: (commission_status == CommissionStatus::Canceled).then(|| "conversion reverted".into()),
            calculated_at: amount.map(|_| created),
            approved_at: matches!(commission_status, CommissionStatus::Approved | CommissionStatus::Paid)
                .then_some(created),
            paid_at: (commission_status == CommissionStatus::Paid).then_some(created),
            canceled_at: (commission_status == CommissionStatus::Canceled).then_some(created),
            approved_by: None,
            version: 1,
            created_at: created,
            updated_at: created,
        }
        .into_active_model()
        .reset_all(),
    );
}

async fn insert_directory<C: ConnectionTrait>(
    conn: &C,
    campaigns: &[Campaign],
    promoters: &[Promoter],
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let rows: Vec<campaigns::ActiveModel> = campaigns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            campaigns::Model {
                id: c.id,
                code: c.code.clone(),
                name: format!("Bench campaign {i}"),
                description: None,
                starts_at: now - Span::days(365),
                ends_at: None,
                budget: None,
                currency: "USD".into(),
                campaign_type: "promocional".into(),
                channels: json!(CHANNELS),
                targeting: json!({}),
                allowed_domains: None,
                conversion_rate: Some(Decimal::new(10, 0)),
                sale_rate: Some(Decimal::new(10, 0)),
                bonus_targets: None,
                commission_type: campaigns::CommissionType::Percentage,
                flat_amount: None,
                attribution_model: c.model,
                lookback_days: 30,
                status: campaigns::CampaignStatus::Active,
                recurring_rate: None,
                recurring_months: None,
                recurring_lifetime: false,
                created_at: now - Span::days(365),
                updated_at: now - Span::days(365),
            }
            .into_active_model()
            .reset_all()
        })
        .collect();
    insert(conn, rows).await?;
    for chunk in promoters.chunks(CHUNK) {
        let rows: Vec<affiliates::ActiveModel> = chunk
            .iter()
            .map(|p| {
                affiliates::Model {
                    id: p.id,
                    code: p.code.clone(),
                    name: format!("Bench affiliate {}", &p.code["bench-af-".len()..]),
                    email: format!("{}@bench.example", p.code),
                    phone: None,
                    document_type: None,
                    document_number: None,
                    tier: affiliates::AffiliateTier::Standard,
                    bank_name: None,
                    bank_account_type: None,
                    bank_account_number: None,
                    base_rate: Decimal::new(10, 0),
                    premium_rate: None,
                    minimum_payout: Decimal::new(50, 0),
                    payout_currency: "USD".into(),
                    status: affiliates::AffiliateStatus::Active,
                    deleted_at: None,
                    created_at: now - Span::days(365),
                    updated_at: now - Span::days(365),
                }
                .into_active_model()
                .reset_all()
            })
            .collect();
        insert(conn, rows).await?;
    }
    Ok(())
}

/// The secondary indexes (and on SQLite the triggers) of the filled tables, as they were
/// before the fill took them off.
struct Dropped {
    indexes: Vec<String>,
    triggers: Vec<String>,
}

impl Dropped {
    async fn take<C: ConnectionTrait>(conn: &C, backend: DbBackend) -> anyhow::Result<Self> {
        let tables = FILLED.iter().map(|t| format!("'{t}'")).collect::<Vec<_>>().join(", ");
        let mut indexes = Vec::new();
        let mut triggers = Vec::new();
        match backend {
            DbBackend::Postgres => {
                // Indexes that back a constraint (the primary keys) stay.
                let rows = conn
                    .query_all_raw(Statement::from_string(
                        backend,
                        format!(
                            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() \
                             AND tablename IN ({tables}) AND indexname NOT IN (SELECT conname FROM pg_constraint)"
                        ),
                    ))
                    .await?;
                for row in rows {
                    let name: String = row.try_get("", "indexname")?;
                    indexes.push(row.try_get("", "indexdef")?);
                    conn.execute_unprepared(&format!("DROP INDEX {name}")).await?;
                }
                for table in FILLED {
                    conn.execute_unprepared(&format!("ALTER TABLE {table} DISABLE TRIGGER USER")).await?;
                }
            }
            _ => {
                let rows = conn
                    .query_all_raw(Statement::from_string(
                        backend,
                        format!(
                            "SELECT type, name, sql FROM sqlite_master WHERE type IN ('index', 'trigger') \
                             AND tbl_name IN ({tables}) AND sql IS NOT NULL"
                        ),
                    ))
                    .await?;
                for row in rows {
                    let kind: String = row.try_get("", "type")?;
                    let name: String = row.try_get("", "name")?;
                    let sql: String = row.try_get("", "sql")?;
                    conn.execute_unprepared(&format!("DROP {} {name}", kind.to_uppercase())).await?;
                    if kind == "index" {
                        indexes.push(sql);
                    } else {
                        triggers.push(sql);
                    }
                }
            }
        }
        Ok(Self { indexes, triggers })
    }

    async fn restore<C: ConnectionTrait>(&self, conn: &C, backend: DbBackend) -> anyhow::Result<()> {
        for sql in self.indexes.iter().chain(&self.triggers) {
            conn.execute_unprepared(sql).await?;
        }
        if backend == DbBackend::Postgres {
            for table in FILLED {
                conn.execute_unprepared(&format!("ALTER TABLE {table} ENABLE TRIGGER USER")).await?;
            }
        }
        Ok(())
    }
}

/// After the fill: the attribution shares, the rollups from the raw rows, then planner statistics (on PostgreSQL
/// also the visibility map autovacuum keeps, as a database that has lived a while has).
pub async fn finish(conn: &DatabaseConnection, settings: &AttributionSettings) -> anyhow::Result<()> {
    // What each heuristic model gives of each attributed conversion, as the worker stores it.
    attribution::backfill_shares(conn, settings).await.map_err(|e| anyhow::anyhow!("attribution shares: {e}"))?;
    rollup::rebuild(conn, None).await.map_err(|e| anyhow::anyhow!("rebuilding the rollups: {e}"))?;
    let maintenance = match conn.get_database_backend() {
        DbBackend::Postgres => "VACUUM ANALYZE",
        _ => "ANALYZE",
    };
    conn.execute_unprepared(maintenance).await?;
    Ok(())
}

/// The size, format and time of the data a kept SQLite file holds, if it is complete.
pub async fn read_meta(conn: &DatabaseConnection) -> Option<(u64, i64, String)> {
    let row = conn
        .query_one_raw(Statement::from_string(
            conn.get_database_backend(),
            "SELECT size, format, built_at FROM bench_reads_meta LIMIT 1".to_string(),
        ))
        .await
        .ok()??;
    let size: i64 = row.try_get("", "size").ok()?;
    Some((size as u64, row.try_get("", "format").ok()?, row.try_get("", "built_at").ok()?))
}

/// Marks the data complete (written last, so an interrupted fill is rebuilt next time).
pub async fn write_meta(conn: &DatabaseConnection, size: u64, built_at: DateTime<Utc>) -> anyhow::Result<()> {
    conn.execute_unprepared("CREATE TABLE IF NOT EXISTS bench_reads_meta (size BIGINT, format BIGINT, built_at TEXT)")
        .await?;
    conn.execute_unprepared("DELETE FROM bench_reads_meta").await?;
    let backend = conn.get_database_backend();
    let insert = match backend {
        DbBackend::Postgres => "INSERT INTO bench_reads_meta (size, format, built_at) VALUES ($1, $2, $3)",
        _ => "INSERT INTO bench_reads_meta (size, format, built_at) VALUES (?, ?, ?)",
    };
    conn.execute_raw(Statement::from_sql_and_values(
        backend,
        insert,
        [(size as i64).into(), FORMAT.into(), built_at.to_rfc3339().into()],
    ))
    .await?;
    Ok(())
}
