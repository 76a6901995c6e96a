use async_graphql::{Context, Object, ID};

use crate::{
    graphql::{
        types::{
            affiliate::Affiliate,
            onboarding::{AffiliateApplicationInput, AffiliateInvite, ApplicationResult, CreatedInvite},
            parse_id,
        },
        ClientIp, ContextExt, GqlResult,
    },
    service::onboarding::{self, NewApplication},
};

#[derive(Default)]
pub struct OnboardingMutation;

#[Object]
impl OnboardingMutation {
    /// Asks to join the programme (public: no sign-in). Without an invite the affiliate is
    /// APPLIED until an admin approves it; with a valid invite it is ACTIVE at once. Every
    /// wrong field is named at once; a flood of applications waits like password guessing.
    async fn apply_as_affiliate(
        &self,
        ctx: &Context<'_>,
        input: AffiliateApplicationInput,
    ) -> GqlResult<ApplicationResult> {
        let client = ctx.data_opt::<ClientIp>().and_then(|ip| ip.0);
        let application = NewApplication {
            name: input.name,
            email: input.email,
            password: input.password,
            website: input.website,
            message: input.message,
            invite: input.invite,
        };
        let applied = onboarding::apply(ctx.state(), application, client).await?;
        Ok(ApplicationResult { approved: applied.approved, code: applied.affiliate.code })
    }

    /// APPLIED → ACTIVE (ADMIN): the affiliate earns and signs in from now on.
    async fn approve_affiliate_application(&self, ctx: &Context<'_>, id: ID) -> GqlResult<Affiliate> {
        let caller = ctx.caller()?;
        Ok(Affiliate(onboarding::approve(ctx.state(), caller, parse_id(&id, "id")?).await?))
    }

    /// APPLIED → REJECTED (ADMIN), with the reason.
    async fn reject_affiliate_application(&self, ctx: &Context<'_>, id: ID, reason: String) -> GqlResult<Affiliate> {
        let caller = ctx.caller()?;
        Ok(Affiliate(onboarding::reject(ctx.state(), caller, parse_id(&id, "id")?, &reason).await?))
    }

    /// An invite link to join (ADMIN), for one email or anyone who has it, lasting `days`
    /// (default 14, at most 90). Whoever applies with it is approved at once. The link is
    /// shown this once.
    async fn create_affiliate_invite(
        &self,
        ctx: &Context<'_>,
        email: Option<String>,
        note: Option<String>,
        days: Option<u32>,
    ) -> GqlResult<CreatedInvite> {
        let caller = ctx.caller()?;
        let state = ctx.state();
        let (invite, token) = onboarding::create_invite(state, caller, email.as_deref(), note.as_deref(), days).await?;
        let url = format!("{}/apply?invite={token}", state.config.public_base_url());
        Ok(CreatedInvite { invite: AffiliateInvite(invite), url })
    }

    /// An open invite stops working at once (ADMIN).
    async fn revoke_affiliate_invite(&self, ctx: &Context<'_>, id: ID) -> GqlResult<AffiliateInvite> {
        let caller = ctx.caller()?;
        Ok(AffiliateInvite(onboarding::revoke_invite(ctx.state(), caller, parse_id(&id, "id")?).await?))
    }
}
