//! Reconciliation: the books of a period per currency, and the invariants that prove them.
//!
//! Finance pays affiliates from these numbers, so each one can be checked against the
//! others. The books are what happened in the period, per currency (never added across
//! currencies): Stripe orders paid, refunded and net; conversions and their value by
//! status; current attribution credits; commissions by status; clawbacks; payouts. Each
//! invariant is one SQL query that finds the rows breaking it; the answer gives how many
//! there are and a few of their ids.
//!
//! What belongs to a period: orders and commissions created in it, conversions that
//! occurred in it (with their credits), payouts created in it. Money is summed as integer
//! ten-thousandths in the database ([`migration::money_units`]), so sums are exact on both
//! backends; each comparison of money is done in those integers too.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, QueryResult, Statement, Value};
use serde::Serialize;
use uuid::Uuid;

use crate::{
    auth::Caller,
    domain::{commission::Period, money::Currency},
    error::AppResult,
    service::rollup::money_of_units,
};

/// How many example ids a check gives.
pub const EXAMPLES: u64 = 5;

/// The reconciliation of one period.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Reconciliation {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// One entry per currency seen in the period, in code order.
    pub currencies: Vec<Books>,
    /// Every invariant, in a fixed order, with its violations.
    pub checks: Vec<Check>,
}

impl Reconciliation {
    /// Violations over all checks.
    pub fn violations(&self) -> u64 {
        self.checks.iter().map(|c| c.violations).sum()
    }

    /// The books balance: no check is violated.
    pub fn balanced(&self) -> bool {
        self.violations() == 0
    }
}

/// The books of one currency.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Books {
    pub currency: String,
    /// Orders paid through Stripe (refunded ones included): how many, their amount, the
    /// amount refunded of them, and what is kept.
    pub orders: u64,
    pub paid: Decimal,
    pub refunded: Decimal,
    pub net: Decimal,
    /// Conversions by status: how many and their value.
    pub conversions: Vec<Tally>,
    /// Current attribution credits of the period's conversions: how many and their amount.
    pub credits: u64,
    pub credited: Decimal,
    /// Commissions (clawbacks apart) by status: how many, their amount (none until
    /// calculated) and their base.
    pub commissions: Vec<CommissionTally>,
    /// Clawbacks not canceled or rejected: how many and their (negative) amount.
    pub clawbacks: u64,
    pub clawed_back: Decimal,
    /// Payouts by status: how many and their amount.
    pub payouts: Vec<Tally>,
}

/// Rows of one status: how many, and their amount.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tally {
    pub status: String,
    pub count: u64,
    pub amount: Decimal,
}

/// Commissions of one status: how many, their amount and their base.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommissionTally {
    pub status: String,
    pub count: u64,
    pub amount: Decimal,
    pub base: Decimal,
}

/// What a check's rows are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Subject {
    Order,
    Conversion,
    Commission,
    Payout,
}

impl Subject {
    pub fn name(self) -> &'static str {
        match self {
            Subject::Order => "order",
            Subject::Conversion => "conversion",
            Subject::Commission => "commission",
            Subject::Payout => "payout",
        }
    }
}

/// One invariant and the rows that break it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Check {
    /// A stable code, e.g. `CREDITS_MATCH_CONVERSION`.
    pub code: &'static str,
    pub description: &'static str,
    pub subject: Subject,
    pub violations: u64,
    /// Up to [`EXAMPLES`] ids of rows that break it.
    pub examples: Vec<Uuid>,
}

/// The reconciliation of `period` (ADMIN or ANALYST). Not limited in length here: the
/// command line reconciles all history; the API bounds the period it accepts.
pub async fn reconcile(db: &DatabaseConnection, caller: &Caller, period: Period) -> AppResult<Reconciliation> {
    caller.require_staff()?;
    let sql = Sql { backend: db.get_database_backend() };
    let mut checks = Vec::new();
    for invariant in invariants(&sql) {
        checks.push(check(db, &sql, &invariant, period).await?);
    }
    let currencies = books(db, &sql, period).await?;
    Ok(Reconciliation { from: period.from, to: period.to, currencies, checks })
}

// ---------------------------------------------------------------------------------------
// SQL of one backend.

struct Sql {
    backend: DbBackend,
}

