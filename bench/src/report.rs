//! The results of `ingest`: one row per phase, the targets, a table for people and a JSON
//! line for pasting. The rows, targets and their printing are shared with `stripe`.

use std::io::{self, Write};

use serde_json::{json, Value};

use crate::load::LoadResult;

/// Alpes ingest requests/s as a share of the bare route's, in %, by database.
const RATIO_TARGET_SQLITE_PCT: f64 = 40.0;
const RATIO_TARGET_POSTGRES_PCT: f64 = 25.0;
/// p99 latency at half the maximum rate.
const HALF_RATE_P99_TARGET_MS: f64 = 25.0;
/// Peak resident memory of the Alpes process.
const RSS_TARGET_MB: f64 = 150.0;
/// Error kinds printed per phase.
const ERROR_SAMPLES: usize = 5;

const MIB: f64 = 1024.0 * 1024.0;

/// One phase's figures.
#[derive(Debug, Clone)]
pub struct PhaseRow {
    pub label: &'static str,
    /// The open-loop rate asked for, if this was an open-loop phase.
    pub target_rps: Option<f64>,
    pub rps: f64,
    pub ok: u64,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub max_ms: Option<f64>,
    pub errors: u64,
    pub error_kinds: Vec<(String, u64)>,
    pub peak_rss_mb: Option<f64>,
}

impl PhaseRow {
    pub fn new(label: &'static str, result: &LoadResult, target_rps: Option<f64>, peak_rss_bytes: Option<u64>) -> Self {
        Self {
            label,
            target_rps,
            rps: result.rps(),
            ok: result.ok,
            p50_ms: result.percentile_ms(50.0),
            p99_ms: result.percentile_ms(99.0),
            max_ms: result.max_ms(),
            errors: result.errors,
            error_kinds: result.error_kinds.clone(),
            peak_rss_mb: peak_rss_bytes.map(|b| b as f64 / MIB),
        }
    }

    /// One line for the progress on stderr.
    pub fn summary(&self, unit: &str) -> String {
        let ms = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:.2} ms"));
        format!("{:.0} {unit}, p50 {}, p99 {}, {} errors", self.rps, ms(self.p50_ms), ms(self.p99_ms), self.errors)
    }

    pub fn json(&self) -> Value {
        json!({
            "target_rps": self.target_rps.map(|r| round(r, 1)),
            "rps": round(self.rps, 1),
            "ok": self.ok,
            "p50_ms": self.p50_ms.map(|v| round(v, 3)),
            "p99_ms": self.p99_ms.map(|v| round(v, 3)),
            "max_ms": self.max_ms.map(|v| round(v, 3)),
            "errors": self.errors,
            "peak_rss_mb": self.peak_rss_mb.map(|v| round(v, 1)),
        })
    }
}

/// The whole `ingest` run.
#[derive(Debug)]
pub struct Report {
    /// `sqlite` or `postgresql`.
    pub database: &'static str,
    pub connections: u32,
    pub seconds: u64,
    pub warmup: u64,
    pub cores: usize,
    pub bare: PhaseRow,
    pub alpes_max: Option<PhaseRow>,
    pub alpes_half: Option<PhaseRow>,
    /// Why the Alpes phases did not run or did not finish.
    pub alpes_failure: Option<String>,
}

/// One target and whether it was met (`None`: not measured).
pub struct Check {
    /// Its key in the JSON line.
    pub key: &'static str,
    pub name: &'static str,
    pub value: Option<f64>,
    /// Decimals shown in the table and the JSON line.
    pub decimals: usize,
    pub unit: &'static str,
    pub target: String,
    pub met: Option<bool>,
}

impl Check {
    fn shown(&self) -> String {
        self.value.map_or("-".into(), |v| format!("{v:.*} {}", self.decimals, self.unit).trim_end().to_string())
    }
}

