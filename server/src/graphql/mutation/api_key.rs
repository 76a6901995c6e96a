use async_graphql::{Context, Object, ID};

use crate::{
    graphql::{
        types::{
            api_key::{ApiKey, ApiKeyScope, CreateApiKeyInput, IssuedApiKey},
            parse_id,
        },
        ContextExt, GqlResult,
    },
    service::api_key_service::{self, IssuedKey, NewKey},
};

#[derive(Default)]
pub struct ApiKeyMutation;

fn issued(issued: IssuedKey) -> IssuedApiKey {
    IssuedApiKey { api_key: ApiKey(issued.key), secret: issued.secret }
}

#[Object]
impl ApiKeyMutation {
    /// Makes an API key (ADMIN). The answer holds its secret, shown this once.
    async fn create_api_key(&self, ctx: &Context<'_>, input: CreateApiKeyInput) -> GqlResult<IssuedApiKey> {
        let caller = ctx.caller()?;
        let new = NewKey {
            name: input.name,
            role: input.role.into(),
            affiliate: input.affiliate_id.map(|id| id.0),
            records_conversions: input.scopes.contains(&ApiKeyScope::RecordConversions),
            expires_in_days: input.expires_in_days,
        };
        Ok(issued(api_key_service::create(ctx.state(), caller, new).await?))
    }

    /// A new secret for a key (ADMIN), shown this once. The previous secret keeps working
    /// for `graceHours` (default 24, at most 168; 0 stops it at once).
    async fn rotate_api_key(&self, ctx: &Context<'_>, id: ID, grace_hours: Option<u32>) -> GqlResult<IssuedApiKey> {
        let caller = ctx.caller()?;
        let id = parse_id(&id, "id")?;
        Ok(issued(api_key_service::rotate(ctx.state(), caller, id, grace_hours).await?))
    }

    /// Stops a key at once (ADMIN; on other replicas within 30 s).
    async fn revoke_api_key(&self, ctx: &Context<'_>, id: ID) -> GqlResult<ApiKey> {
        let caller = ctx.caller()?;
        let id = parse_id(&id, "id")?;
        Ok(ApiKey(api_key_service::revoke(ctx.state(), caller, id).await?))
    }
}
