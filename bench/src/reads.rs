//! `reads`: the read paths of the admin app — dashboard, conversion metrics, the
//! attribution report under every model, the conversion page and the lists with the
//! filters its pages send — timed through the real GraphQL schema, in process, on
//! databases of growing size (see `reads_fill` for the data). For each path: the median
//! of `--runs` runs after one warm-up, and the peak RSS of this process during the path.

use std::{
    path::{Path, PathBuf},
    process::ExitCode,
    time::{Duration, Instant},
};

use ::alpes::{
    app::App,
    auth::{Caller, JwtKeys, Role},
    config::Config,
    db, graphql,
    service::attribution,
};
use async_graphql::Variables;
use chrono::{Duration as Span, NaiveDate, Utc};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::{cli::ReadsArgs, database::BenchDatabase, reads_fill};

// ---------------------------------------------------------------------------------------
// The operations, as web/src/ops.ts sends them.

const DASHBOARD: &str = "query Dashboard($period: String!, $currency: String) {
  dashboard(period: $period, currency: $currency) {
    from to currency currencies clicks conversions revenue conversionRate
    commissions { status count amount }
    series { day clicks conversions revenue }
    byCampaign { key name id clicks conversions revenue }
    byChannel { key name clicks conversions revenue }
    byAffiliate { key name id clicks conversions revenue }
  }
}";

/// Not sent by the admin app (it is the seed's `GET /conversiones/metricas`): every field.
const METRICS: &str = "query ConversionMetrics($period: String!) {
  conversionMetrics(period: $period) {
    from to channel clicks conversions conversionRate
    byCurrency { currency conversions value average }
    byStatus { status count }
  }
}";

const RECONCILIATION: &str = "query Reconciliation($period: String!) {
  reconciliation(period: $period) {
    balanced violations
    currencies { currency orders paid refunded net credits credited clawbacks clawedBack
      conversions { status count amount } commissions { status count amount base } payouts { status count amount } }
    checks { code violations examples }
  }
}";

const REPORT: &str = "query AttributionReport($model: AttributionModel, $from: DateTime!, $to: DateTime!, $groupBy: AttributionGroupBy!) {
  attributionReport(model: $model, from: $from, to: $to, groupBy: $groupBy) {
    from to groupBy models conversions
    rows { model key name conversions value currency removalEffect }
  }
}";

const CONVERSIONS: &str = "query Conversions($filter: ConversionFilter, $first: Int, $after: String) {
  conversions(filter: $filter, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage }
    nodes {
      id externalId type value currency channel status fraudScore occurredAt
      campaign { id code name }
      affiliate { id code name }
    }
  }
}";

const COMMISSIONS: &str = "query Commissions($filter: CommissionFilter, $first: Int, $after: String) {
  commissions(filter: $filter, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage }
    nodes {
      id status type baseAmount rate amount currency isAdjustment createdAt calculatedAt approvedAt paidAt
      rejectionReason cancelReason version conversionId payoutId
      affiliate { id code name }
      campaign { id code name }
    }
  }
}";

const ORDERS: &str = "query Orders($filter: OrderFilter, $first: Int, $after: String) {
  orders(filter: $filter, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage }
    nodes {
      id stripeSessionId paymentIntentId amount refundedAmount currency status gclid fbclid
      source productId attribution createdAt
      campaign { id code name }
      affiliate { id code name }
    }
  }
}";

const CONVERSION: &str = "fragment CreditFields on AttributionCredit {
  position model weight amount currency channel isCurrent
  campaign { id code name }
  affiliate { id code name }
}
query Conversion($id: ID!) {
  conversion(id: $id) {
    id externalId type value currency channel status fraudScore occurredAt createdAt
    userId anonymousId clickInteractionId products
    fraudSignals { code points detail }
    campaign { id code name attributionModel }
    affiliate { id code name }
    journey {
      id status model lookbackDays revertedAt createdAt
      touchpoints {
        position interactionId occurredAt kind channel source medium isClick
        campaign { id code name }
        affiliate { id code name }
      }
      credits { ...CreditFields }
      lastClick: credits(model: LAST_CLICK) { ...CreditFields }
      firstClick: credits(model: FIRST_CLICK) { ...CreditFields }
      linear: credits(model: LINEAR) { ...CreditFields }
      timeDecay: credits(model: TIME_DECAY) { ...CreditFields }
      positionBased: credits(model: POSITION_BASED) { ...CreditFields }
      markov: credits(model: MARKOV) { ...CreditFields }
    }
  }
}";

