//! Command line of `alpes-bench`.

use std::{net::SocketAddr, path::PathBuf};

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "alpes-bench",
    about = "Load and durability harness for POST /tracking/impresiones and POST /api/v1/webhooks/stripe"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Requests/s and latency: a bare axum route, Alpes at its maximum, Alpes at half that rate.
    Ingest(IngestArgs),
    /// Durability: kill -9 Alpes under load, restart it, check every acknowledged impression is stored.
    Crash(CrashArgs),
    /// Signed Stripe webhook events: Alpes at its maximum, Alpes at a fixed rate, then orders = answers.
    Stripe(StripeArgs),
    /// In process, one core: the Markov fit over random journeys and the heuristic models on one long journey.
    Attribution(AttributionArgs),
    /// In process: `commissions(first: 100)` with affiliate, campaign and conversion, on a filled database.
    Commissions(CommissionsArgs),
    /// In process: the admin app's read paths (dashboard, metrics, attribution report, lists) on databases of growing size.
    Reads(ReadsArgs),
    /// Password guessing: many requests of aliased `login`s at once; server RSS and `/health` latency meanwhile.
    Logins(LoginsArgs),
    /// Hours-long health: ingest, Stripe webhooks, GraphQL reads, live subscriptions and
    /// deliveries to local stand-ins of the ad platforms at fixed rates; RSS, p99 latency
    /// and open connections sampled each minute, and their drift.
    Soak(SoakArgs),
    /// The bare axum server measured by `ingest` (started by the harness itself).
    #[command(hide = true)]
    BareServer {
        #[arg(long)]
        addr: SocketAddr,
    },
    /// The floor server of `soak --floor` (started by the harness itself).
    #[command(hide = true)]
    FloorServer {
        #[arg(long)]
        addr: SocketAddr,
        #[arg(long)]
        database: String,
        #[arg(long)]
        data_dir: PathBuf,
    },
}

/// Settings shared by every mode.
#[derive(Debug, Args)]
pub struct CommonArgs {
    /// A PostgreSQL server (`postgres://user@host:port/db`) on which a fresh database
    /// `alpes_bench_<random>` is created, and dropped at the end. Default: SQLite in a temp dir.
    #[arg(long, value_name = "POSTGRES_URL")]
    pub database: Option<String>,

    /// The Alpes server binary. Default: `alpes` in the release directory next to this executable.
    #[arg(long, env = "ALPES_BENCH_SERVER", value_name = "PATH")]
    pub alpes_bin: Option<PathBuf>,

    /// Keep the temporary data directory (and PostgreSQL database) after the run.
    #[arg(long)]
    pub keep: bool,
}

#[derive(Debug, Args)]
pub struct IngestArgs {
    #[command(flatten)]
    pub common: CommonArgs,

    /// Concurrent keep-alive HTTP/1.1 connections.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub connections: u32,

    /// Measured seconds of each phase.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub seconds: u64,

    /// Seconds of load before each phase's measurement starts (not counted).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(0..=600))]
    pub warmup: u64,

    /// Print only the JSON line on stdout (the table goes to stderr).
    #[arg(long)]
    pub json: bool,

    /// Exit with status 2 when a target is missed.
    #[arg(long)]
    pub check: bool,
}

#[derive(Debug, Args)]
pub struct LoginsArgs {
    #[command(flatten)]
    pub common: CommonArgs,

    /// Password guesses in all.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub attempts: u64,

    /// `login` aliases per request.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub aliases: u64,

    /// Requests in flight at once.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub parallel: u32,

    /// Exit with status 2 when a target is missed.
    #[arg(long)]
    pub check: bool,
}

#[derive(Debug, Args)]
pub struct CrashArgs {
    #[command(flatten)]
    pub common: CommonArgs,

    /// Concurrent keep-alive HTTP/1.1 connections.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub connections: u32,

    /// Seconds of load before the server is killed.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub seconds: u64,

    /// Concurrent GET requests when checking the acknowledged ids after the restart.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub verify_concurrency: u32,
}

#[derive(Debug, Args)]
pub struct StripeArgs {
    #[command(flatten)]
    pub common: CommonArgs,

    /// Concurrent keep-alive HTTP/1.1 connections (both phases).
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub connections: u32,

    /// Events per second of the fixed-rate (open loop) phase.
    #[arg(long, default_value_t = 100.0, value_parser = positive_rate)]
    pub rate: f64,

    /// Measured seconds of each phase.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub seconds: u64,

    /// Seconds of load before each phase's measurement starts (not counted).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(0..=600))]
    pub warmup: u64,

    /// Print only the JSON line on stdout (the table goes to stderr).
    #[arg(long)]
    pub json: bool,

    /// Exit with status 2 when a target is missed.
    #[arg(long)]
    pub check: bool,
}

#[derive(Debug, Args)]
pub struct AttributionArgs {
    /// Random journeys the Markov model is fitted to.
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u32).range(1..=50_000_000))]
    pub journeys: u32,

    /// Distinct channels of those journeys.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub channels: u32,

    /// Touchpoints of the journey the heuristic models attribute.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub touches: u32,

    /// Timed Markov fits (the report gives the best and the median).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub runs: u32,

    /// Seed of the journey generator.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,

    /// Exit with status 2 when a target is missed.
    #[arg(long)]
    pub check: bool,
}

#[derive(Debug, Args)]
pub struct CommissionsArgs {
    /// A PostgreSQL server on which a fresh database `alpes_bench_<random>` is created and dropped.
    /// Default: SQLite in a temp dir.
    #[arg(long, value_name = "POSTGRES_URL")]
    pub database: Option<String>,

