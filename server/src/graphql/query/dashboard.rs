use async_graphql::{Context, Object};

use crate::{
    domain::commission::parse_period,
    graphql::{types::dashboard::Dashboard, ContextExt, GqlResult},
    service::dashboard_service,
};

#[derive(Default)]
pub struct DashboardQuery;

#[Object]
impl DashboardQuery {
    /// KPIs for a period (`24h`, `7d`, `30d`, `12w`, `2026-11`, `2026-11-01..2026-11-30`; at
    /// most 366 days; default 30d): clicks,
    /// conversions, revenue, conversion rate, commissions by state, a daily series and the
    /// top campaigns, channels and affiliates. Money is in `currency` (default: the one with
    /// the most revenue). An AFFILIATE caller sees its own figures only.
    async fn dashboard(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = "30d")] period: String,
        currency: Option<String>,
    ) -> GqlResult<Dashboard> {
        let caller = ctx.caller()?;
        let period = parse_period(&period, chrono::Utc::now(), "period")?;
        Ok(Dashboard(dashboard_service::dashboard(&ctx.state().db, caller, period, currency).await?))
    }
}