/// Rows per page in the admin app (`PAGE_SIZE` in web/src/composables.ts).
const PAGE_SIZE: u32 = 25;
const MODELS: [&str; 6] = ["LAST_CLICK", "FIRST_CLICK", "LINEAR", "TIME_DECAY", "POSITION_BASED", "MARKOV"];

// ---------------------------------------------------------------------------------------
// Targets

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Dashboard,
    Metrics,
    Heuristic,
    Markov,
    List,
}

impl Target {
    pub fn p50_ms(self) -> f64 {
        match self {
            Self::Dashboard => 200.0,
            Self::Metrics => 100.0,
            Self::Heuristic => 300.0,
            Self::Markov => 1000.0,
            Self::List => 20.0,
        }
    }
}

pub const PEAK_RSS_TARGET_MB: f64 = 300.0;

// ---------------------------------------------------------------------------------------
// Paths

/// Who asks.
#[derive(Debug, Clone, Copy)]
enum Who {
    Admin,
    Affiliate(Uuid),
}

impl Who {
    fn caller(self) -> Caller {
        match self {
            Self::Admin => Caller::system(),
            Self::Affiliate(id) => Caller::person(None, Role::Affiliate, Some(id)),
        }
    }
}

struct ReadPath {
    name: String,
    query: &'static str,
    variables: Value,
    who: Who,
    target: Option<Target>,
}

/// Ids the filters name: the busiest affiliate (the one an AFFILIATE caller is), one of
/// its campaigns, its newest attributed conversion.
#[derive(Debug, Clone)]
struct Fixtures {
    affiliate: Uuid,
    campaign: Uuid,
    conversion: Uuid,
}

/// `YYYY-MM-DD` → that day's midnight and the next one's, as the app's date inputs send them.
fn day_start(day: NaiveDate) -> String {
    format!("{}T00:00:00Z", day.format("%Y-%m-%d"))
}

fn day_end(day: NaiveDate) -> String {
    day_start(day + Span::days(1))
}

/// A list, its operation and the filters its page sends (label, filter).
type List = (&'static str, &'static str, Vec<(&'static str, Value)>);

fn paths(f: &Fixtures, today: NaiveDate) -> Vec<ReadPath> {
    let mut out = Vec::new();
    let mut add = |name: &str, query: &'static str, variables: Value, who: Who, target: Option<Target>| {
        out.push(ReadPath { name: name.to_string(), query, variables, who, target })
    };
    let (af, camp, conv) = (f.affiliate.to_string(), f.campaign.to_string(), f.conversion.to_string());
    // The list pages' default window is none; "from/to" is a week of days, as picked in the date inputs.
    let (week_from, week_to) = (day_start(today - Span::days(6)), day_end(today));
    // The attribution page's default: the last 30 days, today included, by campaign.
    let (month_from, month_to) = (day_start(today - Span::days(29)), day_end(today));

    add("dashboard 30d", DASHBOARD, json!({"period": "30d"}), Who::Admin, Some(Target::Dashboard));
    add(
        "dashboard 30d (affiliate)",
        DASHBOARD,
        json!({"period": "30d"}),
        Who::Affiliate(f.affiliate),
        Some(Target::Dashboard),
    );
    add("conversionMetrics 30d", METRICS, json!({"period": "30d"}), Who::Admin, Some(Target::Metrics));
    for model in MODELS {
        let target = if model == "MARKOV" { Target::Markov } else { Target::Heuristic };
        add(
            &format!("attributionReport {model}"),
            REPORT,
            json!({"model": model, "from": month_from, "to": month_to, "groupBy": "CAMPAIGN"}),
            Who::Admin,
            Some(target),
        );
    }
    // By affiliate, Markov's chain has a state per affiliate (2 000): the largest one solved.
    add(
        "attributionReport MARKOV by affiliate",
        REPORT,
        json!({"model": "MARKOV", "from": month_from, "to": month_to, "groupBy": "AFFILIATE"}),
        Who::Admin,
        Some(Target::Markov),
    );
    add(
        "attributionReport all (page default)",
        REPORT,
        json!({"model": null, "from": month_from, "to": month_to, "groupBy": "CAMPAIGN"}),
        Who::Admin,
        Some(Target::Markov),
    );
    add("reconciliation 30d", RECONCILIATION, json!({"period": "30d"}), Who::Admin, None);
    add("conversion page (journey, 7 credits)", CONVERSION, json!({"id": conv}), Who::Admin, None);

    let page = |filter: Value| json!({"filter": filter, "first": PAGE_SIZE, "after": null});
    let lists: [List; 3] = [
        (
            "conversions",
            CONVERSIONS,
            vec![
                ("", json!({})),
                ("status", json!({"status": "ATTRIBUTED"})),
                ("campaign", json!({"campaignId": camp})),
                ("affiliate", json!({"affiliateId": af})),
                ("from/to 7d", json!({"from": week_from, "to": week_to})),
                (
                    "status+affiliate+from/to",
                    json!({"status": "ATTRIBUTED", "affiliateId": af, "from": week_from, "to": week_to}),
                ),
            ],
        ),
        (
            "commissions",
            COMMISSIONS,
            vec![
                ("", json!({})),
                ("status", json!({"status": "CALCULATED"})),
                ("affiliate", json!({"affiliateId": af})),
                ("campaign", json!({"campaignId": camp})),
                ("conversion", json!({"conversionId": conv})),
                ("from/to 7d", json!({"from": week_from, "to": week_to})),
                ("status+affiliate", json!({"status": "CALCULATED", "affiliateId": af})),
            ],
        ),
        (
            "orders",
            ORDERS,
            vec![
                ("", json!({})),
                ("status", json!({"status": "PAID"})),
                ("campaign", json!({"campaignId": camp})),
                ("affiliate", json!({"affiliateId": af})),
                ("from/to 7d", json!({"from": week_from, "to": week_to})),
            ],
        ),
    ];
    for (list, query, filters) in lists {
        for (label, filter) in filters {
            let name = if label.is_empty() { list.to_string() } else { format!("{list} [{label}]") };
            add(&name, query, page(filter), Who::Admin, Some(Target::List));
        }
    }
    add("conversions (affiliate)", CONVERSIONS, page(json!({})), Who::Affiliate(f.affiliate), Some(Target::List));
    add("commissions (affiliate)", COMMISSIONS, page(json!({})), Who::Affiliate(f.affiliate), Some(Target::List));
    out
}

// ---------------------------------------------------------------------------------------
// Results

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Times of the measured runs, ms.
    Ok {
        runs: Vec<f64>,
    },
    Failed(String),
    /// No answer within this many seconds.
    Timeout(u64),
    /// Stopped when this process's RSS went past this many MiB.
    OverMemory(u64),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
    pub outcome: Outcome,
    pub peak_rss_mb: Option<f64>,
    /// RSS when the path started (after giving freed memory back), MiB.
    pub base_rss_mb: Option<f64>,
    /// What the first answer said it read (a total count, conversions), for the progress lines.
    pub note: String,
}

