//! The dashboard: KPIs for a period (clicks, conversions, revenue, conversion rate,
//! commissions by state), a day-by-day series and breakdowns by campaign, channel and
//! affiliate. An AFFILIATE caller gets the same view of its own affiliate only.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use entity::{
    affiliates, campaigns, commissions,
    conversions::{self, ConversionStatus},
    interactions::{self, InteractionKind},
};
use rust_decimal::Decimal;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use crate::{
    auth::Caller,
    domain::{commission::Period, money::scaled},
    error::{AppError, AppResult},
};

/// One click as the dashboard needs it.
#[derive(Debug, Clone)]
pub struct ClickRow {
    pub at: DateTime<Utc>,
    pub campaign_id: Option<Uuid>,
    pub affiliate_id: Option<Uuid>,
    pub channel: Option<String>,
}

/// One conversion as the dashboard needs it.
#[derive(Debug, Clone)]
pub struct ConversionRow {
    pub at: DateTime<Utc>,
    pub campaign_id: Option<Uuid>,
    pub affiliate_id: Option<Uuid>,
    pub channel: Option<String>,
    pub value: Decimal,
    pub currency: String,
    pub status: ConversionStatus,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Dashboard {
    pub period: Period,
    /// The currency the money figures are in.
    pub currency: String,
    /// Every currency with conversions in the period, most revenue first.
    pub currencies: Vec<String>,
    pub clicks: u64,
    /// Conversions that count (not reverted, rejected or refunded).
    pub conversions: u64,
    pub revenue: Decimal,
    /// Conversions per 100 clicks; none without clicks.
    pub conversion_rate: Option<f64>,
    pub commissions: Vec<CommissionBucket>,
    pub series: Vec<DayPoint>,
    pub by_campaign: Vec<BreakdownRow>,
    pub by_channel: Vec<BreakdownRow>,
    pub by_affiliate: Vec<BreakdownRow>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CommissionBucket {
    pub status: commissions::CommissionStatus,
    pub count: u64,
    pub amount: Decimal,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DayPoint {
    pub day: NaiveDate,
    pub clicks: u64,
    pub conversions: u64,
    pub revenue: Decimal,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BreakdownRow {
    /// Campaign/affiliate code, or the channel; `(none)` when unknown.
    pub key: String,
    pub name: String,
    pub id: Option<Uuid>,
    pub clicks: u64,
    pub conversions: u64,
    pub revenue: Decimal,
}

/// Rows a breakdown shows at most (the rest are in the lists).
pub const BREAKDOWN_ROWS: usize = 10;

/// Longest period the dashboard draws day by day.
pub const MAX_DAYS: i64 = 366;

/// Every UTC day `[from, to)` touches, oldest first.
pub fn days_of(period: &Period) -> Vec<NaiveDate> {
    let mut days = Vec::new();
    let mut day = period.from.date_naive();
    let last = (period.to - chrono::Duration::microseconds(1)).date_naive().max(day);
    while day <= last {
        days.push(day);
        match day.succ_opt() {
            Some(next) => day = next,
            None => break,
        }
    }
    days
}

fn counts(status: &ConversionStatus) -> bool {
    !matches!(status, ConversionStatus::Reverted | ConversionStatus::Rejected | ConversionStatus::Refunded)
}

pub async fn dashboard(
    db: &DatabaseConnection,
    caller: &Caller,
    period: Period,
    currency: Option<String>,
) -> AppResult<Dashboard> {
    if period.to - period.from > chrono::Duration::days(MAX_DAYS) {
        return Err(AppError::validation("period", format!("the dashboard covers at most {MAX_DAYS} days")));
    }
    let own = caller.affiliate_scope();
    let clicks = load_clicks(db, own, period, None).await?;
    let conversions = load_conversions(db, own, period, None).await?;

    let currencies = currencies_by_revenue(&conversions);
    let currency = currency
        .map(|c| c.trim().to_ascii_uppercase())
        .filter(|c| !c.is_empty())
        .or_else(|| currencies.first().cloned())
        .unwrap_or_else(|| "USD".to_string());

    let mut commission_query = commissions::Entity::find()
        .select_only()
        .columns([commissions::Column::Status, commissions::Column::Amount, commissions::Column::BaseAmount])
        .filter(commissions::Column::Currency.eq(currency.clone()))
        .filter(commissions::Column::CreatedAt.gte(period.from))
        .filter(commissions::Column::CreatedAt.lt(period.to));
    if let Some(own) = own {
        commission_query = commission_query.filter(commissions::Column::AffiliateId.eq(own));
    }
    let commission_rows =
        commission_query.into_tuple::<(commissions::CommissionStatus, Option<Decimal>, Decimal)>().all(db).await?;

    let mut view = summarise(period, &currency, currencies, &clicks, &conversions, &commission_rows);
    name_rows(db, &mut view).await?;
    Ok(view)
}

/// The clicks of the period (of one affiliate, of one channel).
async fn load_clicks(
    db: &DatabaseConnection,
    own: Option<Uuid>,
    period: Period,
    channel: Option<&str>,
) -> AppResult<Vec<ClickRow>> {
    let mut click_query = interactions::Entity::find()
        .select_only()
        .columns([
            interactions::Column::OccurredAt,
            interactions::Column::CampaignId,
            interactions::Column::AffiliateId,
            interactions::Column::Channel,
        ])
        .filter(interactions::Column::Kind.eq(InteractionKind::Click))
        .filter(interactions::Column::OccurredAt.gte(period.from))
        .filter(interactions::Column::OccurredAt.lt(period.to));
    if let Some(own) = own {
        click_query = click_query.filter(interactions::Column::AffiliateId.eq(own));
    }
    if let Some(channel) = channel {
        click_query = click_query.filter(interactions::Column::Channel.eq(channel));
    }
    Ok(click_query
        .into_tuple::<(DateTime<Utc>, Option<Uuid>, Option<Uuid>, Option<String>)>()
        .all(db)
        .await?
        .into_iter()
        .map(|(at, campaign_id, affiliate_id, channel)| ClickRow { at, campaign_id, affiliate_id, channel })
        .collect())
}

/// The conversions of the period (of one affiliate, of one channel), whatever their status.
async fn load_conversions(
    db: &DatabaseConnection,
    own: Option<Uuid>,
    period: Period,
    channel: Option<&str>,
) -> AppResult<Vec<ConversionRow>> {
    let mut conversion_query = conversions::Entity::find()
        .select_only()
        .columns([
            conversions::Column::OccurredAt,
            conversions::Column::CampaignId,
            conversions::Column::AffiliateId,
            conversions::Column::Channel,
            conversions::Column::Value,
            conversions::Column::Currency,
            conversions::Column::Status,
        ])
        .filter(conversions::Column::OccurredAt.gte(period.from))
        .filter(conversions::Column::OccurredAt.lt(period.to));
    if let Some(own) = own {
        conversion_query = conversion_query.filter(conversions::Column::AffiliateId.eq(own));
    }
    if let Some(channel) = channel {
        conversion_query = conversion_query.filter(conversions::Column::Channel.eq(channel));
    }
    type ConversionTuple =
        (DateTime<Utc>, Option<Uuid>, Option<Uuid>, Option<String>, Decimal, String, ConversionStatus);
    Ok(conversion_query
        .into_tuple::<ConversionTuple>()
        .all(db)
        .await?
        .into_iter()
        .map(|(at, campaign_id, affiliate_id, channel, value, currency, status)| ConversionRow {
            at,
            campaign_id,
            affiliate_id,
            channel,
            value,
            currency,
            status,
        })
        .collect())
}

/// Conversion metrics of a period (seed 004 `GET /conversiones/metricas`), optionally of one
/// channel: clicks, conversions, the rate, and money per currency (never summed across).
#[derive(Debug, Clone, PartialEq)]
pub struct ConversionMetrics {
    pub period: Period,
    pub channel: Option<String>,
    pub clicks: u64,
    /// Conversions that count (not reverted, rejected or refunded).
    pub conversions: u64,
    /// Conversions per 100 clicks; none without clicks.
    pub conversion_rate: Option<f64>,
    pub by_currency: Vec<CurrencyTotal>,
    /// Every conversion of the period by status, those that do not count included.
    pub by_status: Vec<(ConversionStatus, u64)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CurrencyTotal {
    pub currency: String,
    pub conversions: u64,
    pub value: Decimal,
    /// Value per conversion, rounded half-even to the currency's minor unit.
    pub average: Decimal,
}

pub async fn conversion_metrics(
    db: &DatabaseConnection,
    caller: &Caller,
    period: Period,
    channel: Option<String>,
) -> AppResult<ConversionMetrics> {
    let own = caller.affiliate_scope();
    let channel = channel.map(|c| c.trim().to_string()).filter(|c| !c.is_empty());
    let clicks = load_clicks(db, own, period, channel.as_deref()).await?;
    let rows = load_conversions(db, own, period, channel.as_deref()).await?;
    Ok(metrics_of(period, channel, clicks.len() as u64, &rows))
}

/// The pure part of [`conversion_metrics`].
pub fn metrics_of(period: Period, channel: Option<String>, clicks: u64, rows: &[ConversionRow]) -> ConversionMetrics {
    let mut per_currency: BTreeMap<String, (u64, Decimal)> = BTreeMap::new();
    let mut per_status: BTreeMap<String, (ConversionStatus, u64)> = BTreeMap::new();
    let mut counted = 0;
    for row in rows {
        let key = serde_json::to_value(row.status).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
        per_status.entry(key).or_insert((row.status, 0)).1 += 1;
        if counts(&row.status) {
            counted += 1;
            let entry = per_currency.entry(row.currency.clone()).or_default();
            entry.0 += 1;
            entry.1 += row.value;
        }
    }
    let by_currency = per_currency
        .into_iter()
        .map(|(currency, (n, value))| {
            let average = crate::domain::money::Currency::parse(&currency, "currency")
                .map(|c| c.round(value / Decimal::from(n)))
                .unwrap_or(value / Decimal::from(n));
            CurrencyTotal {
                conversions: n,
                value: scaled(value, &currency),
                average: scaled(average, &currency),
                currency,
            }
        })
        .collect();
    ConversionMetrics {
        period,
        channel,
        clicks,
        conversions: counted,
        conversion_rate: (clicks > 0).then(|| counted as f64 * 100.0 / clicks as f64),
        by_currency,
        by_status: per_status.into_values().collect(),
    }
}

fn currencies_by_revenue(conversions: &[ConversionRow]) -> Vec<String> {
    let mut totals: HashMap<&str, Decimal> = HashMap::new();
    for c in conversions.iter().filter(|c| counts(&c.status)) {
        *totals.entry(c.currency.as_str()).or_default() += c.value;
    }
    let mut list: Vec<(&str, Decimal)> = totals.into_iter().collect();
    list.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    list.into_iter().map(|(c, _)| c.to_string()).collect()
}

#[derive(Default)]
struct Tally {
    clicks: u64,
    conversions: u64,
    revenue: Decimal,
}

/// The pure part: every figure from the rows of the period.
pub fn summarise(
    period: Period,
    currency: &str,
    currencies: Vec<String>,
    clicks: &[ClickRow],
    conversions: &[ConversionRow],
    commission_rows: &[(commissions::CommissionStatus, Option<Decimal>, Decimal)],
) -> Dashboard {
    let mut days: BTreeMap<NaiveDate, Tally> = days_of(&period).into_iter().map(|d| (d, Tally::default())).collect();
    let mut campaigns: HashMap<Option<Uuid>, Tally> = HashMap::new();
    let mut channels: HashMap<Option<String>, Tally> = HashMap::new();
    let mut affiliates: HashMap<Option<Uuid>, Tally> = HashMap::new();
    let mut total = Tally::default();

    for c in clicks {
        total.clicks += 1;
        days.entry(c.at.date_naive()).or_default().clicks += 1;
        campaigns.entry(c.campaign_id).or_default().clicks += 1;
        channels.entry(c.channel.clone()).or_default().clicks += 1;
        affiliates.entry(c.affiliate_id).or_default().clicks += 1;
    }
    for c in conversions.iter().filter(|c| counts(&c.status)) {
        // Conversions are counted in every currency; money only in the one shown.
        let value = if c.currency.eq_ignore_ascii_case(currency) { c.value } else { Decimal::ZERO };
        for tally in [
            &mut total,
            days.entry(c.at.date_naive()).or_default(),
            campaigns.entry(c.campaign_id).or_default(),
            channels.entry(c.channel.clone()).or_default(),
            affiliates.entry(c.affiliate_id).or_default(),
        ] {
            tally.conversions += 1;
            tally.revenue += value;
        }
    }

    let mut buckets: Vec<CommissionBucket> = Vec::new();
    for status in [
        commissions::CommissionStatus::Pending,
        commissions::CommissionStatus::Calculated,
        commissions::CommissionStatus::Approved,
        commissions::CommissionStatus::Paid,
        commissions::CommissionStatus::Canceled,
        commissions::CommissionStatus::Rejected,
    ] {
        let rows: Vec<_> = commission_rows.iter().filter(|(s, _, _)| *s == status).collect();
        // A PENDING commission has no amount yet; its base amount is what it reserves.
        let amount: Decimal = rows.iter().map(|(_, amount, base)| amount.unwrap_or(*base)).sum();
        buckets.push(CommissionBucket { status, count: rows.len() as u64, amount: scaled(amount, currency) });
    }

    let rows_of = |map: HashMap<Option<Uuid>, Tally>| -> Vec<BreakdownRow> {
        top(map.into_iter().map(|(id, t)| BreakdownRow {
            key: String::new(),
            name: String::new(),
            id,
            clicks: t.clicks,
            conversions: t.conversions,
            revenue: scaled(t.revenue, currency),
        }))
    };
    let by_channel = top(channels.into_iter().map(|(channel, t)| {
        let key = channel.unwrap_or_else(|| "(none)".to_string());
        BreakdownRow {
            name: key.clone(),
            key,
            id: None,
            clicks: t.clicks,
            conversions: t.conversions,
            revenue: scaled(t.revenue, currency),
        }
    }));

    Dashboard {
        period,
        currency: currency.to_string(),
        currencies,
        clicks: total.clicks,
        conversions: total.conversions,
        revenue: scaled(total.revenue, currency),
        conversion_rate: (total.clicks > 0).then(|| total.conversions as f64 * 100.0 / total.clicks as f64),
        commissions: buckets,
        series: days
            .into_iter()
            .map(|(day, t)| DayPoint {
                day,
                clicks: t.clicks,
                conversions: t.conversions,
                revenue: scaled(t.revenue, currency),
            })
            .collect(),
        by_campaign: rows_of(campaigns),
        by_channel,
        by_affiliate: rows_of(affiliates),
    }
}

/// Most revenue first, then most conversions, then most clicks; at most `BREAKDOWN_ROWS`.
fn top(rows: impl Iterator<Item = BreakdownRow>) -> Vec<BreakdownRow> {
    let mut rows: Vec<BreakdownRow> = rows.collect();
    rows.sort_by(|a, b| {
        b.revenue
            .cmp(&a.revenue)
            .then(b.conversions.cmp(&a.conversions))
            .then(b.clicks.cmp(&a.clicks))
            .then(a.key.cmp(&b.key))
            .then(a.id.cmp(&b.id))
    });
    rows.truncate(BREAKDOWN_ROWS);
    rows
}

async fn name_rows(db: &DatabaseConnection, view: &mut Dashboard) -> AppResult<()> {
    let campaign_ids: Vec<Uuid> = view.by_campaign.iter().filter_map(|r| r.id).collect();
    let names: HashMap<Uuid, (String, String)> = campaigns::Entity::find()
        .select_only()
        .columns([campaigns::Column::Id, campaigns::Column::Code, campaigns::Column::Name])
        .filter(campaigns::Column::Id.is_in(campaign_ids))
        .into_tuple::<(Uuid, String, String)>()
        .all(db)
        .await?
        .into_iter()
        .map(|(id, code, name)| (id, (code, name)))
        .collect();
    label(&mut view.by_campaign, &names);
    let affiliate_ids: Vec<Uuid> = view.by_affiliate.iter().filter_map(|r| r.id).collect();
    let names: HashMap<Uuid, (String, String)> = affiliates::Entity::find()
        .select_only()
        .columns([affiliates::Column::Id, affiliates::Column::Code, affiliates::Column::Name])
        .filter(affiliates::Column::Id.is_in(affiliate_ids))
        .into_tuple::<(Uuid, String, String)>()
        .all(db)
        .await?
        .into_iter()
        .map(|(id, code, name)| (id, (code, name)))
        .collect();
    label(&mut view.by_affiliate, &names);
    Ok(())
}

fn label(rows: &mut [BreakdownRow], names: &HashMap<Uuid, (String, String)>) {
    for row in rows {
        match row.id.and_then(|id| names.get(&id)) {
            Some((code, name)) => {
                row.key = code.clone();
                row.name = name.clone();
            }
            None => {
                row.key = "(none)".to_string();
                row.name = "(none)".to_string();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use rust_decimal::Decimal;

    fn at(day: u32, hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, day, hour, 0, 0).single().unwrap_or_default()
    }

    fn conversion(day: u32, campaign: Uuid, value: i64, currency: &str, status: ConversionStatus) -> ConversionRow {
        ConversionRow {
            at: at(day, 10),
            campaign_id: Some(campaign),
            affiliate_id: None,
            channel: Some("web".into()),
            value: Decimal::new(value, 2),
            currency: currency.into(),
            status,
        }
    }

    #[test]
    fn figures_add_up_per_day_campaign_and_channel() {
        let period = Period { from: at(10, 0), to: at(12, 12) };
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let clicks: Vec<ClickRow> = (0..8)
            .map(|i| ClickRow {
                at: at(10 + (i % 3), 9),
                campaign_id: Some(if i < 6 { a } else { b }),
                affiliate_id: None,
                channel: Some(if i % 2 == 0 { "paid_search" } else { "social" }.into()),
            })
            .collect();
        let conversions = vec![
            conversion(10, a, 10_000, "USD", ConversionStatus::Attributed),
            conversion(11, a, 2_550, "USD", ConversionStatus::Registered),
            conversion(11, b, 99_999, "USD", ConversionStatus::Reverted),
            conversion(12, b, 5_000, "EUR", ConversionStatus::Attributed),
        ];
        let commissions = vec![
            (commissions::CommissionStatus::Pending, None, Decimal::new(1_000, 2)),
            (commissions::CommissionStatus::Approved, Some(Decimal::new(255, 2)), Decimal::new(2_550, 2)),
            (commissions::CommissionStatus::Approved, Some(Decimal::new(500, 2)), Decimal::new(5_000, 2)),
        ];
        let currencies = currencies_by_revenue(&conversions);
        assert_eq!(currencies, vec!["USD".to_string(), "EUR".to_string()]);
        let d = summarise(period, "USD", currencies, &clicks, &conversions, &commissions);
        assert_eq!(d.clicks, 8);
        assert_eq!(d.conversions, 3, "the reverted one does not count");
        assert_eq!(d.revenue.to_string(), "125.50", "EUR is not added to USD");
        assert_eq!(d.conversion_rate, Some(37.5));
        assert_eq!(d.series.len(), 3);
        assert_eq!(d.series.iter().map(|p| p.clicks).sum::<u64>(), 8);
        assert_eq!(d.series[1].revenue.to_string(), "25.50");
        assert_eq!(d.by_campaign[0].id, Some(a));
        assert_eq!((d.by_campaign[0].clicks, d.by_campaign[0].conversions), (6, 2));
        assert_eq!(d.by_channel.iter().map(|r| r.clicks).sum::<u64>(), 8);
        let approved = d.commissions.iter().find(|b| b.status == commissions::CommissionStatus::Approved);
        assert_eq!(approved.map(|b| (b.count, b.amount.to_string())), Some((2, "7.55".to_string())));
        let pending = d.commissions.iter().find(|b| b.status == commissions::CommissionStatus::Pending);
        assert_eq!(pending.map(|b| b.amount.to_string()), Some("10.00".to_string()));
    }

    #[test]
    fn days_cover_the_window() {
        let days = |from: DateTime<Utc>, to: DateTime<Utc>| days_of(&Period { from, to }).len();
        assert_eq!(days(at(10, 0), at(10, 12)), 1);
        assert_eq!(days(at(10, 13), at(12, 12)), 3);
        assert_eq!(days(at(10, 0), at(12, 0)), 2, "the end is excluded");
    }

    #[test]
    fn no_clicks_means_no_rate_and_an_empty_period_has_zero_days_filled() {
        let period = Period { from: at(10, 0), to: at(10, 12) };
        let d = summarise(period, "JPY", vec![], &[], &[], &[]);
        assert_eq!(d.conversion_rate, None);
        assert_eq!(d.series.len(), 1);
        assert_eq!(d.revenue.to_string(), "0");
        assert!(d.by_campaign.is_empty());
    }
}
