//! `alpes-bench soak`: Alpes under a steady mixed load for many minutes — impressions,
//! Stripe checkouts (each a sale delivered to local stand-ins of Google Ads, Meta and
//! Pipedrive), GraphQL reads and live subscriptions — with the server's RSS, the p99
//! latency of each kind of request and its open connections sampled each minute. What a
//! leak or a slow build-up looks like: a figure that keeps growing from one minute to the
//! next. The drift compares the minutes from `--from-minute` (warm-up before it) with the
//! last ones.

use std::{
    io::{self, Write},
    net::SocketAddr,
    process::ExitCode,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use anyhow::Context;
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::{client::IntoClientRequest, http::HeaderValue, Message};

use crate::{
    alpes::{self, Alpes, Api},
    cli::SoakArgs,
    database::BenchDatabase,
    load::Workload,
    payload::{Payloads, StripeEvents, STRIPE_SECRET},
    process::{free_loopback_addr, ScratchDir, ServerProcess},
};

/// The most a figure may move from the first measured minutes to the last ones.
const DRIFT_TARGET: f64 = 0.10;
/// Minutes averaged at each end of the drift, so one noisy minute does not decide it.
const DRIFT_WINDOW: usize = 3;

/// The kinds of request, in the order of the table's columns.
const KINDS: [&str; 3] = ["ingest", "webhook", "read"];

pub async fn run(args: SoakArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(args.from_minute < args.minutes, "--from-minute must be before the last minute");
    let scratch = ScratchDir::create(args.common.keep)?;
    let data_dir = scratch.path().join("alpes-data");
    std::fs::create_dir_all(&data_dir)?;
    let database = BenchDatabase::prepare(args.common.database.as_deref(), &data_dir, args.common.keep)?;

    let stand_in = StandIn::start().await?;
    let (mut server, token) = if args.floor {
        eprintln!(
            "soak: the floor on {}, {} min: {} impressions/s, {} checkouts/s (inserts only)",
            database.label(),
            args.minutes,
            args.ingest_rate,
            args.webhook_rate
        );
        let addr = free_loopback_addr()?;
        let mut command = std::process::Command::new(std::env::current_exe()?);
        command.arg("floor-server").arg("--addr").arg(addr.to_string());
        command.arg("--database").arg(database.url()).arg("--data-dir").arg(&data_dir);
        let mut server = ServerProcess::spawn("the floor server", command, addr, scratch.path().join("floor.log"))?;
        server.wait_healthy().await?;
        (server, None)
    } else {
        let bin = alpes::locate_binary(args.common.alpes_bin.as_deref())?;
        let platforms = stand_in.settings();
        let alpes = Alpes::new(bin, data_dir, database.url().to_string())
            .with_stripe_secret(STRIPE_SECRET)
            .with_env(&platforms.iter().map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>());
        let token = alpes.admin_token()?;
        eprintln!(
            "soak: alpes on {}, {} min: {} impressions/s, {} checkouts/s (each delivered to 3 stand-ins), {} reads/s, {} subscribers",
            database.label(),
            args.minutes,
            args.ingest_rate,
            args.webhook_rate,
            args.read_rate,
            args.subscribers
        );
        (alpes.start(free_loopback_addr()?, scratch.path().join("alpes.log")).await?, Some(token))
    };
    let outcome = soak(&args, &server, token, &stand_in).await;
    if outcome.is_err() {
        eprintln!("the server's log ends with:\n{}", server.log_tail(20));
    }
    server.stop().await?;
    let report = outcome?;

    let json = report.json().to_string();
    crate::report::print_outcome(args.json, &json, |mut out| report.write_table(&mut out))?;
    Ok(if args.check && !report.all_met() { ExitCode::from(2) } else { ExitCode::SUCCESS })
}

/// Latencies and failures of the current minute, per kind of request.
#[derive(Default)]
struct Minute {
    latencies_ms: [Vec<f64>; 3],
    errors: [u64; 3],
}

/// What the load tasks share: the minute being filled, and the stop flag.
struct Shared {
    minute: Mutex<Minute>,
    stop: AtomicBool,
    live_events: AtomicU64,
    subscribers_open: AtomicU64,
}

impl Shared {
    fn record(&self, kind: usize, took: Duration, ok: bool) {
        if let Ok(mut minute) = self.minute.lock() {
            if ok {
                minute.latencies_ms[kind].push(took.as_secs_f64() * 1000.0);
            } else {
                minute.errors[kind] += 1;
            }
        }
    }

    fn running(&self) -> bool {
        !self.stop.load(Ordering::Relaxed)
    }
}

/// The soak itself; with no `token` (the floor) only the two kinds of write are sent.
async fn soak(
    args: &SoakArgs,
    server: &ServerProcess,
    token: Option<String>,
    stand_in: &StandIn,
) -> anyhow::Result<Report> {
    let api = token.as_ref().map(|token| Api::new(server.base_url(), token.clone())).transpose()?;
    let payloads = Arc::new(Payloads::new());
    if let Some(api) = &api {
        api.prepare(&payloads).await?;
    }
    let shared = Arc::new(Shared {
        minute: Mutex::new(Minute::default()),
        stop: AtomicBool::new(false),
        live_events: AtomicU64::new(0),
        subscribers_open: AtomicU64::new(0),
    });
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).pool_max_idle_per_host(64).build()?;
    let base = server.base_url();
    let mut tasks = Vec::new();

    // Impressions and checkouts: the bench's own request builders, paced.
    let ingest: Arc<dyn Workload> = payloads;
    let stripe: Arc<dyn Workload> = Arc::new(StripeEvents::new());
    for (kind, workload, rate) in [(0, ingest, args.ingest_rate), (1, stripe, args.webhook_rate)] {
        let (http, base, shared) = (http.clone(), base.clone(), shared.clone());
        tasks.push(tokio::spawn(paced(rate, shared.clone(), move || {
            let (http, base, shared, workload) = (http.clone(), base.clone(), shared.clone(), workload.clone());
            async move {
                let prepared = workload.next_request();
                let mut request = http
                    .post(format!("{base}{}", workload.path()))
                    .header("content-type", "application/json")
                    .body(prepared.body);
                for (name, value) in prepared.headers {
                    request = request.header(name, value);
                }
                let started = Instant::now();
                let ok = match request.send().await {
                    Ok(response) => {
                        let status = response.status();
                        let body = response.bytes().await.unwrap_or_default();
                        workload.accepts(status, &body)
                    }
                    Err(_) => false,
                };
                shared.record(kind, started.elapsed(), ok);
            }
        })));
    }

    // Reads: what the admin app's first pages ask, in turn.
    const READS: [&str; 3] = [
        "{ dashboard(period: \"30d\") { clicks conversions revenue currency } }",
        "{ conversions(first: 25) { totalCount nodes { id value status } } }",
        "{ commissions(first: 25) { totalCount nodes { id amount status } } }",
    ];
    let turn = Arc::new(AtomicU64::new(0));
    if let Some(token) = &token {
        let (http, base, shared, token) = (http.clone(), base.clone(), shared.clone(), token.clone());
        tasks.push(tokio::spawn(paced(args.read_rate, shared.clone(), move || {
            let (http, base, shared, token, turn) =
                (http.clone(), base.clone(), shared.clone(), token.clone(), turn.clone());
            async move {
                let query = READS[turn.fetch_add(1, Ordering::Relaxed) as usize % READS.len()];
                let started = Instant::now();
                let sent = http.post(format!("{base}/graphql")).bearer_auth(&token).json(&json!({ "query": query }));
                let ok = match sent.send().await {
                    Ok(response) if response.status().is_success() => {
                        response.json::<Value>().await.is_ok_and(|body| body.get("errors").is_none())
                    }
                    _ => false,
                };
                shared.record(2, started.elapsed(), ok);
            }
        })));
    }

    // Subscribers: each holds `events` open, reconnecting when dropped.
    for token in token.iter().flat_map(|token| std::iter::repeat_n(token, args.subscribers as usize)) {
        tasks.push(tokio::spawn(subscriber(server.addr(), token.clone(), shared.clone())));
    }

    let mut minutes = Vec::new();
    let started = Instant::now();
    for n in 1..=args.minutes {
        let due = started + Duration::from_secs(60 * n);
        tokio::time::sleep_until(due.into()).await;
        let minute = std::mem::take(&mut *shared.minute.lock().map_err(|_| anyhow::anyhow!("poisoned"))?);
        let sample = Sample::take(n, minute, server, &shared, stand_in);
        eprintln!("  {}", sample.line());
        minutes.push(sample);
    }
    shared.stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.abort();
    }
    // The last checkouts' deliveries are still going out: counted once they stop changing.
    let (mut deliveries, mut delivered) = (None, None);
    if let Some(api) = &api {
        for _ in 0..60 {
            let counts = (
                api.total_count("integrationDeliveries").await.ok(),
                api.total_count("integrationDeliveries(filter: { status: SUCCEEDED })").await.ok(),
            );
            if counts == (deliveries, delivered) && counts.0 == counts.1 {
                break;
            }
            (deliveries, delivered) = counts;
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    Ok(Report { args: ReportArgs::from(args), minutes, deliveries, delivered, stand_in_requests: stand_in.requests() })
}

/// Calls `request` `rate` times a second (open loop: a slow answer does not slow the
/// pace), until the run stops.
async fn paced<F, Fut>(rate: f64, shared: Arc<Shared>, request: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let mut ticks = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    while shared.running() {
        ticks.tick().await;
        tokio::spawn(request());
    }
}

/// One live subscription to `events` over `graphql-transport-ws`, counted while open.
async fn subscriber(addr: SocketAddr, token: String, shared: Arc<Shared>) {
    while shared.running() {
        if let Err(err) = subscribe_once(addr, &token, &shared).await {
            eprintln!("  subscriber: {err:#}; reconnecting");
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn subscribe_once(addr: SocketAddr, token: &str, shared: &Shared) -> anyhow::Result<()> {
    let mut request = format!("ws://{addr}/graphql/ws").into_client_request()?;
    request.headers_mut().insert("Sec-WebSocket-Protocol", HeaderValue::from_static("graphql-transport-ws"));
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.context("websocket")?;
    let init = json!({"type": "connection_init", "payload": {"authorization": format!("Bearer {token}")}});
    ws.send(Message::Text(init.to_string().into())).await?;
    let subscribe = json!({"id": "1", "type": "subscribe", "payload": {"query": "subscription { events { seq topic eventType } }"}});
    ws.send(Message::Text(subscribe.to_string().into())).await?;
    shared.subscribers_open.fetch_add(1, Ordering::Relaxed);
    let outcome = async {
        while let Some(message) = ws.next().await {
            match message? {
                Message::Text(text) if text.contains("\"next\"") => {
                    shared.live_events.fetch_add(1, Ordering::Relaxed);
                }
                Message::Text(text) if text.contains("\"error\"") => anyhow::bail!("subscription refused: {text}"),
                Message::Close(_) => break,
                _ => {}
            }
        }
        Ok(())
    }
    .await;
    shared.subscribers_open.fetch_sub(1, Ordering::Relaxed);
    outcome
}

/// The figures of one minute.
#[derive(Debug, Clone)]
struct Sample {
    minute: u64,
    rss_mb: Option<f64>,
    /// p99 of each kind of request, in ms.
    p99_ms: [Option<f64>; 3],
    requests: [u64; 3],
    errors: [u64; 3],
    /// The server's open TCP sockets (clients and database), and all its open files.
    sockets: Option<u64>,
    files: Option<u64>,
    subscribers: u64,
    live_events: u64,
    stand_in_requests: u64,
}

impl Sample {
    fn take(minute: u64, mut m: Minute, server: &ServerProcess, shared: &Shared, stand_in: &StandIn) -> Self {
        let mut p99_ms = [None; 3];
        let mut requests = [0; 3];
        for kind in 0..KINDS.len() {
            let latencies = &mut m.latencies_ms[kind];
            latencies.sort_by(f64::total_cmp);
            requests[kind] = latencies.len() as u64 + m.errors[kind];
            if !latencies.is_empty() {
                let at = ((latencies.len() as f64) * 0.99).ceil() as usize;
                p99_ms[kind] = Some(latencies[at.clamp(1, latencies.len()) - 1]);
            }
        }
        let (sockets, files) = open_files(server.pid());
        Self {
            minute,
            rss_mb: server.rss_bytes().map(|b| b as f64 / 1_048_576.0),
            p99_ms,
            requests,
            errors: m.errors,
            sockets,
            files,
            subscribers: shared.subscribers_open.load(Ordering::Relaxed),
            live_events: shared.live_events.swap(0, Ordering::Relaxed),
            stand_in_requests: stand_in.requests(),
        }
    }

    fn line(&self) -> String {
        let p99: Vec<String> = self.p99_ms.iter().map(|p| p.map_or("-".into(), |v| format!("{v:.1}"))).collect();
        format!(
            "minute {:>3}: RSS {} MB, p99 ingest/webhook/read {} ms, errors {:?}, sockets {}, files {}, subscribers {}, live events {}, stand-in requests {}",
            self.minute,
            self.rss_mb.map_or("-".into(), |v| format!("{v:.1}")),
            p99.join("/"),
            self.errors,
            self.sockets.map_or("-".into(), |v| v.to_string()),
            self.files.map_or("-".into(), |v| v.to_string()),
            self.subscribers,
            self.live_events,
            self.stand_in_requests
        )
    }
}

/// The process's open files, and how many of them are sockets (`/proc/<pid>/fd`).
fn open_files(pid: u32) -> (Option<u64>, Option<u64>) {
    let Ok(entries) = std::fs::read_dir(format!("/proc/{pid}/fd")) else { return (None, None) };
    let (mut sockets, mut files) = (0, 0);
    for entry in entries.flatten() {
        files += 1;
        if std::fs::read_link(entry.path()).is_ok_and(|target| target.to_string_lossy().starts_with("socket:")) {
            sockets += 1;
        }
    }
    (Some(sockets), Some(files))
}

/// The settings a report repeats.
#[derive(Debug)]
struct ReportArgs {
    minutes: u64,
    from_minute: u64,
    ingest_rate: f64,
    webhook_rate: f64,
    read_rate: f64,
    subscribers: u32,
    floor: bool,
}

impl From<&SoakArgs> for ReportArgs {
    fn from(a: &SoakArgs) -> Self {
        Self {
            minutes: a.minutes,
            from_minute: a.from_minute,
            ingest_rate: a.ingest_rate,
            webhook_rate: a.webhook_rate,
            read_rate: if a.floor { 0.0 } else { a.read_rate },
            subscribers: if a.floor { 0 } else { a.subscribers },
            floor: a.floor,
        }
    }
}

/// A figure's drift: the mean of the last minutes against the mean of the first measured ones.
#[derive(Debug)]
struct Drift {
    name: String,
    from: Option<f64>,
    to: Option<f64>,
}

impl Drift {
    fn ratio(&self) -> Option<f64> {
        match (self.from, self.to) {
            (Some(from), Some(to)) if from > 0.0 => Some(to / from - 1.0),
            _ => None,
        }
    }

    fn met(&self) -> Option<bool> {
        self.ratio().map(|r| r <= DRIFT_TARGET)
    }
}

/// One figure of a minute's sample.
type Figure = Box<dyn Fn(&Sample) -> Option<f64>>;

struct Report {
    args: ReportArgs,
    minutes: Vec<Sample>,
    deliveries: Option<u64>,
    /// Of those, SUCCEEDED.
    delivered: Option<u64>,
    stand_in_requests: u64,
}

impl Report {
    fn drifts(&self) -> Vec<Drift> {
        let first = (self.args.from_minute as usize).saturating_sub(1);
        let head: Vec<&Sample> = self.minutes.iter().skip(first).take(DRIFT_WINDOW).collect();
        let tail: Vec<&Sample> = self.minutes.iter().rev().take(DRIFT_WINDOW).collect();
        let mean = |samples: &[&Sample], figure: &dyn Fn(&Sample) -> Option<f64>| {
            let values: Vec<f64> = samples.iter().filter_map(|s| figure(s)).collect();
            (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
        };
        let mut figures: Vec<(String, Figure)> = vec![("RSS".into(), Box::new(|s: &Sample| s.rss_mb))];
        for (kind, name) in KINDS.iter().enumerate() {
            figures.push((format!("p99 {name}"), Box::new(move |s: &Sample| s.p99_ms[kind])));
        }
        figures.push(("open sockets".into(), Box::new(|s: &Sample| s.sockets.map(|v| v as f64))));
        figures
            .into_iter()
            .map(|(name, figure)| Drift { name, from: mean(&head, &*figure), to: mean(&tail, &*figure) })
            .collect()
    }

    fn all_met(&self) -> bool {
        self.drifts().iter().all(|d| d.met() == Some(true))
    }

    fn write_table(&self, out: &mut impl Write) -> io::Result<()> {
        let a = &self.args;
        writeln!(out)?;
        writeln!(
            out,
            "alpes-bench soak{}: {} min; {} impressions/s, {} checkouts/s, {} reads/s, {} subscribers",
            if a.floor { " --floor (inserts only)" } else { "" },
            a.minutes,
            a.ingest_rate,
            a.webhook_rate,
            a.read_rate,
            a.subscribers
        )?;
        writeln!(out)?;
        writeln!(
            out,
            "  {:>6} {:>8} {:>11} {:>11} {:>9} {:>8} {:>8} {:>6} {:>9}",
            "minute", "RSS MB", "p99 ingest", "p99 webhook", "p99 read", "errors", "sockets", "subs", "events"
        )?;
        let ms = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:.1}"));
        for s in &self.minutes {
            writeln!(
                out,
                "  {:>6} {:>8} {:>11} {:>11} {:>9} {:>8} {:>8} {:>6} {:>9}",
                s.minute,
                ms(s.rss_mb),
                ms(s.p99_ms[0]),
                ms(s.p99_ms[1]),
                ms(s.p99_ms[2]),
                s.errors.iter().sum::<u64>(),
                s.sockets.map_or("-".into(), |v| v.to_string()),
                s.subscribers,
                s.live_events
            )?;
        }
        writeln!(out)?;
        writeln!(
            out,
            "  drift: mean of minutes {}–{} against the last {DRIFT_WINDOW}; target <= {:.0} %",
            a.from_minute,
            a.from_minute + DRIFT_WINDOW as u64 - 1,
            DRIFT_TARGET * 100.0
        )?;
        for d in self.drifts() {
            writeln!(
                out,
                "  {:<14} {:>9} → {:>9}  {:>8}  {}",
                d.name,
                ms(d.from),
                ms(d.to),
                d.ratio().map_or("-".into(), |r| format!("{:+.1} %", r * 100.0)),
                match d.met() {
                    Some(true) => "met",
                    Some(false) => "MISSED",
                    None => "not measured",
                }
            )?;
        }
        writeln!(
            out,
            "  deliveries: {} stored, {} succeeded; requests the ad-platform stand-ins answered: {}",
            self.deliveries.map_or("-".into(), |v| v.to_string()),
            self.delivered.map_or("-".into(), |v| v.to_string()),
            self.stand_in_requests
        )?;
        Ok(())
    }

    fn json(&self) -> Value {
        json!({
            "mode": if self.args.floor { "soak-floor" } else { "soak" },
            "minutes": self.minutes.iter().map(|s| json!({
                "minute": s.minute,
                "rss_mb": s.rss_mb,
                "p99_ms": { "ingest": s.p99_ms[0], "webhook": s.p99_ms[1], "read": s.p99_ms[2] },
                "requests": s.requests,
                "errors": s.errors,
                "sockets": s.sockets,
                "files": s.files,
                "subscribers": s.subscribers,
                "live_events": s.live_events,
            })).collect::<Vec<_>>(),
            "drift": self.drifts().iter().map(|d| json!({
                "figure": d.name, "from": d.from, "to": d.to, "ratio": d.ratio(), "met": d.met(),
            })).collect::<Vec<_>>(),
            "deliveries": self.deliveries,
            "delivered": self.delivered,
            "stand_in_requests": self.stand_in_requests,
            "all_met": self.all_met(),
        })
    }
}

/// One local HTTP server standing in for Google Ads (OAuth and conversion uploads), Meta
/// (Conversions API) and Pipedrive (search, persons, deals): each answers as the platform
/// does when it takes the request.
struct StandIn {
    addr: SocketAddr,
    requests: Arc<AtomicU64>,
}

impl StandIn {
    async fn start() -> anyhow::Result<Self> {
        use axum::{extract::State, http::Uri, routing::any, Json, Router};
        let requests = Arc::new(AtomicU64::new(0));
        let answer = |State(count): State<Arc<AtomicU64>>, uri: Uri| async move {
            count.fetch_add(1, Ordering::Relaxed);
            let path = uri.path();
            Json(if path.contains("/token") {
                json!({ "access_token": "stand-in", "expires_in": 3600, "token_type": "Bearer" })
            } else if path.contains("uploadClickConversions") {
                json!({ "results": [{ "conversionAction": "customers/1/conversionActions/1" }] })
            } else if path.contains("/events") {
                json!({ "events_received": 1, "fbtrace_id": "stand-in" })
            } else if path.contains("/search") {
                json!({ "success": true, "data": { "items": [] } })
            } else {
                json!({ "success": true, "data": { "id": 1 } })
            })
        };
        let app = Router::new().fallback(any(answer)).with_state(requests.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(Self { addr, requests })
    }

    /// The settings that send Alpes' deliveries here.
    fn settings(&self) -> Vec<(&'static str, String)> {
        let base = format!("http://{}", self.addr);
        vec![
            ("META_CAPI_PIXEL_ID", "1234567890".into()),
            ("META_CAPI_ACCESS_TOKEN", "stand-in".into()),
            ("META_CAPI_BASE_URL", base.clone()),
            ("GOOGLE_ADS_CUSTOMER_ID", "1234567890".into()),
            ("GOOGLE_ADS_CONVERSION_ACTION_ID", "1".into()),
            ("GOOGLE_ADS_DEVELOPER_TOKEN", "stand-in".into()),
            ("GOOGLE_ADS_CLIENT_ID", "stand-in".into()),
            ("GOOGLE_ADS_CLIENT_SECRET", "stand-in".into()),
            ("GOOGLE_ADS_REFRESH_TOKEN", "stand-in".into()),
            ("GOOGLE_ADS_BASE_URL", base.clone()),
            ("GOOGLE_ADS_TOKEN_URL", format!("{base}/token")),
            ("PIPEDRIVE_API_TOKEN", "stand-in".into()),
            ("PIPEDRIVE_BASE_URL", base),
        ]
    }

    fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }
}
