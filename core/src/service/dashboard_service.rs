//! The dashboard: KPIs for a period (clicks, conversions, revenue, conversion rate,
//! commissions by state), a day-by-day series and breakdowns by campaign, channel and
//! affiliate. An AFFILIATE caller gets the same view of its own affiliate only.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use entity::{affiliates, campaigns, commissions::CommissionStatus, conversions::ConversionStatus};
use rust_decimal::Decimal;
use sea_orm::{ActiveEnum, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use super::rollup::{self, ConversionGroup, Days, Dimension, Key, Scope, CLICK};
use crate::{
    auth::Caller,
    domain::{
        commission::{Period, MAX_PERIOD_DAYS},
        money::scaled,
    },
    error::{AppError, AppResult},
};

#[derive(Debug, Clone, PartialEq)]
pub struct Dashboard {
    pub period: Period,
    /// The currency the money figures are in.
    pub currency: String,
    /// Every currency with conversions in the period, most revenue first.
    pub currencies: Vec<String>,
    pub clicks: u64,
    /// Conversions that count (not held for review, reverted, rejected or refunded).
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
    pub status: CommissionStatus,
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

fn conversion_status(stored: &str) -> AppResult<ConversionStatus> {
    ConversionStatus::try_from_value(&stored.to_string()).map_err(AppError::from)
}

/// The whole UTC days a read covers, refused when the period is longer than `max_days`.
fn days_within(period: &Period, max_days: i64) -> AppResult<Days> {
    Ok(Days::of(&period.at_most(max_days, "period")?))
}

/// Clicks and counted conversions (with their value, per currency) of one dimension.
struct Figures {
    clicks: HashMap<Key, u64>,
    conversions: Vec<ConversionGroup>,
}

async fn figures(db: &DatabaseConnection, days: Days, scope: &Scope, dimension: Dimension) -> AppResult<Figures> {
    let (clicks, groups) = tokio::try_join!(
        rollup::traffic(db, CLICK, days, scope, dimension),
        rollup::conversions(db, days, scope, dimension)
    )?;
    let clicks = clicks.into_iter().collect();
    let mut conversions = Vec::new();
    for group in groups {
        if group.counts() {
            conversions.push(group);
        }
    }
    Ok(Figures { clicks, conversions })
}

/// The dashboard of `period` in `currency` (when not given: the programme's own currency
/// when it sold in the period, else the currency of most conversions).
pub async fn dashboard(
    db: &DatabaseConnection,
    caller: &Caller,
    period: Period,
    currency: Option<String>,
    programme_currency: &str,
) -> AppResult<Dashboard> {
    let days = days_within(&period, MAX_DAYS)?;
    let scope = Scope { affiliate: caller.affiliate_scope(), channel: None };
    // The four breakdowns read the rollups independently: on the pool they run side by side.
    let (by_day, by_campaign, by_channel, by_affiliate) = tokio::try_join!(
        figures(db, days, &scope, Dimension::Day),
        figures(db, days, &scope, Dimension::Campaign),
        figures(db, days, &scope, Dimension::Channel),
        figures(db, days, &scope, Dimension::Affiliate),
    )?;

    let currencies = currencies_of(&by_day.conversions, programme_currency);
    let currency = currency
        .map(|c| c.trim().to_ascii_uppercase())
        .filter(|c| !c.is_empty())
        .or_else(|| currencies.first().cloned())
        .unwrap_or_else(|| "USD".to_string());

    let mut commission_rows = Vec::new();
    for group in rollup::commissions(db, days, &scope, &currency).await? {
        let status = CommissionStatus::try_from_value(&group.status).map_err(AppError::from)?;
        commission_rows.push((status, group.commissions, group.expected));
    }
    let breakdowns = Breakdowns { by_campaign, by_channel, by_affiliate };
    let mut view = summarise(days, &currency, currencies, &by_day, &breakdowns, &commission_rows);
    name_rows(db, &mut view).await?;
    Ok(view)
}

/// Conversion metrics of a period (seed 004 `GET /conversiones/metricas`), optionally of one
/// channel: clicks, conversions, the rate, and money per currency (never summed across).
#[derive(Debug, Clone, PartialEq)]
pub struct ConversionMetrics {
    pub period: Period,
    pub channel: Option<String>,
    pub clicks: u64,
    /// Conversions that count (not held for review, reverted, rejected or refunded).
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
    let days = days_within(&period, MAX_PERIOD_DAYS)?;
    let channel = channel.map(|c| c.trim().to_string()).filter(|c| !c.is_empty());
    let scope = Scope { affiliate: caller.affiliate_scope(), channel: channel.clone() };
    let clicks = rollup::traffic(db, CLICK, days, &scope, Dimension::Total).await?.iter().map(|(_, n)| n).sum();
    let groups = rollup::conversions(db, days, &scope, Dimension::Total).await?;
    metrics_of(days, channel, clicks, &groups)
}

/// The pure part of [`conversion_metrics`]: from the period's conversions per currency and status.
pub fn metrics_of(
    days: Days,
    channel: Option<String>,
    clicks: u64,
    groups: &[ConversionGroup],
) -> AppResult<ConversionMetrics> {
    let mut per_currency: BTreeMap<String, (u64, Decimal)> = BTreeMap::new();
    let mut per_status: BTreeMap<String, (ConversionStatus, u64)> = BTreeMap::new();
    let mut counted = 0;
    for group in groups {
        let name = group.status.as_deref().unwrap_or_default();
        let status = conversion_status(name)?;
        per_status.entry(name.to_string()).or_insert((status, 0)).1 += group.conversions;
        if group.counts() {
            counted += group.conversions;
            let entry = per_currency.entry(group.currency.clone()).or_default();
            entry.0 += group.conversions;
            entry.1 += group.value;
        }
    }
    let by_currency = per_currency
        .into_iter()
        .filter(|(_, (n, _))| *n > 0)
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
    Ok(ConversionMetrics {
        period: days.period(),
        channel,
        clicks,
        conversions: counted,
        conversion_rate: (clicks > 0).then(|| counted as f64 * 100.0 / clicks as f64),
        by_currency,
        by_status: per_status.into_values().filter(|(_, n)| *n > 0).collect(),
    })
}

/// Currencies by counted revenue, most first.
/// The currencies the period sold in: the programme's own first, then by how many
/// conversions each has (never by raw amounts: 250,000 COP is not more than 100 USD).
fn currencies_of(conversions: &[ConversionGroup], programme: &str) -> Vec<String> {
    let mut counts: HashMap<&str, u64> = HashMap::new();
    for group in conversions {
        *counts.entry(group.currency.as_str()).or_default() += group.conversions;
    }
    let mut list: Vec<(&str, u64)> = counts.into_iter().collect();
    list.sort_by(|a, b| (b.0 == programme).cmp(&(a.0 == programme)).then(b.1.cmp(&a.1)).then(a.0.cmp(b.0)));
    list.into_iter().map(|(c, _)| c.to_string()).collect()
}

#[derive(Default)]
struct Tally {
    clicks: u64,
    conversions: u64,
    revenue: Decimal,
}

/// Each group's tally: clicks, counted conversions in every currency, revenue in `currency` only.
fn tallies(figures: &Figures, currency: &str) -> HashMap<Key, Tally> {
    let mut tallies: HashMap<Key, Tally> = HashMap::new();
    for (key, clicks) in &figures.clicks {
        tallies.entry(key.clone()).or_default().clicks += clicks;
    }
    for group in &figures.conversions {
        let tally = tallies.entry(group.key.clone()).or_default();
        tally.conversions += group.conversions;
        if group.currency.eq_ignore_ascii_case(currency) {
            tally.revenue += group.value;
        }
    }
    tallies
}

/// The breakdowns' figures.
struct Breakdowns {
    by_campaign: Figures,
    by_channel: Figures,
    by_affiliate: Figures,
}

/// The pure part: every figure from the period's grouped figures.
fn summarise(
    days: Days,
    currency: &str,
    currencies: Vec<String>,
    by_day: &Figures,
    breakdowns: &Breakdowns,
    commission_rows: &[(CommissionStatus, u64, Decimal)],
) -> Dashboard {
    let period = days.period();
    let mut per_day = tallies(by_day, currency);
    let total = per_day.values().fold(Tally::default(), |mut total, t| {
        total.clicks += t.clicks;
        total.conversions += t.conversions;
        total.revenue += t.revenue;
        total
    });
    let series = days_of(&period)
        .into_iter()
        .map(|day| {
            let t = per_day.remove(&Key::Day(day)).unwrap_or_default();
            DayPoint { day, clicks: t.clicks, conversions: t.conversions, revenue: scaled(t.revenue, currency) }
        })
        .collect();

    let buckets = [
        CommissionStatus::Pending,
        CommissionStatus::Calculated,
        CommissionStatus::Approved,
        CommissionStatus::Paid,
        CommissionStatus::Canceled,
        CommissionStatus::Rejected,
    ]
    .into_iter()
    .map(|status| {
        let rows = commission_rows.iter().filter(|(s, _, _)| *s == status);
        // A PENDING commission has no amount yet: what it is expected to pay counts.
        let (count, amount) = rows.fold((0, Decimal::ZERO), |(n, sum), (_, count, held)| (n + count, sum + held));
        CommissionBucket { status, count, amount: scaled(amount, currency) }
    })
    .collect();

    let rows_of = |figures: &Figures| -> Vec<BreakdownRow> {
        top(tallies(figures, currency).into_iter().map(|(key, t)| {
            let (id, key) = match key {
                Key::Campaign(id) | Key::Affiliate(id) => (id, String::new()),
                Key::Channel(channel) => (None, channel.unwrap_or_else(|| "(none)".to_string())),
                Key::Day(_) | Key::Total => (None, String::new()),
            };
            BreakdownRow {
                name: key.clone(),
                key,
                id,
                clicks: t.clicks,
                conversions: t.conversions,
                revenue: scaled(t.revenue, currency),
            }
        }))
    };

    Dashboard {
        period,
        currency: currency.to_string(),
        currencies,
        clicks: total.clicks,
        conversions: total.conversions,
        revenue: scaled(total.revenue, currency),
        conversion_rate: (total.clicks > 0).then(|| total.conversions as f64 * 100.0 / total.clicks as f64),
        commissions: buckets,
        series,
        by_campaign: rows_of(&breakdowns.by_campaign),
        by_channel: rows_of(&breakdowns.by_channel),
        by_affiliate: rows_of(&breakdowns.by_affiliate),
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

/// Leads and sign-ups of a period, and how many of those customers later bought (a sale
/// matched to the lead by email or user id within its campaign's window; one per lead).
/// An AFFILIATE caller counts its own. Both are counts over indexes of the period's leads.
pub async fn lead_funnel(db: &DatabaseConnection, caller: &Caller, period: Period) -> AppResult<(u64, u64)> {
    use entity::{conversions, lead_sales};
    use sea_orm::PaginatorTrait;
    let mut leads = conversions::Entity::find()
        .filter(
            conversions::Column::ConversionType
                .is_in([conversions::ConversionType::Lead, conversions::ConversionType::Signup]),
        )
        .filter(conversions::Column::OccurredAt.gte(period.from))
        .filter(conversions::Column::OccurredAt.lt(period.to));
    let mut sales = lead_sales::Entity::find()
        .filter(lead_sales::Column::LeadOccurredAt.gte(period.from))
        .filter(lead_sales::Column::LeadOccurredAt.lt(period.to));
    if let Some(own) = caller.affiliate_scope() {
        leads = leads.filter(conversions::Column::AffiliateId.eq(own));
        sales = sales.filter(lead_sales::Column::AffiliateId.eq(own));
    }
    Ok((leads.count(db).await?, sales.count(db).await?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, TimeZone, Utc};

    fn at(day: u32, hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, day, hour, 0, 0).single().unwrap_or_default()
    }

    fn day(day: u32) -> NaiveDate {
        at(day, 0).date_naive()
    }

    fn group(key: Key, value: i64, currency: &str, status: &str, conversions: u64) -> ConversionGroup {
        ConversionGroup {
            key,
            currency: currency.into(),
            status: Some(status.into()),
            conversions,
            value: Decimal::new(value, 2),
        }
    }

    fn figures(clicks: Vec<(Key, u64)>, conversions: Vec<ConversionGroup>) -> Figures {
        Figures { clicks: clicks.into_iter().collect(), conversions }
    }

    #[test]
    fn figures_add_up_per_day_campaign_and_channel() {
        let days = Days::of(&Period { from: at(10, 0), to: at(12, 12) });
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let by_day = figures(
            vec![(Key::Day(day(10)), 3), (Key::Day(day(11)), 3), (Key::Day(day(12)), 2)],
            vec![
                group(Key::Day(day(10)), 10_000, "USD", "ATTRIBUTED", 1),
                group(Key::Day(day(11)), 2_550, "USD", "REGISTERED", 1),
                group(Key::Day(day(12)), 5_000, "EUR", "ATTRIBUTED", 1),
            ],
        );
        let breakdowns = Breakdowns {
            by_campaign: figures(
                vec![(Key::Campaign(Some(a)), 6), (Key::Campaign(Some(b)), 2)],
                vec![
                    group(Key::Campaign(Some(a)), 12_550, "USD", "ATTRIBUTED", 2),
                    group(Key::Campaign(Some(b)), 5_000, "EUR", "ATTRIBUTED", 1),
                ],
            ),
            by_channel: figures(
                vec![(Key::Channel(Some("paid_search".into())), 4), (Key::Channel(None), 4)],
                vec![group(Key::Channel(None), 12_550, "USD", "ATTRIBUTED", 2)],
            ),
            by_affiliate: figures(vec![(Key::Affiliate(None), 8)], vec![]),
        };
        let commissions = vec![
            (CommissionStatus::Pending, 1, Decimal::new(1_000, 2)),
            (CommissionStatus::Approved, 2, Decimal::new(755, 2)),
        ];
        let currencies = currencies_of(&by_day.conversions, "USD");
        assert_eq!(currencies, vec!["USD".to_string(), "EUR".to_string()]);
        assert_eq!(currencies_of(&by_day.conversions, "EUR"), ["EUR", "USD"], "the programme's own first");
        assert_eq!(currencies_of(&by_day.conversions, "GBP"), ["USD", "EUR"], "then by conversions");
        let d = summarise(days, "USD", currencies, &by_day, &breakdowns, &commissions);
        assert_eq!(d.clicks, 8);
        assert_eq!(d.conversions, 3, "conversions count in every currency");
        assert_eq!(d.revenue.to_string(), "125.50", "EUR is not added to USD");
        assert_eq!(d.conversion_rate, Some(37.5));
        assert_eq!(d.series.len(), 3);
        assert_eq!(d.series.iter().map(|p| p.clicks).sum::<u64>(), 8);
        assert_eq!(d.series[1].revenue.to_string(), "25.50");
        assert_eq!(d.by_campaign[0].id, Some(a));
        assert_eq!((d.by_campaign[0].clicks, d.by_campaign[0].conversions), (6, 2));
        assert_eq!(d.by_channel[0].key, "(none)");
        assert_eq!(d.by_channel.iter().map(|r| r.clicks).sum::<u64>(), 8);
        let approved = d.commissions.iter().find(|b| b.status == CommissionStatus::Approved);
        assert_eq!(approved.map(|b| (b.count, b.amount.to_string())), Some((2, "7.55".to_string())));
        let pending = d.commissions.iter().find(|b| b.status == CommissionStatus::Pending);
        assert_eq!(pending.map(|b| b.amount.to_string()), Some("10.00".to_string()));
        assert_eq!(d.period, Period { from: at(10, 0), to: at(13, 0) }, "whole UTC days");
    }

    #[test]
    fn days_cover_the_window() {
        let days = |from: DateTime<Utc>, to: DateTime<Utc>| days_of(&Period { from, to }).len();
        assert_eq!(days(at(10, 0), at(10, 12)), 1);
        assert_eq!(days(at(10, 13), at(12, 12)), 3);
        assert_eq!(days(at(10, 0), at(12, 0)), 2, "the end is excluded");
        let whole = Days::of(&Period { from: at(10, 13), to: at(12, 12) });
        assert_eq!((whole.first, whole.last), (day(10), day(12)));
        assert_eq!(whole.period(), Period { from: at(10, 0), to: at(13, 0) });
    }

    #[test]
    fn no_clicks_means_no_rate_and_an_empty_period_has_zero_days_filled() {
        let days = Days::of(&Period { from: at(10, 0), to: at(10, 12) });
        let empty = || figures(vec![], vec![]);
        let breakdowns = Breakdowns { by_campaign: empty(), by_channel: empty(), by_affiliate: empty() };
        let d = summarise(days, "JPY", vec![], &empty(), &breakdowns, &[]);
        assert_eq!(d.conversion_rate, None);
        assert_eq!(d.series.len(), 1);
        assert_eq!(d.revenue.to_string(), "0");
        assert!(d.by_campaign.is_empty());
    }

    #[test]
    fn metrics_count_every_status_and_money_only_of_those_that_count() {
        let days = Days::of(&Period { from: at(10, 0), to: at(11, 0) });
        let groups = vec![
            group(Key::Total, 1_999, "USD", "ATTRIBUTED", 1),
            group(Key::Total, 30, "USD", "REGISTERED", 3),
            group(Key::Total, 99_999, "USD", "REFUNDED", 1),
        ];
        let m = metrics_of(days, None, 8, &groups).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(m.conversions, 4);
        assert_eq!(m.conversion_rate, Some(50.0));
        assert_eq!(m.by_currency.len(), 1);
        assert_eq!(
            (m.by_currency[0].value.to_string(), m.by_currency[0].average.to_string()),
            ("20.29".into(), "5.07".into())
        );
        assert_eq!(m.by_status.iter().map(|(_, n)| n).sum::<u64>(), 5);
    }
}