impl Measured {
    pub fn median_ms(&self) -> Option<f64> {
        match &self.outcome {
            Outcome::Ok { runs } => median(runs),
            _ => None,
        }
    }

    /// The table's time cell: the median, `timeout` or `failed` (runs, when fewer than asked).
    pub fn time_cell(&self, asked: u32) -> String {
        match &self.outcome {
            Outcome::Ok { runs } => {
                let m = median(runs).unwrap_or(f64::NAN);
                let text = if m >= 100.0 { format!("{m:.0}") } else { format!("{m:.1}") };
                if runs.len() < asked as usize {
                    format!("{text} ({}x)", runs.len())
                } else {
                    text
                }
            }
            Outcome::Failed(_) => "failed".into(),
            Outcome::Timeout(_) => "timeout".into(),
            Outcome::OverMemory(_) => "over RSS".into(),
        }
    }

    pub fn rss_cell(&self) -> String {
        self.peak_rss_mb.map_or_else(|| "n/a".into(), |mb| format!("{mb:.0}"))
    }
}

pub fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    Some(if v.len() % 2 == 1 { v[mid] } else { (v[mid - 1] + v[mid]) / 2.0 })
}

/// `100k`, `1m`, `10m`, `2500`: a number of interactions.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim().to_ascii_lowercase();
    let (digits, factor) = match t.strip_suffix('k') {
        Some(d) => (d, 1_000),
        None => match t.strip_suffix('m') {
            Some(d) => (d, 1_000_000),
            None => (t.as_str(), 1),
        },
    };
    match digits.parse::<u64>() {
        Ok(n) if (1_000..=100_000_000).contains(&(n * factor)) => Ok(n * factor),
        _ => Err(format!("{text:?} is not a size between 1k and 100m (e.g. 100k, 1m, 10m)")),
    }
}

/// `100000` → `100k`, `10000000` → `10m`.
pub fn size_label(size: u64) -> String {
    if size.is_multiple_of(1_000_000) {
        format!("{}m", size / 1_000_000)
    } else if size.is_multiple_of(1_000) {
        format!("{}k", size / 1_000)
    } else {
        size.to_string()
    }
}

