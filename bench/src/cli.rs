//! Command line of `alpes-bench`.

use std::{net::SocketAddr, path::PathBuf};

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "alpes-bench", about = "Load and durability harness for POST /tracking/impresiones")]
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
    /// The bare axum server measured by `ingest` (started by the harness itself).
    #[command(hide = true)]
    BareServer {
        #[arg(long)]
        addr: SocketAddr,
    },
}

/// Settings shared by `ingest` and `crash`.
#[derive(Debug, Args)]
pub struct CommonArgs {
    /// Concurrent keep-alive HTTP/1.1 connections.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub connections: u32,

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
pub struct CrashArgs {
    #[command(flatten)]
    pub common: CommonArgs,

    /// Seconds of load before the server is killed.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub seconds: u64,

    /// Concurrent GET requests when checking the acknowledged ids after the restart.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub verify_concurrency: u32,
}
