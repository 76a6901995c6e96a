use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
};

use async_graphql::{Context, Object, ID};
use chrono::Utc;
use uuid::Uuid;

use crate::{
    domain::commission::parse_period,
    graphql::{
        types::{
            commission::{Commission, CommissionFilter, CommissionGroupBy, CommissionReport, Payout, Prefetched},
            connection::{connection, page_request, ListConnection},
            enums::PayoutStatus,
            parse_id,
        },
        ContextExt, GqlResult,
    },
    service::{affiliate_service, campaign_service, commission, tracking},
};

fn by_id<T>(rows: Vec<T>, id: fn(&T) -> Uuid) -> HashMap<Uuid, T> {
    rows.into_iter().map(|row| (id(&row), row)).collect()
}

#[derive(Default)]
pub struct CommissionQuery;

#[Object]
impl CommissionQuery {
    /// Commissions, newest first. An AFFILIATE caller sees only its own.
    async fn commissions(
        &self,
        ctx: &Context<'_>,
        filter: Option<CommissionFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> GqlResult<ListConnection<Commission>> {
        let caller = ctx.caller()?;
        let request = page_request(first, after)?;
        let filter = filter.unwrap_or_default().into_service()?;
        let db = &ctx.state().db;
        let page = commission::list(db, caller, filter, request).await?;
        // One statement per relation for the whole page (see `Prefetched`).
        let node = ctx.look_ahead().field("edges").field("node");
        let ids = |f: fn(&crate::model::commissions::Commission) -> Option<Uuid>| -> Vec<Uuid> {
            page.items.iter().filter_map(f).collect::<HashSet<_>>().into_iter().collect()
        };
        let (affiliate_ids, campaign_ids, conversion_ids) =
            (ids(|m| Some(m.affiliate_id)), ids(|m| m.campaign_id), ids(|m| m.conversion_id));
        let (affiliates, campaigns, conversions) = tokio::try_join!(
            async {
                match node.field("affiliate").exists() {
                    true => {
                        affiliate_service::load_many(db, caller, &affiliate_ids).await.map(|r| Some(by_id(r, |m| m.id)))
                    }
                    false => Ok(None),
                }
            },
            async {
                match node.field("campaign").exists() {
                    true => {
                        campaign_service::load_many(db, caller, &campaign_ids).await.map(|r| Some(by_id(r, |m| m.id)))
                    }
                    false => Ok(None),
                }
            },
            async {
                match node.field("conversion").exists() {
                    true => {
                        tracking::load_conversions(db, caller, &conversion_ids).await.map(|r| Some(by_id(r, |m| m.id)))
                    }
                    false => Ok(None),
                }
            },
        )?;
        let prefetched = Arc::new(Prefetched { affiliates, campaigns, conversions });
        Ok(connection(request, page, |m| Commission(m, Some(prefetched.clone()))))
    }

    async fn commission(&self, ctx: &Context<'_>, id: ID) -> GqlResult<Commission> {
        let caller = ctx.caller()?;
        Ok(Commission::new(commission::get(&ctx.state().db, caller, parse_id(&id, "id")?).await?))
    }

    /// Commissions created in `period` (`30d`, `24h`, `2026-11`, `2026-11-01..2026-11-30`; at
    /// most 731 days), grouped, with totals per currency.
    #[graphql(complexity = "child_complexity + 100")]
    async fn commission_report(
        &self,
        ctx: &Context<'_>,
        period: String,
        group_by: CommissionGroupBy,
        filter: Option<CommissionFilter>,
    ) -> GqlResult<CommissionReport> {
        let caller = ctx.caller()?;
        let period = parse_period(&period, Utc::now(), "period")?;
        let filter = filter.unwrap_or_default().into_service()?;
        let state = ctx.state();
        let report = state.bounded(commission::report(&state.db, caller, period, group_by.into(), filter)).await?;
        Ok(report.into())
    }

    /// Payouts, newest first. An AFFILIATE caller sees only its own.
    async fn payouts(
        &self,
        ctx: &Context<'_>,
        affiliate_id: Option<ID>,
        status: Option<PayoutStatus>,
        first: Option<i32>,
        after: Option<String>,
    ) -> GqlResult<ListConnection<Payout>> {
        let caller = ctx.caller()?;
        let request = page_request(first, after)?;
        let affiliate_id = affiliate_id.as_ref().map(|id| parse_id(id, "affiliateId")).transpose()?;
        let page =
            commission::list_payouts(&ctx.state().db, caller, affiliate_id, status.map(Into::into), request).await?;
        Ok(connection(request, page, Payout))
    }

    async fn payout(&self, ctx: &Context<'_>, id: ID) -> GqlResult<Payout> {
        let caller = ctx.caller()?;
        Ok(Payout(commission::get_payout(&ctx.state().db, caller, parse_id(&id, "id")?).await?))
    }
}
