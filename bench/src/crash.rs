//! `alpes-bench crash`: load Alpes, `kill -9` it mid-load, restart it on the same data,
//! and read back every impression it had acknowledged.

use std::{
    process::ExitCode,
    sync::{atomic::AtomicBool, atomic::Ordering, Arc},
    time::Duration,
};

use anyhow::Context;

use crate::{
    alpes::{self, Alpes, Api},
    cli::CrashArgs,
    database::BenchDatabase,
    load::{self, LoadSpec, Pace},
    payload::Payloads,
    process::{free_loopback_addr, ScratchDir},
};

/// Missing ids printed.
const SAMPLES: usize = 10;

pub async fn run(args: CrashArgs) -> anyhow::Result<ExitCode> {
    let bin = alpes::locate_binary(args.common.alpes_bin.as_deref())?;
    let scratch = ScratchDir::create(args.common.keep)?;
    let data_dir = scratch.path().join("alpes-data");
    std::fs::create_dir_all(&data_dir)?;
    let database = BenchDatabase::prepare(args.common.database.as_deref(), &data_dir, args.common.keep)?;
    let alpes = Alpes::new(bin, data_dir, database.url().to_string());
    let token = alpes.admin_token()?;
    let payloads = Arc::new(Payloads::new());

    eprintln!("[1/3] alpes on {}: starting", database.label());
    let mut server = alpes.start(free_loopback_addr()?, scratch.path().join("alpes.log")).await?;
    let api = Api::new(server.base_url(), token.clone())?;
    if let Err(err) = api.prepare(&payloads).await {
        eprintln!("the alpes log ends with:\n{}", server.log_tail(20));
        return Err(err);
    }

    eprintln!(
        "[2/3] {} connections of load for {} s, then kill -9 (pid {})",
        args.connections,
        args.seconds,
        server.pid()
    );
    let stop = Arc::new(AtomicBool::new(false));
    let spec = LoadSpec {
        addr: server.addr(),
        connections: args.connections,
        pace: Pace::Closed,
        warmup: Duration::ZERO,
        // Ended by `stop` right after the kill; the window only bounds it.
        measure: Duration::from_secs(args.seconds + 60),
        keep_acknowledged: true,
        stop: Some(stop.clone()),
    };
    let load = tokio::spawn(load::run(spec, payloads.clone()));
    tokio::time::sleep(Duration::from_secs(args.seconds)).await;
    server.kill9()?;
    // Each connection's request in flight at the kill fails; then the connections stop.
    stop.store(true, Ordering::Relaxed);
    let result = load.await.context("the load task panicked")??;
    drop(server);
    eprintln!(
        "      killed under load: {} acknowledged (2xx), {} failed (in flight at the kill)",
        result.acknowledged.len(),
        result.errors
    );
    if result.acknowledged.is_empty() {
        anyhow::bail!("no impression was acknowledged before the kill; nothing to check");
    }

    eprintln!("[3/3] restarting alpes on the same data and reading back every acknowledged id");
    let mut server = alpes
        .start(free_loopback_addr()?, scratch.path().join("alpes-restart.log"))
        .await
        .context("restarting alpes after kill -9")?;
    let api = Api::new(server.base_url(), token)?;
    // A control: an id never sent must read back as 404, or "found" would mean nothing.
    let control = api.read_back(vec![payloads.id(u64::MAX)], 1).await;
    if control.missing.len() != 1 {
        anyhow::bail!(
            "GET /tracking/impresiones/<id> of an id never sent did not answer 404 ({control:?}); the read-back cannot be trusted"
        );
    }
    let ids: Vec<String> = result.acknowledged.iter().map(|&n| payloads.id(n)).collect();
    let acknowledged = ids.len();
    let read_back = api.read_back(ids, args.verify_concurrency as usize).await;
    server.stop().await?;

    println!();
    println!("alpes-bench crash: database {}", database.kind());
    println!("  acknowledged  {acknowledged}");
    println!("  found         {}", read_back.found);
    println!("  missing       {}", read_back.missing.len());
    if !read_back.unchecked.is_empty() {
        println!("  not checked   {} (neither 200 nor 404)", read_back.unchecked.len());
    }
    for id in read_back.missing.iter().take(SAMPLES) {
        println!("    missing: {id}");
    }
    for (id, why) in read_back.unchecked.iter().take(SAMPLES) {
        println!("    not checked: {id}: {why}");
    }
    let passed = read_back.missing.is_empty() && read_back.unchecked.is_empty();
    println!(
        "{}",
        serde_json::json!({
            "bench": "crash",
            "database": database.kind(),
            "acknowledged": acknowledged,
            "found": read_back.found,
            "missing": read_back.missing.len(),
            "unchecked": read_back.unchecked.len(),
            "passed": passed,
        })
    );
    if passed {
        println!("every acknowledged impression survived kill -9");
        Ok(ExitCode::SUCCESS)
    } else {
        println!("FAILED: acknowledged impressions are not stored after kill -9");
        Ok(ExitCode::FAILURE)
    }
}