/// The phase table: a header and one line per row, `not run` where a phase did not run.
pub fn write_phases(out: &mut impl Write, unit: &str, rows: &[(&str, Option<&PhaseRow>)]) -> io::Result<()> {
    writeln!(
        out,
        "{:<26} {:>10} {:>9} {:>9} {:>9} {:>8} {:>12}",
        "phase", unit, "p50 ms", "p99 ms", "max ms", "errors", "peak RSS MB"
    )?;
    for (label, row) in rows {
        match row {
            Some(row) => writeln!(
                out,
                "{:<26} {:>10} {:>9} {:>9} {:>9} {:>8} {:>12}",
                row.label,
                format!("{:.0}", row.rps),
                ms(row.p50_ms),
                ms(row.p99_ms),
                ms(row.max_ms),
                row.errors,
                row.peak_rss_mb.map_or("-".into(), |v| format!("{v:.1}")),
            )?,
            None => writeln!(out, "{label:<26} {:>10}", "not run")?,
        }
    }
    Ok(())
}

/// `targets` and one line per check: value, target, met / MISSED / not measured.
pub fn write_checks(out: &mut impl Write, checks: &[Check]) -> io::Result<()> {
    writeln!(out, "targets")?;
    for check in checks {
        let verdict = match check.met {
            Some(true) => "met",
            Some(false) => "MISSED",
            None => "not measured",
        };
        writeln!(out, "  {:<26} {:>10}   target {:<24} {verdict}", check.name, check.shown(), check.target)?;
    }
    Ok(())
}

/// The most frequent error kinds of each row that had errors.
pub fn write_errors<'a>(out: &mut impl Write, rows: impl IntoIterator<Item = &'a PhaseRow>) -> io::Result<()> {
    for row in rows {
        if row.error_kinds.is_empty() {
            continue;
        }
        writeln!(out)?;
        writeln!(out, "errors in {} ({} in all):", row.label, row.errors)?;
        for (kind, count) in row.error_kinds.iter().take(ERROR_SAMPLES) {
            writeln!(out, "  {count:>8} x {kind}")?;
        }
    }
    Ok(())
}

/// The checks as the JSON line's `targets` object.
pub fn checks_json(checks: Vec<Check>) -> Value {
    let targets: serde_json::Map<String, Value> = checks
        .into_iter()
        .map(|c| {
            let value = c.value.map(|v| round(v, c.decimals as i32));
            (c.key.to_string(), json!({ "value": value, "target": c.target, "met": c.met }))
        })
        .collect();
    Value::Object(targets)
}

impl Report {
    /// Alpes (max) requests/s as a share of the bare route's, in %.
    pub fn ratio_pct(&self) -> Option<f64> {
        let alpes = self.alpes_max.as_ref()?;
        (self.bare.rps > 0.0).then(|| 100.0 * alpes.rps / self.bare.rps)
    }

    fn ratio_target_pct(&self) -> f64 {
        if self.database == "postgresql" {
            RATIO_TARGET_POSTGRES_PCT
        } else {
            RATIO_TARGET_SQLITE_PCT
        }
    }

    fn alpes_peak_rss_mb(&self) -> Option<f64> {
        [&self.alpes_max, &self.alpes_half].into_iter().flatten().filter_map(|row| row.peak_rss_mb).reduce(f64::max)
    }

