use async_graphql::{Context, Object, ID};
use chrono::{DateTime, Utc};

use crate::{
    graphql::{
        types::{
            attribution::{AttributionReport, Journey},
            enums::{AttributionGroupBy, AttributionModel},
        },
        ContextExt, GqlResult,
    },
    service::attribution,
};

#[derive(Default)]
pub struct AttributionQuery;

#[Object]
impl AttributionQuery {
    /// One journey by id.
    async fn journey(&self, ctx: &Context<'_>, id: ID) -> GqlResult<Journey> {
        let caller = ctx.caller()?;
        Ok(Journey(attribution::get_journey(&ctx.state().db, caller, &id).await?))
    }

    /// What each model (or only `model`) credits per campaign, affiliate or channel for the
    /// conversions attributed in `[from, to]` (ADMIN, ANALYST).
    #[graphql(complexity = "child_complexity + 100")]
    async fn attribution_report(
        &self,
        ctx: &Context<'_>,
        model: Option<AttributionModel>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        #[graphql(default_with = "AttributionGroupBy::Campaign")] group_by: AttributionGroupBy,
    ) -> GqlResult<AttributionReport> {
        let caller = ctx.caller()?;
        let state = ctx.state();
        let report = state
            .bounded(attribution::report(
                state,
                &state.markov,
                caller,
                model.map(Into::into),
                from,
                to,
                group_by.into(),
            ))
            .await?;
        Ok(AttributionReport { from, to, group_by, report })
    }
}
