use async_graphql::{Context, Object};

use crate::{
    domain::commission::parse_period,
    graphql::{
        types::dashboard::{ConversionMetrics, Dashboard},
        ContextExt, GqlResult,
    },
    service::dashboard_service,
};

#[derive(Default)]
pub struct DashboardQuery;

#[Object]
impl DashboardQuery {
    /// KPIs for a period (`24h`, `7d`, `30d`, `12w`, `2026-11`, `2026-11-01..2026-11-30`; at
    /// most 366 days; default 30d), counted in whole UTC days (the days the period touches,
    /// first and last included whole; `period` in the answer says which): clicks,
    /// conversions, revenue, conversion rate, commissions by state, a daily series and the
    /// top campaigns, channels and affiliates. Money is in `currency` (default: the one with
    /// the most revenue). An AFFILIATE caller sees its own figures only.
    #[graphql(complexity = "child_complexity + 100")]
    async fn dashboard(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = "30d")] period: String,
        currency: Option<String>,
    ) -> GqlResult<Dashboard> {
        let caller = ctx.caller()?;
        let period = parse_period(&period, chrono::Utc::now(), "period")?;
        let state = ctx.state();
        Ok(Dashboard(
            state
                .bounded(dashboard_service::dashboard(&state.db, caller, period, currency, &state.config.currency))
                .await?,
        ))
    }

    /// Conversion metrics of a period (as `dashboard`, in whole UTC days; at most 731 days), optionally of one
    /// `channel` (seed 004 `GET /api/v1/conversiones/metricas`): clicks, conversions, the
    /// rate, money per currency and every conversion by status. Affiliates see their own.
    #[graphql(complexity = "child_complexity + 100")]
    async fn conversion_metrics(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = "30d")] period: String,
        channel: Option<String>,
    ) -> GqlResult<ConversionMetrics> {
        let caller = ctx.caller()?;
        let period = parse_period(&period, chrono::Utc::now(), "period")?;
        let state = ctx.state();
        Ok(ConversionMetrics(
            state.bounded(dashboard_service::conversion_metrics(&state.db, caller, period, channel)).await?,
        ))
    }
}
