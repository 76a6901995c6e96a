use async_graphql::{Context, Object};
use chrono::Utc;

use crate::{
    domain::commission::{parse_period, MAX_PERIOD_DAYS},
    graphql::{types::reconciliation::Reconciliation, ContextExt, GqlResult},
    service::reconciliation,
};

#[derive(Default)]
pub struct ReconciliationQuery;

#[Object]
impl ReconciliationQuery {
    /// Whether the books of `period` balance (`30d`, `2026-11`, `2026-01-01..2026-12-31`; at
    /// most 731 days): per currency, Stripe paid, refunded and net, conversions, credits,
    /// commissions by state, clawbacks and payouts; and each invariant with its count of
    /// violations and example ids. ADMIN and ANALYST only.
    #[graphql(complexity = "child_complexity + 100")]
    async fn reconciliation(&self, ctx: &Context<'_>, period: String) -> GqlResult<Reconciliation> {
        let caller = ctx.caller()?;
        caller.require_staff()?;
        let period = parse_period(&period, Utc::now(), "period")?.at_most(MAX_PERIOD_DAYS, "period")?;
        let state = ctx.state();
        let report = state.bounded(reconciliation::reconcile(&state.db, caller, period)).await?;
        Ok(report.into())
    }
}
