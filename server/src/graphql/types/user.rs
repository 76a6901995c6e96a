use crate::graphql::GqlResult;
use crate::model::users;
use async_graphql::{Context, InputObject, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};

use super::{affiliate::Affiliate, enums::UserRole};
use crate::{auth::Caller, graphql::loaders::Loaders};

/// A person who signs in.
pub struct User(pub users::User);

#[Object]
impl User {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn email(&self) -> &str {
        &self.0.email
    }
    async fn role(&self) -> UserRole {
        self.0.role.into()
    }
    /// For AFFILIATE users: the affiliate they act for.
    async fn affiliate_id(&self) -> Option<ID> {
        self.0.affiliate_id.map(|id| ID(id.to_string()))
    }
    async fn is_active(&self) -> bool {
        self.0.is_active
    }
    async fn last_login_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_login_at
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// Who the current token belongs to.
pub struct Viewer {
    pub caller: Caller,
    pub user: Option<users::User>,
}

#[Object]
impl Viewer {
    async fn role(&self) -> UserRole {
        self.caller.role.into()
    }
    async fn affiliate_id(&self) -> Option<ID> {
        self.caller.affiliate_id.map(|id| ID(id.to_string()))
    }
    /// The signed-in user; null for service tokens minted with `alpes token`.
    async fn user(&self) -> Option<User> {
        self.user.clone().map(User)
    }
    /// For AFFILIATE callers: their own affiliate.
    async fn affiliate(&self, ctx: &Context<'_>) -> GqlResult<Option<Affiliate>> {
        match self.caller.affiliate_id {
            Some(id) => Ok(ctx.loaders().affiliate.load_one(id).await?.map(Affiliate)),
            None => Ok(None),
        }
    }
}

#[derive(SimpleObject)]
pub struct LoginPayload {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub user: User,
}

#[derive(InputObject)]
pub struct CreateUserInput {
    pub email: String,
    pub password: String,
    pub role: UserRole,
    /// Required for AFFILIATE users: the affiliate's id or code.
    pub affiliate_id: Option<ID>,
}
