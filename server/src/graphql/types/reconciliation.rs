//! The reconciliation of a period: the books per currency and the invariants that prove them.

use async_graphql::{Enum, SimpleObject, ID};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use crate::service::reconciliation as svc;

/// Whether the books of a period balance, with the figures they are made of.
#[derive(SimpleObject)]
pub struct Reconciliation {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// True when no check is violated.
    pub balanced: bool,
    /// Violations over all checks.
    pub violations: u64,
    /// One entry per currency seen in the period; amounts are never added across currencies.
    pub currencies: Vec<ReconciliationBooks>,
    /// Every invariant, in a fixed order.
    pub checks: Vec<ReconciliationCheck>,
}

/// The books of one currency in the period: orders and commissions created in it,
/// conversions that occurred in it (with their credits), payouts created in it.
#[derive(SimpleObject)]
pub struct ReconciliationBooks {
    pub currency: String,
    /// Orders paid through Stripe, refunded ones included.
    pub orders: u64,
    pub paid: Decimal,
    pub refunded: Decimal,
    /// Paid less refunded.
    pub net: Decimal,
    /// Conversions by status, with their value.
    pub conversions: Vec<ReconciliationTally>,
    /// Current attribution credits of the period's conversions.
    pub credits: u64,
    pub credited: Decimal,
    /// Commissions (clawbacks apart) by status, with their amount and base.
    pub commissions: Vec<ReconciliationCommissions>,
    /// Clawbacks not canceled or rejected, and their (negative) amount.
    pub clawbacks: u64,
    pub clawed_back: Decimal,
    /// Payouts by status.
    pub payouts: Vec<ReconciliationTally>,
}

/// Rows of one status: how many and their amount.
#[derive(SimpleObject)]
pub struct ReconciliationTally {
    pub status: String,
    pub count: u64,
    pub amount: Decimal,
}

/// Commissions of one status: how many, their amount (none until calculated) and their base.
#[derive(SimpleObject)]
pub struct ReconciliationCommissions {
    pub status: String,
    pub count: u64,
    pub amount: Decimal,
    pub base: Decimal,
}

/// What a check's rows are.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum ReconciliationSubject {
    Order,
    Conversion,
    Commission,
    Payout,
}

/// One invariant and the rows that break it.
#[derive(SimpleObject)]
pub struct ReconciliationCheck {
    /// A stable code, e.g. `CREDITS_MATCH_CONVERSION`.
    pub code: String,
    pub description: String,
    pub subject: ReconciliationSubject,
    pub violations: u64,
    /// Up to five ids of rows that break it (of `subject`).
    pub examples: Vec<ID>,
}

impl From<svc::Reconciliation> for Reconciliation {
    fn from(r: svc::Reconciliation) -> Self {
        let tally = |t: svc::Tally| ReconciliationTally { status: t.status, count: t.count, amount: t.amount };
        Self {
            from: r.from,
            to: r.to,
            balanced: r.balanced(),
            violations: r.violations(),
            currencies: r
                .currencies
                .into_iter()
                .map(|b| ReconciliationBooks {
                    currency: b.currency,
                    orders: b.orders,
                    paid: b.paid,
                    refunded: b.refunded,
                    net: b.net,
                    conversions: b.conversions.into_iter().map(tally).collect(),
                    credits: b.credits,
                    credited: b.credited,
                    commissions: b
                        .commissions
                        .into_iter()
                        .map(|t| ReconciliationCommissions {
                            status: t.status,
                            count: t.count,
                            amount: t.amount,
                            base: t.base,
                        })
                        .collect(),
                    clawbacks: b.clawbacks,
                    clawed_back: b.clawed_back,
                    payouts: b.payouts.into_iter().map(tally).collect(),
                })
                .collect(),
            checks: r
                .checks
                .into_iter()
                .map(|c| ReconciliationCheck {
                    code: c.code.to_string(),
                    description: c.description.to_string(),
                    subject: match c.subject {
                        svc::Subject::Order => ReconciliationSubject::Order,
                        svc::Subject::Conversion => ReconciliationSubject::Conversion,
                        svc::Subject::Commission => ReconciliationSubject::Commission,
                        svc::Subject::Payout => ReconciliationSubject::Payout,
                    },
                    violations: c.violations,
                    examples: c.examples.into_iter().map(|id| ID(id.to_string())).collect(),
                })
                .collect(),
        }
    }
}