/// Live: not canceled or rejected.
const LIVE: &str = "NOT IN ('CANCELED', 'REJECTED')";
/// Not paid and in no payout: a reversal cancels it, a refund shrinks it.
const UNPAID: &str = "c.status IN ('PENDING', 'CALCULATED', 'APPROVED') AND c.payout_id IS NULL";
/// Paid, or in a payout on its way: a reversal or refund claws it back instead.
const COMMITTED: &str = "(c.status = 'PAID' OR (c.status = 'APPROVED' AND c.payout_id IS NOT NULL))";

impl Sql {
    /// Money as exact integer ten-thousandths.
    fn units(&self, expr: &str) -> String {
        migration::money_units(self.backend, expr)
    }

    /// An attribution weight (12 digits) as an exact integer.
    fn weight_units(&self, expr: &str) -> String {
        match self.backend {
            DbBackend::Postgres => format!("CAST(({expr}) * 1000000000000 AS BIGINT)"),
            _ => format!("CAST(ROUND(({expr}) * 1000000000000) AS INTEGER)"),
        }
    }

    /// An integer product that may pass 64 bits: exact on PostgreSQL (`NUMERIC`); SQLite
    /// turns an overflowing integer into a real by itself.
    fn wide(&self, expr: &str) -> String {
        match self.backend {
            DbBackend::Postgres => format!("CAST({expr} AS NUMERIC)"),
            _ => expr.to_string(),
        }
    }

    /// The currency's minor unit in ten-thousandths (100 for cents, 10 000 for yen).
    fn step(&self, currency: &str) -> String {
        let mut sql = format!("(CASE {currency}");
        for c in Currency::all().filter(|c| c.minor_units() != 2) {
            sql.push_str(&format!(" WHEN '{}' THEN {}", c.code(), 10_i64.pow(4 - c.minor_units().min(4))));
        }
        sql.push_str(" ELSE 100 END)");
        sql
    }

    /// Whether the JSON `column` has `key`.
    fn has_key(&self, column: &str, key: &str) -> String {
        match self.backend {
            DbBackend::Postgres => format!("(({column}) ->> '{key}') IS NOT NULL"),
            _ => format!("json_extract({column}, '$.{key}') IS NOT NULL"),
        }
    }

    /// Whether the JSON `column`'s `key` is `true`.
    fn is_true(&self, column: &str, key: &str) -> String {
        match self.backend {
            DbBackend::Postgres => format!("COALESCE(({column}) ->> '{key}', '') = 'true'"),
            _ => format!("COALESCE(json_extract({column}, '$.{key}'), 0) = 1"),
        }
    }

    /// A UUID column as the text audit rows name entities by.
    fn id_text(&self, column: &str) -> String {
        match self.backend {
            DbBackend::Postgres => format!("CAST({column} AS TEXT)"),
            _ => {
                let hex = format!("lower(hex({column}))");
                format!(
                    "(substr({hex}, 1, 8) || '-' || substr({hex}, 9, 4) || '-' || substr({hex}, 13, 4) || '-' || substr({hex}, 17, 4) || '-' || substr({hex}, 21, 12))"
                )
            }
        }
    }

    /// `sql` with each `:from` / `:to` bound to the period.
    fn bind(&self, sql: &str, period: Period) -> Statement {
        let mut text = String::with_capacity(sql.len());
        let mut values: Vec<Value> = Vec::new();
        let mut rest = sql;
        while let Some(at) = rest.find(':') {
            text.push_str(&rest[..at]);
            let tail = &rest[at..];
            let (value, len) = if tail.starts_with(":from") {
                (Some(period.from), 5)
            } else if tail.starts_with(":to") && !tail[3..].starts_with(|c: char| c.is_alphanumeric() || c == '_') {
                (Some(period.to), 3)
            } else {
                (None, 1)
            };
            match value {
                Some(at) => {
                    values.push(at.into());
                    match self.backend {
                        DbBackend::Postgres => text.push_str(&format!("${}", values.len())),
                        _ => text.push('?'),
                    }
                }
                None => text.push(':'),
            }
            rest = &tail[len..];
        }
        text.push_str(rest);
        Statement::from_sql_and_values(self.backend, text, values)
    }
}

// ---------------------------------------------------------------------------------------
// The invariants.

struct Invariant {
    code: &'static str,
    description: &'static str,
    subject: Subject,
    /// A query of the offending rows' ids (column `id`), with `:from` and `:to`.
    sql: String,
}

