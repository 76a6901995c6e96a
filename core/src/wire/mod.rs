//! The seeds' wire formats (Spanish field names, as outside systems send and expect them),
//! kept in one place: the REST routes and the bus consumer turn them into service inputs
//! here, and nowhere else.

pub mod tracking;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer};

use crate::{
    domain::tracking as rules,
    error::{AppError, AppResult},
    service::tracking::Ref,
};

pub fn text(value: Option<String>, field: &str, max: usize) -> AppResult<Option<String>> {
    match value {
        Some(v) if v.chars().count() > max => {
            Err(AppError::validation(field, format!("{field} is longer than {max} characters")))
        }
        Some(v) if v.trim().is_empty() => Ok(None),
        other => Ok(other.map(|v| v.trim().to_string())),
    }
}

pub fn required_id(value: Option<String>, field: &str) -> AppResult<String> {
    rules::identifier(value.as_deref(), field)?
        .ok_or_else(|| AppError::validation(field, format!("{field} is required")))
}

pub fn given(value: Option<String>, field: &'static str) -> AppResult<Option<Ref>> {
    Ok(rules::identifier(value.as_deref(), field)?.map(|value| Ref::Given { value, field }))
}

pub fn when(at: Option<DateTime<Utc>>, field: &str) -> AppResult<DateTime<Utc>> {
    let now = Utc::now();
    Ok(rules::event_time(at.unwrap_or(now), now, field)?)
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
