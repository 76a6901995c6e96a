//! The requests of each workload: impressions for `POST /tracking/impresiones` (the
//! seed's shape, a new unique id per request), and signed Stripe events for
//! `POST /api/v1/webhooks/stripe` (a new event and checkout session per request).

use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{SecondsFormat, Utc};
use hmac::{Hmac, Mac};
use hyper::{
    body::Bytes,
    header::{HeaderName, HeaderValue},
    StatusCode,
};
use sha2::Sha256;

use crate::load::{Prepared, Workload};

/// The path every phase sends its load to.
pub const INGEST_PATH: &str = "/tracking/impresiones";
/// The campaign and affiliate codes the fixtures create and every body names.
pub const CAMPAIGN_CODE: &str = "cmp-456";
pub const AFFILIATE_CODE: &str = "inf-789";

/// The Stripe webhook route.
pub const STRIPE_PATH: &str = "/api/v1/webhooks/stripe";
/// The signing secret Alpes is started with (`STRIPE_WEBHOOK_SECRET`) and the events are signed with.
pub const STRIPE_SECRET: &str = "whsec_bench_secret";

/// Eight hex digits that tell one run's ids from another's (a PostgreSQL database may be kept).
fn run_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_string()
}

/// Hands out request numbers; request `n` of run `r` carries the id `bench-<r>-<n>`.
pub struct Payloads {
    run: String,
    next: AtomicU64,
}

impl Workload for Payloads {
    fn path(&self) -> &'static str {
        INGEST_PATH
    }

    fn next_request(&self) -> Prepared {
        let (n, body) = self.next();
        Prepared { n, body, headers: Vec::new() }
    }
}

impl Payloads {
    pub fn new() -> Self {
        Self { run: run_id(), next: AtomicU64::new(0) }
    }

    /// A new request number and its body.
    pub fn next(&self) -> (u64, Bytes) {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        (n, self.body(n))
    }

    pub fn id(&self, n: u64) -> String {
        format!("bench-{}-{n}", self.run)
    }

    fn body(&self, n: u64) -> Bytes {
        // Every value is plain ASCII without quotes or backslashes, so no escaping is needed.
        let timestamp = Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true);
        Bytes::from(format!(
            concat!(
                r#"{{"id":"{id}","campaña_id":"{campaign}","influencer_id":"{affiliate}","#,
                r#""usuario_id":"usr-{user}","tipo_evento":"IMPRESION","#,
                r#""user_agent":"Mozilla/5.0 bench","ip_address":"192.168.1.1","#,
                r#""referrer":"https://instagram.com","timestamp":"{timestamp}"}}"#
            ),
            id = self.id(n),
            campaign = CAMPAIGN_CODE,
            affiliate = AFFILIATE_CODE,
            user = n % 1000,
            timestamp = timestamp,
        ))
    }
}

/// Stripe `checkout.session.completed` events, paid: event `n` of run `r` is
/// `evt_bench_<r>_<n>` for the session `cs_bench_<r>_<n>`, each signed as Stripe signs
/// (`Stripe-Signature: t=<now>,v1=<HMAC-SHA256 of "<t>.<body>">`) when it is built.
pub struct StripeEvents {
    run: String,
    next: AtomicU64,
}

impl Workload for StripeEvents {
    fn path(&self) -> &'static str {
        STRIPE_PATH
    }

    fn next_request(&self) -> Prepared {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let now = Utc::now().timestamp();
        let body = self.body(n, now);
        let signature = sign(&body, STRIPE_SECRET, now);
        let value = HeaderValue::from_str(&signature).unwrap_or_else(|_| HeaderValue::from_static("t=0,v1=00"));
        Prepared { n, body, headers: vec![(HeaderName::from_static("stripe-signature"), value)] }
    }

    /// Only `200 {"received":true,"status":"processed"}`: a duplicate or ignored event
    /// did not make an order, so it is an error here.
    fn accepts(&self, status: StatusCode, body: &[u8]) -> bool {
        status == StatusCode::OK && is_processed(body)
    }
}

impl StripeEvents {
    pub fn new() -> Self {
        Self { run: run_id(), next: AtomicU64::new(0) }
    }

    pub fn event_id(&self, n: u64) -> String {
        format!("evt_bench_{}_{n}", self.run)
    }

    fn body(&self, n: u64, created: i64) -> Bytes {
        // Plain ASCII without quotes or backslashes: no escaping needed.
        Bytes::from(format!(
            concat!(
                r#"{{"id":"{event}","object":"event","type":"checkout.session.completed","livemode":false,"#,
                r#""created":{created},"data":{{"object":{{"id":"cs_bench_{run}_{n}","object":"checkout.session","#,
                r#""amount_total":15075,"currency":"usd","payment_status":"paid","#,
                r#""payment_intent":"pi_bench_{run}_{n}","customer_details":{{"email":"buyer{n}@example.com"}},"#,
                r#""metadata":{{"gclid":"G{n}","campaign":"LANZAMIENTO_2026","source":"google","#,
                r#""product_id":"PROD001"}}}}}}}}"#
            ),
            event = self.event_id(n),
            created = created,
            run = self.run,
            n = n,
        ))
    }
}