fn invariants(q: &Sql) -> Vec<Invariant> {
    let u = |e: &str| q.units(e);
    let step = q.step("c.currency");
    // What a paid commission still keeps: its amount less its live clawbacks.
    let kept = format!(
        "({} + COALESCE((SELECT SUM({}) FROM commissions a WHERE a.adjusts_commission_id = c.id AND a.status {LIVE}), 0))",
        u("COALESCE(c.amount, 0)"),
        u("a.amount"),
    );
    vec![
        Invariant {
            code: "PAID_ORDER_HAS_ONE_CONVERSION",
            description: "Every paid order (refunded ones included) has exactly one conversion.",
            subject: Subject::Order,
            sql: "SELECT o.id FROM orders o WHERE o.created_at >= :from AND o.created_at < :to \
                  AND o.status IN ('PAID', 'PARTIALLY_REFUNDED', 'REFUNDED') \
                  AND (SELECT COUNT(*) FROM conversions v WHERE v.order_id = o.id) <> 1"
                .into(),
        },
        Invariant {
            code: "CURRENCIES_AGREE",
            description: "A conversion is in its order's currency, and its credits and commissions in its own.",
            subject: Subject::Conversion,
            sql: "SELECT v.id FROM conversions v LEFT JOIN orders o ON o.id = v.order_id \
                  WHERE v.occurred_at >= :from AND v.occurred_at < :to AND ( \
                  (o.id IS NOT NULL AND o.currency <> v.currency) \
                  OR EXISTS (SELECT 1 FROM attribution_credits k WHERE k.conversion_id = v.id AND k.currency <> v.currency) \
                  OR EXISTS (SELECT 1 FROM commissions c WHERE c.conversion_id = v.id AND c.currency <> v.currency))"
                .into(),
        },
        Invariant {
            code: "CREDITS_MATCH_CONVERSION",
            description: "The current credits of a conversion sum exactly to its value and their weights to 1; an attributed conversion has credits.",
            subject: Subject::Conversion,
            sql: format!(
                "SELECT v.id FROM conversions v \
                 LEFT JOIN attribution_credits k ON k.conversion_id = v.id AND k.is_current = TRUE \
                 WHERE v.occurred_at >= :from AND v.occurred_at < :to \
                 GROUP BY v.id, v.value, v.status \
                 HAVING (COUNT(k.id) > 0 OR v.status = 'ATTRIBUTED') AND (COUNT(k.id) = 0 \
                 OR SUM({}) <> {} OR SUM({}) <> 1000000000000)",
                u("k.amount"),
                u("v.value"),
                q.weight_units("k.weight"),
            ),
        },
        Invariant {
            code: "COMMISSION_BASE_FOLLOWS_CREDIT",
            description: "A live commission made from a credit has the credit's amount as its base, or after a partial refund of the sale the credit's share of what was kept, rounded once to the minor unit (a paid one keeps the base it was paid on: later refunds are clawed back).",
            subject: Subject::Commission,
            sql: format!(
                "SELECT c.id FROM commissions c \
                 JOIN attribution_credits k ON k.id = c.credit_id \
                 LEFT JOIN conversions v ON v.id = c.conversion_id \
                 LEFT JOIN orders o ON o.id = v.order_id \
                 WHERE c.created_at >= :from AND c.created_at < :to \
                 AND c.adjusts_commission_id IS NULL AND c.status {LIVE} \
                 AND {base} <> {credit} \
                 AND NOT (o.id IS NOT NULL AND {refunded} > 0 AND {value} > 0 \
                   AND 2 * ABS({wide_base} * {value} - {wide_credit} * ({paid} - {refunded})) <= {step} * {value}) \
                 AND NOT (({COMMITTED}) AND o.id IS NOT NULL AND {refunded} > 0 AND {value} > 0 AND {base} < {credit} \
                   AND 2 * ({wide_base} * {value} - {wide_credit} * ({paid} - {refunded})) >= -({step} * {value}))",
                base = u("c.base_amount"),
                credit = u("k.amount"),
                refunded = u("o.refunded_amount"),
                paid = u("o.amount"),
                value = u("v.value"),
                wide_base = q.wide(&u("c.base_amount")),
                wide_credit = q.wide(&u("k.amount")),
            ),
        },
        Invariant {
            code: "COMMISSION_AMOUNT_FOLLOWS_RATE",
            description: "A calculated percentage commission is its base times its rate (times the campaign's bonus when its target was met), rounded once, half-even, to the minor unit; after a partial refund, base and amount are each rounded once from their originals.",
            subject: Subject::Commission,
            sql: {
                let (a, b, r) = (u("c.amount"), q.wide(&u("c.base_amount")), u("c.rate"));
                // diff = amount × 10^6 − base × rate (rate in ten-thousandths of a percent).
                let diff = format!("({} * 1000000 - {b} * {r})", q.wide(&a));
                let bonus = format!("({} * 1000000 * 1000000 - {b} * {r} * (1000000 + {}))", q.wide(&a), u("COALESCE(p.bonus_targets, 0)"));
                format!(
                    "SELECT c.id FROM commissions c LEFT JOIN campaigns p ON p.id = c.campaign_id \
                     WHERE c.created_at >= :from AND c.created_at < :to \
                     AND c.adjusts_commission_id IS NULL AND c.status IN ('CALCULATED', 'APPROVED', 'PAID') \
                     AND c.rate IS NOT NULL AND c.amount IS NOT NULL AND ( \
                       {a} % {step} <> 0 \
                       OR (CASE \
                         WHEN {target} THEN 2 * ABS({bonus}) > {step} * 1000000 * 1000000 \
                         WHEN {adjusted} THEN 2 * ABS({diff}) > 3 * {step} * 1000000 \
                         ELSE 2 * ABS({diff}) > {step} * 1000000 \
                           OR (2 * ABS({diff}) = {step} * 1000000 AND ({a} / {step}) % 2 <> 0) \
                       END))",
                    target = q.is_true("c.config", "objetivo_cumplido"),
                    adjusted = q.has_key("c.config", "monto_calculado_original"),
                )
            },
        },
        Invariant {
            code: "PARTIAL_REFUND_FOLLOWED",
            description: "After a partial refund, the live commissions of the sale are based on at most what was kept: unpaid ones by their base, paid ones by the part of their base they still keep once clawed back.",
            subject: Subject::Conversion,
            sql: {
                let (paid, refunded, value) = (u("o.amount"), u("o.refunded_amount"), u("v.value"));
                let (base, amount) = (u("c.base_amount"), u("COALESCE(c.amount, 0)"));
                // Half a minor unit of base each; a paid one's base is read back from two
                // amounts each rounded to the minor unit: that rounding, times base / amount.
                let tolerance = format!(
                    "(CASE WHEN {COMMITTED} AND {amount} <> 0 THEN {step} + 2.0 * {step} * {base} / {amount} ELSE {step} END)",
                    step = q.step("v.currency"),
                );
                // The base a commission still pays on: all of it while unpaid; once paid,
                // the part its clawbacks leave (kept / amount of it).
                let effective = format!(
                    "(CASE WHEN {UNPAID} THEN {base} \
                     WHEN {COMMITTED} AND {amount} <> 0 THEN {base} * 1.0 * {kept} / {amount} ELSE 0 END)"
                );
                format!(
                    "SELECT v.id FROM conversions v JOIN orders o ON o.id = v.order_id \
                     JOIN commissions c ON c.conversion_id = v.id AND c.adjusts_commission_id IS NULL AND c.status {LIVE} \
                     WHERE v.occurred_at >= :from AND v.occurred_at < :to \
                     AND {refunded} > 0 AND {refunded} < {paid} AND {value} > 0 \
                     GROUP BY v.id, o.amount, o.refunded_amount, v.currency \
                     HAVING 2 * (SUM({effective}) - ({paid} - {refunded})) > SUM({tolerance})"
                )
            },
        },
        Invariant {
            code: "NOTHING_PAYABLE_AFTER_REVERSAL",
            description: "A fully refunded, reverted or rejected sale leaves nothing payable: its unpaid commissions are canceled and its paid ones clawed back to zero.",
            subject: Subject::Conversion,
            sql: format!(
                "SELECT v.id FROM conversions v LEFT JOIN orders o ON o.id = v.order_id \
                 WHERE v.occurred_at >= :from AND v.occurred_at < :to \
                 AND (v.status IN ('REFUNDED', 'REVERTED', 'REJECTED') OR o.status = 'REFUNDED') \
                 AND EXISTS (SELECT 1 FROM commissions c WHERE c.conversion_id = v.id \
                   AND c.adjusts_commission_id IS NULL AND (({UNPAID}) OR ({COMMITTED} AND {kept} <> 0)))"
            ),
        },
        Invariant {
            code: "PAYOUT_MATCHES_COMMISSIONS",
            description: "A payout's amount and count are those of its commissions, all of its affiliate and currency (all paid once it is paid).",
            subject: Subject::Payout,
            sql: format!(
                "SELECT p.id FROM payouts p LEFT JOIN commissions c ON c.payout_id = p.id \
                 WHERE p.created_at >= :from AND p.created_at < :to AND p.status <> 'CANCELED' \
                 GROUP BY p.id, p.amount, p.currency, p.affiliate_id, p.commission_count, p.status \
                 HAVING COALESCE(SUM({}), 0) <> {} OR COUNT(c.id) <> p.commission_count \
                 OR SUM(CASE WHEN c.currency <> p.currency OR c.affiliate_id <> p.affiliate_id THEN 1 ELSE 0 END) > 0 \
                 OR (p.status = 'PAID' AND SUM(CASE WHEN c.status <> 'PAID' THEN 1 ELSE 0 END) > 0)",
                u("COALESCE(c.amount, 0)"),
                u("p.amount"),
            ),
        },
        Invariant {
            code: "COMMISSION_CHANGES_AUDITED",
            description: "Every commission has an audit row for its creation and for each change of state since.",
            subject: Subject::Commission,
            sql: format!(
                "SELECT c.id FROM commissions c WHERE c.created_at >= :from AND c.created_at < :to \
                 AND (SELECT COUNT(*) FROM audit_log l WHERE l.entity_type = 'commission' AND l.entity_id = {}) < c.version",
                q.id_text("c.id"),
            ),
        },
        Invariant {
            code: "PAYOUT_CHANGES_AUDITED",
            description: "Every payout has an audit row for its creation and one for being paid.",
            subject: Subject::Payout,
            sql: format!(
                "SELECT p.id FROM payouts p WHERE p.created_at >= :from AND p.created_at < :to \
                 AND (SELECT COUNT(*) FROM audit_log l WHERE l.entity_type = 'payout' AND l.entity_id = {}) \
                 < (CASE WHEN p.status = 'PENDING' THEN 1 ELSE 2 END)",
                q.id_text("p.id"),
            ),
        },
    ]
}

