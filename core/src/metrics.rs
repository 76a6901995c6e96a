//! Prometheus metrics of one replica, rendered in the text exposition format (0.0.4) at
//! `GET /metrics`. Counters and histograms live in memory here; gauges of the database
//! (backlogs, lags, deliveries by state) are read when scraped and passed to [`render`],
//! so that every replica reports the same shared figures and its own in-process ones.
//!
//! Every label is bounded whatever clients send: HTTP methods outside the standard ones
//! are `OTHER`, routes are the matched route templates (`unmatched` otherwise), GraphQL
//! operation names are kept for the first [`MAX_OPERATIONS`] distinct well-formed names
//! (`other` after that, `anonymous` without one), Stripe event types outside the handled
//! ones are `other`.
//!
//! [`render`]: Metrics::render

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::{
        atomic::{AtomicI64, Ordering},
        Mutex,
    },
    time::Duration,
};

/// A metric's name and its labels, in order.
type Series = (&'static str, Vec<(&'static str, String)>);

/// Distinct GraphQL operation names kept as labels; later names share `other`.
pub const MAX_OPERATIONS: usize = 200;

/// Seconds, from 1 ms to 10 s.
const LATENCY_BUCKETS: &[f64] = &[0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0, 10.0];
/// Items in one ingest batch.
const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0];

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Counter,
    Gauge,
    Histogram(&'static [f64]),
}

/// Every metric this service exports: name, type, help. Rendered in this order.
const FAMILIES: &[(&str, Kind, &str)] = &[
    ("alpes_http_requests_total", Kind::Counter, "HTTP requests served, by method and status."),
    (
        "alpes_http_request_duration_seconds",
        Kind::Histogram(LATENCY_BUCKETS),
        "HTTP request latency, by method and matched route.",
    ),
    ("alpes_http_open_connections", Kind::Gauge, "HTTP connections open now."),
    (
        "alpes_graphql_operation_duration_seconds",
        Kind::Histogram(LATENCY_BUCKETS),
        "GraphQL operation duration, by operation name and type.",
    ),
    ("alpes_ingest_batch_size", Kind::Histogram(BATCH_BUCKETS), "Tracking events written per group commit."),
    ("alpes_ingest_commit_seconds", Kind::Histogram(LATENCY_BUCKETS), "Time to write and commit one ingest batch."),
    ("alpes_ingest_events_total", Kind::Counter, "Tracking events received, by outcome (stored, refused)."),
    ("alpes_events_published_total", Kind::Counter, "Outbox events published by this replica, by topic."),
    ("alpes_outbox_backlog", Kind::Gauge, "Outbox events not yet published."),
    ("alpes_rollup_pending_changes", Kind::Gauge, "Coarse rollup changes not folded yet (PostgreSQL)."),
    ("alpes_outbox_lag_seconds", Kind::Gauge, "Age of the oldest outbox event not yet published (0 when none)."),
    ("alpes_integration_deliveries_total", Kind::Counter, "Outbound delivery attempts, by integration and outcome."),
    ("alpes_integration_deliveries", Kind::Gauge, "Outbound deliveries stored, by integration and state."),
    ("alpes_attribution_backlog", Kind::Gauge, "Conversions stored and not yet attributed."),
    (
        "alpes_attribution_lag_seconds",
        Kind::Gauge,
        "Age of the oldest conversion waiting for attribution (0 when none).",
    ),
    (
        "alpes_conversions_today",
        Kind::Gauge,
        "Conversions of today (UTC) that count (not held for review, reverted, rejected or refunded), by currency.",
    ),
    ("alpes_revenue_today", Kind::Gauge, "Value of those conversions, in units of their currency."),
    ("alpes_stripe_webhook_events_total", Kind::Counter, "Stripe webhook events received, by type and outcome."),
    ("alpes_db_pool_connections", Kind::Gauge, "Database pool connections, by state (in_use, idle)."),
    ("alpes_process_resident_memory_bytes", Kind::Gauge, "Resident memory of the process."),
];

/// A gauge read at scrape time.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: &'static str,
    pub labels: Vec<(&'static str, String)>,
    pub value: f64,
}

impl Sample {
    pub fn new(name: &'static str, value: f64) -> Self {
        Self { name, labels: Vec::new(), value }
    }

    pub fn with(mut self, label: &'static str, value: impl Into<String>) -> Self {
        self.labels.push((label, value.into()));
        self
    }
}

#[derive(Clone)]
struct Histogram {
    /// Observations at or below each bucket's bound (cumulative when rendered).
    buckets: Vec<u64>,
    sum: f64,
    count: u64,
}

