//! Google Ads offline click conversions: `customers/{id}:uploadClickConversions` (REST,
//! API v21) with partial failure on, authorised by an OAuth access token obtained from
//! a refresh token and cached until shortly before it expires.

use std::time::Instant;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use tokio::sync::Mutex;

use super::{attempt, call, finish, Attempt, OrderFacts};
use crate::{config::GoogleAdsSettings, domain::money::json_number};

/// Tokens are renewed this long before Google says they expire.
const TOKEN_MARGIN: std::time::Duration = std::time::Duration::from_secs(60);

pub struct GoogleAds {
    http: reqwest::Client,
    settings: GoogleAdsSettings,
    token: Mutex<Option<(String, Instant)>>,
}

/// `yyyy-mm-dd hh:mm:ss+00:00`, the form Google Ads requires.
pub fn conversion_date_time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S+00:00").to_string()
}

/// The upload body for one order, or why it is not to be sent (no gclid).
pub fn upload_body(facts: &OrderFacts, customer_id: &str, action_id: &str) -> Result<Value, String> {
    let order = &facts.order;
    let gclid = order.gclid.as_deref().ok_or("order has no gclid; Google Ads needs one for a click conversion")?;
    Ok(json!({
        "conversions": [{
            "gclid": gclid,
            "conversionAction": format!("customers/{customer_id}/conversionActions/{action_id}"),
            "conversionDateTime": conversion_date_time(facts.purchased_at),
            "conversionValue": json_number(order.amount),
            "currencyCode": order.currency,
            "orderId": order.id.to_string(),
        }],
        "partialFailure": true,
    }))
}

/// A partial-failure error in an otherwise successful answer: its message.
pub fn partial_failure(body: &Value) -> Option<String> {
    let error =
        body.get("partialFailureError").filter(|e| e.is_object() && !e.as_object().is_some_and(|o| o.is_empty()))?;
    let message = error["message"].as_str().unwrap_or("partial failure without a message");
    Some(format!("partial failure: {message}"))
}

impl GoogleAds {
    pub fn new(http: reqwest::Client, settings: GoogleAdsSettings) -> Self {
        Self { http, settings, token: Mutex::new(None) }
    }

    /// A valid access token: the cached one, or a new one from the refresh token.
    async fn access_token(&self) -> Result<String, String> {
        let mut cached = self.token.lock().await;
        if let Some((token, until)) = cached.as_ref() {
            if Instant::now() < *until {
                return Ok(token.clone());
            }
        }
        let s = &self.settings;
        let form = [
            ("grant_type", "refresh_token"),
            ("client_id", s.client_id.as_str()),
            ("client_secret", s.client_secret.as_str()),
            ("refresh_token", s.refresh_token.as_str()),
        ];
        let reply = call(self.http.post(&s.token_url).form(&form)).await.map_err(|e| format!("OAuth token: {e}"))?;
        let token = reply.body["access_token"].as_str().filter(|t| !t.is_empty());
        match (reply.ok(), token) {
            (true, Some(token)) => {
                let lifetime = reply.body["expires_in"].as_u64().unwrap_or(3600);
                let until = Instant::now() + std::time::Duration::from_secs(lifetime).saturating_sub(TOKEN_MARGIN);
                *cached = Some((token.to_string(), until));
                Ok(token.to_string())
            }
            _ => {
                // Google's OAuth errors are `{"error": "invalid_grant", "error_description": …}`.
                let code = reply.body["error"].as_str().unwrap_or("no access_token in the answer");
                Err(format!("OAuth token: HTTP {}: {code}", reply.status))
            }
        }
    }

    /// Uploads the purchase as a click conversion.
    pub async fn send(&self, facts: &OrderFacts) -> Attempt {
        let s = &self.settings;
        match upload_body(facts, &s.customer_id, &s.conversion_action_id) {
            Ok(body) => self.post("uploadClickConversions", body).await,
            Err(reason) => Attempt::skipped(Value::Null, reason),
        }
    }

    /// Adjusts the uploaded conversion after a refund: retracted when fully refunded,
    /// restated to what is left after a partial refund.
    pub async fn send_refund(&self, facts: &OrderFacts) -> Attempt {
        let s = &self.settings;
        match adjustment_body(facts, &s.customer_id, &s.conversion_action_id) {
            Ok(body) => self.post("uploadConversionAdjustments", body).await,
            Err(reason) => Attempt::skipped(Value::Null, reason),
        }
    }

    async fn post(&self, method: &str, body: Value) -> Attempt {
        let s = &self.settings;
        let started = Instant::now();
        let token = match self.access_token().await {
            Ok(token) => token,
            Err(message) => return finish(body, started, Err(message), |_| Ok(None)),
        };
        let url = format!("{}/v21/customers/{}:{method}", s.base_url, s.customer_id);
        let mut request =
            self.http.post(url).bearer_auth(token).header("developer-token", &s.developer_token).json(&body);
        if let Some(login) = &s.login_customer_id {
            request = request.header("login-customer-id", login);
        }
        let result = attempt(body, request, |reply| {
            if !reply.ok() {
                return Err(reply.message());
            }
            match partial_failure(&reply.body) {
                Some(message) => Err(message),
                None => Ok(None),
            }
        })
        .await;
        if result.http_status == Some(401) {
            // The cached token was revoked or expired early: the next attempt gets a new one.
            *self.token.lock().await = None;
        }
        result
    }
}

/// The conversion adjustment for a refunded order (identified by its order id, as it was
/// uploaded), or why there is nothing to adjust.
pub fn adjustment_body(facts: &OrderFacts, customer_id: &str, action_id: &str) -> Result<Value, String> {
    let order = &facts.order;
    if order.gclid.is_none() {
        return Err("order has no gclid; no click conversion was uploaded to adjust".into());
    }
    if order.refunded_amount <= rust_decimal::Decimal::ZERO {
        return Err("nothing refunded".into());
    }
    let left = order.amount - order.refunded_amount;
    let mut adjustment = json!({
        "conversionAction": format!("customers/{customer_id}/conversionActions/{action_id}"),
        "orderId": order.id.to_string(),
        "adjustmentDateTime": conversion_date_time(order.updated_at.max(facts.purchased_at)),
    });
    if left <= rust_decimal::Decimal::ZERO {
        adjustment["adjustmentType"] = json!("RETRACTION");
    } else {
        adjustment["adjustmentType"] = json!("RESTATEMENT");
        adjustment["restatementValue"] = json!({ "adjustedValue": json_number(left), "currencyCode": order.currency });
    }
    Ok(json!({ "conversionAdjustments": [adjustment], "partialFailure": true }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn date_times_are_in_the_form_google_requires() {
        let at = Utc.with_ymd_and_hms(2026, 3, 4, 5, 6, 7).single().unwrap_or_default();
        assert_eq!(conversion_date_time(at), "2026-03-04 05:06:07+00:00");
    }

    #[test]
    fn partial_failures_are_recognised() {
        let cases = [
            (json!({"results": [{"gclid": "x"}]}), None),
            (json!({"results": [{}], "partialFailureError": {}}), None),
            (
                json!({"partialFailureError": {"code": 3, "message": "The click is too old."}}),
                Some("partial failure: The click is too old."),
            ),
        ];
        for (body, expected) in cases {
            assert_eq!(partial_failure(&body).as_deref(), expected, "{body}");
        }
    }
}