async fn check(db: &DatabaseConnection, sql: &Sql, invariant: &Invariant, period: Period) -> AppResult<Check> {
    // One pass: the offending rows are found once, counted, and the first few kept.
    let found = sql.bind(
        &format!("SELECT id, COUNT(*) OVER () AS n FROM ({}) broken ORDER BY id LIMIT {EXAMPLES}", invariant.sql),
        period,
    );
    let rows = db.query_all_raw(found).await?;
    let violations = match rows.first() {
        Some(row) => u64::try_from(row.try_get::<i64>("", "n")?).unwrap_or(0),
        None => 0,
    };
    let examples = rows.iter().map(|row| row.try_get::<Uuid>("", "id")).collect::<Result<_, _>>()?;
    Ok(Check {
        code: invariant.code,
        description: invariant.description,
        subject: invariant.subject,
        violations,
        examples,
    })
}

// ---------------------------------------------------------------------------------------
// The books.

fn count(row: &QueryResult, column: &str) -> AppResult<u64> {
    Ok(u64::try_from(row.try_get::<i64>("", column)?).unwrap_or(0))
}

fn money(row: &QueryResult, column: &str) -> AppResult<Decimal> {
    Ok(money_of_units(row.try_get::<i64>("", column)?))
}

fn sum(units: String) -> String {
    format!("CAST(COALESCE(SUM({units}), 0) AS BIGINT)")
}

