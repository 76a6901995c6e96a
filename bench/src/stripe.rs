//! `alpes-bench stripe`: signed Stripe `checkout.session.completed` events to
//! `POST /api/v1/webhooks/stripe`, Alpes at its maximum (closed loop) and at a fixed rate
//! (open loop); then the orders and webhook events Alpes holds, counted through GraphQL,
//! against the events it answered as processed.

use std::{
    io::{self, Write},
    process::ExitCode,
    sync::Arc,
    time::Duration,
};

use serde_json::{json, Value};

use crate::{
    alpes::{self, Alpes, Api},
    cli::StripeArgs,
    database::BenchDatabase,
    load::{self, LoadResult, LoadSpec, Pace, Sent},
    payload::{StripeEvents, STRIPE_PATH, STRIPE_SECRET},
    process::{free_loopback_addr, ScratchDir, ServerProcess},
    report::{checks_json, round, write_checks, write_errors, write_phases, Check, PhaseRow},
};

/// Events/s of the closed-loop phase.
const MAX_RPS_TARGET: f64 = 500.0;
/// p99 latency of the fixed-rate phase.
const FIXED_RATE_P99_TARGET_MS: f64 = 50.0;

const MAX_LABEL: &str = "stripe webhook (max)";
const FIXED_LABEL: &str = "stripe webhook (fixed rate)";

