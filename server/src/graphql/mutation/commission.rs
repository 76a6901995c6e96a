use async_graphql::{Context, Json, Object, ID};
use chrono::Utc;
use serde_json::Value;

use crate::{
    graphql::{
        types::{
            commission::{Commission, CommissionFilter, CreateCommissionInput, Payout, PendingCalculation},
            parse_id,
        },
        ContextExt, GqlResult,
    },
    service::commission::{self as svc, Approval},
};

#[derive(Default)]
pub struct CommissionMutation;

#[Object]
impl CommissionMutation {
    /// A commission asked for by a person, PENDING until calculated. A conversion has one
    /// commission per affiliate: asking for one it already has (the one its attribution
    /// reserved, say) answers that commission when the input agrees with it, CONFLICT
    /// naming the difference when it does not.
    async fn create_commission(&self, ctx: &Context<'_>, input: CreateCommissionInput) -> GqlResult<Commission> {
        let caller = ctx.caller()?;
        let (commission, _) = svc::create(ctx.state(), caller, input.into_service()?).await?;
        Ok(Commission::new(commission))
    }

    /// PENDING → CALCULATED; `force` recalculates a CALCULATED one.
    async fn calculate_commission(
        &self,
        ctx: &Context<'_>,
        id: ID,
        #[graphql(default = false)] force: bool,
    ) -> GqlResult<Commission> {
        let caller = ctx.caller()?;
        Ok(Commission::new(svc::calculate(ctx.state(), caller, parse_id(&id, "id")?, force).await?))
    }

    /// CALCULATED → APPROVED. `approvalMetadata` takes the seed's `nivel_aprobacion` and
    /// `politica_aplicada`; `expectedVersion` makes the approval fail with CONFLICT if the
    /// commission changed since it was read.
    async fn approve_commission(
        &self,
        ctx: &Context<'_>,
        id: ID,
        comments: Option<String>,
        approval_metadata: Option<Json<Value>>,
        expected_version: Option<i32>,
    ) -> GqlResult<Commission> {
        let caller = ctx.caller()?;
        let approval = Approval { comments, metadata: approval_metadata.map(|m| m.0), expected_version };
        Ok(Commission::new(svc::approve(ctx.state(), caller, parse_id(&id, "id")?, approval).await?))
    }

    /// PENDING or CALCULATED → REJECTED.
    async fn reject_commission(&self, ctx: &Context<'_>, id: ID, reason: String) -> GqlResult<Commission> {
        let caller = ctx.caller()?;
        Ok(Commission::new(svc::reject(ctx.state(), caller, parse_id(&id, "id")?, &reason).await?))
    }

    /// Calculates many PENDING commissions; one that is not PENDING (or not found)
    /// refuses the request before any is calculated.
    async fn calculate_commissions(&self, ctx: &Context<'_>, ids: Vec<ID>) -> GqlResult<Vec<Commission>> {
        let caller = ctx.caller()?;
        let ids = ids.iter().map(|id| parse_id(id, "ids")).collect::<Result<Vec<_>, _>>()?;
        Ok(svc::calculate_many(ctx.state(), caller, &ids).await?.into_iter().map(Commission::new).collect())
    }

    /// Calculates the PENDING commissions the filter selects (every page of the list, not
    /// one), oldest first, at most 1,000 a call: `remaining` says how many are left for
    /// the next call. One that cannot be calculated is skipped and named; the rest go on.
    async fn calculate_pending_commissions(
        &self,
        ctx: &Context<'_>,
        filter: Option<CommissionFilter>,
    ) -> GqlResult<PendingCalculation> {
        let caller = ctx.caller()?;
        let filter = filter.unwrap_or_default().into_service()?;
        Ok(PendingCalculation(svc::calculate_pending(ctx.state(), caller, filter).await?))
    }

    /// Approves many CALCULATED commissions, all or none.
    async fn approve_commissions(&self, ctx: &Context<'_>, ids: Vec<ID>) -> GqlResult<Vec<Commission>> {
        let caller = ctx.caller()?;
        let ids = ids.iter().map(|id| parse_id(id, "ids")).collect::<Result<Vec<_>, _>>()?;
        Ok(svc::approve_many(ctx.state(), caller, &ids).await?.into_iter().map(Commission::new).collect())
    }

    /// Runs the automatic approval policy now (it also runs on a timer); returns those approved.
    async fn run_commission_auto_approval(&self, ctx: &Context<'_>) -> GqlResult<Vec<Commission>> {
        let caller = ctx.caller()?;
        Ok(svc::auto_approve(ctx.state(), caller, Utc::now()).await?.into_iter().map(Commission::new).collect())
    }

    /// Groups the affiliate's approved commissions (clawbacks netted) into a payout when
    /// they reach its minimum payout. `currency`: the affiliate's payout currency by default.
    async fn create_payout(&self, ctx: &Context<'_>, affiliate_id: ID, currency: Option<String>) -> GqlResult<Payout> {
        let caller = ctx.caller()?;
        Ok(Payout(svc::create_payout(ctx.state(), caller, &affiliate_id, currency.as_deref()).await?))
    }

    /// PENDING payout → CANCELED: its commissions are approved and unpaid again, for the
    /// next payout. A PAID payout cannot be canceled.
    async fn cancel_payout(&self, ctx: &Context<'_>, id: ID, reason: Option<String>) -> GqlResult<Payout> {
        let caller = ctx.caller()?;
        Ok(Payout(svc::cancel_payout(ctx.state(), caller, parse_id(&id, "id")?, reason.as_deref()).await?))
    }

    /// PENDING payout → PAID, and its commissions → PAID.
    async fn mark_payout_paid(&self, ctx: &Context<'_>, id: ID) -> GqlResult<Payout> {
        let caller = ctx.caller()?;
        Ok(Payout(svc::mark_payout_paid(ctx.state(), caller, parse_id(&id, "id")?).await?))
    }
}
