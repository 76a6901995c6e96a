//! The impression bodies sent to `POST /tracking/impresiones`: the seed's shape, a new
//! unique id per request.

use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{SecondsFormat, Utc};
use hyper::body::Bytes;

/// The path every phase sends its load to.
pub const INGEST_PATH: &str = "/tracking/impresiones";
/// The campaign and affiliate codes the fixtures create and every body names.
pub const CAMPAIGN_CODE: &str = "cmp-456";
pub const AFFILIATE_CODE: &str = "inf-789";

/// Hands out request numbers; request `n` of run `r` carries the id `bench-<r>-<n>`.
pub struct Payloads {
    run: String,
    next: AtomicU64,
}

impl Payloads {
    pub fn new() -> Self {
        let run = uuid::Uuid::new_v4().simple().to_string();
        Self { run: run[..8].to_string(), next: AtomicU64::new(0) }
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
}
