//! Demo data (seed 000's "data seeding"): a realistic programme — affiliates, campaigns,
//! tracking links, clicks with UTM/gclid/fbclid, Stripe checkouts (paid, pending, failed,
//! refunded) — made by calling the same services that serve real traffic, so every figure
//! on every page agrees with every other. Running it again adds another batch.

use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use entity::{
    affiliates::AffiliateTier,
    campaigns::AttributionModel,
    commissions::{self, CommissionStatus},
};
use futures::future::join_all;
use rand::{rngs::StdRng, Rng, SeedableRng};
use rust_decimal::Decimal;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{json, Value};
use uuid::Uuid;

use super::{
    affiliate_service::{self, BankDetails, CommissionSettings, Document, NewAffiliate},
    attribution::{self, Markov},
    campaign_service::{self, CampaignCommission, NewCampaign},
    commission::{self, Approval},
    integration_service, stripe_service,
    tracking::{self, Fields, Ingestor, Recorder, Ref, SessionInput, TouchCommand},
    tracking_link_service::{self, NewTrackingLink},
};
use crate::{
    auth::Caller,
    context::Ctx,
    error::{AppError, AppResult},
};

/// Most days one run may fill.
pub const MAX_DAYS: u32 = 365;
pub const AFFILIATES: usize = 50;
pub const CAMPAIGNS: usize = 10;

/// What one run made.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct SeedReport {
    pub days: u32,
    pub affiliates: usize,
    pub campaigns: usize,
    pub tracking_links: usize,
    pub clicks: usize,
    pub checkouts: usize,
    pub paid_orders: usize,
    pub refunds: usize,
    pub failed_payments: usize,
    /// Conversions the attribution credited in this run.
    pub attributed: usize,
    /// Attributions reverted as fraud (their commissions canceled).
    pub reverted: usize,
    pub commissions_pending: usize,
    pub commissions_calculated: usize,
    pub commissions_approved: usize,
    pub commissions_rejected: usize,
    pub payouts: usize,
    pub payouts_paid: usize,
    pub elapsed_ms: u128,
    /// Demo orders are test orders: what that means for the platforms.
    pub outbound: &'static str,
}

/// What [`SeedReport::outbound`] says.
pub const OUTBOUND_NOTE: &str = "demo orders are test orders (Stripe metadata alpes_demo): none is sent to Google Ads, Meta or Pipedrive, whatever is configured";

pub fn validate_days(days: i64) -> AppResult<u32> {
    if !(1..=MAX_DAYS as i64).contains(&days) {
        return Err(AppError::validation("days", format!("days must be between 1 and {MAX_DAYS}")));
    }
    Ok(days as u32)
}

const FIRST: [&str; 25] = [
    "Ana",
    "Bruno",
    "Camila",
    "Diego",
    "Elena",
    "Felipe",
    "Gabriela",
    "Hugo",
    "Isabel",
    "Javier",
    "Karen",
    "Luis",
    "Mariana",
    "Nicolás",
    "Olivia",
    "Pablo",
    "Quentin",
    "Rosa",
    "Santiago",
    "Tatiana",
    "Uma",
    "Valentina",
    "William",
    "Ximena",
    "Yago",
];
const LAST: [&str; 20] = [
    "García",
    "Martínez",
    "López",
    "Rodríguez",
    "Pérez",
    "Gómez",
    "Díaz",
    "Torres",
    "Ramírez",
    "Flores",
    "Rivera",
    "Morales",
    "Castro",
    "Ortiz",
    "Silva",
    "Rojas",
    "Vargas",
    "Mendoza",
    "Herrera",
    "Navarro",
];
const NICHES: [&str; 10] =
    ["Fitness", "Travel", "Tech", "Beauty", "Finance", "Gaming", "Parenting", "Food", "Outdoors", "Style"];

struct CampaignPlan {
    name: &'static str,
    currency: &'static str,
    model: AttributionModel,
    sale_rate: &'static str,
    channels: &'static [&'static str],
    /// Catalogue: (product id, price in major units).
    products: &'static [(&'static str, i64)],
}

