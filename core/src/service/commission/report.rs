//! Commissions grouped by affiliate, campaign or status, with totals per currency.

use super::*;
use crate::{domain::commission::MAX_PERIOD_DAYS, service::rollup};

/// What to group a report by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    Affiliate,
    Campaign,
    Status,
}

/// One line of a report: one group in one currency (amounts are never summed across currencies).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRow {
    /// Affiliate or campaign code, or the status name.
    pub key: String,
    pub name: String,
    pub currency: String,
    pub count: u64,
    /// What is or will be owed: calculated, approved and paid amounts, clawbacks
    /// included; reserved (no amount yet), canceled and rejected commissions add nothing.
    pub amount: Decimal,
    pub approved_amount: Decimal,
    pub paid_amount: Decimal,
}

/// Totals of one currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrencyTotal {
    pub currency: String,
    pub count: u64,
    pub amount: Decimal,
    pub approved_amount: Decimal,
    pub paid_amount: Decimal,
}

#[derive(Debug, Clone)]
pub struct Report {
    pub period: Period,
    pub group_by: GroupBy,
    pub rows: Vec<ReportRow>,
    pub totals: Vec<CurrencyTotal>,
}

/// What a report reads of commissions, summed in the database: the group (affiliate or
/// campaign; none when grouped by status), status, currency, how many, and their amounts.
type ReportLine = (Option<Uuid>, CommissionStatus, String, i64, i64);

/// Commissions created in `period`, grouped, with totals per currency.
pub async fn report(
    db: &DatabaseConnection,
    caller: &Caller,
    period: Period,
    group_by: GroupBy,
    mut filter: CommissionFilter,
) -> AppResult<Report> {
    let period = period.at_most(MAX_PERIOD_DAYS, "period")?;
    filter.from = Some(period.from);
    filter.to = Some(period.to);
    let condition = condition(caller, &filter)?;
    let group_column = match group_by {
        GroupBy::Affiliate => Some(commissions::Column::AffiliateId),
        GroupBy::Campaign => Some(commissions::Column::CampaignId),
        GroupBy::Status => None,
    };
    let mut query = commissions::Entity::find().select_only();
    query = match group_column {
        Some(column) => query.column_as(column, "group_id").group_by(column),
        None => query.column_as(Expr::cust("NULL"), "group_id"),
    };
    let rows: Vec<ReportLine> = query
        .column(commissions::Column::Status)
        .column(commissions::Column::Currency)
        .column_as(Expr::cust("COUNT(*)"), "n")
        .column_as(rollup::exact_money_sum(db.get_database_backend(), "amount"), "amount")
        .filter(condition)
        .group_by(commissions::Column::Status)
        .group_by(commissions::Column::Currency)
        .into_tuple()
        .all(db)
        .await?;
    // Names of the groups, in one query each.
    let names: HashMap<Uuid, (String, String)> = match group_by {
        GroupBy::Affiliate => {
            let ids: HashSet<Uuid> = rows.iter().filter_map(|r| r.0).collect();
            affiliates::Entity::find()
                .filter(affiliates::Column::Id.is_in(ids))
                .all(db)
                .await?
                .into_iter()
                .map(|a| (a.id, (a.code, a.name)))
                .collect()
        }
        GroupBy::Campaign => {
            let ids: HashSet<Uuid> = rows.iter().filter_map(|r| r.0).collect();
            campaigns::Entity::find()
                .filter(campaigns::Column::Id.is_in(ids))
                .all(db)
                .await?
                .into_iter()
                .map(|c| (c.id, (c.code, c.name)))
                .collect()
        }
        GroupBy::Status => HashMap::new(),
    };
    let mut groups: BTreeMap<(String, String), ReportRow> = BTreeMap::new();
    let mut totals: BTreeMap<String, CurrencyTotal> = BTreeMap::new();
    for (group_id, status, currency, count, units) in rows {
        let count = u64::try_from(count).unwrap_or(0);
        let (key, name) = match group_by {
            GroupBy::Affiliate => match group_id {
                Some(id) => names.get(&id).cloned().unwrap_or((id.to_string(), String::new())),
                None => ("-".into(), String::new()),
            },
            GroupBy::Campaign => match group_id {
                Some(id) => names.get(&id).cloned().unwrap_or((id.to_string(), String::new())),
                None => ("-".into(), "sin campaña".into()),
            },
            GroupBy::Status => {
                (lifecycle_status(status).name().to_string(), lifecycle_status(status).seed_name().to_string())
            }
        };
        let worth = match status {
            CommissionStatus::Calculated | CommissionStatus::Approved | CommissionStatus::Paid => {
                rollup::money_of_units(units)
            }
            _ => Decimal::ZERO,
        };
        let approved = if status == CommissionStatus::Approved { worth } else { Decimal::ZERO };
        let paid = if status == CommissionStatus::Paid { worth } else { Decimal::ZERO };
        let row = groups.entry((key.clone(), currency.clone())).or_insert_with(|| ReportRow {
            key,
            name,
            currency: currency.clone(),
            count: 0,
            amount: Decimal::ZERO,
            approved_amount: Decimal::ZERO,
            paid_amount: Decimal::ZERO,
        });
        row.count += count;
        row.amount += worth;
        row.approved_amount += approved;
        row.paid_amount += paid;
        let total = totals.entry(currency.clone()).or_insert_with(|| CurrencyTotal {
            currency: currency.clone(),
            count: 0,
            amount: Decimal::ZERO,
            approved_amount: Decimal::ZERO,
            paid_amount: Decimal::ZERO,
        });
        total.count += count;
        total.amount += worth;
        total.approved_amount += approved;
        total.paid_amount += paid;
    }
    let shown = |d: Decimal, c: &str| scaled(d, c);
    let rows = groups
        .into_values()
        .map(|r| ReportRow {
            amount: shown(r.amount, &r.currency),
            approved_amount: shown(r.approved_amount, &r.currency),
            paid_amount: shown(r.paid_amount, &r.currency),
            ..r
        })
        .collect();
    let totals = totals
        .into_values()
        .map(|t| CurrencyTotal {
            amount: shown(t.amount, &t.currency),
            approved_amount: shown(t.approved_amount, &t.currency),
            paid_amount: shown(t.paid_amount, &t.currency),
            ..t
        })
        .collect();
    Ok(Report { period, group_by, rows, totals })
}
