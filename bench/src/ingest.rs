//! `alpes-bench ingest`: the bare axum route, Alpes at its maximum rate, Alpes at half
//! that rate; then the table and the JSON line.

use std::{
    path::Path,
    process::{Command, ExitCode},
    sync::Arc,
    time::Duration,
};

use crate::{
    alpes::{self, Alpes, Api},
    cli::IngestArgs,
    database::BenchDatabase,
    load::{self, LoadResult, LoadSpec, Pace},
    payload::Payloads,
    process::{free_loopback_addr, ScratchDir, ServerProcess},
    report::{PhaseRow, Report},
};

pub async fn run(args: IngestArgs) -> anyhow::Result<ExitCode> {
    // Fail before any load when the server binary is missing.
    let alpes_bin = alpes::locate_binary(args.common.alpes_bin.as_deref())?;
    let scratch = ScratchDir::create(args.common.keep)?;
    let payloads = Arc::new(Payloads::new());
    let phases = Phases {
        connections: args.connections,
        warmup: Duration::from_secs(args.warmup),
        measure: Duration::from_secs(args.seconds),
    };

    eprintln!(
        "[1/3] bare axum: {} connections, closed loop, {} s warm-up + {} s",
        phases.connections, args.warmup, args.seconds
    );
    let bare = measure_bare(&phases, scratch.path(), payloads.clone()).await?;
    eprintln!("      {}", summary(&bare));

    let (alpes_max, alpes_half, alpes_failure) =
        match measure_alpes(&args, &phases, alpes_bin, scratch.path(), payloads).await {
            Ok((max, half)) => (Some(max), half, None),
            Err(err) => {
                eprintln!("error: {err:#}");
                (None, None, Some(format!("{err:#}")))
            }
        };

    let report = Report {
        database: if args.common.database.is_some() { "postgresql" } else { "sqlite" },
        connections: phases.connections,
        seconds: args.seconds,
        warmup: args.warmup,
        cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
        bare,
        alpes_max,
        alpes_half,
        alpes_failure,
    };
    let json = report.json().to_string();
    crate::report::print_outcome(args.json, &json, |mut out| report.write_table(&mut out))?;

    Ok(if report.alpes_failure.is_some() {
        ExitCode::FAILURE
    } else if args.check && !report.all_met() {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

/// The shape every phase shares.
struct Phases {
    connections: u32,
    warmup: Duration,
    measure: Duration,
}

impl Phases {
    fn spec(&self, server: &ServerProcess, pace: Pace) -> LoadSpec {
        LoadSpec {
            addr: server.addr(),
            connections: self.connections,
            pace,
            warmup: self.warmup,
            measure: self.measure,
            keep_acknowledged: false,
            stop: None,
        }
    }
}

async fn measure_bare(phases: &Phases, scratch: &Path, payloads: Arc<Payloads>) -> anyhow::Result<PhaseRow> {
    let addr = free_loopback_addr()?;
    let mut command = Command::new(std::env::current_exe()?);
    command.args(["bare-server", "--addr", &addr.to_string()]);
    let mut server = ServerProcess::spawn("the bare axum server", command, addr, scratch.join("bare.log"))?;
    server.wait_healthy().await?;
    let result = load::run(phases.spec(&server, Pace::Closed), payloads).await?;
    let rss = server.peak_rss_bytes();
    server.stop().await?;
    Ok(PhaseRow::new("bare axum", &result, None, rss))
}

/// Alpes at its maximum (closed loop) and at half that rate (open loop), on one server.
async fn measure_alpes(
    args: &IngestArgs,
    phases: &Phases,
    bin: std::path::PathBuf,
    scratch: &Path,
    payloads: Arc<Payloads>,
) -> anyhow::Result<(PhaseRow, Option<PhaseRow>)> {
    let data_dir = scratch.join("alpes-data");
    std::fs::create_dir_all(&data_dir)?;
    // Declared before the server, so it is dropped (and a PostgreSQL database removed) after it.
    let database = BenchDatabase::prepare(args.common.database.as_deref(), &data_dir, args.common.keep)?;
    eprintln!("[2/3] alpes on {}: preparing", database.label());
    let alpes = Alpes::new(bin, data_dir, database.url().to_string());
    let token = alpes.admin_token()?;
    let mut server = alpes.start(free_loopback_addr()?, scratch.join("alpes.log")).await?;
    let outcome = alpes_phases(phases, &server, token, payloads).await;
    if outcome.is_err() {
        eprintln!("the alpes log ends with:\n{}", server.log_tail(20));
    }
    server.stop().await?;
    outcome
}

async fn alpes_phases(
    phases: &Phases,
    server: &ServerProcess,
    token: String,
    payloads: Arc<Payloads>,
) -> anyhow::Result<(PhaseRow, Option<PhaseRow>)> {
    let api = Api::new(server.base_url(), token)?;
    api.prepare(&payloads).await?;

    eprintln!(
        "      alpes ingest: {} connections, closed loop, {} s warm-up + {} s",
        phases.connections,
        phases.warmup.as_secs(),
        phases.measure.as_secs()
    );
    let max = load::run(phases.spec(server, Pace::Closed), payloads.clone()).await?;
    let max_row = PhaseRow::new("alpes ingest (max)", &max, None, server.peak_rss_bytes());
    eprintln!("      {}", summary(&max_row));
    ensure_answered(&max)?;

    let rate = max.rps() / 2.0;
    eprintln!(
        "[3/3] alpes ingest at half rate: open loop at {rate:.0} req/s, {} s warm-up + {} s",
        phases.warmup.as_secs(),
        phases.measure.as_secs()
    );
    // The half-rate row reports its own peak when the kernel lets us reset it.
    let own_peak = server.reset_peak_rss();
    let half = load::run(phases.spec(server, Pace::Open { rate }), payloads).await?;
    let half_rss = server.peak_rss_bytes();
    let half_row = PhaseRow::new("alpes ingest (half rate)", &half, Some(rate), half_rss);
    eprintln!("      {}", summary(&half_row));
    if !own_peak {
        eprintln!(
            "      (peak RSS of the half-rate row includes the max phase: /proc/<pid>/clear_refs is not writable)"
        );
    }
    Ok((max_row, Some(half_row)))
}

/// A max phase without a single 2xx has no rate to halve.
fn ensure_answered(result: &LoadResult) -> anyhow::Result<()> {
    if result.ok > 0 {
        return Ok(());
    }
    let kinds: Vec<String> =
        result.error_kinds.iter().take(3).map(|(kind, count)| format!("{count} x {kind}")).collect();
    anyhow::bail!("no request was answered 2xx under load: {}", kinds.join("; "))
}

fn summary(row: &PhaseRow) -> String {
    row.summary("req/s")
}