/// The table: one row per path, for each size its median ms and peak RSS MB.
pub fn format_table(title: &str, sizes: &[u64], names: &[String], cells: &[Vec<Measured>], runs: u32) -> String {
    let width = names.iter().map(String::len).max().unwrap_or(4).max(4);
    let mut out = format!("{title}\n{:<width$}", "path");
    for size in sizes {
        let label = size_label(*size);
        out.push_str(&format!("  {:>14} {:>7}", format!("{label} ms"), "MB"));
    }
    out.push('\n');
    for (name, row) in names.iter().zip(cells) {
        out.push_str(&format!("{name:<width$}"));
        for cell in row {
            out.push_str(&format!("  {:>14} {:>7}", cell.time_cell(runs), cell.rss_cell()));
        }
        out.push('\n');
    }
    out
}

/// One target line of the largest size: the p50 and the peak RSS, each met or MISSED.
pub fn target_line(name: &str, width: usize, target: Option<Target>, m: &Measured) -> (String, bool) {
    let (time, time_met) = match (target, &m.outcome) {
        (None, _) => ("no time target".to_string(), true),
        (Some(t), Outcome::Ok { .. }) => {
            let p50 = m.median_ms().unwrap_or(f64::INFINITY);
            let met = p50 <= t.p50_ms();
            (format!("p50 {p50:>9.1} ms  <= {:>4} ms  {}", t.p50_ms(), verdict(met)), met)
        }
        (Some(t), Outcome::Timeout(s)) => (format!("timeout ({s} s)   <= {:>4} ms  MISSED", t.p50_ms()), false),
        (Some(t), Outcome::Failed(_)) => (format!("failed            <= {:>4} ms  MISSED", t.p50_ms()), false),
        (Some(t), Outcome::OverMemory(mb)) => (format!("stopped at {mb} MB   <= {:>4} ms  MISSED", t.p50_ms()), false),
    };
    let (rss, rss_met) = match m.peak_rss_mb {
        Some(mb) => {
            let met = mb <= PEAK_RSS_TARGET_MB;
            (format!("peak {mb:>6.0} MB <= {PEAK_RSS_TARGET_MB:.0} MB  {}", verdict(met)), met)
        }
        None => ("peak RSS n/a".to_string(), true),
    };
    (format!("  {name:<width$}  {time:<40}  {rss}"), time_met && rss_met)
}

fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "MISSED"
    }
}

// ---------------------------------------------------------------------------------------
// Peak RSS of this process

