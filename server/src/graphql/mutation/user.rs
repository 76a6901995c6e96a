use crate::graphql::GqlResult;
use std::sync::atomic::Ordering;

use async_graphql::{Context, Object, ID};

use crate::{
    auth::Token,
    error::AppError,
    graphql::{
        types::{
            enums::UserRole,
            parse_id,
            user::{CreateUserInput, LoginPayload, User},
        },
        ClientIp, ContextExt, LoginTried,
    },
    service::user_service::{self, NewUser},
};

#[derive(Default)]
pub struct UserMutation;

#[Object]
impl UserMutation {
    /// Signs in; the token goes in `Authorization: Bearer <token>`. One `login` per
    /// request: a second one (an alias) is refused without checking its password.
    async fn login(&self, ctx: &Context<'_>, email: String, password: String) -> GqlResult<LoginPayload> {
        let tried = ctx.data_opt::<LoginTried>().is_some_and(|t| t.0.swap(true, Ordering::SeqCst));
        if tried {
            return Err(AppError::validation("login", "one login per request").into());
        }
        let client = ctx.data_opt::<ClientIp>().and_then(|ip| ip.0);
        let session = user_service::login(ctx.state(), &ctx.state().jwt, &email, &password, client).await?;
        Ok(LoginPayload { token: session.token, expires_at: session.expires_at, user: User(session.user) })
    }

    /// Signs out the session of the token this request carries: the token is refused
    /// from now on (on other replicas within 30 s).
    async fn logout(&self, ctx: &Context<'_>) -> GqlResult<bool> {
        ctx.caller()?;
        let token = ctx.data_opt::<Token>().ok_or_else(|| AppError::Unauthenticated("sign in first".into()))?;
        user_service::logout(ctx.state(), token).await?;
        Ok(true)
    }

    /// Ends every session of a user: all its tokens issued until now are refused. Without
    /// `userId`, the caller's own; another user's is for admins.
    async fn sign_out_everywhere(&self, ctx: &Context<'_>, user_id: Option<ID>) -> GqlResult<User> {
        let caller = ctx.caller()?;
        let user_id = match user_id {
            Some(id) => parse_id(&id, "userId")?,
            None => caller.user_id.ok_or_else(|| AppError::validation("userId", "this token has no user"))?,
        };
        Ok(User(user_service::sign_out_everywhere(ctx.state(), caller, user_id).await?))
    }

    /// Disables (`active: false`) or enables a user (ADMIN). A disabled user cannot sign
    /// in, and its tokens are refused.
    async fn set_user_active(&self, ctx: &Context<'_>, id: ID, active: bool) -> GqlResult<User> {
        let caller = ctx.caller()?;
        let id = parse_id(&id, "id")?;
        Ok(User(user_service::set_active(ctx.state(), caller, id, active).await?))
    }

    /// Gives a user another role (ADMIN; not one's own). AFFILIATE users need their
    /// affiliate (id or code). The user's sessions end.
    async fn set_user_role(
        &self,
        ctx: &Context<'_>,
        id: ID,
        role: UserRole,
        affiliate_id: Option<ID>,
    ) -> GqlResult<User> {
        let caller = ctx.caller()?;
        let id = parse_id(&id, "id")?;
        let affiliate = affiliate_id.as_ref().map(|a| a.0.as_str());
        Ok(User(user_service::set_role(ctx.state(), caller, id, role.into(), affiliate).await?))
    }

    /// A new, generated password for a user (ADMIN; not one's own), shown this once: the
    /// old one stops working and the user's sessions end.
    async fn reset_user_password(&self, ctx: &Context<'_>, id: ID) -> GqlResult<PasswordReset> {
        let caller = ctx.caller()?;
        let id = parse_id(&id, "id")?;
        let (user, password) = user_service::reset_password(ctx.state(), caller, id).await?;
        Ok(PasswordReset { user: User(user), password })
    }

    /// Adds someone who can sign in (ADMIN). AFFILIATE users need their affiliate.
    async fn create_user(&self, ctx: &Context<'_>, input: CreateUserInput) -> GqlResult<User> {
        let caller = ctx.caller()?;
        let user = user_service::create(
            ctx.state(),
            caller,
            NewUser {
                email: input.email,
                password: input.password,
                role: input.role.into(),
                affiliate: input.affiliate_id.map(|id| id.0),
            },
        )
        .await?;
        Ok(User(user))
    }
}

/// A user's new password, shown once.
#[derive(async_graphql::SimpleObject)]
pub struct PasswordReset {
    pub user: User,
    /// Give it to the user; it is not stored or shown again.
    pub password: String,
}