    fn checks(&self) -> Vec<Check> {
        let ratio = self.ratio_pct();
        let ratio_target = self.ratio_target_pct();
        let p99 = self.alpes_half.as_ref().and_then(|row| row.p99_ms);
        let rss = self.alpes_peak_rss_mb();
        vec![
            Check {
                key: "ratio",
                name: "alpes / bare requests/s",
                value: ratio,
                decimals: 1,
                unit: "%",
                target: format!(
                    ">= {ratio_target:.0} % ({})",
                    if self.database == "postgresql" { "PostgreSQL" } else { "SQLite" }
                ),
                met: ratio.map(|r| r >= ratio_target),
            },
            Check {
                key: "half_rate_p99",
                name: "p99 at half the max rate",
                value: p99,
                decimals: 1,
                unit: "ms",
                target: format!("<= {HALF_RATE_P99_TARGET_MS:.0} ms"),
                met: p99.map(|v| v <= HALF_RATE_P99_TARGET_MS),
            },
            Check {
                key: "peak_rss",
                name: "alpes peak RSS",
                value: rss,
                decimals: 1,
                unit: "MB",
                target: format!("<= {RSS_TARGET_MB:.0} MB"),
                met: rss.map(|v| v <= RSS_TARGET_MB),
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
            "alpes-bench ingest: POST /tracking/impresiones, {} connections, {} s measured after {} s warm-up, database {}, {} cores",
            self.connections, self.seconds, self.warmup, self.database, self.cores
        )?;
        writeln!(out)?;
        write_phases(
            out,
            "req/s",
            &[
                ("bare axum", Some(&self.bare)),
                ("alpes ingest (max)", self.alpes_max.as_ref()),
                ("alpes ingest (half rate)", self.alpes_half.as_ref()),
            ],
        )?;
        if let Some(rate) = self.alpes_half.as_ref().and_then(|row| row.target_rps) {
            writeln!(
                out,
                "  (half rate: open loop at {rate:.0} req/s = 50 % of the alpes max; latency counts from when each request was due)"
            )?;
        }
        writeln!(out)?;
        write_checks(out, &self.checks())?;
        write_errors(out, [Some(&self.bare), self.alpes_max.as_ref(), self.alpes_half.as_ref()].into_iter().flatten())?;
        if let Some(failure) = &self.alpes_failure {
            writeln!(out)?;
            writeln!(out, "alpes phases failed: {failure}")?;
        }
        writeln!(out)
    }

    pub fn json(&self) -> Value {
        json!({
            "bench": "ingest",
            "database": self.database,
            "connections": self.connections,
            "seconds": self.seconds,
            "warmup_seconds": self.warmup,
            "cores": self.cores,
            "bare": self.bare.json(),
            "alpes_max": self.alpes_max.as_ref().map(PhaseRow::json),
            "alpes_half_rate": self.alpes_half.as_ref().map(PhaseRow::json),
            "ratio_pct": self.ratio_pct().map(|r| round(r, 1)),
            "targets": checks_json(self.checks()),
            "alpes_failure": self.alpes_failure,
        })
    }
}

fn ms(value: Option<f64>) -> String {
    value.map_or("-".into(), |v| format!("{v:.2}"))
}

pub fn round(value: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (value * scale).round() / scale
}

/// Prints a run's table and its JSON line: both on stdout, or with `json_only` the JSON
/// line alone on stdout and the table on stderr.
pub fn print_outcome(
    json_only: bool,
    json: &str,
    table: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    use std::io::Write;
    if json_only {
        table(&mut std::io::stderr())?;
        println!("{json}");
    } else {
        let mut out = std::io::stdout().lock();
        table(&mut out)?;
        writeln!(out, "{json}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(label: &'static str, rps: f64, p99: f64, rss: f64) -> PhaseRow {
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
            peak_rss_mb: Some(rss),
        }
    }

    fn report(database: &'static str) -> Report {
        Report {
            database,
            connections: 64,
            seconds: 10,
            warmup: 2,
            cores: 2,
            bare: row("bare axum", 10_000.0, 2.0, 10.0),
            alpes_max: Some(row("alpes ingest (max)", 3_000.0, 40.0, 120.0)),
            alpes_half: Some(row("alpes ingest (half rate)", 1_500.0, 20.0, 100.0)),
            alpes_failure: None,
        }
    }

    #[test]
    fn targets_depend_on_the_database() {
        let sqlite = report("sqlite");
        assert_eq!(sqlite.ratio_pct(), Some(30.0));
        assert!(!sqlite.all_met());
        let postgres = report("postgresql");
        assert!(postgres.all_met());
        let json = postgres.json();
        assert_eq!(json["targets"]["ratio"]["met"], true);
        assert_eq!(json["targets"]["peak_rss"]["value"], 120.0);
        assert_eq!(json["ratio_pct"], 30.0);
    }

    #[test]
    fn a_missing_phase_is_not_measured_and_not_met() {
        let mut report = report("sqlite");
        report.alpes_half = None;
        report.alpes_max = None;
        assert!(!report.all_met());
        let mut table = Vec::new();
        report.write_table(&mut table).unwrap();
        let table = String::from_utf8(table).unwrap();
        assert!(table.contains("not run"), "{table}");
        assert!(table.contains("not measured"), "{table}");
        assert_eq!(report.json()["alpes_max"], Value::Null);
    }
}
