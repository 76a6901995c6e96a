//! The seeds' REST API (seed 004), kept field for field for the systems that call it.

pub mod affiliates;
pub mod campaigns;
pub mod commission_csv;
pub mod commissions;
pub mod conversions;

use axum::{
    extract::{rejection::JsonRejection, FromRequest, FromRequestParts, Request},
    http::request::Parts,
    Router,
};
use rust_decimal::Decimal;
use serde::{de::DeserializeOwned, Deserialize, Deserializer};

use super::HttpState;
use crate::error::AppError;

pub fn router() -> Router<HttpState> {
    Router::new()
        .merge(affiliates::router())
        .merge(campaigns::router())
        .merge(commissions::router())
        .merge(conversions::router())
}

/// A JSON body whose errors are answered in our error format (400 VALIDATION, 413).
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<HttpState> for JsonBody<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &HttpState) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(JsonRejection::BytesRejection(e)) if e.to_string().to_lowercase().contains("length limit") => {
                Err(AppError::PayloadTooLarge)
            }
            Err(rejection) => Err(AppError::Validation { field: None, message: rejection.body_text() }),
        }
    }
}

/// Query parameters whose errors are answered in our error format (400 VALIDATION).
pub struct QueryParams<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<HttpState> for QueryParams<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &HttpState) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Self(q.0))
            .map_err(|rejection| AppError::Validation { field: None, message: rejection.body_text() })
    }
}

/// The `limite` / `offset` window of a seed list route (default 50, at most `max`).
pub fn page(limite: Option<u64>, offset: Option<u64>, max: u64) -> Result<crate::service::PageRequest, AppError> {
    let limit = limite.unwrap_or(50);
    if !(1..=max).contains(&limit) {
        return Err(AppError::validation("limite", format!("limite must be between 1 and {max}")));
    }
    Ok(crate::service::PageRequest { offset: offset.unwrap_or(0), limit })
}

/// Money and rates as the seeds send them: JSON numbers (`15.0`) or strings, read
/// exactly from their text, never through a float.
pub fn decimal<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Decimal, D::Error> {
    let value = serde_json::Value::deserialize(deserializer)?;
    parse_decimal(&value).ok_or_else(|| serde::de::Error::custom(format!("expected a decimal number, got {value}")))
}

pub fn optional_decimal<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Decimal>, D::Error> {
    let value = serde_json::Value::deserialize(deserializer)?;
    if value.is_null() {
        return Ok(None);
    }
    parse_decimal(&value)
        .map(Some)
        .ok_or_else(|| serde::de::Error::custom(format!("expected a decimal number, got {value}")))
}

fn parse_decimal(value: &serde_json::Value) -> Option<Decimal> {
    use std::str::FromStr;
    match value {
        serde_json::Value::Number(n) => {
            let text = n.to_string();
            Decimal::from_str(&text).or_else(|_| Decimal::from_scientific(&text)).ok()
        }
        serde_json::Value::String(s) => Decimal::from_str(s.trim()).ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_read_from_their_text() {
        let cases = [("15.0", "15.0"), ("0.1", "0.1"), ("\"250000.00\"", "250000.00"), ("1e2", "100")];
        for (json, expected) in cases {
            let value: serde_json::Value = serde_json::from_str(json).unwrap_or_default();
            assert_eq!(
                parse_decimal(&value).map(|d| d.normalize().to_string()),
                Some(expected.parse::<Decimal>().map(|d| d.normalize().to_string()).unwrap_or_default()),
                "{json}"
            );
        }
        assert_eq!(parse_decimal(&serde_json::json!("abc")), None);
        assert_eq!(parse_decimal(&serde_json::json!(true)), None);
    }
}