pub async fn run(args: StripeArgs) -> anyhow::Result<ExitCode> {
    let bin = alpes::locate_binary(args.common.alpes_bin.as_deref())?;
    let scratch = ScratchDir::create(args.common.keep)?;
    let data_dir = scratch.path().join("alpes-data");
    std::fs::create_dir_all(&data_dir)?;
    // Declared before the server, so it is dropped (and a PostgreSQL database removed) after it.
    let database = BenchDatabase::prepare(args.common.database.as_deref(), &data_dir, args.common.keep)?;
    let alpes = Alpes::new(bin, data_dir, database.url().to_string()).with_stripe_secret(STRIPE_SECRET);

    let mut report = StripeReport {
        database: database.kind(),
        connections: args.connections,
        seconds: args.seconds,
        warmup: args.warmup,
        rate: args.rate,
        cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
        max: None,
        fixed: None,
        effects: None,
        failure: None,
    };

    eprintln!("[1/3] alpes on {} with STRIPE_WEBHOOK_SECRET set: starting", database.label());
    let outcome = match alpes.admin_token() {
        Ok(token) => match alpes.start(free_loopback_addr()?, scratch.path().join("alpes.log")).await {
            Ok(mut server) => {
                let outcome = measure(&args, &server, token, &mut report).await;
                if outcome.is_err() {
                    eprintln!("the alpes log ends with:\n{}", server.log_tail(20));
                }
                server.stop().await?;
                outcome
            }
            Err(err) => Err(err),
        },
        Err(err) => Err(err),
    };
    if let Err(err) = outcome {
        eprintln!("error: {err:#}");
        report.failure = Some(format!("{err:#}"));
    }

    let json = report.json().to_string();
    crate::report::print_outcome(args.json, &json, |mut out| report.write_table(&mut out))?;

    Ok(if report.failure.is_some() {
        ExitCode::FAILURE
    } else if args.check && !report.all_met() {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

/// The probe, both phases and the counts, on one server; fills `report` as it goes.
async fn measure(
    args: &StripeArgs,
    server: &ServerProcess,
    token: String,
    report: &mut StripeReport,
) -> anyhow::Result<()> {
    let api = Api::new(server.base_url(), token)?;
    let events = Arc::new(StripeEvents::new());
    api.probe_stripe(&events).await?;
    let spec = |pace| LoadSpec {
        addr: server.addr(),
        connections: args.connections,
        pace,
        warmup: Duration::from_secs(args.warmup),
        measure: Duration::from_secs(args.seconds),
        keep_acknowledged: false,
        stop: None,
    };

    eprintln!(
        "[2/3] stripe webhook: {} connections, closed loop, {} s warm-up + {} s",
        args.connections, args.warmup, args.seconds
    );
    let max = load::run(spec(Pace::Closed), events.clone()).await?;
    let row = PhaseRow::new(MAX_LABEL, &max, None, server.peak_rss_bytes());
    eprintln!("      {}", row.summary("events/s"));
    report.max = Some(row);

    eprintln!(
        "[3/3] stripe webhook at a fixed rate: open loop at {} events/s, {} s warm-up + {} s",
        args.rate, args.warmup, args.seconds
    );
    // The fixed-rate row reports its own peak when the kernel lets us reset it.
    let own_peak = server.reset_peak_rss();
    let fixed = load::run(spec(Pace::Open { rate: args.rate }), events).await?;
    let row = PhaseRow::new(FIXED_LABEL, &fixed, Some(args.rate), server.peak_rss_bytes());
    eprintln!("      {}", row.summary("events/s"));
    if !own_peak {
        eprintln!(
            "      (peak RSS of the fixed-rate row includes the max phase: /proc/<pid>/clear_refs is not writable)"
        );
    }
    report.fixed = Some(row);

    eprintln!("      counting orders and webhook events through GraphQL");
    report.effects = Some(Effects::count(&api, &[&max, &fixed]).await);
    Ok(())
}

/// Every event sent (the probe, warm-ups and both phases) against what Alpes stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Effects {
    /// Every event sent, by what came of it; the probe is one of the accepted.
    pub sent: Sent,
    /// `{ orders { totalCount } }`, or why it could not be read.
    pub orders: Result<u64, String>,
    /// `{ webhookEvents { totalCount } }`, or why it could not be read.
    pub webhook_events: Result<u64, String>,
}

impl Effects {
    async fn count(api: &Api, phases: &[&LoadResult]) -> Self {
        // The probe was answered 200 processed, or the run would have stopped there.
        let mut sent = Sent { accepted: 1, ..Sent::default() };
        for phase in phases {
            sent.add(phase.sent);
        }
        let read = |outcome: anyhow::Result<u64>| outcome.map_err(|err| format!("{err:#}"));
        Self {
            sent,
            orders: read(api.total_count("orders").await),
            webhook_events: read(api.total_count("webhookEvents").await),
        }
    }

    /// Orders equal the `200 processed` answers (`None`: the orders could not be counted).
    pub fn exactly_once(&self) -> Option<bool> {
        self.orders.as_ref().ok().map(|&orders| orders == self.sent.accepted)
    }

    /// What to say when a count differs from the processed answers; empty when all agree.
    fn warnings(&self) -> Vec<String> {
        let processed = self.sent.accepted;
        let mut warnings = Vec::new();
        let mut differs = |what: &str, count: &Result<u64, String>| match count {
            Ok(count) if *count != processed => warnings.push(format!(
                "{what}: {count}, but {processed} events were answered 200 processed ({})",
                signed(*count as i64 - processed as i64)
            )),
            Ok(_) => {}
            Err(why) => warnings.push(format!("{what} could not be counted: {why}")),
        };
        differs("orders", &self.orders);
        differs("webhook events", &self.webhook_events);
        if !warnings.is_empty() {
            if self.sent.unanswered > 0 {
                warnings.push(format!(
                    "{} events got no answer (reset or time-out); Alpes may have processed some of them",
                    self.sent.unanswered
                ));
            }
            if self.sent.rejected > 0 {
                warnings.push(format!(
                    "{} events got another answer; a failed event is stored as a FAILED webhook event, without an order",
                    self.sent.rejected
                ));
            }
        }
        warnings
    }

    fn json(&self) -> Value {
        json!({
            "sent": self.sent.total(),
            "processed_answers": self.sent.accepted,
            "other_answers": self.sent.rejected,
            "unanswered": self.sent.unanswered,
            "orders": self.orders.as_ref().ok(),
            "webhook_events": self.webhook_events.as_ref().ok(),
            "exactly_once": self.exactly_once(),
        })
    }
}

fn signed(n: i64) -> String {
    if n > 0 {
        format!("{n} more")
    } else {
        format!("{} fewer", -n)
    }
}

/// The whole `stripe` run.
#[derive(Debug)]
pub struct StripeReport {
    /// `sqlite` or `postgresql`.
    pub database: &'static str,
    pub connections: u32,
    pub seconds: u64,
    pub warmup: u64,
    pub rate: f64,
    pub cores: usize,
    pub max: Option<PhaseRow>,
    pub fixed: Option<PhaseRow>,
    pub effects: Option<Effects>,
    /// Why a phase did not run or did not finish.
    pub failure: Option<String>,
}

impl StripeReport {
    fn checks(&self) -> Vec<Check> {
        let rps = self.max.as_ref().map(|row| row.rps);
        let p99 = self.fixed.as_ref().and_then(|row| row.p99_ms);
        let orders = self.effects.as_ref().and_then(|e| e.orders.as_ref().ok().copied());
        let processed = self.effects.as_ref().map(|e| e.sent.accepted);
        vec![
            Check {
                key: "max_rps",
                name: "events/s at max",
                value: rps,
                decimals: 0,
                unit: "/s",
                target: format!(">= {MAX_RPS_TARGET:.0} events/s"),
                met: rps.map(|v| v >= MAX_RPS_TARGET),
            },
            Check {
                key: "fixed_rate_p99",
                name: "p99 at the fixed rate",
                value: p99,
                decimals: 1,
                unit: "ms",
                target: format!("<= {FIXED_RATE_P99_TARGET_MS:.0} ms at {:.0}/s", self.rate),
                met: p99.map(|v| v <= FIXED_RATE_P99_TARGET_MS),
            },
            Check {
                key: "exactly_once",
                name: "orders = 200 answers",
                value: orders.map(|n| n as f64),
                decimals: 0,
                unit: "",
                target: processed.map_or("= 200 processed answers".into(), |n| format!("= {n}")),
                met: self.effects.as_ref().and_then(Effects::exactly_once),
            },
        ]
    }

    /// Every target measured and met.
    pub fn all_met(&self) -> bool {
        self.checks().iter().all(|c| c.met == Some(true))
    }

    pub fn write_table(&self, out: &mut impl Write) -> io::Result<()> {
        writeln!(out)?;
        writeln!(
            out,
            "alpes-bench stripe: POST {STRIPE_PATH}, {} connections, {} s measured after {} s warm-up, database {}, {} cores",
            self.connections, self.seconds, self.warmup, self.database, self.cores
        )?;
        writeln!(out)?;
        write_phases(out, "events/s", &[(MAX_LABEL, self.max.as_ref()), (FIXED_LABEL, self.fixed.as_ref())])?;
        writeln!(
            out,
            "  (fixed rate: open loop at {} events/s; latency counts from when each event was due)",
            self.rate
        )?;
        writeln!(out)?;
        if let Some(effects) = &self.effects {
            let count = |c: &Result<u64, String>| c.as_ref().map_or("?".to_string(), u64::to_string);
            writeln!(out, "exactly once (every event sent: the probe, warm-ups and both phases)")?;
            writeln!(out, "  {:<36} {:>10}", "events sent", effects.sent.total())?;
            writeln!(out, "  {:<36} {:>10}", "answered 200 processed", effects.sent.accepted)?;
            writeln!(out, "  {:<36} {:>10}", "orders (GraphQL totalCount)", count(&effects.orders))?;
            writeln!(out, "  {:<36} {:>10}", "webhook events (GraphQL totalCount)", count(&effects.webhook_events))?;
            writeln!(out, "  {:<36} {:>10}", "other answers", effects.sent.rejected)?;
            writeln!(out, "  {:<36} {:>10}", "no answer (reset, time-out)", effects.sent.unanswered)?;
            let warnings = effects.warnings();
            if !warnings.is_empty() {
                writeln!(out, "  WARNING: the stored effects differ from the answers")?;
                for warning in warnings {
                    writeln!(out, "  WARNING: {warning}")?;
                }
            }
            writeln!(out)?;
        }
        write_checks(out, &self.checks())?;
        write_errors(out, [self.max.as_ref(), self.fixed.as_ref()].into_iter().flatten())?;
        if let Some(failure) = &self.failure {
            writeln!(out)?;
            writeln!(out, "stripe phases failed: {failure}")?;
        }
        writeln!(out)
    }

    pub fn json(&self) -> Value {
        json!({
            "bench": "stripe",
            "database": self.database,
            "connections": self.connections,
            "seconds": self.seconds,
            "warmup_seconds": self.warmup,
            "rate": round(self.rate, 1),
            "cores": self.cores,
            "max": self.max.as_ref().map(PhaseRow::json),
            "fixed_rate": self.fixed.as_ref().map(PhaseRow::json),
            "effects": self.effects.as_ref().map(Effects::json),
            "targets": checks_json(self.checks()),
            "failure": self.failure,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(label: &'static str, rps: f64, p99: f64) -> PhaseRow {
        PhaseRow {
            label,
            target_rps: None,
            rps,
            ok: 1,
            p50_ms: Some(p99 / 2.0),
            p99_ms: Some(p99),
            max_ms: Some(p99 * 2.0),
            errors: 0,
            error_kinds: vec![],
            peak_rss_mb: Some(60.0),
        }
    }

    fn report(orders: Result<u64, String>) -> StripeReport {
        StripeReport {
            database: "sqlite",
            connections: 16,
            seconds: 10,
            warmup: 2,
            rate: 100.0,
            cores: 2,
            max: Some(row(MAX_LABEL, 800.0, 30.0)),
            fixed: Some(row(FIXED_LABEL, 100.0, 12.0)),
            effects: Some(Effects {
                sent: Sent { accepted: 10_000, rejected: 0, unanswered: 0 },
                orders,
                webhook_events: Ok(10_000),
            }),
            failure: None,
        }
    }

    fn table(report: &StripeReport) -> String {
        let mut out = Vec::new();
        report.write_table(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn all_targets_met_when_orders_match_the_answers() {
        let report = report(Ok(10_000));
        assert!(report.all_met());
        let table = table(&report);
        assert!(!table.contains("WARNING"), "{table}");
        assert!(table.contains("orders = 200 answers"), "{table}");
        let json = report.json();
        assert_eq!(json["targets"]["exactly_once"]["met"], true);
        assert_eq!(json["targets"]["max_rps"]["value"], 800.0);
        assert_eq!(json["effects"]["orders"], 10_000);
        assert_eq!(json["effects"]["processed_answers"], 10_000);
    }

    #[test]
    fn a_count_that_differs_is_a_warning_and_a_missed_target() {
        let mut report = report(Ok(10_003));
        if let Some(effects) = &mut report.effects {
            effects.sent.unanswered = 3;
            effects.webhook_events = Err("GraphQL error: forbidden".into());
        }
        assert!(!report.all_met());
        let table = table(&report);
        assert!(
            table.contains("WARNING: orders: 10003, but 10000 events were answered 200 processed (3 more)"),
            "{table}"
        );
        assert!(table.contains("webhook events could not be counted"), "{table}");
        assert!(table.contains("3 events got no answer"), "{table}");
        assert!(table.contains("MISSED"), "{table}");
        assert_eq!(report.json()["targets"]["exactly_once"]["met"], false);
    }

    #[test]
    fn slow_or_unmeasured_phases_miss_their_targets() {
        let mut report = report(Ok(10_000));
        report.max = Some(row(MAX_LABEL, 499.0, 30.0));
        assert!(!report.all_met());
        report.max = Some(row(MAX_LABEL, 500.0, 30.0));
        report.fixed = Some(row(FIXED_LABEL, 100.0, 50.1));
        assert!(!report.all_met());
        report.fixed = None;
        report.effects = None;
        assert!(!report.all_met());
        let table = table(&report);
        assert!(table.contains("not run"), "{table}");
        assert!(table.contains("not measured"), "{table}");
        assert_eq!(report.json()["targets"]["exactly_once"]["met"], Value::Null);
    }
}
