use crate::graphql::GqlResult;
use async_graphql::{Context, Object};

use crate::{
    graphql::{
        types::{
            api_key::ApiKey,
            user::{User, Viewer},
        },
        ContextExt,
    },
    service::{api_key_service, user_service},
};

#[derive(Default)]
pub struct UserQuery;

#[Object]
impl UserQuery {
    /// Who the current token belongs to.
    async fn me(&self, ctx: &Context<'_>) -> GqlResult<Viewer> {
        let caller = ctx.caller()?.clone();
        let user = match caller.user_id {
            Some(id) => Some(user_service::get(&ctx.state().db, id).await?),
            None => None,
        };
        Ok(Viewer { caller, user })
    }

    /// Everyone who can sign in (ADMIN).
    async fn users(&self, ctx: &Context<'_>) -> GqlResult<Vec<User>> {
        let users = user_service::list(&ctx.state().db, ctx.caller()?).await?;
        Ok(users.into_iter().map(User).collect())
    }

    /// The API keys of machine clients, newest first (ADMIN). Secrets are never shown
    /// here, only their first characters.
    async fn api_keys(&self, ctx: &Context<'_>) -> GqlResult<Vec<ApiKey>> {
        let keys = api_key_service::list(&ctx.state().db, ctx.caller()?).await?;
        Ok(keys.into_iter().map(ApiKey).collect())
    }
}