/// The in-process metrics of this replica.
#[derive(Default)]
pub struct Metrics {
    counters: Mutex<BTreeMap<Series, u64>>,
    histograms: Mutex<BTreeMap<Series, Histogram>>,
    operations: Mutex<BTreeSet<String>>,
    open_connections: AtomicI64,
}

/// Known Stripe event types (those the webhook handles); others share `other`.
const STRIPE_TYPES: &[&str] = &[
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
    "checkout.session.expired",
    "charge.refunded",
];

impl Metrics {
    fn add(&self, name: &'static str, labels: Vec<(&'static str, String)>, by: u64) {
        if let Ok(mut counters) = self.counters.lock() {
            *counters.entry((name, labels)).or_default() += by;
        }
    }

    fn observe(&self, name: &'static str, labels: Vec<(&'static str, String)>, value: f64) {
        let Some(bounds) = FAMILIES.iter().find_map(|(n, kind, _)| match kind {
            Kind::Histogram(bounds) if *n == name => Some(*bounds),
            _ => None,
        }) else {
            return;
        };
        if let Ok(mut histograms) = self.histograms.lock() {
            let h = histograms.entry((name, labels)).or_insert_with(|| Histogram {
                buckets: vec![0; bounds.len()],
                sum: 0.0,
                count: 0,
            });
            if let Some(i) = bounds.iter().position(|b| value <= *b) {
                h.buckets[i] += 1;
            }
            h.sum += value;
            h.count += 1;
        }
    }

    /// One attempt of an outbound delivery: `succeeded`, `skipped`, `failed` or `dead`.
    pub fn count_delivery(&self, integration: &str, outcome: &str) {
        self.add(
            "alpes_integration_deliveries_total",
            vec![("integration", integration.to_string()), ("outcome", outcome.to_string())],
            1,
        );
    }

    /// One HTTP request: its method, status, matched route (`None`: no route matched)
    /// and how long it took.
    pub fn observe_request(&self, method: &str, status: u16, route: Option<&str>, took: Duration) {
        const METHODS: [&str; 9] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE"];
        let method = METHODS.iter().find(|m| **m == method).copied().unwrap_or("OTHER");
        let status = if (100..600).contains(&status) { status.to_string() } else { "other".to_string() };
        self.add("alpes_http_requests_total", vec![("method", method.to_string()), ("status", status)], 1);
        self.observe(
            "alpes_http_request_duration_seconds",
            vec![("method", method.to_string()), ("route", route.unwrap_or("unmatched").to_string())],
            took.as_secs_f64(),
        );
    }

    /// One GraphQL operation: its name as the client gave it (bounded here), its type
    /// (`query`, `mutation`, `subscription`) and duration.
    pub fn observe_operation(&self, name: Option<&str>, kind: &str, took: Duration) {
        let name = self.operation_label(name);
        let kind = match kind {
            "query" | "mutation" | "subscription" => kind,
            _ => "other",
        };
        self.observe(
            "alpes_graphql_operation_duration_seconds",
            vec![("operation", name), ("type", kind.to_string())],
            took.as_secs_f64(),
        );
    }

    fn operation_label(&self, name: Option<&str>) -> String {
        let Some(name) = name.filter(|n| !n.is_empty()) else { return "anonymous".into() };
        let well_formed = name.len() <= 64
            && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !well_formed {
            return "other".into();
        }
        let Ok(mut seen) = self.operations.lock() else { return "other".into() };
        if seen.contains(name) || seen.len() < MAX_OPERATIONS {
            seen.insert(name.to_string());
            name.to_string()
        } else {
            "other".into()
        }
    }

    /// One ingest batch committed: how many events, how long it took, how many were refused.
    pub fn observe_ingest_batch(&self, size: usize, refused: usize, took: Duration) {
        self.observe("alpes_ingest_batch_size", Vec::new(), size as f64);
        self.observe("alpes_ingest_commit_seconds", Vec::new(), took.as_secs_f64());
        let stored = size.saturating_sub(refused) as u64;
        self.add("alpes_ingest_events_total", vec![("outcome", "stored".into())], stored);
        if refused > 0 {
            self.add("alpes_ingest_events_total", vec![("outcome", "refused".into())], refused as u64);
        }
    }

    /// Outbox events published, `count` of `topic`.
    pub fn count_published(&self, topic: &str, count: u64) {
        // Topics are the service's own (a fixed list), never a client's string.
        self.add("alpes_events_published_total", vec![("topic", topic.to_string())], count);
    }

    /// One Stripe webhook event: its type and what became of it (`processed`,
    /// `duplicate`, `ignored`, `refused`, `failed`).
    pub fn count_webhook(&self, event_type: &str, outcome: &str) {
        let event_type = STRIPE_TYPES.iter().find(|t| **t == event_type).copied().unwrap_or("other");
        self.add(
            "alpes_stripe_webhook_events_total",
            vec![("type", event_type.to_string()), ("outcome", outcome.to_string())],
            1,
        );
    }

    /// A connection was opened (`+1`) or closed (`-1`).
    pub fn connection(&self, delta: i64) {
        self.open_connections.fetch_add(delta, Ordering::Relaxed);
    }

    /// The text exposition format: this replica's counters and histograms, and `gauges`
    /// read at scrape time.
    pub fn render(&self, gauges: &[Sample]) -> String {
        let counters = self.counters.lock().map(|c| c.clone()).unwrap_or_default();
        let histograms = self.histograms.lock().map(|h| h.clone()).unwrap_or_default();
        let mut gauges = gauges.to_vec();
        gauges.push(Sample::new("alpes_http_open_connections", self.open_connections.load(Ordering::Relaxed) as f64));
        let mut out = String::new();
        for (name, kind, help) in FAMILIES {
            let type_name = match kind {
                Kind::Counter => "counter",
                Kind::Gauge => "gauge",
                Kind::Histogram(_) => "histogram",
            };
            out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {type_name}\n"));
            match kind {
                Kind::Counter => {
                    for ((_, labels), value) in counters.iter().filter(|((n, _), _)| n == name) {
                        out.push_str(&format!("{name}{} {value}\n", label_text(labels, None)));
                    }
                }
                Kind::Gauge => {
                    for sample in gauges.iter().filter(|s| s.name == *name) {
                        out.push_str(&format!("{name}{} {}\n", label_text(&sample.labels, None), number(sample.value)));
                    }
                }
                Kind::Histogram(bounds) => {
                    for ((_, labels), h) in histograms.iter().filter(|((n, _), _)| n == name) {
                        let mut cumulative = 0;
                        for (bound, count) in bounds.iter().zip(&h.buckets) {
                            cumulative += count;
                            let le = number(*bound);
                            out.push_str(&format!("{name}_bucket{} {cumulative}\n", label_text(labels, Some(&le))));
                        }
                        out.push_str(&format!("{name}_bucket{} {}\n", label_text(labels, Some("+Inf")), h.count));
                        out.push_str(&format!("{name}_sum{} {}\n", label_text(labels, None), number(h.sum)));
                        out.push_str(&format!("{name}_count{} {}\n", label_text(labels, None), h.count));
                    }
                }
            }
        }
        out
    }
}

