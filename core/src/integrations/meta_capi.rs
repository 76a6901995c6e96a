//! Meta Conversions API: one `Purchase` server event per paid order.
//!
//! `event_id` is the order id, the same id the browser pixel sends, so Meta keeps one
//! of the two. Email and phone are normalised (trimmed, lower-case; digits with the
//! country code) and SHA-256 hashed, as Meta requires; IP and user agent are sent as
//! they are, never hashed.

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Map, Value};

use super::{attempt, Attempt, OrderFacts};
use crate::{config::MetaCapiSettings, domain::money::json_number};

/// Meta rejects events older than this; they are skipped (and logged) instead.
pub const MAX_EVENT_AGE: Duration = Duration::days(7);

pub struct MetaCapi {
    http: reqwest::Client,
    settings: MetaCapiSettings,
}

/// `fbc` from a click id, as Meta documents it: `fb.1.{creation time in ms}.{fbclid}`,
/// the fbclid unchanged (it is case-sensitive).
pub fn fbc(fbclid: &str, seen_at: DateTime<Utc>) -> String {
    format!("fb.1.{}.{}", seen_at.timestamp_millis(), fbclid)
}

/// Why the purchase is not to be sent, if it is too old for Meta.
pub fn too_old(facts: &OrderFacts, now: DateTime<Utc>) -> Option<String> {
    (now - facts.purchased_at > MAX_EVENT_AGE).then(|| {
        format!(
            "purchase of {} is older than 7 days; Meta does not accept it",
            facts.purchased_at.format("%Y-%m-%d %H:%M:%S UTC")
        )
    })
}

/// The request body without the access token (which is added only when sending).
pub fn event_body(facts: &OrderFacts, test_event_code: Option<&str>) -> Value {
    let order = &facts.order;
    let mut user_data = Map::new();
    if let Some(hash) = &order.customer_email_hash {
        user_data.insert("em".into(), json!([hash]));
    }
    if let Some(hash) = &order.customer_phone_hash {
        user_data.insert("ph".into(), json!([hash]));
    }
    if let Some(fbclid) = &order.fbclid {
        user_data.insert("fbc".into(), json!(fbc(fbclid, facts.fbclid_seen_at.unwrap_or(facts.purchased_at))));
    }
    if let Some(ip) = &facts.client_ip_address {
        user_data.insert("client_ip_address".into(), json!(ip));
    }
    if let Some(agent) = &facts.client_user_agent {
        user_data.insert("client_user_agent".into(), json!(agent));
    }
    let mut event = json!({
        "event_name": "Purchase",
        "event_time": facts.purchased_at.timestamp(),
        "event_id": order.id.to_string(),
        "action_source": "website",
        "user_data": user_data,
        "custom_data": {
            "value": json_number(order.amount),
            "currency": order.currency,
            "order_id": order.id.to_string(),
            "content_ids": order.product_id.iter().collect::<Vec<_>>(),
        },
    });
    if let Some(url) = &facts.event_source_url {
        event["event_source_url"] = json!(url);
    }
    let mut body = json!({ "data": [event] });
    if let Some(code) = test_event_code {
        body["test_event_code"] = json!(code);
    }
    body
}

impl MetaCapi {
    pub fn new(http: reqwest::Client, settings: MetaCapiSettings) -> Self {
        Self { http, settings }
    }

    fn url(&self) -> String {
        let s = &self.settings;
        format!("{}/{}/{}/events", s.base_url, s.api_version, s.pixel_id)
    }

    pub async fn send(&self, facts: &OrderFacts, now: DateTime<Utc>) -> Attempt {
        let body = event_body(facts, self.settings.test_event_code.as_deref());
        if let Some(reason) = too_old(facts, now) {
            // Logged as it would have been sent.
            return Attempt::skipped(body, reason);
        }
        let mut sent = body.clone();
        sent["access_token"] = json!(self.settings.access_token);
        attempt(body, self.http.post(self.url()).json(&sent), |reply| {
            // Meta answers `{"events_received": 1, "fbtrace_id": …}`.
            if reply.ok() && reply.body["events_received"].as_i64().unwrap_or(0) >= 1 {
                Ok(None)
            } else if reply.ok() {
                Err(format!("HTTP {}: Meta did not acknowledge the event", reply.status))
            } else {
                Err(reply.message())
            }
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use rust_decimal_macros::dec;

    fn facts(purchased_at: DateTime<Utc>) -> OrderFacts {
        let order = entity::orders::Model {
            id: uuid::Uuid::nil(),
            event_id: None,
            click_id: None,
            stripe_session_id: "cs_1".into(),
            payment_intent_id: None,
            amount: dec!(150.75),
            refunded_amount: dec!(0),
            currency: "USD".into(),
            status: entity::orders::OrderStatus::Paid,
            customer_email_hash: Some(crate::domain::pii::hash_email(" John@Example.com")),
            customer_phone_hash: crate::domain::pii::hash_phone("+1 (555) 010-0000"),
            gclid: None,
            fbclid: Some("IwAR2xYz".into()),
            campaign: None,
            source: None,
            product_id: Some("PROD001".into()),
            campaign_id: None,
            affiliate_id: None,
            metadata: json!({}),
            pipedrive_deal_id: None,
            created_at: purchased_at,
            updated_at: purchased_at,
            coupon_id: None,
        };
        OrderFacts {
            order,
            purchased_at,
            email: None,
            name: None,
            client_ip_address: Some("203.0.113.7".into()),
            client_user_agent: Some("Mozilla/5.0".into()),
            event_source_url: Some("https://shop.example/gracias".into()),
            fbclid_seen_at: None,
        }
    }

    #[test]
    fn a_purchase_event_has_the_documented_shape() {
        let at = Utc.with_ymd_and_hms(2026, 11, 20, 10, 0, 0).single().unwrap_or_default();
        let body = event_body(&facts(at), Some("TEST123"));
        let event = &body["data"][0];
        assert_eq!(event["event_name"], "Purchase");
        assert_eq!(event["event_time"], at.timestamp());
        assert_eq!(event["event_id"], uuid::Uuid::nil().to_string());
        assert_eq!(event["action_source"], "website");
        assert_eq!(event["event_source_url"], "https://shop.example/gracias");
        // sha256("john@example.com") and sha256("15550100000").
        assert_eq!(event["user_data"]["em"][0], "855f96e983f1f8e8be944692b6f719fd54329826cb62e98015efee8e2e071dd4");
        assert_eq!(event["user_data"]["ph"][0], crate::domain::pii::sha256_hex("15550100000"));
        assert_eq!(event["user_data"]["fbc"], format!("fb.1.{}.IwAR2xYz", at.timestamp_millis()));
        assert_eq!(event["user_data"]["client_ip_address"], "203.0.113.7");
        assert_eq!(
            event["custom_data"],
            json!({"value": 150.75, "currency": "USD", "order_id": uuid::Uuid::nil().to_string(), "content_ids": ["PROD001"]})
        );
        assert_eq!(body["test_event_code"], "TEST123");
        assert!(body.get("access_token").is_none(), "the token is added only on the wire");
    }

    #[test]
    fn events_older_than_seven_days_are_not_sent() {
        let at = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).single().unwrap_or_default();
        assert_eq!(too_old(&facts(at), at + Duration::days(7)), None);
        let reason = too_old(&facts(at), at + Duration::days(7) + Duration::seconds(1));
        assert_eq!(
            reason.as_deref(),
            Some("purchase of 2026-11-01 00:00:00 UTC is older than 7 days; Meta does not accept it")
        );
    }
}