/// The `Stripe-Signature` value for `body` signed with `secret` at `timestamp` (unix seconds).
pub fn sign(body: &[u8], secret: &str, timestamp: i64) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("t={timestamp},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// `{"received":true,"status":"processed"}`, in any key order and spacing.
pub fn is_processed(body: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(body)
        .is_ok_and(|answer| answer["received"] == true && answer["status"] == "processed")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_the_seed_shape_with_unique_ids() {
        let payloads = Payloads::new();
        let (a, body_a) = payloads.next();
        let (b, body_b) = payloads.next();
        assert_ne!(a, b);
        let a: serde_json::Value = serde_json::from_slice(&body_a).unwrap();
        let b: serde_json::Value = serde_json::from_slice(&body_b).unwrap();
        assert_ne!(a["id"], b["id"]);
        assert_eq!(a["id"], payloads.id(0));
        assert_eq!(a["campaña_id"], "cmp-456");
        assert_eq!(a["influencer_id"], "inf-789");
        assert_eq!(a["usuario_id"], "usr-0");
        assert_eq!(b["usuario_id"], "usr-1");
        assert_eq!(a["tipo_evento"], "IMPRESION");
        let ts = a["timestamp"].as_str().unwrap();
        assert!(chrono::DateTime::parse_from_rfc3339(ts).is_ok(), "{ts}");
        assert_eq!(a.as_object().unwrap().len(), 9);
    }

    #[test]
    fn stripe_signatures_are_hmac_sha256_of_timestamp_dot_body() {
        // Computed apart: HMAC-SHA256(key "whsec_bench_secret", "1700000000.{\"id\":\"evt_1\"}").
        assert_eq!(
            sign(br#"{"id":"evt_1"}"#, STRIPE_SECRET, 1_700_000_000),
            "t=1700000000,v1=fb2d2397644e5777978a83744946ba3ffb72864ca44ecb5ad9b8c0a4d8e15c39"
        );
    }

    #[test]
    fn stripe_events_are_new_signed_checkout_sessions() {
        let events = StripeEvents::new();
        let a = events.next_request();
        let b = events.next_request();
        assert_eq!((a.n, b.n), (0, 1));
        assert_eq!(events.path(), "/api/v1/webhooks/stripe");

        let (name, value) = &a.headers[0];
        assert_eq!(name, "stripe-signature");
        let value = value.to_str().unwrap();
        let t: i64 = value.strip_prefix("t=").unwrap().split(',').next().unwrap().parse().unwrap();
        assert!((Utc::now().timestamp() - t).abs() <= 5, "{value}");
        // The signature is over exactly the bytes sent.
        assert_eq!(value, sign(&a.body, STRIPE_SECRET, t));

        let event: serde_json::Value = serde_json::from_slice(&a.body).unwrap();
        let other: serde_json::Value = serde_json::from_slice(&b.body).unwrap();
        assert_eq!(event["id"], events.event_id(0));
        assert_ne!(event["id"], other["id"]);
        assert_eq!(event["type"], "checkout.session.completed");
        assert_eq!(event["created"], t);
        let session = &event["data"]["object"];
        assert_ne!(session["id"], other["data"]["object"]["id"]);
        assert!(session["id"].as_str().unwrap().starts_with("cs_bench_"));
        assert_eq!(session["amount_total"], 15075);
        assert_eq!(session["currency"], "usd");
        assert_eq!(session["payment_status"], "paid");
        assert_eq!(session["customer_details"]["email"], "buyer0@example.com");
        assert_eq!(session["metadata"]["gclid"], "G0");
        assert_eq!(session["metadata"]["campaign"], "LANZAMIENTO_2026");
        assert_eq!(session["metadata"]["product_id"], "PROD001");
    }

    #[test]
    fn only_processed_counts() {
        let events = StripeEvents::new();
        assert!(events.accepts(StatusCode::OK, br#"{"received":true,"status":"processed"}"#));
        assert!(events.accepts(StatusCode::OK, br#"{ "status": "processed", "received": true }"#));
        assert!(!events.accepts(StatusCode::OK, br#"{"received":true,"status":"duplicate"}"#));
        assert!(!events.accepts(StatusCode::OK, br#"{"received":true,"status":"ignored","reason":"x"}"#));
        assert!(!events.accepts(StatusCode::CREATED, br#"{"received":true,"status":"processed"}"#));
        assert!(!events.accepts(StatusCode::OK, b"not json"));
    }
}