/// `{a="1",b="2"}` (with `le` last for a histogram bucket), or nothing without labels.
fn label_text(labels: &[(&'static str, String)], le: Option<&str>) -> String {
    let mut parts: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{}\"", escape(v))).collect();
    if let Some(le) = le {
        parts.push(format!("le=\"{le}\""));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("{{{}}}", parts.join(","))
    }
}

fn number(value: f64) -> String {
    if value.is_finite() && value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        format!("{value}")
    }
}

fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// The resident memory of this process (Linux; `None` elsewhere).
pub fn resident_memory_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Metrics {
        /// One request without its route or duration.
        fn count_request(&self, method: &str, status: u16) {
            self.observe_request(method, status, None, Duration::ZERO);
        }
    }

    #[test]
    fn invented_methods_share_one_series() {
        let metrics = Metrics::default();
        for i in 0..100 {
            metrics.count_request(&format!("BREW{i}"), 405);
        }
        metrics.count_request("POST", 201);
        let text = metrics.render(&[]);
        assert!(text.contains("alpes_http_requests_total{method=\"OTHER\",status=\"405\"} 100\n"), "{text}");
        assert_eq!(text.lines().filter(|l| l.starts_with("alpes_http_requests_total{")).count(), 2, "{text}");
    }

    #[test]
    fn counters_render_in_the_text_format() {
        let metrics = Metrics::default();
        metrics.count_delivery("META_CAPI", "succeeded");
        metrics.count_delivery("META_CAPI", "succeeded");
        metrics.count_delivery("PIPEDRIVE", "dead");
        metrics.count_request("GET", 200);
        let text = metrics.render(&[]);
        assert!(text.contains("# TYPE alpes_integration_deliveries_total counter\n"));
        assert!(
            text.contains("alpes_integration_deliveries_total{integration=\"META_CAPI\",outcome=\"succeeded\"} 2\n")
        );
        assert!(text.contains("alpes_integration_deliveries_total{integration=\"PIPEDRIVE\",outcome=\"dead\"} 1\n"));
        assert!(text.contains("alpes_http_requests_total{method=\"GET\",status=\"200\"} 1\n"));
        assert_eq!(escape("a\"b\\"), "a\\\"b\\\\");
    }

    #[test]
    fn histograms_are_cumulative_with_sum_and_count() {
        let metrics = Metrics::default();
        for ms in [3, 3, 40, 20_000] {
            metrics.observe_request("GET", 200, Some("/api/v1/afiliados/{id}"), Duration::from_millis(ms));
        }
        let text = metrics.render(&[]);
        let series = "method=\"GET\",route=\"/api/v1/afiliados/{id}\"";
        assert!(text.contains("# TYPE alpes_http_request_duration_seconds histogram\n"), "{text}");
        assert!(text.contains(&format!("alpes_http_request_duration_seconds_bucket{{{series},le=\"0.001\"}} 0\n")));
        assert!(text.contains(&format!("alpes_http_request_duration_seconds_bucket{{{series},le=\"0.005\"}} 2\n")));
        assert!(text.contains(&format!("alpes_http_request_duration_seconds_bucket{{{series},le=\"0.05\"}} 3\n")));
        assert!(text.contains(&format!("alpes_http_request_duration_seconds_bucket{{{series},le=\"10\"}} 3\n")));
        assert!(text.contains(&format!("alpes_http_request_duration_seconds_bucket{{{series},le=\"+Inf\"}} 4\n")));
        assert!(text.contains(&format!("alpes_http_request_duration_seconds_count{{{series}}} 4\n")));
        assert!(text.contains(&format!("alpes_http_request_duration_seconds_sum{{{series}}} 20.046\n")), "{text}");
    }

    #[test]
    fn operation_names_stay_bounded() {
        let metrics = Metrics::default();
        for i in 0..(MAX_OPERATIONS + 50) {
            metrics.observe_operation(Some(&format!("Op{i}")), "query", Duration::from_millis(1));
        }
        metrics.observe_operation(Some("Op0"), "query", Duration::from_millis(1));
        metrics.observe_operation(Some("bad name\"}"), "query", Duration::from_millis(1));
        metrics.observe_operation(None, "mutation", Duration::from_millis(1));
        metrics.observe_operation(Some("Op1"), "DROP", Duration::from_millis(1));
        let text = metrics.render(&[]);
        let count = |op: &str, kind: &str| {
            let prefix =
                format!("alpes_graphql_operation_duration_seconds_count{{operation=\"{op}\",type=\"{kind}\"}} ");
            text.lines().find_map(|l| l.strip_prefix(&prefix).map(str::to_string))
        };
        assert_eq!(count("Op0", "query").as_deref(), Some("2"));
        assert_eq!(count("other", "query").as_deref(), Some("51"), "50 past the limit and one malformed");
        assert_eq!(count("anonymous", "mutation").as_deref(), Some("1"));
        assert_eq!(count("Op1", "other").as_deref(), Some("1"));
        let series = text.lines().filter(|l| l.starts_with("alpes_graphql_operation_duration_seconds_count")).count();
        assert_eq!(series, MAX_OPERATIONS + 3);
    }

    #[test]
    fn gauges_ingest_and_webhooks_render() {
        let metrics = Metrics::default();
        metrics.observe_ingest_batch(10, 2, Duration::from_millis(4));
        metrics.count_webhook("checkout.session.completed", "processed");
        metrics.count_webhook("anything.invented", "ignored");
        metrics.connection(3);
        metrics.connection(-1);
        let text = metrics.render(&[
            Sample::new("alpes_outbox_backlog", 7.0),
            Sample::new("alpes_integration_deliveries", 2.0).with("integration", "META_CAPI").with("state", "DEAD"),
        ]);
        assert!(text.contains("alpes_ingest_batch_size_bucket{le=\"10\"} 1\n"), "{text}");
        assert!(text.contains("alpes_ingest_events_total{outcome=\"stored\"} 8\n"));
        assert!(text.contains("alpes_ingest_events_total{outcome=\"refused\"} 2\n"));
        assert!(text.contains(
            "alpes_stripe_webhook_events_total{type=\"checkout.session.completed\",outcome=\"processed\"} 1\n"
        ));
        assert!(text.contains("alpes_stripe_webhook_events_total{type=\"other\",outcome=\"ignored\"} 1\n"));
        assert!(text.contains("# TYPE alpes_outbox_backlog gauge\nalpes_outbox_backlog 7\n"));
        assert!(text.contains("alpes_integration_deliveries{integration=\"META_CAPI\",state=\"DEAD\"} 2\n"));
        assert!(text.contains("alpes_http_open_connections 2\n"));
    }
}
