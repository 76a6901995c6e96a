//! Prometheus counters, rendered in the text exposition format at `GET /metrics`.

use std::{collections::BTreeMap, sync::Mutex};

/// A counter's name and its labels, in order.
type Series = (&'static str, Vec<(&'static str, String)>);

/// Counters by name and label set. Few and low-cardinality (integration × outcome,
/// method × status class), so one lock is plenty.
#[derive(Default)]
pub struct Metrics {
    counters: Mutex<BTreeMap<Series, u64>>,
}

const HELP: &[(&str, &str)] = &[
    ("alpes_http_requests_total", "HTTP requests served, by method and status."),
    ("alpes_integration_deliveries_total", "Outbound delivery attempts, by integration and outcome."),
];

impl Metrics {
    fn add(&self, name: &'static str, labels: Vec<(&'static str, String)>) {
        if let Ok(mut counters) = self.counters.lock() {
            *counters.entry((name, labels)).or_default() += 1;
        }
    }

    /// One attempt of an outbound delivery: `succeeded`, `skipped`, `failed` or `dead`.
    pub fn count_delivery(&self, integration: &str, outcome: &str) {
        self.add(
            "alpes_integration_deliveries_total",
            vec![("integration", integration.to_string()), ("outcome", outcome.to_string())],
        );
    }

    /// One HTTP request. Labels stay bounded whatever clients send: a method outside the
    /// standard ones is `OTHER`, a status outside 100–599 is `other`.
    pub fn count_request(&self, method: &str, status: u16) {
        const METHODS: [&str; 9] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE"];
        let method = METHODS.iter().find(|m| **m == method).copied().unwrap_or("OTHER");
        let status = if (100..600).contains(&status) { status.to_string() } else { "other".to_string() };
        self.add("alpes_http_requests_total", vec![("method", method.to_string()), ("status", status)]);
    }

    /// The text exposition format (version 0.0.4).
    pub fn render(&self) -> String {
        let counters = match self.counters.lock() {
            Ok(counters) => counters.clone(),
            Err(_) => BTreeMap::new(),
        };
        let mut out = String::new();
        for (name, help) in HELP {
            out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} counter\n"));
            for ((_, labels), value) in counters.iter().filter(|((n, _), _)| n == name) {
                let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{}\"", escape(v))).collect();
                out.push_str(&format!("{name}{{{}}} {value}\n", labels.join(",")));
            }
        }
        out
    }
}

fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invented_methods_share_one_series() {
        let metrics = Metrics::default();
        for i in 0..100 {
            metrics.count_request(&format!("BREW{i}"), 405);
        }
        metrics.count_request("POST", 201);
        let text = metrics.render();
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
        let text = metrics.render();
        assert!(text.contains("# TYPE alpes_integration_deliveries_total counter\n"));
        assert!(
            text.contains("alpes_integration_deliveries_total{integration=\"META_CAPI\",outcome=\"succeeded\"} 2\n")
        );
        assert!(text.contains("alpes_integration_deliveries_total{integration=\"PIPEDRIVE\",outcome=\"dead\"} 1\n"));
        assert!(text.contains("alpes_http_requests_total{method=\"GET\",status=\"200\"} 1\n"));
        assert_eq!(escape("a\"b\\"), "a\\\"b\\\\");
    }
}