const PLANS: [CampaignPlan; CAMPAIGNS] = [
    CampaignPlan {
        name: "Spring Launch",
        currency: "USD",
        model: AttributionModel::LastClick,
        sale_rate: "10",
        channels: &["web", "social"],
        products: &[("PRO-MONTH", 29), ("PRO-YEAR", 290)],
    },
    CampaignPlan {
        name: "Black Friday",
        currency: "USD",
        model: AttributionModel::Linear,
        sale_rate: "12",
        channels: &["web", "email", "social"],
        products: &[("BUNDLE", 149), ("STARTER", 49)],
    },
    CampaignPlan {
        name: "Creator Program",
        currency: "USD",
        model: AttributionModel::PositionBased,
        sale_rate: "15",
        channels: &["social"],
        products: &[("CREATOR-KIT", 79)],
    },
    CampaignPlan {
        name: "Search Always On",
        currency: "USD",
        model: AttributionModel::LastClick,
        sale_rate: "8",
        channels: &["paid_search"],
        products: &[("PRO-MONTH", 29), ("TEAM", 99)],
    },
    CampaignPlan {
        name: "Newsletter Partners",
        currency: "USD",
        model: AttributionModel::FirstClick,
        sale_rate: "10",
        channels: &["email"],
        products: &[("STARTER", 49)],
    },
    CampaignPlan {
        name: "Back to School",
        currency: "USD",
        model: AttributionModel::TimeDecay,
        sale_rate: "9",
        channels: &["web", "social"],
        products: &[("STUDENT", 19), ("PRO-YEAR", 290)],
    },
    CampaignPlan {
        name: "Europe Expansion",
        currency: "EUR",
        model: AttributionModel::Linear,
        sale_rate: "11",
        channels: &["web", "paid_search"],
        products: &[("PRO-MONTH-EU", 27), ("TEAM-EU", 89)],
    },
    CampaignPlan {
        name: "Summer Deals EU",
        currency: "EUR",
        model: AttributionModel::LastClick,
        sale_rate: "10",
        channels: &["social", "email"],
        products: &[("BUNDLE-EU", 129)],
    },
    CampaignPlan {
        name: "Enterprise Referrals",
        currency: "USD",
        model: AttributionModel::Markov,
        sale_rate: "5",
        channels: &["web"],
        products: &[("ENTERPRISE", 1200)],
    },
    CampaignPlan {
        name: "App Install Push",
        currency: "USD",
        model: AttributionModel::LastClick,
        sale_rate: "20",
        channels: &["mobile", "social"],
        products: &[("APP-PLUS", 9)],
    },
];

/// Where a click came from: (utm_source, utm_medium, click-id kind, referrer).
const SOURCES: [(&str, &str, Option<&str>, &str); 5] = [
    ("google", "cpc", Some("gclid"), "https://www.google.com/"),
    ("facebook", "paid_social", Some("fbclid"), "https://m.facebook.com/"),
    ("instagram", "social", Some("fbclid"), "https://l.instagram.com/"),
    ("newsletter", "email", None, ""),
    ("partner-blog", "affiliate", None, "https://blog.example.org/"),
];

pub async fn seed(ctx: &Ctx, ingest: &Ingestor, markov: &Markov, caller: &Caller, days: i64) -> AppResult<SeedReport> {
    seed_with_progress(ctx, ingest, markov, caller, days, &super::Quiet).await
}

