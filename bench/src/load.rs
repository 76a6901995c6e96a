//! The load generator: C keep-alive HTTP/1.1 connections, each owned by one task that
//! sends one request at a time.
//!
//! - Closed loop ([`Pace::Closed`]): each connection sends its next request as soon as
//!   the previous answer is in, so the rate is whatever the server sustains.
//! - Open loop ([`Pace::Open`]): request `i` is due at `start + i / rate`, whatever the
//!   server does. Connections take the due requests in turn; when every connection is
//!   busy the request waits, and its latency counts from when it was due (no coordinated
//!   omission). A connection that is idle sleeps until the request is due and counts from
//!   when it actually sends, so the timer's own lateness is not charged to the server.
//!
//! What is sent, and which answers count, is the [`Workload`]'s: by default only 2xx
//! answers count as requests/s and go into the latency figures; everything else is counted
//! as an error, grouped by kind.

use std::{
    collections::HashMap,
    error::Error as _,
    net::SocketAddr,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use anyhow::Context;
use http_body_util::{BodyExt, Full};
use hyper::{
    body::Bytes,
    client::conn::http1::SendRequest,
    header::{HeaderName, HeaderValue, CONTENT_TYPE, HOST},
    Request, StatusCode,
};
use hyper_util::rt::TokioIo;
use tokio::{net::TcpStream, time::Instant};

/// A request that takes longer than this counts as an error and its connection is replaced.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Pause after a transport error, so a dead server is not hammered in a tight loop.
const ERROR_BACKOFF: Duration = Duration::from_millis(10);
/// Distinct error kinds kept per connection; the rest are counted as "other".
const MAX_ERROR_KINDS: usize = 16;

/// What a load sends, and which answers count as a success.
pub trait Workload: Send + Sync + 'static {
    /// The path every request is POSTed to.
    fn path(&self) -> &'static str;

    /// A new request, built when it is about to be sent.
    fn next_request(&self) -> Prepared;

    /// Whether an answer is a success (counted in requests/s and latency); any other
    /// answer is an error. Default: any 2xx.
    fn accepts(&self, status: StatusCode, _body: &[u8]) -> bool {
        status.is_success()
    }
}

/// One request of a [`Workload`]: its number, its JSON body and any headers of its own.
pub struct Prepared {
    pub n: u64,
    pub body: Bytes,
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

#[derive(Debug, Clone, Copy)]
pub enum Pace {
    /// As fast as the server answers.
    Closed,
    /// A fixed number of requests per second.
    Open { rate: f64 },
}

/// What to run.
pub struct LoadSpec {
    pub addr: SocketAddr,
    pub connections: u32,
    pub pace: Pace,
    /// Load before the measurement starts; not counted.
    pub warmup: Duration,
    pub measure: Duration,
    /// Keep the number of every request answered with a success, warm-up included (crash mode).
    pub keep_acknowledged: bool,
    /// Set from outside to stop a run early (crash mode).
    pub stop: Option<Arc<AtomicBool>>,
}

/// What a run measured.
#[derive(Debug, Default)]
pub struct LoadResult {
    /// Length of the measurement window.
    pub measured: Duration,
    /// Successful answers in the window.
    pub ok: u64,
    /// Other answers, transport errors and time-outs in the window.
    pub errors: u64,
    /// Error kinds, most frequent first.
    pub error_kinds: Vec<(String, u64)>,
    /// Request numbers answered with a success (only with `keep_acknowledged`).
    pub acknowledged: Vec<u64>,
    /// Every request sent, warm-up included, by what came of it.
    pub sent: Sent,
    /// Latencies of the successful answers in the window, in microseconds, sorted.
    latencies_us: Vec<u32>,
}

/// Every request of a run, warm-up included (the window does not matter here).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Sent {
    /// Answered with a success.
    pub accepted: u64,
    /// Answered with anything else.
    pub rejected: u64,
    /// No answer: a transport error or a time-out. The server may or may not have acted.
    pub unanswered: u64,
}

impl Sent {
    pub fn total(&self) -> u64 {
        self.accepted + self.rejected + self.unanswered
    }

    pub fn add(&mut self, other: Sent) {
        self.accepted += other.accepted;
        self.rejected += other.rejected;
        self.unanswered += other.unanswered;
    }
}

