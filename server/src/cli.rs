//! The `alpes` command line.

use std::{path::PathBuf, process::ExitCode};

use clap::{Parser, Subcommand};
use tracing_subscriber::{layer::SubscriberExt, util::SubscriberInitExt, EnvFilter, Layer};

use crate::{
    auth::{password, Caller, JwtKeys, Role},
    config::Config,
    db,
    domain::commission::Period,
    graphql,
    service::{
        api_key_service, attribution, import, reconciliation,
        rollup::{self, Days},
        seed_service, user_service,
    },
};

/// The version and the git revision it was built from: `0.1.0 (3f84062a1b2c)`.
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (", env!("ALPES_GIT_REVISION"), ")");

#[derive(Debug, Parser)]
#[command(name = "alpes", version = VERSION, about = "Partner tracking, attribution and commissions")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub config: Config,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Migrate the database and serve HTTP (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the GraphQL schema (SDL), or write it to a file.
    ExportSchema {
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Mint a JWT for scripts and tests.
    Token {
        /// ADMIN, ANALYST or AFFILIATE.
        #[arg(long)]
        role: String,
        /// The affiliate an AFFILIATE token belongs to (id).
        #[arg(long)]
        affiliate: Option<uuid::Uuid>,
        /// Lifetime, e.g. 30m, 12h, 7d.
        #[arg(long, default_value = "12h")]
        ttl: String,
    },
    /// Fill the database with demo data: affiliates, campaigns, clicks, Stripe checkouts.
    Seed {
        /// How many days of history (1–365).
        #[arg(long, default_value_t = 30)]
        days: i64,
    },
    /// Check that the books balance: per currency, Stripe paid, refunded and net,
    /// conversions, credits, commissions by state, clawbacks and payouts, and each
    /// invariant with its violations. Exits with status 1 when any is violated.
    Reconcile {
        /// First day (included), YYYY-MM-DD; without it, from the beginning.
        #[arg(long)]
        from: Option<chrono::NaiveDate>,
        /// Last day (included), YYYY-MM-DD; without it, up to now.
        #[arg(long)]
        to: Option<chrono::NaiveDate>,
        #[arg(long, value_enum, default_value = "text")]
        format: crate::reconcile::Format,
    },
    /// Import the history of the systems Alpes replaces: affiliates, campaigns,
    /// interactions, impressions and conversions, from NDJSON or CSV files of their own
    /// bodies (README, "Importing history"), then attribute the conversions. A second run
    /// of the same files changes nothing.
    Import {
        /// The files; what each holds is told by its name (`afiliados.csv`,
        /// `conversiones-2024.ndjson`, …) unless `--kind` says.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// What every file holds: affiliates, campaigns, interactions, impressions,
        /// tracking_events or conversions.
        #[arg(long)]
        kind: Option<String>,
        /// Where the rows not imported go, with their file, line and reason (NDJSON).
        #[arg(long, default_value = "alpes-import-refused.ndjson")]
        refused: PathBuf,
    },
    /// The daily rollups dashboards read.
    Rollup {
        #[command(subcommand)]
        action: RollupAction,
    },
    /// Make an API key for a machine client (the shop's server: `--role ANALYST
    /// --record-conversions`); prints its secret, shown this once.
    ApiKey {
        /// What the key is for.
        #[arg(long)]
        name: String,
        /// ADMIN, ANALYST or AFFILIATE.
        #[arg(long)]
        role: String,
        /// The affiliate (id or code) an AFFILIATE key belongs to.
        #[arg(long)]
        affiliate: Option<String>,
        /// The key may record conversions (not for AFFILIATE keys).
        #[arg(long)]
        record_conversions: bool,
        /// Days until the key stops working; without it, until revoked.
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
    /// Copy the SQLite database to a file while the service runs (a consistent snapshot,
    /// compacted). For PostgreSQL use `pg_dump`.
    Backup {
        /// The file to write; it must not exist yet.
        #[arg(long, short)]
        output: PathBuf,
    },
    /// Ask a running Alpes whether it is ready (for container health checks, where no
    /// curl is installed): exit status 0 when `--url` answers 2xx within 3 seconds.
    Health {
        #[arg(long, default_value = "http://127.0.0.1:8000/ready")]
        url: String,
    },
    /// Create an admin (or reset an existing admin's password).
    CreateAdmin {
        #[arg(long)]
        email: String,
        /// Read from ALPES_ADMIN_PASSWORD when not given; generated and printed when neither.
        #[arg(long, env = "ALPES_ADMIN_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum RollupAction {
    /// Recompute the rollups of a range of UTC days (every day without a range) from the
    /// raw tables; writers wait while it runs. Days whose raw interactions retention has
    /// deleted lose their traffic figures.
    Rebuild {
        /// First day, YYYY-MM-DD.
        #[arg(long, requires = "to")]
        from: Option<chrono::NaiveDate>,
        /// Last day (included), YYYY-MM-DD.
        #[arg(long, requires = "from")]
        to: Option<chrono::NaiveDate>,
    },
}

/// `alpes import`: each file in turn, then the attribution of what came in.
async fn import_files(
    state: &crate::state::AppState,
    sources: Vec<import::Source>,
    refused: &std::path::Path,
) -> anyhow::Result<()> {
    use std::io::Write;
    let started = std::time::Instant::now();
    let mut out = std::io::BufWriter::new(
        std::fs::File::create(refused).map_err(|e| anyhow::anyhow!("cannot write {}: {e}", refused.display()))?,
    );
    let bars = crate::progress::Bars::new();
    let mut lines = Vec::new();
    let mut refused_rows = 0;
    for source in &sources {
        let mut write = |refusal: import::Refusal| -> std::io::Result<()> {
            serde_json::to_writer(&mut out, &refusal)?;
            out.write_all(b"\n")
        };
        let file_started = std::time::Instant::now();
        let summary = import::import_file(&state.ctx, &state.ingest, source, &bars, &mut write).await?;
        refused_rows += summary.refused;
        lines.push(format!(
            "{}: {} rows, {} imported, {} there already, {} refused ({}) in {} ms",
            source.path.display(),
            summary.read,
            summary.imported,
            summary.already_there,
            summary.refused,
            source.kind.name(),
            file_started.elapsed().as_millis()
        ));
    }
    out.flush()?;
    drop(bars);
    // What came in waits for attribution like any conversion; done here, now.
    let attributing = crate::progress::Spinner::new("attributing the conversions");
    let mut attributed = 0;
    loop {
        match attribution::attribute_pending(&state.ctx, &state.markov).await? {
            0 => break,
            n => attributed += n,
        }
    }
    drop(attributing);
    for line in lines {
        println!("{line}");
    }
    println!("{attributed} conversions attributed; done in {} ms", started.elapsed().as_millis());
    if refused_rows > 0 {
        println!("{refused_rows} rows refused, each with its reason, in {}", refused.display());
    } else {
        let _ = std::fs::remove_file(refused);
    }
    Ok(())
}

pub async fn run() -> ExitCode {
    let cli = Cli::parse();
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let format = match log_format(std::env::var("ALPES_LOG_FORMAT").ok().as_deref(), terminal) {
        Ok(format) => format,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::FAILURE;
        }
    };
    let traces = match crate::telemetry::Traces::from_env() {
        Ok(traces) => traces,
        Err(err) => {
            eprintln!("error: {err:#}");
            return ExitCode::FAILURE;
        }
    };
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let levels = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let logs: crate::telemetry::BoxedLayer = match format {
        // One object per line; a request's lines carry its span (`request_id`, method, path).
        LogFormat::Json => Box::new(fmt.json().with_current_span(true).with_span_list(false).with_filter(levels)),
        LogFormat::Pretty => {
            Box::new(fmt.with_ansi(colour_logs(terminal, std::env::var_os("NO_COLOR"))).with_filter(levels))
        }
    };
    let mut layers = vec![logs];
    layers.extend(traces.layer());
    tracing_subscriber::registry().with(layers).init();
    let result = execute(cli).await;
    // Spans still buffered are sent before the process ends.
    traces.shutdown();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn execute(cli: Cli) -> anyhow::Result<()> {
    let config = cli.config;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => crate::app::serve(config).await,
        Command::Migrate => {
            config.validate()?;
            let conn = db::connect(&config).await?;
            db::migrate(&conn).await?;
            println!("migrations applied to {}", crate::config::redact(&config.effective_database_url()));
            Ok(())
        }
        Command::ExportSchema { output } => {
            let sdl = graphql::sdl();
            match output {
                Some(path) => std::fs::write(&path, sdl)?,
                None => print!("{sdl}"),
            }
            Ok(())
        }
        Command::Token { role, affiliate, ttl } => {
            let role =
                Role::parse(&role).ok_or_else(|| anyhow::anyhow!("--role must be ADMIN, ANALYST or AFFILIATE"))?;
            if role == Role::Affiliate && affiliate.is_none() {
                anyhow::bail!("an AFFILIATE token needs --affiliate <id>");
            }
            if role != Role::Affiliate && affiliate.is_some() {
                anyhow::bail!("--affiliate goes only with --role AFFILIATE");
            }
            let ttl = parse_ttl(&ttl)?;
            let keys = JwtKeys::load(config.jwt_secret.as_deref(), &config.data_dir)?;
            let caller = Caller::person(None, role, affiliate);
            let (token, _) = keys.issue(&caller, ttl)?;
            println!("{token}");
            Ok(())
        }
        Command::Seed { days } => {
            config.validate()?;
            let conn = db::connect(&config).await?;
            db::migrate(&conn).await?;
            let jwt = JwtKeys::load(config.jwt_secret.as_deref(), &config.data_dir)?;
            let state = crate::state::AppState::new(conn, config, jwt);
            let bars = crate::progress::Bars::new();
            let report =
                seed_service::seed_with_progress(&state, &state.ingest, &state.markov, &Caller::system(), days, &bars)
                    .await?;
            drop(bars);
            // The coarse rollups' changes (PostgreSQL) are folded now, not at the next start.
            rollup::fold(&state.db).await?;
            println!(
                "seeded {} days: {} affiliates, {} campaigns, {} links, {} clicks, {} checkouts ({} paid, {} refunded, {} failed), {} attributed ({} reverted as fraud); commissions {} pending, {} calculated, {} approved, {} rejected; {} payouts ({} paid) in {} ms",
                report.days,
                report.affiliates,
                report.campaigns,
                report.tracking_links,
                report.clicks,
                report.checkouts,
                report.paid_orders,
                report.refunds,
                report.failed_payments,
                report.attributed,
                report.reverted,
                report.commissions_pending,
                report.commissions_calculated,
                report.commissions_approved,
                report.commissions_rejected,
                report.payouts,
                report.payouts_paid,
                report.elapsed_ms
            );
            Ok(())
        }
        Command::Reconcile { from, to, format } => {
            let midnight = |day: chrono::NaiveDate| day.and_time(chrono::NaiveTime::MIN).and_utc();
            let period = Period {
                from: from.map(midnight).unwrap_or(chrono::DateTime::UNIX_EPOCH),
                to: to
                    .map(|d| midnight(d) + chrono::Duration::days(1))
                    .unwrap_or_else(|| chrono::Utc::now() + chrono::Duration::days(1)),
            };
            if period.from >= period.to {
                anyhow::bail!("--from must not be after --to");
            }
            config.validate()?;
            let conn = db::connect(&config).await?;
            db::migrate(&conn).await?;
            let checking = crate::progress::Spinner::new("checking the books");
            let report = reconciliation::reconcile(&conn, &Caller::system(), period).await?;
            drop(checking);
            print!("{}", crate::reconcile::render(&report, format)?);
            match report.violations() {
                0 => Ok(()),
                n => anyhow::bail!("{n} violations: the books do not balance"),
            }
        }
        Command::Health { url } => {
            let status = tokio::time::timeout(std::time::Duration::from_secs(3), http_status(&url))
                .await
                .map_err(|_| anyhow::anyhow!("{url} did not answer within 3 s"))??;
            if !(200..300).contains(&status) {
                anyhow::bail!("{url} answered {status}");
            }
            println!("{url} answered {status}");
            Ok(())
        }
        Command::Backup { output } => {
            config.validate()?;
            if output.exists() {
                anyhow::bail!("{} exists already: give a new file", output.display());
            }
            let conn = db::connect(&config).await?;
            let started = std::time::Instant::now();
            let copying = crate::progress::Spinner::new("copying the database");
            db::backup(&conn, &output).await?;
            drop(copying);
            let size = std::fs::metadata(&output).map(|m| m.len()).unwrap_or_default();
            println!(
                "backup of {} written to {} ({size} bytes) in {} ms",
                crate::config::redact(&config.effective_database_url()),
                output.display(),
                started.elapsed().as_millis()
            );
            Ok(())
        }
        Command::Import { files, kind, refused } => {
            let kind = match kind {
                Some(name) => Some(import::Kind::parse(&name).ok_or_else(|| {
                    anyhow::anyhow!("--kind must be one of {}", import::Kind::ALL.map(import::Kind::name).join(", "))
                })?),
                None => None,
            };
            let sources = files
                .into_iter()
                .map(|file| import::Source::new(file, kind))
                .collect::<Result<Vec<_>, _>>()
                .map_err(anyhow::Error::msg)?;
            for source in &sources {
                if !source.path.is_file() {
                    anyhow::bail!("{}: no such file", source.path.display());
                }
            }
            config.validate()?;
            let conn = db::connect(&config).await?;
            db::migrate(&conn).await?;
            let jwt = JwtKeys::load(config.jwt_secret.as_deref(), &config.data_dir)?;
            let state = crate::state::AppState::new(conn, config, jwt);
            import_files(&state, import::in_order(sources), &refused).await
        }
        Command::Rollup { action: RollupAction::Rebuild { from, to } } => {
            let days = match (from, to) {
                (Some(first), Some(last)) if first <= last => Some(Days { first, last }),
                (Some(_), Some(_)) => anyhow::bail!("--from must not be after --to"),
                _ => None,
            };
            config.validate()?;
            let conn = db::connect(&config).await?;
            db::migrate(&conn).await?;
            let started = std::time::Instant::now();
            let computing = crate::progress::Spinner::new("computing missing attribution shares");
            let filled = attribution::backfill_shares(&conn, &config.attribution).await?;
            drop(computing);
            if filled > 0 {
                println!("attribution shares computed for {filled} conversions attributed before they existed");
            }
            let rebuilding = crate::progress::Spinner::new("rebuilding the rollups (writers wait)");
            rollup::rebuild(&conn, days).await?;
            drop(rebuilding);
            match days {
                Some(d) => {
                    println!("rollups of {} to {} rebuilt in {} ms", d.first, d.last, started.elapsed().as_millis())
                }
                None => println!("rollups of every day rebuilt in {} ms", started.elapsed().as_millis()),
            }
            Ok(())
        }
        Command::ApiKey { name, role, affiliate, record_conversions, expires_in_days } => {
            let role =
                Role::parse(&role).ok_or_else(|| anyhow::anyhow!("--role must be ADMIN, ANALYST or AFFILIATE"))?;
            config.validate()?;
            let conn = db::connect(&config).await?;
            db::migrate(&conn).await?;
            let jwt = JwtKeys::load(config.jwt_secret.as_deref(), &config.data_dir)?;
            let state = crate::state::AppState::new(conn, config, jwt);
            let input = api_key_service::NewKey {
                name,
                role,
                affiliate,
                records_conversions: record_conversions,
                expires_in_days,
            };
            let issued = api_key_service::create(&state, &Caller::system(), input).await?;
            eprintln!("API key {} ({}) made; it is not shown again", issued.key.name, issued.key.prefix);
            println!("{}", issued.secret);
            Ok(())
        }
        Command::CreateAdmin { email, password: given } => {
            config.validate()?;
            let conn = db::connect(&config).await?;
            db::migrate(&conn).await?;
            let (pass, generated) = match given {
                Some(p) => (p, false),
                None => (password::generate(), true),
            };
            let user = user_service::create_or_reset_admin(&conn, &email, &pass).await?;
            println!("admin {} ready", user.email);
            if generated {
                println!("password (shown once): {pass}");
            }
            Ok(())
        }
    }
}

/// The status of `GET url` (plain `http://host:port/path`), over one HTTP/1.0 request.
async fn http_status(url: &str) -> anyhow::Result<u16> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").ok_or_else(|| anyhow::anyhow!("--url must start with http://"))?;
    let (host, path) = rest.split_once('/').map_or((rest, "/".to_string()), |(h, p)| (h, format!("/{p}")));
    let mut stream = tokio::net::TcpStream::connect(host).await?;
    stream.write_all(format!("GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").as_bytes()).await?;
    let mut head = vec![0; 64];
    let n = stream.read(&mut head).await?;
    let line = String::from_utf8_lossy(&head[..n]);
    line.split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("{url} did not answer HTTP"))
}

