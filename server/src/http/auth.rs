//! The caller of an HTTP request, from its `Authorization: Bearer` header.

use axum::{
    extract::FromRequestParts,
    http::{header::AUTHORIZATION, request::Parts, HeaderMap},
};

use super::HttpState;
use crate::{
    auth::{Caller, JwtKeys},
    error::{ApiError, AppError},
};

/// A REST handler's caller: a valid bearer token is required.
pub struct Authenticated(pub Caller);

impl FromRequestParts<HttpState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &HttpState) -> Result<Self, Self::Rejection> {
        caller_from_headers(&parts.headers, &state.app.jwt)?
            .map(Authenticated)
            .ok_or_else(|| AppError::Unauthenticated("send Authorization: Bearer <token>".into()).into())
    }
}

/// `Ok(None)` without a header; an invalid token is an error, never anonymous.
pub fn caller_from_headers(headers: &HeaderMap, keys: &JwtKeys) -> Result<Option<Caller>, AppError> {
    let Some(value) = headers.get(AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| AppError::Unauthenticated("malformed Authorization header".into()))?;
    caller_from_authorization(value, keys).map(Some)
}

/// Parses `Bearer <token>` (as sent in a header or a WebSocket `connection_init`).
pub fn caller_from_authorization(value: &str, keys: &JwtKeys) -> Result<Caller, AppError> {
    let token = value
        .trim()
        .strip_prefix("Bearer ")
        .or_else(|| value.trim().strip_prefix("bearer "))
        .ok_or_else(|| AppError::Unauthenticated("expected Authorization: Bearer <token>".into()))?;
    keys.verify(token.trim())
}