/// [`seed`], telling `progress` how far it is: clicks, checkouts, attribution, the
/// commission lifecycle, payouts.
pub async fn seed_with_progress(
    ctx: &Ctx,
    ingest: &Ingestor,
    markov: &Markov,
    caller: &Caller,
    days: i64,
    progress: &dyn super::Progress,
) -> AppResult<SeedReport> {
    caller.require_admin()?;
    let days = validate_days(days)?;
    let started = Instant::now();
    let mut rng = StdRng::from_entropy();
    let tag: String = format!("{:04x}", rng.gen::<u16>());
    let now = Utc::now();
    let start = now - Duration::days(days as i64);
    let mut report = SeedReport { days, outbound: OUTBOUND_NOTE, ..SeedReport::default() };

    // Campaigns: through the campaign service, then activated.
    let mut campaigns = Vec::with_capacity(CAMPAIGNS);
    for plan in &PLANS {
        let created = campaign_service::create(
            ctx,
            caller,
            NewCampaign {
                code: None,
                name: plan.name.to_string(),
                description: Some(format!("{} (demo data, batch {tag})", plan.name)),
                starts_at: start - Duration::days(7),
                ends_at: None,
                budget: Some(Decimal::from(rng.gen_range(5..50) * 1000)),
                currency: plan.currency.to_string(),
                campaign_type: Some("promotional".into()),
                channels: plan.channels.iter().map(|c| c.to_string()).collect(),
                allowed_domains: vec!["shop.example.com".into()],
                targeting: Some(json!({"countries": ["US", "CO", "ES"]})),
                commission: CampaignCommission {
                    sale_rate: plan.sale_rate.parse().ok(),
                    bonus_targets: Some(Decimal::from(5)),
                    ..CampaignCommission::default()
                },
                attribution_model: Some(plan.model),
                lookback_days: Some(30),
            },
        )
        .await?;
        let active = campaign_service::activate(ctx, caller, created.id).await?;
        campaigns.push((active, plan));
    }
    report.campaigns = campaigns.len();

    // Affiliates, each with a "pull" that makes some of them busier than others.
    let mut affiliates = Vec::with_capacity(AFFILIATES);
    for i in 0..AFFILIATES {
        let first = FIRST[rng.gen_range(0..FIRST.len())];
        let last = LAST[rng.gen_range(0..LAST.len())];
        let niche = NICHES[i % NICHES.len()];
        let premium = rng.gen_bool(0.2);
        let created = affiliate_service::create(
            ctx,
            caller,
            NewAffiliate {
                code: None,
                name: format!("{first} {last} {niche}"),
                email: format!("{}.{}.{tag}{i}@partners.example.com", ascii(first), ascii(last)),
                phone: Some(format!("+57 300 {:03} {:04}", rng.gen_range(0..1000), rng.gen_range(0..10000))),
                document: Some(Document {
                    kind: "CC".into(),
                    number: format!("{}", rng.gen_range(10_000_000..99_999_999)),
                }),
                tier: if premium { AffiliateTier::Premium } else { AffiliateTier::Standard },
                bank_details: rng.gen_bool(0.85).then(|| BankDetails {
                    bank: ["Banco Alpino", "Banco Andino", "Caja Norte"][rng.gen_range(0..3)].into(),
                    account_type: if rng.gen_bool(0.6) { "savings" } else { "checking" }.into(),
                    account_number: format!("{}", rng.gen_range(1_000_000_000u64..9_999_999_999)),
                }),
                commission: CommissionSettings {
                    base_rate: Decimal::from(rng.gen_range(8..16)),
                    premium_rate: premium.then(|| Decimal::from(20)),
                    minimum_payout: Decimal::from(50),
                    currency: Some("USD".into()),
                },
            },
        )
        .await?;
        let pull: f64 = rng.gen_range(0.2..3.0);
        affiliates.push((created, pull));
    }
    report.affiliates = affiliates.len();

    // Tracking links: every affiliate promotes two to four campaigns.
    let mut links = Vec::new();
    for (affiliate, pull) in &affiliates {
        let count = rng.gen_range(2..=4);
        let mut picked: Vec<usize> = Vec::new();
        while picked.len() < count {
            let c = rng.gen_range(0..campaigns.len());
            if !picked.contains(&c) {
                picked.push(c);
            }
        }
        for c in picked {
            let (campaign, plan) = &campaigns[c];
            let link = tracking_link_service::create(
                ctx,
                caller,
                NewTrackingLink {
                    affiliate: affiliate.id.to_string(),
                    campaign: campaign.id.to_string(),
                    destination_url: format!("https://shop.example.com/{}?ref={}", campaign.code, affiliate.code),
                    code: None,
                },
            )
            .await?;
            links.push((link, *pull, campaign.clone(), *plan));
        }
    }
    report.tracking_links = links.len();
    let total_pull: f64 = links.iter().map(|l| l.1).sum();

    // Clicks, day by day (weekdays busier, a slow upward trend), through the ingest.
    let mut clicks: Vec<(TouchCommand, usize)> = Vec::new();
    for day in 0..days {
        let day_start = start + Duration::days(day as i64);
        let weekday = (day_start.timestamp() / 86_400 + 4) % 7; // 0 = Sunday
        let base = 160.0 + 80.0 * day as f64 / days as f64;
        let volume = (base * if weekday == 0 || weekday == 6 { 0.7 } else { 1.0 } * rng.gen_range(0.85..1.15)) as usize;
        for n in 0..volume {
            let at = day_start + Duration::seconds(rng.gen_range(0..86_400));
            if at >= now {
                continue;
            }
            let mut pick = rng.gen_range(0.0..total_pull);
            let mut index = 0;
            for (i, link) in links.iter().enumerate() {
                if pick < link.1 {
                    index = i;
                    break;
                }
                pick -= link.1;
            }
            let (link, _, campaign, _) = &links[index];
            let (source, medium, click_id, referrer) = SOURCES[rng.gen_range(0..SOURCES.len())];
            let clid = format!("{}{}", Uuid::new_v4().simple(), n);
            clicks.push((
                TouchCommand {
                    id: Some(format!("seed-{tag}-{day}-{n}")),
                    occurred_at: Some(at),
                    campaign: Some(Ref::Known(link.campaign_id)),
                    affiliate: Some(Ref::Known(link.affiliate_id)),
                    tracking_link_id: Some(link.id),
                    anonymous_id: Some(format!("v-{tag}-{}", rng.gen_range(0..(days as usize * 150)))),
                    source: Some(source.into()),
                    medium: Some(medium.into()),
                    gclid: (click_id == Some("gclid")).then(|| format!("Cj0KCQ{clid}")),
                    fbclid: (click_id == Some("fbclid")).then(|| format!("IwAR{clid}")),
                    referrer: (!referrer.is_empty()).then(|| referrer.to_string()),
                    user_agent: Some("Mozilla/5.0 (demo data)".into()),
                    session: Some(SessionInput {
                        utm_source: Some(source.into()),
                        utm_medium: Some(medium.into()),
                        utm_campaign: Some(campaign.code.clone()),
                        utm_term: None,
                        utm_content: None,
                        landing_path: Some(format!("/{}", campaign.code)),
                    }),
                    ..TouchCommand::default()
                },
                index,
            ));
        }
    }
    // Submitted in waves so the group-commit writer batches them.
    progress.stage("clicks", clicks.len() as u64);
    for wave in clicks.chunks(512) {
        progress.advance(wave.len() as u64);
        let record = |touch: &TouchCommand| {
            tracking::record_click(ctx, ingest, Recorder::Caller(caller), touch.clone(), &Fields::PLAIN)
        };
        let results = join_all(wave.iter().map(|(touch, _)| record(touch))).await;
        for result in results {
            result?;
        }
    }
    report.clicks = clicks.len();

    // Checkouts: a few percent of clicks buy, through Stripe's webhook handling.
    let mut event_no = 0usize;
    let mut next_event = |rng: &mut StdRng| {
        event_no += 1;
        format!("evt_seed_{tag}_{event_no}_{:x}", rng.gen::<u32>())
    };
    progress.stage("checkouts", clicks.len() as u64);
    for (touch, index) in &clicks {
        progress.advance(1);
        let (_, pull, campaign, plan) = &links[*index];
        if !rng.gen_bool((0.025 + 0.01 * pull).min(0.08)) {
            continue;
        }
        let at = touch.occurred_at.unwrap_or(now) + Duration::minutes(rng.gen_range(2..240));
        if at >= now {
            continue;
        }
        let (product, price) = plan.products[rng.gen_range(0..plan.products.len())];
        let quantity = if rng.gen_bool(0.15) { 2 } else { 1 };
        let amount_minor = price * 100 * quantity;
        let session_id = format!("cs_seed_{tag}_{}", Uuid::new_v4().simple());
        let paid = !rng.gen_bool(0.04);
        let mut session = json!({
            "id": session_id, "object": "checkout.session", "amount_total": amount_minor,
            "currency": plan.currency.to_lowercase(), "payment_status": if paid { "paid" } else { "unpaid" },
            "payment_intent": format!("pi_seed_{}", Uuid::new_v4().simple()), "created": at.timestamp(),
            "client_reference_id": touch.id,
            "customer_details": {"email": format!("buyer{}@customers.example.com", rng.gen_range(0..100_000))},
            "metadata": {"campaign": campaign.code, "source": touch.source, "product_id": product,
                          "gclid": touch.gclid, integration_service::DEMO_MARK: "true"},
        });
        deliver(ctx, &next_event(&mut rng), "checkout.session.completed", at, &session).await?;
        report.checkouts += 1;
        if !paid {
            // An async payment (bank debit) that then fails.
            deliver(ctx, &next_event(&mut rng), "checkout.session.async_payment_failed", at, &session).await?;
            report.failed_payments += 1;
            continue;
        }
        report.paid_orders += 1;
        if rng.gen_bool(0.06) {
            let refunded = if rng.gen_bool(0.5) { amount_minor } else { amount_minor / 2 };
            session["amount_refunded"] = json!(refunded);
            let charge = json!({
                "id": format!("ch_seed_{}", Uuid::new_v4().simple()), "object": "charge",
                "payment_intent": session["payment_intent"], "amount": amount_minor,
                "amount_refunded": refunded, "currency": plan.currency.to_lowercase(), "refunded": refunded == amount_minor,
            });
            let refund_at = (at + Duration::days(rng.gen_range(1..6))).min(now);
            deliver(ctx, &next_event(&mut rng), "charge.refunded", refund_at, &charge).await?;
            report.refunds += 1;
        }
    }

    // Attribution and commission reservation, as the worker does them for live traffic.
    progress.stage("attribution", report.checkouts as u64);
    for _ in 0..10_000 {
        let done = attribution::attribute_pending(ctx, markov).await?;
        progress.advance(done as u64);
        report.attributed += done;
        if done == 0 {
            break;
        }
    }

    // The commission lifecycle, by age: old ones approved (a few rejected) and mostly paid
    // out, recent ones calculated, the newest still pending.
    let affiliate_ids: Vec<Uuid> = affiliates.iter().map(|(a, _)| a.id).collect();
    let reserved = commissions::Entity::find()
        .filter(commissions::Column::AffiliateId.is_in(affiliate_ids))
        .filter(commissions::Column::Status.eq(CommissionStatus::Pending))
        .order_by_asc(commissions::Column::CreatedAt)
        .all(&ctx.db)
        .await?;
    let conversion_times: std::collections::HashMap<Uuid, DateTime<Utc>> = entity::conversions::Entity::find()
        .filter(entity::conversions::Column::Id.is_in(reserved.iter().filter_map(|c| c.conversion_id)))
        .all(&ctx.db)
        .await?
        .into_iter()
        .map(|c| (c.id, c.occurred_at))
        .collect();
    progress.stage("commissions", reserved.len() as u64);
    for commission in &reserved {
        progress.advance(1);
        let converted = commission.conversion_id.and_then(|id| conversion_times.get(&id).copied()).unwrap_or(now);
        let age = now - converted;
        let roll: f64 = rng.gen();
        if age > Duration::days(3) && rng.gen_bool(0.03) {
            // Found to be fraud: the attribution is reverted and its commissions canceled.
            let journey = entity::journeys::Entity::find()
                .filter(entity::journeys::Column::ConversionId.eq(commission.conversion_id))
                .one(&ctx.db)
                .await?;
            if let Some(journey) = journey {
                if lifecycle(attribution::revert(ctx, caller, &journey.id.to_string()).await)? {
                    report.reverted += 1;
                    continue;
                }
            }
        }
        let (calculate, approve, reject) = if age > Duration::days(14) {
            (true, roll < 0.92, roll >= 0.96)
        } else if age > Duration::days(5) {
            (true, roll < 0.5, roll >= 0.97)
        } else {
            (roll < 0.3, false, false)
        };
        if !calculate {
            report.commissions_pending += 1;
            continue;
        }
        if !lifecycle(commission::calculate(ctx, caller, commission.id, false).await)? {
            continue;
        }
        if reject {
            let reason = "Duplicate order reported by the merchant";
            if lifecycle(commission::reject(ctx, caller, commission.id, reason).await)? {
                report.commissions_rejected += 1;
            }
        } else if approve {
            let approval = Approval {
                comments: Some("Checked against the merchant's order export".into()),
                metadata: Some(json!({"source": "demo data"})),
                expected_version: None,
            };
            if lifecycle(commission::approve(ctx, caller, commission.id, approval).await)? {
                report.commissions_approved += 1;
            }
        } else {
            report.commissions_calculated += 1;
        }
    }
    progress.stage("payouts", affiliates.len() as u64);
    for (affiliate, _) in &affiliates {
        progress.advance(1);
        let currencies: std::collections::BTreeSet<&str> =
            reserved.iter().filter(|c| c.affiliate_id == affiliate.id).map(|c| c.currency.as_str()).collect();
        for currency in currencies {
            let Some(payout) = lifecycle_value(
                commission::create_payout(ctx, caller, &affiliate.id.to_string(), Some(currency)).await,
            )?
            else {
                continue;
            };
            report.payouts += 1;
            if rng.gen_bool(0.7) && lifecycle(commission::mark_payout_paid(ctx, caller, payout.id).await)? {
                report.payouts_paid += 1;
            }
        }
    }
    report.elapsed_ms = started.elapsed().as_millis();
    tracing::info!(?report, "demo data seeded");
    Ok(report)
}