async fn books(db: &DatabaseConnection, q: &Sql, period: Period) -> AppResult<Vec<Books>> {
    let u = |e: &str| sum(q.units(e));
    let orders = format!(
        "SELECT currency, COUNT(*) AS n, {} AS a, {} AS r FROM orders \
         WHERE created_at >= :from AND created_at < :to AND status IN ('PAID', 'PARTIALLY_REFUNDED', 'REFUNDED') \
         GROUP BY currency",
        u("amount"),
        u("refunded_amount"),
    );
    let conversions = format!(
        "SELECT currency, status, COUNT(*) AS n, {} AS a FROM conversions \
         WHERE occurred_at >= :from AND occurred_at < :to GROUP BY currency, status ORDER BY status",
        u("value"),
    );
    let credits = format!(
        "SELECT k.currency, COUNT(*) AS n, {} AS a FROM attribution_credits k JOIN conversions v ON v.id = k.conversion_id \
         WHERE v.occurred_at >= :from AND v.occurred_at < :to AND k.is_current = TRUE GROUP BY k.currency",
        u("k.amount"),
    );
    let commissions = format!(
        "SELECT currency, status, COUNT(*) AS n, {} AS a, {} AS b FROM commissions \
         WHERE created_at >= :from AND created_at < :to AND adjusts_commission_id IS NULL \
         GROUP BY currency, status ORDER BY status",
        u("COALESCE(amount, 0)"),
        u("base_amount"),
    );
    let clawbacks = format!(
        "SELECT currency, COUNT(*) AS n, {} AS a FROM commissions \
         WHERE created_at >= :from AND created_at < :to AND adjusts_commission_id IS NOT NULL AND status {LIVE} \
         GROUP BY currency",
        u("COALESCE(amount, 0)"),
    );
    let payouts = format!(
        "SELECT currency, status, COUNT(*) AS n, {} AS a FROM payouts \
         WHERE created_at >= :from AND created_at < :to GROUP BY currency, status ORDER BY status",
        u("amount"),
    );
    let read = |sql: String| db.query_all_raw(q.bind(&sql, period));
    let (orders, conversions, credits, commissions, clawbacks, payouts) = tokio::try_join!(
        read(orders),
        read(conversions),
        read(credits),
        read(commissions),
        read(clawbacks),
        read(payouts)
    )?;
    let mut all: BTreeMap<String, Books> = BTreeMap::new();
    fn of<'a>(all: &'a mut BTreeMap<String, Books>, row: &QueryResult) -> AppResult<&'a mut Books> {
        let currency: String = row.try_get("", "currency")?;
        Ok(all.entry(currency.clone()).or_insert_with(|| Books { currency, ..Default::default() }))
    }
    let tally = |row: &QueryResult| -> AppResult<Tally> {
        Ok(Tally { status: row.try_get("", "status")?, count: count(row, "n")?, amount: money(row, "a")? })
    };
    for row in &orders {
        let books = of(&mut all, row)?;
        books.orders = count(row, "n")?;
        books.paid = money(row, "a")?;
        books.refunded = money(row, "r")?;
        books.net = books.paid - books.refunded;
    }
    for row in &conversions {
        let tally = tally(row)?;
        of(&mut all, row)?.conversions.push(tally);
    }
    for row in &credits {
        let books = of(&mut all, row)?;
        books.credits = count(row, "n")?;
        books.credited = money(row, "a")?;
    }
    for row in &commissions {
        let tally = CommissionTally {
            status: row.try_get("", "status")?,
            count: count(row, "n")?,
            amount: money(row, "a")?,
            base: money(row, "b")?,
        };
        of(&mut all, row)?.commissions.push(tally);
    }
    for row in &clawbacks {
        let books = of(&mut all, row)?;
        books.clawbacks = count(row, "n")?;
        books.clawed_back = money(row, "a")?;
    }
    for row in &payouts {
        let tally = tally(row)?;
        of(&mut all, row)?.payouts.push(tally);
    }
    Ok(all.into_values().map(in_minor_units).collect())
}

/// Every amount of `books` with its currency's decimals (sums are exact in them already).
fn in_minor_units(mut books: Books) -> Books {
    let minor = Currency::parse(&books.currency, "currency").map(|c| c.minor_units()).unwrap_or(4);
    let fix = |amount: &mut Decimal| amount.rescale(minor);
    for amount in [&mut books.paid, &mut books.refunded, &mut books.net, &mut books.credited, &mut books.clawed_back] {
        fix(amount);
    }
    for tally in books.conversions.iter_mut().chain(books.payouts.iter_mut()) {
        fix(&mut tally.amount);
    }
    for tally in &mut books.commissions {
        fix(&mut tally.amount);
        fix(&mut tally.base);
    }
    books
}