impl LoadResult {
    /// Successful answers per second over the measurement window.
    pub fn rps(&self) -> f64 {
        let secs = self.measured.as_secs_f64();
        if secs > 0.0 {
            self.ok as f64 / secs
        } else {
            0.0
        }
    }

    /// The `p`th percentile latency (nearest rank), in milliseconds.
    pub fn percentile_ms(&self, p: f64) -> Option<f64> {
        let n = self.latencies_us.len();
        if n == 0 {
            return None;
        }
        let rank = ((p / 100.0) * n as f64).ceil() as usize;
        let index = rank.clamp(1, n) - 1;
        Some(f64::from(self.latencies_us[index]) / 1000.0)
    }

    pub fn max_ms(&self) -> Option<f64> {
        self.latencies_us.last().map(|&us| f64::from(us) / 1000.0)
    }
}

/// Runs the load and returns what it measured. Fails only when the server cannot be
/// reached at all; errors during the run are counted in the result.
pub async fn run<W: Workload>(spec: LoadSpec, workload: Arc<W>) -> anyhow::Result<LoadResult> {
    // Open every connection before the clock starts.
    let connects = (0..spec.connections).map(|_| Connection::open(spec.addr));
    let connections = futures::future::try_join_all(connects)
        .await
        .with_context(|| format!("opening {} connections to {}", spec.connections, spec.addr))?;

    let start = Instant::now();
    let window = Window { start, measure_from: start + spec.warmup, end: start + spec.warmup + spec.measure };
    let next_slot = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = connections
        .into_iter()
        .map(|connection| {
            let worker = Worker {
                connection,
                workload: workload.clone(),
                window,
                stop: spec.stop.clone(),
                recorder: Recorder::new(spec.keep_acknowledged),
            };
            match spec.pace {
                Pace::Closed => tokio::spawn(worker.closed_loop()),
                Pace::Open { rate } => tokio::spawn(worker.open_loop(rate, next_slot.clone())),
            }
        })
        .collect();

    let mut recorders = Vec::with_capacity(tasks.len());
    for task in tasks {
        recorders.push(task.await.context("a load task panicked")?);
    }
    let finished = Instant::now().min(window.end);
    Ok(merge(recorders, finished.saturating_duration_since(window.measure_from)))
}

#[derive(Debug, Clone, Copy)]
struct Window {
    start: Instant,
    measure_from: Instant,
    end: Instant,
}

struct Worker<W> {
    connection: Connection,
    workload: Arc<W>,
    window: Window,
    stop: Option<Arc<AtomicBool>>,
    recorder: Recorder,
}

impl<W: Workload> Worker<W> {
    fn stopped(&self) -> bool {
        self.stop.as_ref().is_some_and(|stop| stop.load(Ordering::Relaxed))
    }

    async fn closed_loop(mut self) -> Recorder {
        while Instant::now() < self.window.end && !self.stopped() {
            let request = self.workload.next_request();
            let n = request.n;
            let sent = Instant::now();
            let outcome = self.connection.post(self.workload.path(), request).await;
            let done = Instant::now();
            let counted = done >= self.window.measure_from && done < self.window.end;
            self.settle(n, done - sent, counted, outcome).await;
        }
        self.recorder
    }

    async fn open_loop(mut self, rate: f64, next_slot: Arc<AtomicU64>) -> Recorder {
        loop {
            let slot = next_slot.fetch_add(1, Ordering::Relaxed);
            let due = self.window.start + Duration::from_secs_f64(slot as f64 / rate);
            if due >= self.window.end || self.stopped() {
                break;
            }
            let sent = if Instant::now() < due {
                tokio::time::sleep_until(due).await;
                Instant::now()
            } else {
                due
            };
            let request = self.workload.next_request();
            let n = request.n;
            let outcome = self.connection.post(self.workload.path(), request).await;
            let done = Instant::now();
            let counted = due >= self.window.measure_from;
            self.settle(n, done - sent, counted, outcome).await;
        }
        self.recorder
    }

