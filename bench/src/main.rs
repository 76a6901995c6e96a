//! `alpes-bench`: measures the Alpes ingest endpoint against a bare axum route, checks
//! that acknowledged impressions survive a `kill -9`, and measures the Stripe webhook
//! route with an exactly-once check of its orders. See bench/README.md.

#![recursion_limit = "256"]

mod alpes;
mod attribution;
mod bare;
mod cli;
mod commissions;
mod crash;
mod database;
mod floor;
mod ingest;
mod load;
mod logins;
mod payload;
mod process;
mod reads;
mod reads_fill;
mod report;
mod soak;
mod stripe;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        // The bare server is its own process, with its own runtime, like Alpes.
        Command::BareServer { addr } => bare::serve(addr).map(|()| ExitCode::SUCCESS),
        Command::FloorServer { addr, database, data_dir } => {
            floor::serve(addr, database, data_dir).map(|()| ExitCode::SUCCESS)
        }
        Command::Ingest(args) => client_runtime().and_then(|rt| rt.block_on(interruptible(ingest::run(args)))),
        Command::Crash(args) => client_runtime().and_then(|rt| rt.block_on(interruptible(crash::run(args)))),
        Command::Logins(args) => client_runtime().and_then(|rt| rt.block_on(interruptible(logins::run(args)))),
        Command::Stripe(args) => client_runtime().and_then(|rt| rt.block_on(interruptible(stripe::run(args)))),
        Command::Attribution(args) => attribution::run(args),
        Command::Reads(args) => client_runtime().and_then(|rt| rt.block_on(interruptible(reads::run(args)))),
        Command::Soak(args) => client_runtime().and_then(|rt| rt.block_on(interruptible(soak::run(args)))),
        Command::Commissions(args) => {
            client_runtime().and_then(|rt| rt.block_on(interruptible(commissions::run(args))))
        }
    };
    outcome.unwrap_or_else(|err| {
        eprintln!("error: {err:#}");
        ExitCode::FAILURE
    })
}

/// Ctrl-C drops the run, and with it the servers, the scratch directory and any
/// PostgreSQL database it made.
async fn interruptible(run: impl std::future::Future<Output = anyhow::Result<ExitCode>>) -> anyhow::Result<ExitCode> {
    tokio::select! {
        outcome = run => outcome,
        _ = tokio::signal::ctrl_c() => anyhow::bail!("interrupted"),
    }
}

/// The load generator's runtime: tokio's multi-thread scheduler, one worker per core.
fn client_runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().build()?)
}
