use async_graphql::{Context, Object};

use crate::{
    domain::period::Period,
    graphql::{types::dashboard::Dashboard, ContextExt, GqlResult},
    service::dashboard_service,
};

#[derive(Default)]
pub struct DashboardQuery;

#[Object]
impl DashboardQuery {
    /// KPIs for a period ending now (`24h`, `7d`, `30d`, `12w`; default 30d): clicks,
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
        let period = Period::parse(&period, chrono::Utc::now(), "period")?;
        Ok(Dashboard(dashboard_service::dashboard(&ctx.state().db, caller, period, currency).await?))
    }
}
