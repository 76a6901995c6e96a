use async_graphql::{Context, Object, ID};

use crate::{
    graphql::{
        types::{
            onboarding::{AffiliateApplication, AffiliateInvite, InviteInfo},
            parse_id,
        },
        ContextExt, GqlResult,
    },
    service::onboarding,
};

#[derive(Default)]
pub struct OnboardingQuery;

#[Object]
impl OnboardingQuery {
    /// What an affiliate told us when applying, and how it was reviewed (staff, or the
    /// affiliate itself); null for affiliates made by an admin.
    async fn affiliate_application(
        &self,
        ctx: &Context<'_>,
        affiliate_id: ID,
    ) -> GqlResult<Option<AffiliateApplication>> {
        let caller = ctx.caller()?;
        let id = parse_id(&affiliate_id, "affiliateId")?;
        Ok(onboarding::application_of(ctx.state(), caller, id).await?.map(AffiliateApplication))
    }

    /// The latest invite links, newest first (ADMIN; at most 100).
    async fn affiliate_invites(&self, ctx: &Context<'_>) -> GqlResult<Vec<AffiliateInvite>> {
        let caller = ctx.caller()?;
        Ok(onboarding::list_invites(ctx.state(), caller).await?.into_iter().map(AffiliateInvite).collect())
    }

    /// What the public application page shows of an invite link (no sign-in): for whom
    /// and until when. A link that cannot be used is NOT_FOUND.
    async fn affiliate_invite(&self, ctx: &Context<'_>, token: String) -> GqlResult<InviteInfo> {
        let (email, expires_at) = onboarding::invite_info(ctx.state(), &token).await?;
        Ok(InviteInfo { email, expires_at })
    }
}
