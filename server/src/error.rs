//! Where an [`AppError`] becomes what a REST client sees: the status its variant names,
//! the body `{"error": {"code", "message", "field", "errors"}}` (`errors`: every wrong
//! input of a validation error, `[{field, message}]`), and `Retry-After` on 429. The
//! GraphQL form is made in one other place, `graphql::extend`.

use alpes_core::domain::DomainError;
pub use alpes_core::error::AppError;
use axum::{
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde_json::json;

/// An [`AppError`] on its way out of a route. Routes return [`AppResult`], and `?` turns
/// a service's error into this.
#[derive(Debug)]
pub struct ApiError(pub AppError);

/// What a route returns.
pub type AppResult<T> = Result<T, ApiError>;

impl From<AppError> for ApiError {
    fn from(err: AppError) -> Self {
        Self(err)
    }
}

impl From<DomainError> for ApiError {
    fn from(err: DomainError) -> Self {
        Self(err.into())
    }
}

/// The HTTP status of an error.
/// What a 503 tells the client to wait before trying again.
pub const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 5;

pub fn status(err: &AppError) -> StatusCode {
    match err {
        AppError::Validation { .. } | AppError::Invalid(_) => StatusCode::BAD_REQUEST,
        AppError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
        AppError::Forbidden(_) => StatusCode::FORBIDDEN,
        AppError::NotFound { .. } => StatusCode::NOT_FOUND,
        AppError::Conflict { .. } | AppError::InvalidTransition { .. } => StatusCode::CONFLICT,
        AppError::UnknownReference { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        AppError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
        AppError::Unavailable(_) | AppError::Timeout(_) => StatusCode::SERVICE_UNAVAILABLE,
        AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let err = self.0;
        let mut body = json!({ "code": err.code(), "message": err.public_message() });
        if let Some(field) = err.field() {
            body["field"] = json!(field);
        }
        let problems = err.problems();
        if !problems.is_empty() {
            body["errors"] = json!(problems);
        }
        let mut response = (status(&err), Json(json!({ "error": body }))).into_response();
        let retry_after = match err {
            AppError::TooManyRequests { retry_after_secs } => Some(retry_after_secs),
            AppError::Unavailable(_) | AppError::Timeout(_) => Some(UNAVAILABLE_RETRY_AFTER_SECS),
            _ => None,
        };
        if let Some(Ok(value)) = retry_after.map(|secs| HeaderValue::from_str(&secs.to_string())) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_past_its_time_limit_is_503_timeout() {
        let err = AppError::Timeout("too long".into());
        assert_eq!(status(&err), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(err.code(), "TIMEOUT");
        assert_eq!(err.public_message(), "too long");
    }

    #[test]
    fn unavailable_answers_say_when_to_retry() {
        for err in [AppError::Unavailable("busy".into()), AppError::Timeout("slow".into())] {
            let response = ApiError(err).into_response();
            assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(response.headers().get(header::RETRY_AFTER).and_then(|v| v.to_str().ok()), Some("5"));
        }
        let response = ApiError(AppError::validation("x", "bad")).into_response();
        assert!(response.headers().get(header::RETRY_AFTER).is_none());
    }
}
