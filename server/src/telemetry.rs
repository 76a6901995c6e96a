//! Optional OpenTelemetry trace export: with `OTEL_EXPORTER_OTLP_ENDPOINT` (or
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) set, every span (each request, with its
//! `request_id`, and what runs inside it) is also sent over OTLP/HTTP (protobuf) to that
//! collector, batched in the background. The standard `OTEL_*` variables apply
//! (`OTEL_SERVICE_NAME`, `OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_TRACES_SAMPLER`, …).
//! `ALPES_TRACE_FILTER` chooses the spans exported (`info` by default, whatever `RUST_LOG`
//! sets for the logs). Unset, nothing is exported and nothing is paid for.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::{trace::SdkTracerProvider, Resource};
use tracing_subscriber::{EnvFilter, Layer, Registry};

/// A layer of the service's subscriber, with its own filter.
pub type BoxedLayer = Box<dyn Layer<Registry> + Send + Sync>;

/// Which spans are exported: the service's, at `info` (whatever `RUST_LOG` asks of the
/// logs), never those of the exporter's own HTTP client (they would feed themselves).
const EXPORTED: &str = "info,sqlx=warn,hyper=off,hyper_util=off,h2=off,reqwest=off,tower=off,\
opentelemetry=off,opentelemetry_sdk=off,opentelemetry_otlp=off,opentelemetry_http=off";

/// The trace exporter when one is configured.
pub struct Traces(Option<SdkTracerProvider>);

/// Whether an OTLP endpoint is configured.
fn configured(get: impl Fn(&str) -> Option<String>) -> bool {
    ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]
        .iter()
        .any(|name| get(name).is_some_and(|v| !v.trim().is_empty()))
}

impl Traces {
    pub fn from_env() -> anyhow::Result<Self> {
        if !configured(|name| std::env::var(name).ok()) {
            return Ok(Self(None));
        }
        // The exporter's HTTP client blocks; it is made (and later dropped) off the async
        // runtime, and spans are sent from the batch processor's own thread.
        let provider = std::thread::spawn(|| -> anyhow::Result<SdkTracerProvider> {
            let exporter = opentelemetry_otlp::SpanExporter::builder()
                .with_http()
                .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
                .build()?;
            let service = std::env::var("OTEL_SERVICE_NAME").unwrap_or_else(|_| "alpes".into());
            let resource = Resource::builder()
                .with_service_name(service)
                .with_attribute(opentelemetry::KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
                .build();
            Ok(SdkTracerProvider::builder().with_batch_exporter(exporter).with_resource(resource).build())
        })
        .join()
        .map_err(|_| anyhow::anyhow!("starting the OpenTelemetry exporter panicked"))?
        .map_err(|e| anyhow::anyhow!("cannot start the OpenTelemetry exporter: {e}"))?;
        Ok(Self(Some(provider)))
    }

    /// The layer that turns spans into OpenTelemetry spans (none when not configured).
    pub fn layer(&self) -> Option<BoxedLayer> {
        let provider = self.0.as_ref()?;
        let filter =
            std::env::var("ALPES_TRACE_FILTER").map(EnvFilter::new).unwrap_or_else(|_| EnvFilter::new(EXPORTED));
        Some(Box::new(tracing_opentelemetry::layer().with_tracer(provider.tracer("alpes")).with_filter(filter)))
    }

    /// Sends what is buffered and stops the exporter (off the async runtime).
    pub fn shutdown(self) {
        if let Some(provider) = self.0 {
            let _ = std::thread::spawn(move || {
                if let Err(err) = provider.shutdown() {
                    eprintln!("OpenTelemetry: {err}");
                }
            })
            .join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_set_endpoint_turns_export_on() {
        assert!(!configured(|_| None));
        assert!(!configured(|_| Some("  ".into())));
        assert!(configured(|n| (n == "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").then(|| "http://collector:4318".into())));
    }
}