/// Hands the memory freed by the path before back to the OS (glibc keeps it otherwise),
/// then resets the peak RSS (`VmHWM`) to the current RSS; false when the kernel refuses.
fn reset_peak_rss() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        extern "C" {
            fn malloc_trim(pad: usize) -> i32;
        }
        // SAFETY: glibc's malloc_trim only releases free heap memory; it has no preconditions.
        unsafe {
            malloc_trim(0);
        }
    }
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// `VmHWM` (peak) or `VmRSS` (current) of this process, MiB.
fn rss_mb(field: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// The path being measured, for the hard bound's message.
static CURRENT_PATH: std::sync::Mutex<String> = std::sync::Mutex::new(String::new());

/// The soft bound (`--max-rss-mb`) is checked where a run awaits; a run that allocates
/// without awaiting (the conversion page at 10m went to 13.8 GB) passes it. This thread
/// ends the process when the RSS reaches three times the bound, so the machine keeps its
/// memory; the sizes already measured are lost then, the progress lines on stderr stay.
fn spawn_hard_bound(max_rss_mb: u64) {
    let hard = max_rss_mb as f64 * 3.0;
    std::thread::spawn(move || loop {
        std::thread::sleep(Duration::from_millis(50));
        if rss_mb("VmRSS:").is_some_and(|mb| mb > hard) {
            let path = CURRENT_PATH.lock().map(|p| p.clone()).unwrap_or_default();
            eprintln!("error: {path:?} took the RSS past {hard:.0} MB (3 x --max-rss-mb) without stopping; exiting");
            std::process::exit(3);
        }
    });
}

// ---------------------------------------------------------------------------------------
// The run

struct SizeRun {
    size: u64,
    fill_secs: f64,
    reused: Option<String>,
    counts: Option<reads_fill::Counts>,
    results: Vec<Measured>,
}

pub async fn run(args: ReadsArgs) -> anyhow::Result<ExitCode> {
    if args.reuse && args.data_dir.is_none() && args.database.is_none() {
        anyhow::bail!("--reuse needs --data-dir DIR (where the SQLite files are kept) or --database URL");
    }
    if args.database.is_some() && args.data_dir.is_some() {
        anyhow::bail!("--data-dir keeps SQLite files; with --database, --reuse keeps a database per size");
    }
    spawn_hard_bound(args.max_rss_mb);
    let scratch = std::env::temp_dir().join(format!("alpes-bench-reads-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&scratch)?;
    let kind = if args.database.is_some() { "postgresql" } else { "sqlite" };
    let mut done: Vec<SizeRun> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    let mut targets: Vec<Option<Target>> = Vec::new();
    let mut outcome = Ok(());
    for &size in &args.sizes {
        match measure_size(&args, size, &scratch).await {
            Ok((run, paths)) => {
                if names.is_empty() {
                    names = paths.iter().map(|p| p.name.clone()).collect();
                    targets = paths.iter().map(|p| p.target).collect();
                }
                done.push(run);
            }
            Err(err) => {
                outcome = Err(err.context(format!("size {}", size_label(size))));
                break;
            }
        }
    }
    if !args.keep {
        let _ = std::fs::remove_dir_all(&scratch);
    } else {
        eprintln!("kept {}", scratch.display());
    }
    if done.is_empty() {
        return outcome.map(|()| ExitCode::FAILURE);
    }
    let failed = outcome.is_err();
    if let Err(err) = &outcome {
        eprintln!("error: {err:#} (the sizes before it are reported)");
    }

    let sizes: Vec<u64> = done.iter().map(|r| r.size).collect();
    let cells: Vec<Vec<Measured>> =
        (0..names.len()).map(|i| done.iter().map(|r| r.results[i].clone()).collect()).collect();
    let label = if kind == "sqlite" { "SQLite" } else { "PostgreSQL" };
    println!();
    for run in &done {
        let how = match &run.reused {
            Some(built) => format!("reused (built {built})"),
            None => format!("filled in {:.1} s", run.fill_secs),
        };
        println!("{label} {}: {how}", size_label(run.size));
    }
    print!(
        "{}",
        format_table(
            &format!("{label}: median of {} runs (ms) and peak RSS (MB) per read path", args.runs),
            &sizes,
            &names,
            &cells,
            args.runs
        )
    );
    let largest = done.last().expect("one size at least");
    let width = names.iter().map(String::len).max().unwrap_or(4);
    println!("\ntargets ({})", size_label(largest.size));
    let mut all_met = true;
    let mut target_json = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let (line, met) = target_line(name, width, targets[i], &largest.results[i]);
        println!("{line}");
        all_met &= met;
        target_json.push(json!({
            "path": name,
            "p50_target_ms": targets[i].map(Target::p50_ms),
            "p50_ms": largest.results[i].median_ms(),
            "peak_rss_mb": largest.results[i].peak_rss_mb,
            "met": met,
        }));
    }
    for (name, row) in names.iter().zip(&cells) {
        for (size, m) in sizes.iter().zip(row) {
            if let Outcome::Failed(err) = &m.outcome {
                println!("  {name} ({}) failed: {err}", size_label(*size));
            }
        }
    }
    let paths_json: Vec<Value> = names
        .iter()
        .zip(&cells)
        .map(|(name, row)| {
            json!({
                "path": name,
                "results": sizes.iter().zip(row).map(|(size, m)| json!({
                    "size": size,
                    "median_ms": m.median_ms(),
                    "runs_ms": match &m.outcome { Outcome::Ok { runs } => json!(runs), _ => json!([]) },
                    "status": match &m.outcome { Outcome::Ok { .. } => "ok", Outcome::Failed(_) => "failed", Outcome::Timeout(_) => "timeout", Outcome::OverMemory(_) => "over_rss" },
                    "error": match &m.outcome { Outcome::Failed(e) => json!(e), _ => Value::Null },
                    "peak_rss_mb": m.peak_rss_mb,
                    "base_rss_mb": m.base_rss_mb,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let fills: Vec<Value> = done
        .iter()
        .map(|r| {
            json!({
                "size": r.size,
                "fill_secs": r.fill_secs,
                "reused_built_at": r.reused,
                "rows": r.counts.as_ref().map(|c| json!({
                    "interactions": c.interactions, "clicks": c.clicks, "people": c.people,
                    "conversions": c.conversions, "attributed": c.attributed, "credits": c.credits,
                    "commissions": c.commissions, "orders": c.orders,
                })),
            })
        })
        .collect();
    println!(
        "{}",
        json!({
            "mode": "reads",
            "database": kind,
            "runs": args.runs,
            "timeout_secs": args.timeout_secs,
            "sizes": sizes,
            "fill": fills,
            "paths": paths_json,
            "targets": {"size": largest.size, "lines": target_json, "met": all_met},
            "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        })
    );
    if failed {
        return Ok(ExitCode::FAILURE);
    }
    Ok(if args.check && !all_met { ExitCode::from(2) } else { ExitCode::SUCCESS })
}

/// Builds (or reuses) the database of one size, then measures every path on it.
async fn measure_size(args: &ReadsArgs, size: u64, scratch: &Path) -> anyhow::Result<(SizeRun, Vec<ReadPath>)> {
    let dir = scratch.join(size_label(size));
    std::fs::create_dir_all(&dir)?;
    let (database, sqlite_file): (BenchDatabase, Option<PathBuf>) = match (&args.database, &args.data_dir) {
        (Some(url), _) if args.reuse => {
            (BenchDatabase::kept_postgres(url, &format!("alpes_bench_reads_{size}"))?, None)
        }
        (Some(url), _) => (BenchDatabase::prepare(Some(url), &dir, args.keep)?, None),
        (None, Some(kept)) => {
            std::fs::create_dir_all(kept)?;
            let file = kept.join(format!("reads-{size}.sqlite"));
            (BenchDatabase::Sqlite { url: format!("sqlite://{}?mode=rwc", file.display()) }, Some(file))
        }
        (None, None) => {
            let file = dir.join("alpes.db");
            (BenchDatabase::Sqlite { url: format!("sqlite://{}?mode=rwc", file.display()) }, Some(file))
        }
    };
    let mut config = Config::for_database(database.url(), dir.clone());
    // The service's own limit on reports (ALPES_REPORT_TIMEOUT_MS) sits above the bench's,
    // so a slow path shows its time or the bench's timeout, not the service's TIMEOUT.
    config.report_timeout_ms = (args.timeout_secs * 1000 + 10_000).min(600_000);

    let mut reused = None;
    let exists = sqlite_file.as_ref().map_or(args.database.is_some(), |f| f.exists());
    if args.reuse && exists {
        let conn = db::connect(&config).await?;
        db::migrate(&conn).await?;
        match reads_fill::read_meta(&conn).await {
            Some((kept_size, format, built)) if kept_size == size && format == reads_fill::FORMAT => {
                eprintln!("{}: reusing {} (built {built})", size_label(size), database.label());
                // Data kept from an older build lacks what newer migrations derive.
                let shares = attribution::backfill_shares(&conn, &config.attribution).await?;
                if shares > 0 {
                    eprintln!("  attribution shares computed for {shares} conversions of the kept data");
                }
                reused = Some(built);
            }
            _ => eprintln!("{}: {} is incomplete or of another format; rebuilding", size_label(size), database.label()),
        }
        conn.close().await?;
    }
    let mut counts = None;
    let mut fill_secs = 0.0;
    if reused.is_none() {
        if let Some(file) = &sqlite_file {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
            }
        } else if args.reuse {
            database.recreate()?;
        }
        let started = Instant::now();
        let built_at = Utc::now();
        let conn = db::connect(&config).await?;
        db::migrate(&conn).await?;
        eprintln!("{} {}: migrated; writing {size} interactions", database.label(), size_label(size));
        let progress = |line: String| eprintln!("{line}");
        let written = if sqlite_file.is_some() {
            // A connection of its own for the bulk writes: no journal, no syncs, a big cache.
            conn.close().await?;
            let mut options = ConnectOptions::new(database.url().to_string());
            options.max_connections(1).min_connections(1).sqlx_logging(false).map_sqlx_sqlite_opts(|o| {
                o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Off)
                    .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Off)
                    .foreign_keys(false)
                    .pragma("cache_size", "-524288")
            });
            let fill_conn = Database::connect(options).await?;
            let written = reads_fill::fill(&fill_conn, size, args.seed, built_at, &progress).await?;
            fill_conn.close().await?;
            written
        } else {
            let written = reads_fill::fill(&conn, size, args.seed, built_at, &progress).await?;
            conn.close().await?;
            written
        };
        eprintln!("  rebuilding the rollups, ANALYZE");
        let conn = db::connect(&config).await?;
        reads_fill::finish(&conn, &config.attribution).await?;
        if sqlite_file.is_some() || args.reuse {
            reads_fill::write_meta(&conn, size, built_at).await?;
        }
        conn.close().await?;
        fill_secs = started.elapsed().as_secs_f64();
        eprintln!(
            "{} {}: {} interactions ({} clicks, {} people), {} conversions ({} attributed, {} credits), {} commissions, {} orders; filled in {fill_secs:.1} s",
            database.label(),
            size_label(size),
            written.interactions,
            written.clicks,
            written.people,
            written.conversions,
            written.attributed,
            written.credits,
            written.commissions,
            written.orders
        );
        counts = Some(written);
    }

    // A fresh pool and a fresh service: nothing of the fill stays in this process.
    let conn = db::connect(&config).await?;
    let fixtures = fixtures(&conn).await?;
    let app = App::new(conn, config, JwtKeys::from_secret(b"bench-secret-bench-secret-bench-secret"));
    let today = Utc::now().date_naive();
    let mut paths = paths(&fixtures, today);
    if let Some(only) = &args.only {
        paths.retain(|p| p.name.contains(only.as_str()));
    }
    let mut results = Vec::with_capacity(paths.len());
    for path in &paths {
        let measured = measure_path(&app, path, args).await;
        let shown = match &measured.outcome {
            Outcome::Failed(e) => format!("FAILED: {e}"),
            _ => format!(
                "{}{}, peak {} MB (from {} MB){}",
                measured.time_cell(args.runs),
                if matches!(measured.outcome, Outcome::Ok { .. }) { " ms" } else { "" },
                measured.rss_cell(),
                measured.base_rss_mb.map_or_else(|| "n/a".into(), |mb| format!("{mb:.0}")),
                if measured.note.is_empty() { String::new() } else { format!(" ({})", measured.note) }
            ),
        };
        eprintln!("  {:<40} {shown}", path.name);
        results.push(measured);
    }
    drop(app);
    if sqlite_file.is_some() && args.data_dir.is_none() && !args.keep {
        let _ = std::fs::remove_dir_all(&dir);
    }
    drop(database);
    Ok((SizeRun { size, fill_secs, reused, counts, results }, paths))
}

async fn fixtures(conn: &DatabaseConnection) -> anyhow::Result<Fixtures> {
    let backend = conn.get_database_backend();
    let one = |sql: &str| Statement::from_string(backend, sql.to_string());
    let affiliate: Uuid = conn
        .query_one_raw(one("SELECT id FROM affiliates WHERE code = 'bench-af-0'"))
        .await?
        .ok_or_else(|| anyhow::anyhow!("the affiliate bench-af-0 is missing"))?
        .try_get("", "id")?;
    let param = match backend {
        DbBackend::Postgres => "$1",
        _ => "?",
    };
    let row = conn
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            format!(
                "SELECT id, campaign_id FROM conversions WHERE affiliate_id = {param} AND status = 'ATTRIBUTED' \
                 ORDER BY occurred_at DESC LIMIT 1"
            ),
            [affiliate.into()],
        ))
        .await?
        .ok_or_else(|| anyhow::anyhow!("bench-af-0 has no attributed conversion"))?;
    Ok(Fixtures { affiliate, campaign: row.try_get("", "campaign_id")?, conversion: row.try_get("", "id")? })
}

/// One warm-up, then up to `--runs` runs (fewer once the path has taken
/// `--path-budget-secs`); each bounded by `--timeout-secs`.
async fn measure_path(app: &App, path: &ReadPath, args: &ReadsArgs) -> Measured {
    let limit = Duration::from_secs(args.timeout_secs);
    let budget = Duration::from_secs(args.path_budget_secs);
    if let Ok(mut current) = CURRENT_PATH.lock() {
        *current = path.name.clone();
    }
    let rss_reset = reset_peak_rss();
    let base_rss_mb = rss_mb("VmRSS:");
    let started = Instant::now();
    let once = || async {
        let mut request =
            async_graphql::Request::new(path.query).variables(Variables::from_json(path.variables.clone()));
        request.data = graphql::request_data(&app.state, Some(path.who.caller()));
        let t0 = Instant::now();
        // RSS is sampled while the path runs; past --max-rss-mb the run is dropped, which
        // frees what it held, instead of taking the machine's memory.
        let watch = async {
            loop {
                tokio::time::sleep(Duration::from_millis(20)).await;
                if rss_mb("VmRSS:").is_some_and(|mb| mb > args.max_rss_mb as f64) {
                    break;
                }
            }
        };
        let answer = tokio::select! {
            answer = tokio::time::timeout(limit, app.schema.execute(request)) => Some(answer),
            () = watch => None,
        };
        let response = match answer {
            None => Err(Outcome::OverMemory(args.max_rss_mb)),
            Some(Err(_)) => Err(Outcome::Timeout(args.timeout_secs)),
            Some(Ok(response)) if !response.errors.is_empty() => {
                let errors: Vec<String> = response.errors.iter().map(|e| e.message.clone()).collect();
                Err(Outcome::Failed(errors.join("; ")))
            }
            Some(Ok(response)) => Ok(response),
        };
        (t0.elapsed(), response)
    };
    let mut note = String::new();
    let outcome = match once().await {
        (_, Err(outcome)) => outcome,
        (first_took, Ok(first)) => {
            // The warm-up's time is the cold one (a cache the path fills, e.g. Markov's counts).
            note = format!(
                "{}, warm-up {:.0} ms",
                note_of(&first.data.into_json().unwrap_or_default()),
                first_took.as_secs_f64() * 1e3
            );
            let mut runs = Vec::new();
            let mut stopped = None;
            for _ in 0..args.runs {
                if !runs.is_empty() && started.elapsed() >= budget {
                    break;
                }
                match once().await {
                    (_, Err(outcome)) => {
                        stopped = Some(outcome);
                        break;
                    }
                    (took, Ok(_)) => runs.push(took.as_secs_f64() * 1e3),
                }
            }
            stopped.unwrap_or(Outcome::Ok { runs })
        }
    };
    let peak_rss_mb = if rss_reset { rss_mb("VmHWM:") } else { None };
    Measured { outcome, peak_rss_mb, base_rss_mb, note }
}

/// What an answer read: `totalCount`, or the conversions a report or dashboard counted.
fn note_of(data: &Value) -> String {
    let Some((field, value)) = data.as_object().and_then(|o| o.iter().next()) else { return String::new() };
    if let Some(total) = value.get("totalCount") {
        return format!("totalCount {total}");
    }
    match field.as_str() {
        "attributionReport" => {
            format!("{} conversions, {} rows", value["conversions"], value["rows"].as_array().map_or(0, Vec::len))
        }
        "dashboard" | "conversionMetrics" => {
            format!("{} clicks, {} conversions", value["clicks"], value["conversions"])
        }
        "conversion" => format!("{} touches", value["journey"]["touchpoints"].as_array().map_or(0, Vec::len)),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_their_suffixes() {
        assert_eq!(parse_size("100k"), Ok(100_000));
        assert_eq!(parse_size("1m"), Ok(1_000_000));
        assert_eq!(parse_size("10M"), Ok(10_000_000));
        assert_eq!(parse_size("2500"), Ok(2_500));
        assert!(parse_size("1.5m").is_err());
        assert!(parse_size("10").is_err());
        assert!(parse_size("").is_err());
        assert!(parse_size("m").is_err());
        assert_eq!(size_label(100_000), "100k");
        assert_eq!(size_label(10_000_000), "10m");
        assert_eq!(size_label(2_500), "2500");
    }

    #[test]
    fn the_median_of_odd_and_even_runs() {
        assert_eq!(median(&[5.0, 1.0, 3.0]), Some(3.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn the_table_has_a_column_pair_per_size_and_says_timeout_and_failed() {
        let ok = |runs: Vec<f64>, mb| Measured {
            outcome: Outcome::Ok { runs },
            peak_rss_mb: mb,
            base_rss_mb: None,
            note: String::new(),
        };
        let names = vec!["dashboard 30d".to_string(), "attributionReport MARKOV".to_string()];
        let cells = vec![
            vec![ok(vec![1.0, 2.0, 3.0, 4.0, 5.0], Some(40.4)), ok(vec![120.0; 5], Some(41.0))],
            vec![
                ok(vec![250.0, 260.0], None),
                Measured {
                    outcome: Outcome::Timeout(120),
                    peak_rss_mb: Some(2048.0),
                    base_rss_mb: None,
                    note: String::new(),
                },
            ],
        ];
        let table = format_table("t", &[100_000, 1_000_000], &names, &cells, 5);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines[0], "t");
        assert!(lines[1].starts_with("path") && lines[1].contains("100k ms") && lines[1].contains("1m ms"));
        assert!(lines[2].starts_with("dashboard 30d ") && lines[2].contains("3.0") && lines[2].contains("120"));
        assert!(lines[3].contains("255 (2x)") && lines[3].contains("n/a") && lines[3].contains("timeout"));
        assert!(lines[3].contains("2048"));
        // Every row lines up with the header.
        assert!(lines[1..].iter().all(|l| l.len() == lines[1].len()));

        let (line, met) = target_line("attributionReport MARKOV", 24, Some(Target::Markov), &cells[1][1]);
        assert!(!met && line.contains("timeout") && line.contains("MISSED"));
        let (line, met) = target_line("dashboard 30d", 24, Some(Target::Dashboard), &cells[0][1]);
        assert!(met && line.contains("p50") && !line.contains("MISSED"), "{line}");
        let failed = Measured {
            outcome: Outcome::Failed("boom".into()),
            peak_rss_mb: Some(10.0),
            base_rss_mb: None,
            note: String::new(),
        };
        assert!(!target_line("x", 4, Some(Target::List), &failed).1);
        assert!(target_line("x", 4, None, &failed).1);
        let heavy = Measured { outcome: Outcome::OverMemory(4096), ..failed };
        assert_eq!(heavy.time_cell(5), "over RSS");
        assert!(!target_line("x", 4, Some(Target::Markov), &heavy).1);
    }
}