    async fn settle(&mut self, n: u64, latency: Duration, counted: bool, answer: Answer) {
        let outcome = match answer {
            Ok((status, body)) if self.workload.accepts(status, &body) => Outcome::Accepted,
            Ok((status, body)) => Outcome::Rejected(format!("HTTP {}: {}", status.as_u16(), snippet(&body))),
            Err(message) => Outcome::Unanswered(message),
        };
        let transport_error = matches!(outcome, Outcome::Unanswered(_));
        self.recorder.record(n, latency, counted, outcome);
        if transport_error {
            tokio::time::sleep(ERROR_BACKOFF).await;
        }
    }
}

/// The status and body of an answer, or why there was none.
type Answer = Result<(StatusCode, Bytes), String>;

/// What came of one request, as the workload judges the answer.
#[derive(Debug)]
enum Outcome {
    Accepted,
    /// An answer that is not a success: `HTTP <status>: <start of the body>`.
    Rejected(String),
    /// No answer: the transport error or time-out.
    Unanswered(String),
}

/// One keep-alive connection; reopened after a transport error.
struct Connection {
    addr: SocketAddr,
    host: String,
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl Connection {
    async fn open(addr: SocketAddr) -> anyhow::Result<Self> {
        let sender = handshake(addr).await.map_err(anyhow::Error::msg)?;
        Ok(Self { addr, host: addr.to_string(), sender: Some(sender) })
    }

    /// `POST <path>` with a JSON body: the status and the body of the answer.
    async fn post(&mut self, path: &str, request: Prepared) -> Answer {
        let outcome = tokio::time::timeout(REQUEST_TIMEOUT, self.exchange(path, request))
            .await
            .unwrap_or_else(|_| Err(format!("no answer within {REQUEST_TIMEOUT:?}")));
        if outcome.is_err() {
            self.sender = None;
        }
        outcome
    }

    async fn exchange(&mut self, path: &str, prepared: Prepared) -> Answer {
        let reusable = match self.sender.take() {
            Some(mut sender) if !sender.is_closed() => sender.ready().await.is_ok().then_some(sender),
            _ => None,
        };
        let sender = match reusable {
            Some(sender) => self.sender.insert(sender),
            None => self.sender.insert(handshake(self.addr).await?),
        };
        let mut builder = Request::post(path).header(HOST, &self.host).header(CONTENT_TYPE, "application/json");
        for (name, value) in prepared.headers {
            builder = builder.header(name, value);
        }
        let request = builder.body(Full::new(prepared.body)).map_err(|e| e.to_string())?;
        let response = sender.send_request(request).await.map_err(describe)?;
        let status = response.status();
        let body = response.into_body().collect().await.map_err(describe)?.to_bytes();
        Ok((status, body))
    }
}

async fn handshake(addr: SocketAddr) -> Result<SendRequest<Full<Bytes>>, String> {
    let connect = async {
        let stream = TcpStream::connect(addr).await.map_err(|e| format!("connect to {addr}: {e}"))?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        let (sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(describe)?;
        tokio::spawn(connection);
        Ok(sender)
    };
    tokio::time::timeout(CONNECT_TIMEOUT, connect)
        .await
        .unwrap_or_else(|_| Err(format!("connect to {addr}: timed out")))
}

fn describe(error: hyper::Error) -> String {
    match error.source() {
        Some(source) => format!("{error}: {source}"),
        None => error.to_string(),
    }
}

/// One connection's tally.
struct Recorder {
    keep_acknowledged: bool,
    acknowledged: Vec<u64>,
    latencies_us: Vec<u32>,
    ok: u64,
    errors: u64,
    kinds: HashMap<String, u64>,
    sent: Sent,
}

impl Recorder {
    fn new(keep_acknowledged: bool) -> Self {
        Self {
            keep_acknowledged,
            acknowledged: Vec::new(),
            latencies_us: Vec::with_capacity(16 * 1024),
            ok: 0,
            errors: 0,
            kinds: HashMap::new(),
            sent: Sent::default(),
        }
    }

    fn record(&mut self, n: u64, latency: Duration, counted: bool, outcome: Outcome) {
        let kind = match outcome {
            Outcome::Accepted => {
                self.sent.accepted += 1;
                if self.keep_acknowledged {
                    self.acknowledged.push(n);
                }
                if counted {
                    self.ok += 1;
                    let us = u32::try_from(latency.as_micros()).unwrap_or(u32::MAX);
                    self.latencies_us.push(us);
                }
                return;
            }
            Outcome::Rejected(kind) => {
                self.sent.rejected += 1;
                kind
            }
            Outcome::Unanswered(message) => {
                self.sent.unanswered += 1;
                message
            }
        };
        if counted {
            self.errors += 1;
            if self.kinds.len() < MAX_ERROR_KINDS || self.kinds.contains_key(&kind) {
                *self.kinds.entry(kind).or_default() += 1;
            } else {
                *self.kinds.entry("(other errors)".into()).or_default() += 1;
            }
        }
    }
}

fn snippet(body: &[u8]) -> String {
    const MAX: usize = 200;
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

fn merge(recorders: Vec<Recorder>, measured: Duration) -> LoadResult {
    let mut result = LoadResult { measured, ..LoadResult::default() };
    let mut kinds: HashMap<String, u64> = HashMap::new();
    for recorder in recorders {
        result.ok += recorder.ok;
        result.errors += recorder.errors;
        result.latencies_us.extend(recorder.latencies_us);
        result.acknowledged.extend(recorder.acknowledged);
        result.sent.add(recorder.sent);
        for (kind, count) in recorder.kinds {
            *kinds.entry(kind).or_default() += count;
        }
    }
    result.latencies_us.sort_unstable();
    result.acknowledged.sort_unstable();
    result.error_kinds = kinds.into_iter().collect();
    result.error_kinds.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::{Payloads, INGEST_PATH};

    fn with_latencies(us: &[u32]) -> LoadResult {
        let mut result = LoadResult {
            measured: Duration::from_secs(2),
            ok: us.len() as u64,
            latencies_us: us.to_vec(),
            ..LoadResult::default()
        };
        result.latencies_us.sort_unstable();
        result
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let result = with_latencies(&(1..=100).map(|i| i * 1000).collect::<Vec<_>>());
        assert_eq!(result.percentile_ms(50.0), Some(50.0));
        assert_eq!(result.percentile_ms(99.0), Some(99.0));
        assert_eq!(result.percentile_ms(100.0), Some(100.0));
        assert_eq!(result.percentile_ms(0.0), Some(1.0));
        assert_eq!(result.max_ms(), Some(100.0));
        assert_eq!(result.rps(), 50.0);
        assert_eq!(with_latencies(&[]).percentile_ms(50.0), None);
    }

    #[test]
    fn errors_are_grouped_by_kind_and_bounded() {
        let mut recorder = Recorder::new(true);
        let second = Duration::from_secs(1);
        recorder.record(1, second, true, Outcome::Accepted);
        recorder.record(2, second, false, Outcome::Accepted);
        for i in 0..40 {
            recorder.record(3, second, true, Outcome::Rejected(format!("HTTP 400: {{\"error\":{i}}}")));
        }
        recorder.record(4, second, true, Outcome::Unanswered("reset".into()));
        recorder.record(5, second, false, Outcome::Unanswered("reset".into()));
        let result = merge(vec![recorder], Duration::from_secs(1));
        assert_eq!(result.ok, 1);
        assert_eq!(result.errors, 41);
        assert_eq!(result.acknowledged, vec![1, 2]);
        assert_eq!(result.error_kinds.len(), MAX_ERROR_KINDS + 1);
        assert_eq!(result.error_kinds[0], ("(other errors)".to_string(), 25));
        assert_eq!(result.latencies_us, vec![1_000_000]);
        // Warm-up included.
        assert_eq!(result.sent, Sent { accepted: 2, rejected: 40, unanswered: 2 });
        assert_eq!(result.sent.total(), 44);
    }

    async fn serve(app: axum::Router) -> SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        addr
    }

    fn spec(addr: SocketAddr, pace: Pace, keep_acknowledged: bool) -> LoadSpec {
        LoadSpec {
            addr,
            connections: 4,
            pace,
            warmup: Duration::from_millis(200),
            measure: Duration::from_secs(1),
            keep_acknowledged,
            stop: None,
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn closed_and_open_loops_against_the_bare_route() {
        let addr = serve(crate::bare::app()).await;
        let payloads = Arc::new(Payloads::new());

        let closed = run(spec(addr, Pace::Closed, true), payloads.clone()).await.unwrap();
        assert_eq!(closed.errors, 0, "{:?}", closed.error_kinds);
        assert!(closed.ok > 100, "{}", closed.ok);
        assert!(closed.acknowledged.len() as u64 >= closed.ok);
        assert!(closed.percentile_ms(99.0).is_some());

        let open = run(spec(addr, Pace::Open { rate: 300.0 }, false), payloads).await.unwrap();
        assert_eq!(open.errors, 0, "{:?}", open.error_kinds);
        // 300 requests were due in the measured second.
        assert!((290..=310).contains(&open.ok), "{}", open.ok);
        assert!(open.acknowledged.is_empty());
    }

    #[tokio::test]
    async fn non_2xx_answers_are_errors_with_samples() {
        let app = axum::Router::new()
            .route(INGEST_PATH, axum::routing::post(|| async { (StatusCode::UNPROCESSABLE_ENTITY, "nope") }));
        let addr = serve(app).await;
        let result = run(spec(addr, Pace::Open { rate: 50.0 }, true), Arc::new(Payloads::new())).await.unwrap();
        assert_eq!(result.ok, 0);
        assert!(result.errors >= 45, "{}", result.errors);
        assert_eq!(result.error_kinds[0].0, "HTTP 422: nope");
        assert!(result.acknowledged.is_empty());
        assert_eq!(result.percentile_ms(50.0), None);
    }

    #[tokio::test]
    async fn an_unreachable_server_is_an_error() {
        let addr = crate::process::free_loopback_addr().unwrap();
        let err = run(spec(addr, Pace::Closed, false), Arc::new(Payloads::new())).await.unwrap_err();
        assert!(format!("{err:#}").contains("opening 4 connections"), "{err:#}");
    }

    /// Every other request carries the header the server wants; only answers that say
    /// `"ok":true` count.
    struct Alternating(AtomicU64);

    impl Workload for Alternating {
        fn path(&self) -> &'static str {
            "/signed"
        }

        fn next_request(&self) -> Prepared {
            let n = self.0.fetch_add(1, Ordering::Relaxed);
            let mut headers = Vec::new();
            if n.is_multiple_of(2) {
                headers.push((HeaderName::from_static("x-signature"), HeaderValue::from_static("good")));
            }
            Prepared { n, body: Bytes::from(format!("{{\"n\":{n}}}")), headers }
        }

        fn accepts(&self, status: StatusCode, body: &[u8]) -> bool {
            status == StatusCode::OK && body == br#"{"ok":true}"#
        }
    }

    #[tokio::test]
    async fn the_workload_sets_the_path_the_headers_and_what_counts() {
        use axum::http::HeaderMap;
        let app = axum::Router::new().route(
            "/signed",
            axum::routing::post(|headers: HeaderMap| async move {
                let good = headers.get("x-signature").is_some_and(|v| v == "good");
                let json = headers.get(CONTENT_TYPE).is_some_and(|v| v == "application/json");
                if good && json {
                    r#"{"ok":true}"#
                } else {
                    r#"{"ok":false}"#
                }
            }),
        );
        let addr = serve(app).await;
        let result =
            run(spec(addr, Pace::Open { rate: 100.0 }, true), Arc::new(Alternating(AtomicU64::new(0)))).await.unwrap();
        assert!((95..=105).contains(&(result.ok + result.errors)), "{result:?}");
        assert!(result.ok.abs_diff(result.errors) <= 2, "{result:?}");
        assert_eq!(result.error_kinds[0].0, r#"HTTP 200: {"ok":false}"#);
        assert!(result.acknowledged.iter().all(|n| n % 2 == 0));
        // 120 requests were due in warm-up and window together.
        assert_eq!(result.sent.total(), 120, "{:?}", result.sent);
        assert_eq!(result.sent.accepted, 60);
        assert_eq!(result.sent.unanswered, 0);
    }

    #[test]
    fn long_bodies_are_cut() {
        let long = "é".repeat(500);
        let cut = snippet(long.as_bytes());
        assert_eq!(cut.chars().count(), 201);
    }
}
