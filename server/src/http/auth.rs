//! The caller of an HTTP request, from its `Authorization: Bearer` header.

use axum::{
    extract::FromRequestParts,
    http::{header::AUTHORIZATION, request::Parts, HeaderMap},
};

use super::HttpState;
use crate::{
    auth::{Caller, Token},
    error::{ApiError, AppError},
    state::AppState,
};

/// A REST handler's caller: a valid bearer token of an open session is required.
pub struct Authenticated(pub Caller);

impl FromRequestParts<HttpState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &HttpState) -> Result<Self, Self::Rejection> {
        session_from_headers(&parts.headers, &state.app)
            .await?
            .map(|session| Authenticated(session.caller))
            .ok_or_else(|| AppError::Unauthenticated("send Authorization: Bearer <token>".into()).into())
    }
}

/// A verified token and the caller it stands for now (see [`crate::auth::Sessions`]).
#[derive(Debug, Clone)]
pub struct Session {
    pub caller: Caller,
    pub token: Token,
}

/// `Ok(None)` without a header; an invalid token or a closed session is an error, never
/// anonymous.
pub async fn session_from_headers(headers: &HeaderMap, app: &AppState) -> Result<Option<Session>, AppError> {
    let Some(value) = headers.get(AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| AppError::Unauthenticated("malformed Authorization header".into()))?;
    session_from_authorization(value, app).await.map(Some)
}

/// Parses `Bearer <token>` (as sent in a header or a WebSocket `connection_init`) and
/// checks that its session is open.
pub async fn session_from_authorization(value: &str, app: &AppState) -> Result<Session, AppError> {
    let token = value
        .trim()
        .strip_prefix("Bearer ")
        .or_else(|| value.trim().strip_prefix("bearer "))
        .ok_or_else(|| AppError::Unauthenticated("expected Authorization: Bearer <token>".into()))?;
    let token = app.jwt.verify(token.trim())?;
    let caller = app.sessions.check(&app.db, &token).await?;
    Ok(Session { caller, token })
}
