//! `alpes-bench logins`: a password-guessing flood against the real server — many
//! requests in parallel, each packing `login` aliases — with the server's resident memory
//! and `GET /health` latency sampled while it lasts. Targets (issue 17): peak RSS ≤ 200 MB,
//! `/health` p99 ≤ 100 ms, and only a handful of passwords actually checked.

use std::{
    process::ExitCode,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use futures::StreamExt;
use serde_json::{json, Value};

use crate::{
    alpes::{self, Alpes},
    cli::LoginsArgs,
    database::BenchDatabase,
    process::{free_loopback_addr, ScratchDir, ServerProcess},
};

const RSS_TARGET_MB: f64 = 200.0;
const HEALTH_P99_TARGET_MS: f64 = 100.0;

pub async fn run(args: LoginsArgs) -> anyhow::Result<ExitCode> {
    let bin = alpes::locate_binary(args.common.alpes_bin.as_deref())?;
    let scratch = ScratchDir::create(args.common.keep)?;
    let data_dir = scratch.path().join("alpes-data");
    std::fs::create_dir_all(&data_dir)?;
    let database = BenchDatabase::prepare(args.common.database.as_deref(), &data_dir, args.common.keep)?;
    let alpes = Alpes::new(bin, data_dir, database.url().to_string());
    let mut server = alpes.start(free_loopback_addr()?, scratch.path().join("alpes.log")).await?;
    let outcome = flood(&args, &server).await;
    server.stop().await?;
    let report = outcome?;
    report.print(&args, &database.label());
    Ok(if args.check && !report.met() { ExitCode::from(2) } else { ExitCode::SUCCESS })
}

struct Report {
    rss_before_mb: f64,
    rss_peak_mb: f64,
    rss_after_mb: f64,
    requests: u64,
    attempts: u64,
    /// Answers by error code (`RATE_LIMITED`, `UNAUTHENTICATED`, …); `token` for a sign-in.
    answers: std::collections::BTreeMap<String, u64>,
    health_ms: Vec<f64>,
    seconds: f64,
}

async fn flood(args: &LoginsArgs, server: &ServerProcess) -> anyhow::Result<Report> {
    let base = server.base_url();
    let rss_before_mb = mb(server.rss_bytes());
    server.reset_peak_rss();
    let done = Arc::new(AtomicBool::new(false));
    let probe = tokio::spawn(probe_health(format!("{base}/health"), done.clone()));
    let client = reqwest::Client::builder().timeout(Duration::from_secs(120)).build()?;
    let requests = args.attempts.div_ceil(args.aliases);
    let query = aliased_logins(args.aliases);
    let started = Instant::now();
    let mut answers = std::collections::BTreeMap::new();
    let mut running = futures::stream::iter(0..requests)
        .map(|_| {
            let (client, url, query) = (client.clone(), format!("{base}/graphql"), query.clone());
            async move {
                let response = client.post(url).json(&json!({ "query": query })).send().await?;
                anyhow::Ok(response.json::<Value>().await.unwrap_or(Value::Null))
            }
        })
        .buffer_unordered(args.parallel as usize);
    while let Some(answer) = running.next().await {
        let answer = answer?;
        for error in answer["errors"].as_array().into_iter().flatten() {
            let code = error["extensions"]["code"].as_str().unwrap_or("NO_CODE").to_string();
            *answers.entry(code).or_insert(0) += 1;
        }
        let tokens = answer["data"].as_object().map_or(0, |d| d.values().filter(|v| v.is_object()).count());
        *answers.entry("token".into()).or_insert(0) += tokens as u64;
    }
    let seconds = started.elapsed().as_secs_f64();
    done.store(true, Ordering::SeqCst);
    let health_ms = probe.await?;
    let rss_peak_mb = mb(server.peak_rss_bytes());
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_after_mb = mb(server.rss_bytes());
    Ok(Report {
        rss_before_mb,
        rss_peak_mb,
        rss_after_mb,
        requests,
        attempts: requests * args.aliases,
        answers,
        health_ms,
        seconds,
    })
}

/// One request with `n` guesses at the first admin's password.
fn aliased_logins(n: u64) -> String {
    let fields: Vec<String> = (0..n)
        .map(|i| format!("g{i}: login(email: \"admin@alpes.local\", password: \"wrong-guess-{i:04}\") {{ token }}"))
        .collect();
    format!("mutation {{ {} }}", fields.join(" "))
}

/// `GET /health` every 50 ms until `done`: the latencies, in milliseconds.
async fn probe_health(url: String, done: Arc<AtomicBool>) -> Vec<f64> {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap_or_default();
    let mut latencies = Vec::new();
    while !done.load(Ordering::SeqCst) {
        let started = Instant::now();
        if client.get(&url).send().await.is_ok_and(|r| r.status().is_success()) {
            latencies.push(started.elapsed().as_secs_f64() * 1e3);
        } else {
            latencies.push(f64::INFINITY);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    latencies
}

fn mb(bytes: Option<u64>) -> f64 {
    bytes.unwrap_or(0) as f64 / (1024.0 * 1024.0)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

impl Report {
    fn health_p99(&self) -> f64 {
        let mut sorted = self.health_ms.clone();
        sorted.sort_by(f64::total_cmp);
        percentile(&sorted, 0.99)
    }

    fn met(&self) -> bool {
        self.rss_peak_mb <= RSS_TARGET_MB
            && self.health_p99() <= HEALTH_P99_TARGET_MS
            && self.answers.get("token").is_none_or(|t| *t == 0)
    }

    fn print(&self, args: &LoginsArgs, database: &str) {
        let mut sorted = self.health_ms.clone();
        sorted.sort_by(f64::total_cmp);
        let (median, p99, max) =
            (percentile(&sorted, 0.5), percentile(&sorted, 0.99), sorted.last().copied().unwrap_or(0.0));
        eprintln!(
            "login flood on {database}: {} requests × {} aliases = {} guesses, {} in parallel, {:.1} s",
            self.requests, args.aliases, self.attempts, args.parallel, self.seconds
        );
        eprintln!("  answers: {:?}", self.answers);
        eprintln!(
            "  RSS: {:.0} MB before, {:.0} MB peak ({:.2}× the {RSS_TARGET_MB:.0} MB target), {:.0} MB 2 s after",
            self.rss_before_mb,
            self.rss_peak_mb,
            self.rss_peak_mb / RSS_TARGET_MB,
            self.rss_after_mb
        );
        eprintln!(
            "  GET /health during the flood ({} probes): median {median:.1} ms, p99 {p99:.1} ms ({:.2}× the {HEALTH_P99_TARGET_MS:.0} ms target), max {max:.1} ms",
            sorted.len(),
            p99 / HEALTH_P99_TARGET_MS
        );
        eprintln!("  targets {}", if self.met() { "met" } else { "MISSED" });
        println!(
            "{}",
            json!({
                "mode": "logins", "database": database, "requests": self.requests, "aliases": args.aliases,
                "guesses": self.attempts, "parallel": args.parallel, "seconds": self.seconds,
                "answers": self.answers, "rss_mb": { "before": self.rss_before_mb, "peak": self.rss_peak_mb, "after": self.rss_after_mb },
                "health_ms": { "median": median, "p99": p99, "max": max }, "targets_met": self.met(),
            })
        );
    }
}
