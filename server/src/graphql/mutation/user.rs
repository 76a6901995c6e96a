use crate::graphql::GqlResult;
use std::sync::atomic::Ordering;

use async_graphql::{Context, Object};

use crate::{
    error::AppError,
    graphql::{
        types::user::{CreateUserInput, LoginPayload, User},
        ContextExt, LoginTried,
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
        let session = user_service::login(ctx.state(), &ctx.state().jwt, &email, &password).await?;
        Ok(LoginPayload { token: session.token, expires_at: session.expires_at, user: User(session.user) })
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