/// A lifecycle step the demo may find impossible (below the minimum payout, held for a
/// fraud review, already moved): skipped. Anything else stops the run.
fn lifecycle<T>(result: AppResult<T>) -> AppResult<bool> {
    lifecycle_value(result).map(|v| v.is_some())
}

fn lifecycle_value<T>(result: AppResult<T>) -> AppResult<Option<T>> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(AppError::Validation { .. } | AppError::InvalidTransition { .. } | AppError::Conflict { .. }) => Ok(None),
        Err(other) => Err(other),
    }
}

async fn deliver(ctx: &Ctx, id: &str, kind: &str, at: DateTime<Utc>, object: &Value) -> AppResult<()> {
    let event = json!({
        "id": id, "object": "event", "type": kind, "livemode": false, "created": at.timestamp(),
        "data": {"object": object},
    });
    stripe_service::receive(ctx, event).await?;
    Ok(())
}

/// Names without accents, for email addresses.
fn ascii(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            'á' => 'a',
            'é' => 'e',
            'í' => 'i',
            'ó' => 'o',
            'ú' => 'u',
            'ñ' => 'n',
            other => other,
        })
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_bounded() {
        for (days, ok) in [(0, false), (-1, false), (1, true), (30, true), (365, true), (366, false)] {
            assert_eq!(validate_days(days).is_ok(), ok, "{days}");
        }
    }

    #[test]
    fn emails_are_plain_ascii() {
        assert_eq!(ascii("Nicolás"), "nicolas");
        assert_eq!(ascii("Martínez"), "martinez");
    }
}