/// How logs are written (`ALPES_LOG_FORMAT`): `json`, one object per line, for files and
/// log collectors; `pretty`, text, coloured on a terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LogFormat {
    Json,
    Pretty,
}

/// `ALPES_LOG_FORMAT` when set; otherwise pretty on a terminal and JSON anywhere else.
fn log_format(setting: Option<&str>, terminal: bool) -> Result<LogFormat, String> {
    match setting.map(|s| s.trim().to_ascii_lowercase()).as_deref() {
        None | Some("") => Ok(if terminal { LogFormat::Pretty } else { LogFormat::Json }),
        Some("json") => Ok(LogFormat::Json),
        Some("pretty") | Some("text") => Ok(LogFormat::Pretty),
        Some(other) => Err(format!("ALPES_LOG_FORMAT must be json or pretty, not {other:?}")),
    }
}

/// Logs are coloured only on a terminal, and never when `NO_COLOR` is set (to anything
/// but the empty string): a file, a pipe or a log collector gets plain text.
fn colour_logs(terminal: bool, no_color: Option<std::ffi::OsString>) -> bool {
    terminal && no_color.is_none_or(|v| v.is_empty())
}

/// `30m`, `12h`, `7d` → a duration (1 minute to 365 days).
pub fn parse_ttl(value: &str) -> anyhow::Result<chrono::Duration> {
    let value = value.trim();
    let (number, unit) = value.split_at(value.len().saturating_sub(1));
    let n: i64 = number.parse().map_err(|_| anyhow::anyhow!("--ttl must look like 30m, 12h or 7d"))?;
    let ttl = match unit {
        "m" => chrono::Duration::minutes(n),
        "h" => chrono::Duration::hours(n),
        "d" => chrono::Duration::days(n),
        _ => anyhow::bail!("--ttl must look like 30m, 12h or 7d"),
    };
    if ttl < chrono::Duration::minutes(1) || ttl > chrono::Duration::days(365) {
        anyhow::bail!("--ttl must be between 1 minute and 365 days");
    }
    Ok(ttl)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_are_plain_text_off_a_terminal_or_with_no_color() {
        assert_eq!(log_format(None, true), Ok(LogFormat::Pretty));
        assert_eq!(log_format(None, false), Ok(LogFormat::Json), "files and pipes get JSON");
        assert_eq!(log_format(Some(" JSON "), true), Ok(LogFormat::Json));
        assert_eq!(log_format(Some("pretty"), false), Ok(LogFormat::Pretty));
        assert!(log_format(Some("xml"), false).is_err());
        assert!(colour_logs(true, None));
        assert!(!colour_logs(false, None));
        assert!(!colour_logs(true, Some("1".into())));
        assert!(colour_logs(true, Some("".into())));
    }

    #[test]
    fn ttls() {
        assert_eq!(parse_ttl("30m").ok(), Some(chrono::Duration::minutes(30)));
        assert_eq!(parse_ttl("7d").ok(), Some(chrono::Duration::days(7)));
        for bad in ["", "h", "0m", "400d", "5x", "-1h"] {
            assert!(parse_ttl(bad).is_err(), "{bad}");
        }
    }
}
