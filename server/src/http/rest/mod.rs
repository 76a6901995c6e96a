//! The seeds' REST API (seed 004), kept field for field for the systems that call it.

pub mod affiliates;
pub mod campaigns;
pub mod commission_csv;
pub mod commissions;
pub mod conversions;
pub mod payouts;

use axum::{
    extract::{rejection::JsonRejection, FromRequest, FromRequestParts, Request},
    http::request::Parts,
    Router,
};
use serde::de::DeserializeOwned;

pub use crate::wire::{decimal, optional_decimal};

use super::HttpState;
use crate::error::{ApiError, AppError};

pub fn router() -> Router<HttpState> {
    Router::new()
        .merge(affiliates::router())
        .merge(campaigns::router())
        .merge(commissions::router())
        .merge(conversions::router())
        .merge(payouts::router())
}

/// A JSON body whose errors are answered in our error format (400 VALIDATION, 413).
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<HttpState> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &HttpState) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(JsonRejection::BytesRejection(e)) if e.to_string().to_lowercase().contains("length limit") => {
                Err(AppError::PayloadTooLarge.into())
            }
            Err(rejection) => Err(AppError::Validation { field: None, message: rejection.body_text() }.into()),
        }
    }
}

/// Query parameters whose errors are answered in our error format (400 VALIDATION).
pub struct QueryParams<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<HttpState> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &HttpState) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Self(q.0))
            .map_err(|rejection| AppError::Validation { field: None, message: rejection.body_text() }.into())
    }
}

/// The `limite` / `offset` window of a seed list route (default 50, at most `max`; the
/// offset at most [`PageRequest::MAX_OFFSET`](crate::service::PageRequest::MAX_OFFSET)).
pub fn page(limite: Option<u64>, offset: Option<u64>, max: u64) -> Result<crate::service::PageRequest, AppError> {
    let limit = limite.unwrap_or(50);
    if !(1..=max).contains(&limit) {
        return Err(AppError::validation("limite", format!("limite must be between 1 and {max}")));
    }
    let offset = offset.unwrap_or(0);
    let deepest = crate::service::PageRequest::MAX_OFFSET;
    if offset > deepest {
        return Err(AppError::validation(
            "offset",
            format!("offset must be at most {deepest}; narrow the list with its filters instead"),
        ));
    }
    Ok(crate::service::PageRequest { offset, limit })
}
