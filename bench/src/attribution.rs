//! `attribution`: the attribution engine's pure functions, in process, on one core.
//! A Markov fit over random journeys (path aggregation included) and the heuristic models
//! on one long journey, against their targets.

use std::hint::black_box;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use ::alpes::domain::attribution::{split_amount, weights, AttributionModel, MarkovCounts, MarkovModel, Touchpoint};
use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;

use crate::cli::AttributionArgs;

const MARKOV_TARGET: Duration = Duration::from_millis(300);
const HEURISTIC_TARGET: Duration = Duration::from_micros(100);

pub fn run(args: AttributionArgs) -> anyhow::Result<ExitCode> {
    let mut rng = StdRng::seed_from_u64(args.seed);
    let names: Vec<String> = (0..args.channels).map(|c| format!("channel_{c:02}")).collect();

    // Journeys: 1 to 8 touches, repeats allowed (they collapse), ~5 % convert, more when the
    // first channels are on the path, so the removal effects differ.
    let journeys: Vec<(Vec<&str>, bool)> = (0..args.journeys)
        .map(|_| {
            let len = rng.gen_range(1..=8);
            let path: Vec<&str> = (0..len).map(|_| names[rng.gen_range(0..names.len())].as_str()).collect();
            let boost = path.iter().filter(|c| **c == names[0] || **c == names[names.len() / 2]).count() as f64;
            let converted = rng.gen_bool((0.03 + 0.04 * boost).min(1.0));
            (path, converted)
        })
        .collect();
    let touches: usize = journeys.iter().map(|(p, _)| p.len()).sum();

    // The Markov fit: counting + solving, best and median of the runs.
    let mut fits = Vec::with_capacity(args.runs as usize);
    let mut model = None;
    for _ in 0..args.runs {
        let started = Instant::now();
        let mut counts = MarkovCounts::new();
        for (path, converted) in &journeys {
            counts.add_path(path, *converted);
        }
        let fitted = counts.fit();
        fits.push(started.elapsed());
        model = Some(black_box(fitted));
    }
    fits.sort();
    let model = model.ok_or_else(|| anyhow::anyhow!("no run"))?;

    // Solving alone (the 1 + channels linear systems).
    let mut counts = MarkovCounts::new();
    for (path, converted) in &journeys {
        counts.add_path(path, *converted);
    }
    let started = Instant::now();
    black_box(counts.fit());
    let solve = started.elapsed();

    // One conversion with 100 touchpoints: weights + the money split, per model.
    let conversion_at: DateTime<Utc> = Utc::now();
    let journey: Vec<Touchpoint> = (0..args.touches)
        .map(|k| Touchpoint {
            id: uuid::Uuid::new_v4(),
            at: conversion_at
                - chrono::Duration::minutes(rng.gen_range(0..30 * 24 * 60))
                - chrono::Duration::seconds(k.into()),
            channel: names[rng.gen_range(0..names.len())].clone(),
            campaign: None,
            affiliate: None,
            is_click: rng.gen_bool(0.5),
        })
        .collect();
    let total = Decimal::new(1_234_567, 2);
    let models = [
        AttributionModel::LastClick,
        AttributionModel::FirstClick,
        AttributionModel::Linear,
        AttributionModel::TIME_DECAY_DEFAULT,
        AttributionModel::PositionBased,
    ];
    let iterations = 2_000u32;
    let mut heuristic: Vec<(String, Duration)> = models
        .iter()
        .map(|model| {
            let started = Instant::now();
            for _ in 0..iterations {
                let w = weights(black_box(model), black_box(&journey), conversion_at);
                black_box(split_amount(total, 2, &w));
            }
            (model.code().to_owned(), started.elapsed() / iterations)
        })
        .collect();
    let started = Instant::now();
    for _ in 0..iterations {
        let w = black_box(&model).touchpoint_weights(black_box(&journey));
        black_box(split_amount(total, 2, &w));
    }
    heuristic.push(("MARKOV (fitted)".to_owned(), started.elapsed() / iterations));
    let slowest = heuristic.iter().map(|(_, d)| *d).max().unwrap_or_default();

    let best = fits.first().copied().unwrap_or_default();
    let median = fits.get(fits.len() / 2).copied().unwrap_or_default();
    let markov_ok = median <= MARKOV_TARGET;
    let heuristic_ok = slowest <= HEURISTIC_TARGET;
    print_report(&args, touches, &model, best, median, solve, &heuristic, markov_ok, heuristic_ok);

    let json = serde_json::json!({
        "mode": "attribution",
        "journeys": args.journeys,
        "channels": args.channels,
        "touches": touches,
        "markov_fit_ms_best": best.as_secs_f64() * 1e3,
        "markov_fit_ms_median": median.as_secs_f64() * 1e3,
        "markov_solve_ms": solve.as_secs_f64() * 1e3,
        "markov_target_ms": MARKOV_TARGET.as_secs_f64() * 1e3,
        "heuristic_touches": args.touches,
        "heuristic_us": heuristic.iter().map(|(m, d)| (m.clone(), serde_json::json!(d.as_secs_f64() * 1e6))).collect::<serde_json::Map<_, _>>(),
        "heuristic_target_us": HEURISTIC_TARGET.as_secs_f64() * 1e6,
        "targets_met": markov_ok && heuristic_ok,
    });
    println!("{json}");
    Ok(if args.check && !(markov_ok && heuristic_ok) { ExitCode::from(2) } else { ExitCode::SUCCESS })
}

#[allow(clippy::too_many_arguments)]
fn print_report(
    args: &AttributionArgs,
    touches: usize,
    model: &MarkovModel,
    best: Duration,
    median: Duration,
    solve: Duration,
    heuristic: &[(String, Duration)],
    markov_ok: bool,
    heuristic_ok: bool,
) {
    let verdict = |ok: bool| if ok { "ok" } else { "MISSED" };
    eprintln!(
        "Markov fit: {} journeys, {} touches, {} channels, {} conversions (P = {:.4}), {} runs",
        args.journeys,
        touches,
        args.channels,
        model.conversions(),
        model.conversion_probability(),
        args.runs
    );
    eprintln!(
        "  fit (aggregation + solve): best {:.1} ms, median {:.1} ms   target ≤ {} ms  {}",
        best.as_secs_f64() * 1e3,
        median.as_secs_f64() * 1e3,
        MARKOV_TARGET.as_millis(),
        verdict(markov_ok)
    );
    eprintln!("  solve alone ({} systems): {:.3} ms", args.channels + 1, solve.as_secs_f64() * 1e3);
    let mut effects: Vec<(&str, f64)> = model.channels().collect();
    effects.sort_by(|a, b| b.1.total_cmp(&a.1));
    let top: Vec<String> = effects.iter().take(3).map(|(c, e)| format!("{c} {e:.4}")).collect();
    eprintln!("  highest removal effects: {}", top.join(", "));
    eprintln!("Heuristic attribution of one conversion with {} touchpoints (weights + money split):", args.touches);
    for (name, took) in heuristic {
        eprintln!("  {name:<16} {:>8.2} µs", took.as_secs_f64() * 1e6);
    }
    eprintln!("  target ≤ {} µs each  {}", HEURISTIC_TARGET.as_micros(), verdict(heuristic_ok));
}
