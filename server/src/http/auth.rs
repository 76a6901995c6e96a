//! The caller of an HTTP request: a signed-in user's JWT or a machine client's API key,
//! sent as `Authorization: Bearer <token or key>` or `X-Api-Key: <key>`.

use axum::{
    extract::FromRequestParts,
    http::{header::AUTHORIZATION, request::Parts, HeaderMap},
};

use super::HttpState;
use crate::{
    auth::{Caller, Token},
    domain::api_key,
    error::{ApiError, AppError},
    state::AppState,
};

/// A REST handler's caller: a valid bearer token of an open session is required.
pub struct Authenticated(pub Caller);

impl FromRequestParts<HttpState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &HttpState) -> Result<Self, Self::Rejection> {
        session_from_headers(&parts.headers, &state.app).await?.map(|session| Authenticated(session.caller)).ok_or_else(
            || AppError::Unauthenticated("send Authorization: Bearer <token>, or X-Api-Key: <key>".into()).into(),
        )
    }
}

/// An optional caller: none without credentials; bad credentials are still refused.
pub struct MaybeAuthenticated(pub Option<Caller>);

impl FromRequestParts<HttpState> for MaybeAuthenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &HttpState) -> Result<Self, Self::Rejection> {
        Ok(MaybeAuthenticated(session_from_headers(&parts.headers, &state.app).await?.map(|s| s.caller)))
    }
}

/// The header machine clients may send their key in instead of `Authorization`.
pub const API_KEY_HEADER: &str = "x-api-key";

/// What a request proved who it is with.
#[derive(Debug, Clone)]
pub enum Credential {
    /// A user's JWT (see [`crate::auth::Sessions`]).
    Token(Token),
    /// An API key (see [`crate::auth::ApiKeys`]).
    Key(String),
}

/// A verified credential and the caller it stands for now.
#[derive(Debug, Clone)]
pub struct Session {
    pub caller: Caller,
    pub credential: Credential,
}

impl Session {
    /// The user's token, for `logout`; none for API keys.
    pub fn token(&self) -> Option<&Token> {
        match &self.credential {
            Credential::Token(token) => Some(token),
            Credential::Key(_) => None,
        }
    }

    /// Why the session has ended since it was opened (token expired, signed out, user
    /// disabled, key revoked), or `None` while it stands.
    pub async fn ended(&self, app: &AppState) -> Option<&'static str> {
        let refused = |result: Result<Caller, AppError>| result.is_err_and(|e| e.code() == "UNAUTHENTICATED");
        match &self.credential {
            Credential::Token(token) if token.expires_at <= chrono::Utc::now() => Some("token expired"),
            Credential::Token(token) => refused(app.sessions.check(&app.db, token).await).then_some("session ended"),
            Credential::Key(key) => {
                refused(app.api_keys.check(&app.db, key).await).then_some("API key no longer valid")
            }
        }
    }
}

/// `Ok(None)` without credentials; an invalid token or key, or a closed session, is an
/// error, never anonymous.
pub async fn session_from_headers(headers: &HeaderMap, app: &AppState) -> Result<Option<Session>, AppError> {
    let malformed = |name: &str| AppError::Unauthenticated(format!("malformed {name} header"));
    if let Some(value) = headers.get(AUTHORIZATION) {
        let value = value.to_str().map_err(|_| malformed("Authorization"))?;
        return session_from_authorization(value, app).await.map(Some);
    }
    if let Some(value) = headers.get(API_KEY_HEADER) {
        let key = value.to_str().map_err(|_| malformed("X-Api-Key"))?.trim();
        return session_of_key(key, app).await.map(Some);
    }
    Ok(None)
}

/// Parses `Bearer <token or key>` (as sent in a header or a WebSocket `connection_init`)
/// and checks that its session is open.
pub async fn session_from_authorization(value: &str, app: &AppState) -> Result<Session, AppError> {
    let credential = value
        .trim()
        .strip_prefix("Bearer ")
        .or_else(|| value.trim().strip_prefix("bearer "))
        .ok_or_else(|| AppError::Unauthenticated("expected Authorization: Bearer <token>".into()))?
        .trim();
    if api_key::looks_like_key(credential) {
        return session_of_key(credential, app).await;
    }
    let token = app.jwt.verify(credential)?;
    let caller = app.sessions.check(&app.db, &token).await?;
    Ok(Session { caller, credential: Credential::Token(token) })
}

async fn session_of_key(key: &str, app: &AppState) -> Result<Session, AppError> {
    let caller = app.api_keys.check(&app.db, key).await?;
    Ok(Session { caller, credential: Credential::Key(key.to_string()) })
}
