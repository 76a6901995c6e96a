use async_graphql::{Context, Object, SimpleObject};

use crate::{
    graphql::{ContextExt, GqlResult},
    service::seed_service,
};

#[derive(Default)]
pub struct SeedMutation;

/// What `seedDemoData` made.
#[derive(SimpleObject)]
pub struct SeedReport {
    pub days: u32,
    pub affiliates: u64,
    pub campaigns: u64,
    pub tracking_links: u64,
    pub clicks: u64,
    pub checkouts: u64,
    pub paid_orders: u64,
    pub refunds: u64,
    pub failed_payments: u64,
    pub attributed: u64,
    pub reverted: u64,
    pub commissions_pending: u64,
    pub commissions_calculated: u64,
    pub commissions_approved: u64,
    pub commissions_rejected: u64,
    pub payouts: u64,
    pub payouts_paid: u64,
    pub elapsed_ms: u64,
    /// Demo orders are test orders: none is sent to an ad platform or the CRM.
    pub outbound: String,
}

#[Object]
impl SeedMutation {
    /// Fills `days` (1–365) of demo data through the real services (ADMIN): 50 affiliates,
    /// 10 campaigns, tracking links, clicks, Stripe checkouts, refunds, attributions and
    /// commissions in every state with payouts. Each run adds more.
    async fn seed_demo_data(&self, ctx: &Context<'_>, days: i32) -> GqlResult<SeedReport> {
        let caller = ctx.caller()?;
        let r = seed_service::seed(ctx.state(), &ctx.state().ingest, &ctx.state().markov, caller, days.into()).await?;
        Ok(SeedReport {
            days: r.days,
            affiliates: r.affiliates as u64,
            campaigns: r.campaigns as u64,
            tracking_links: r.tracking_links as u64,
            clicks: r.clicks as u64,
            checkouts: r.checkouts as u64,
            paid_orders: r.paid_orders as u64,
            refunds: r.refunds as u64,
            failed_payments: r.failed_payments as u64,
            attributed: r.attributed as u64,
            reverted: r.reverted as u64,
            commissions_pending: r.commissions_pending as u64,
            commissions_calculated: r.commissions_calculated as u64,
            commissions_approved: r.commissions_approved as u64,
            commissions_rejected: r.commissions_rejected as u64,
            payouts: r.payouts as u64,
            payouts_paid: r.payouts_paid as u64,
            elapsed_ms: r.elapsed_ms as u64,
            outbound: r.outbound.to_string(),
        })
    }
}
