use async_graphql::{Context, Enum, InputObject, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};

use super::{affiliate::Affiliate, enums::UserRole};
use crate::graphql::{loaders::Loaders, GqlResult};

/// A machine client's key (the shop's server, a BI tool, a seed-style REST client). Its
/// secret is shown once, when made or rotated; only its first characters are kept.
pub struct ApiKey(pub crate::model::api_keys::ApiKey);

/// What a key may do beyond what its role reads.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum ApiKeyScope {
    /// Record conversions (which make commissions): for the shop's server.
    RecordConversions,
}

/// Where a key stands.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum ApiKeyStatus {
    Active,
    Expired,
    Revoked,
}

#[Object]
impl ApiKey {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The key's first characters (`alpes_sk_Ab3dE9`), to recognise it.
    async fn prefix(&self) -> &str {
        &self.0.prefix
    }
    async fn role(&self) -> UserRole {
        self.0.role.into()
    }
    /// For AFFILIATE keys: the only affiliate whose data the key sees.
    async fn affiliate_id(&self) -> Option<ID> {
        self.0.affiliate_id.map(|id| ID(id.to_string()))
    }
    async fn affiliate(&self, ctx: &Context<'_>) -> GqlResult<Option<Affiliate>> {
        match self.0.affiliate_id {
            Some(id) => Ok(ctx.loaders().affiliate.load_one(id).await?.map(Affiliate)),
            None => Ok(None),
        }
    }
    async fn scopes(&self) -> Vec<ApiKeyScope> {
        if self.0.records_conversions {
            vec![ApiKeyScope::RecordConversions]
        } else {
            Vec::new()
        }
    }
    async fn status(&self) -> ApiKeyStatus {
        if self.0.revoked_at.is_some() {
            ApiKeyStatus::Revoked
        } else if self.0.is_active(Utc::now()) {
            ApiKeyStatus::Active
        } else {
            ApiKeyStatus::Expired
        }
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When the key stops working by itself; null: until revoked.
    async fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.0.expires_at
    }
    async fn rotated_at(&self) -> Option<DateTime<Utc>> {
        self.0.rotated_at
    }
    /// After a rotation: until when the previous secret still works.
    async fn previous_secret_expires_at(&self) -> Option<DateTime<Utc>> {
        self.0.previous_expires_at.filter(|at| *at > Utc::now())
    }
    /// Roughly when the key was last used (noted at most every 30 s).
    async fn last_used_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_used_at
    }
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.0.revoked_at
    }
}

/// A key and its secret: the only time the secret is shown.
#[derive(SimpleObject)]
pub struct IssuedApiKey {
    pub api_key: ApiKey,
    /// Send as `X-Api-Key: <secret>` or `Authorization: Bearer <secret>`. Not shown again.
    pub secret: String,
}

#[derive(InputObject)]
pub struct CreateApiKeyInput {
    /// What the key is for (`shop server`, `BI export`).
    pub name: String,
    pub role: UserRole,
    /// Required for AFFILIATE keys: the affiliate's id or code.
    pub affiliate_id: Option<ID>,
    #[graphql(default)]
    pub scopes: Vec<ApiKeyScope>,
    /// Days until the key stops working (1–3650); null: until revoked.
    pub expires_in_days: Option<u32>,
}