    /// Commissions in the database (each with its own conversion).
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u32).range(100..=10_000_000))]
    pub commissions: u32,

    /// Affiliates and campaigns they are spread over.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub affiliates: u32,

    /// Timed queries (after 20 untimed ones).
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub runs: u32,

    /// Keep the temporary directory (and PostgreSQL database).
    #[arg(long)]
    pub keep: bool,

    /// Exit with status 2 when a target is missed.
    #[arg(long)]
    pub check: bool,
}

#[derive(Debug, Args)]
pub struct ReadsArgs {
    /// Interactions of each database, comma-separated (`100k`, `1m`, `10m`); conversions and
    /// commissions are a tenth of that.
    #[arg(long, value_delimiter = ',', default_value = "100k,1m", value_parser = crate::reads::parse_size)]
    pub sizes: Vec<u64>,

    /// A PostgreSQL server on which a fresh database `alpes_bench_<random>` is created per
    /// size and dropped after it. Default: SQLite in a temp dir.
    #[arg(long, value_name = "POSTGRES_URL")]
    pub database: Option<String>,

    /// Timed runs of each path after one warm-up (the median is reported).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(5..=1000))]
    pub runs: u32,

    /// Bound of one run of a path: past it the path is reported `timeout`.
    #[arg(long, default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout_secs: u64,

    /// A run that takes this process's RSS past this many MiB is stopped and the path
    /// reported `over RSS` (the attribution reports load rows; at 1m and more they can take
    /// gigabytes). Checked where the run awaits; at three times this the process exits.
    #[arg(long, default_value_t = 4096, value_parser = clap::value_parser!(u64).range(64..=1_000_000))]
    pub max_rss_mb: u64,

    /// Once a path has taken this long (warm-up included), its remaining runs are skipped
    /// and the median is of the runs made (the table shows how many).
    #[arg(long, default_value_t = 180, value_parser = clap::value_parser!(u64).range(1..=36_000))]
    pub path_budget_secs: u64,

    /// Keep each size's SQLite file here (`DIR/reads-<size>.sqlite`) instead of a temp dir.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// With --data-dir: use the kept file of a size when it is complete and of this
    /// version of the data, instead of filling it again. With --database: the same with the
    /// database `alpes_bench_reads_<size>` on that server, which is kept.
    #[arg(long)]
    pub reuse: bool,

    /// Seed of the data generator.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,

    /// Measure only the read paths whose name contains this text (e.g. `reconciliation`).
    #[arg(long)]
    pub only: Option<String>,

    /// Keep the temporary directory (and the PostgreSQL databases).
    #[arg(long)]
    pub keep: bool,

    /// Exit with status 2 when a target is missed.
    #[arg(long)]
    pub check: bool,
}

fn positive_rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate > 0.0 && rate <= 1_000_000.0 => Ok(rate),
        _ => Err(format!("{text:?} is not a rate between 0 and 1000000 events/s")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_mode_has_its_own_default_connections() {
        let parse = |args: &[&str]| Cli::try_parse_from(args).map(|cli| cli.command);
        let Ok(Command::Stripe(stripe)) = parse(&["alpes-bench", "stripe"]) else { panic!("stripe") };
        assert_eq!((stripe.connections, stripe.rate, stripe.seconds, stripe.warmup), (16, 100.0, 10, 2));
        let Ok(Command::Ingest(ingest)) = parse(&["alpes-bench", "ingest"]) else { panic!("ingest") };
        assert_eq!(ingest.connections, 64);
        let Ok(Command::Stripe(stripe)) =
            parse(&["alpes-bench", "stripe", "--connections", "4", "--rate", "250", "--database", "postgres://x/y"])
        else {
            panic!("stripe with options")
        };
        assert_eq!((stripe.connections, stripe.rate), (4, 250.0));
        assert_eq!(stripe.common.database.as_deref(), Some("postgres://x/y"));
        assert!(parse(&["alpes-bench", "stripe", "--rate", "0"]).is_err());
        assert!(parse(&["alpes-bench", "stripe", "--rate", "nan"]).is_err());
    }
}

#[derive(Debug, Args)]
pub struct SoakArgs {
    #[command(flatten)]
    pub common: CommonArgs,

    /// Minutes of load; one sample each minute.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(2..=1440))]
    pub minutes: u64,

    /// Impressions per second (`POST /tracking/impresiones`).
    #[arg(long, default_value_t = 200.0, value_parser = positive_rate)]
    pub ingest_rate: f64,

    /// Stripe checkouts per second (each one a sale delivered to Google Ads, Meta and Pipedrive stand-ins).
    #[arg(long, default_value_t = 5.0, value_parser = positive_rate)]
    pub webhook_rate: f64,

    /// GraphQL reads per second (the dashboard, the conversions and commissions lists in turn).
    #[arg(long, default_value_t = 4.0, value_parser = positive_rate)]
    pub read_rate: f64,

    /// Live GraphQL subscriptions (`events`) held open for the whole run.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(0..=1000))]
    pub subscribers: u32,

    /// The first minute the drift is measured from (the minutes before it are warm-up).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=1440))]
    pub from_minute: u64,

    /// Print only the JSON line on stdout (the table goes to stderr).
    #[arg(long)]
    pub json: bool,

    /// Exit with status 2 when a drift is over its target.
    #[arg(long)]
    pub check: bool,

    /// Soak the floor instead of Alpes: a minimal axum server on Alpes' schema that only
    /// inserts what each impression and checkout writes (no reads, no subscriptions, no
    /// deliveries), to tell the drift of growing tables from Alpes' own.
    #[arg(long)]
    pub floor: bool,
}
