//! The Alpes server under test: where its binary is, how it is started, and the few API
//! calls the harness makes (fixtures and counts through GraphQL, probes, read-back of ids).

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

use anyhow::{bail, Context};
use futures::StreamExt;
use serde_json::{json, Value};

use crate::{
    load::Workload,
    payload::{is_processed, Payloads, StripeEvents, AFFILIATE_CODE, CAMPAIGN_CODE, INGEST_PATH, STRIPE_PATH},
    process::ServerProcess,
};

/// The HS256 secret Alpes is started with, so `alpes token` and the server agree (40 characters).
pub const JWT_SECRET: &str = "alpes-bench-jwt-secret-0123456789abcdefg";

/// Finds the release `alpes` binary: the one given, or `alpes` in the `release` directory of
/// the target directory this executable was built into.
pub fn locate_binary(given: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(path) = given {
        if path.is_file() {
            return Ok(path.to_path_buf());
        }
        bail!("--alpes-bin {}: no such file", path.display());
    }
    let exe = std::env::current_exe().context("locating this executable")?;
    let mut dir = exe.parent().context("this executable has no directory")?;
    if dir.file_name().is_some_and(|n| n == "deps") {
        dir = dir.parent().unwrap_or(dir);
    }
    if cfg!(debug_assertions) {
        eprintln!(
            "warning: alpes-bench is not a release build; the load generator is slower than it should be (use cargo run --release -p alpes-bench)"
        );
    }
    // `<target>/release/alpes`: next to this executable in a release build.
    let path = dir.parent().unwrap_or(dir).join("release").join("alpes");
    if path.is_file() {
        warn_if_stale(&path);
        return Ok(path);
    }
    bail!(
        "the Alpes server binary is not built (looked for {}).\n\
         Build it first, with the same CARGO_TARGET_DIR as this harness:\n\
         \n    cargo build --release\n\n\
         or point at one with --alpes-bin PATH",
        path.display()
    )
}

/// Warns when a source file of the server is newer than the binary: a forgotten rebuild
/// would measure old code.
fn warn_if_stale(bin: &Path) {
    let Ok(built) = std::fs::metadata(bin).and_then(|m| m.modified()) else {
        return;
    };
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let newest = ["server/src", "entity/src", "migration/src"]
        .iter()
        .filter_map(|dir| newest_modification(&workspace.join(dir)))
        .max();
    if newest.is_some_and(|newest| newest > built) {
        eprintln!(
            "warning: {} is older than the server's sources; run cargo build --release to measure the current code",
            bin.display()
        );
    }
}

fn newest_modification(dir: &Path) -> Option<std::time::SystemTime> {
    let mut newest = None;
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        let modified =
            if path.is_dir() { newest_modification(&path) } else { entry.metadata().and_then(|m| m.modified()).ok() };
        newest = newest.max(modified);
    }
    newest
}

/// How to run Alpes: the binary, its data directory and database.
pub struct Alpes {
    bin: PathBuf,
    data_dir: PathBuf,
    database_url: String,
    stripe_secret: Option<&'static str>,
    env: Vec<(String, String)>,
}

impl Alpes {
    pub fn new(bin: PathBuf, data_dir: PathBuf, database_url: String) -> Self {
        Self { bin, data_dir, database_url, stripe_secret: None, env: Vec::new() }
    }

    /// Starts Alpes with these settings too (the ad platforms' stand-ins, say).
    pub fn with_env(mut self, env: &[(&str, String)]) -> Self {
        self.env.extend(env.iter().map(|(k, v)| (k.to_string(), v.clone())));
        self
    }

    /// Starts Alpes (and runs `alpes token`) with `STRIPE_WEBHOOK_SECRET=secret`.
    pub fn with_stripe_secret(mut self, secret: &'static str) -> Self {
        self.stripe_secret = Some(secret);
        self
    }

    /// `alpes <args>` with a clean environment: nothing inherited from the caller's
    /// `ALPES_*`, `STRIPE_*` or `DATABASE_URL` settings.
    fn command(&self, addr: SocketAddr) -> Command {
        let mut command = Command::new(&self.bin);
        for (key, _) in std::env::vars_os() {
            let name = key.to_string_lossy();
            if name.starts_with("ALPES_") || name.starts_with("STRIPE_") {
                command.env_remove(key);
            }
        }
        if let Some(secret) = self.stripe_secret {
            command.env("STRIPE_WEBHOOK_SECRET", secret);
        }
        command.envs(self.env.iter().map(|(k, v)| (k, v)));
        command
            .env("ALPES_ADDR", addr.to_string())
            .env("ALPES_DATA_DIR", &self.data_dir)
            .env("DATABASE_URL", &self.database_url)
            .env("ALPES_JWT_SECRET", JWT_SECRET)
            .env("ALPES_INGEST_RATE_LIMIT_PER_IP", "0")
            .env("RUST_LOG", "warn");
        command
    }

    /// Starts `alpes serve` on `addr` and waits for `GET /health`.
    pub async fn start(&self, addr: SocketAddr, log: PathBuf) -> anyhow::Result<ServerProcess> {
        let mut command = self.command(addr);
        command.arg("serve");
        let mut server = ServerProcess::spawn("alpes", command, addr, log)?;
        server.wait_healthy().await?;
        Ok(server)
    }

    /// An ADMIN token from `alpes token --role ADMIN`, signed with the same secret.
    pub fn admin_token(&self) -> anyhow::Result<String> {
        let addr = SocketAddr::from(([127, 0, 0, 1], 0));
        let output = self
            .command(addr)
            .args(["token", "--role", "ADMIN"])
            .output()
            .with_context(|| format!("running {} token", self.bin.display()))?;
        let token = String::from_utf8_lossy(&output.stdout).trim().to_string();
        if !output.status.success() || token.split('.').count() != 3 {
            let stderr = String::from_utf8_lossy(&output.stderr);
            bail!(
                "`{} token --role ADMIN` did not print a token ({}): {}",
                self.bin.display(),
                output.status,
                if stderr.trim().is_empty() { "no output" } else { stderr.trim() }
            );
        }
        Ok(token)
    }
}

/// A client for the calls the harness makes to a running Alpes.
pub struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    pub fn new(base: String, token: String) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build()?;
        Ok(Self { http, base, token })
    }

    async fn graphql(&self, query: &str, variables: Value) -> anyhow::Result<Value> {
        let response = self
            .http
            .post(format!("{}/graphql", self.base))
            .bearer_auth(&self.token)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .context("POST /graphql")?;
        let status = response.status();
        let text = response.text().await?;
        let body: Value =
            serde_json::from_str(&text).with_context(|| format!("POST /graphql answered {status}: {text}"))?;
        if let Some(errors) = body["errors"].as_array().filter(|e| !e.is_empty()) {
            let messages: Vec<String> = errors
                .iter()
                .map(|e| {
                    format!(
                        "{} ({})",
                        e["message"].as_str().unwrap_or("?"),
                        e["extensions"]["code"].as_str().unwrap_or("no code")
                    )
                })
                .collect();
            bail!("GraphQL error: {}", messages.join("; "));
        }
        Ok(body["data"].clone())
    }

    /// The campaign `cmp-456` (active) and the affiliate `inf-789` every body names.
    pub async fn create_fixtures(&self) -> anyhow::Result<()> {
        let data = self
            .graphql(
                "mutation($i: CreateCampaignInput!) { createCampaign(input: $i) { id code } }",
                json!({ "i": {
                    "name": "Bench",
                    "code": CAMPAIGN_CODE,
                    "startsAt": "2026-01-01T00:00:00Z",
                    "currency": "COP",
                }}),
            )
            .await
            .context("creating the campaign")?;
        let campaign_id = data["createCampaign"]["id"]
            .as_str()
            .with_context(|| format!("createCampaign returned no id: {data}"))?
            .to_string();
        let data = self
            .graphql("mutation($id: ID!) { activateCampaign(id: $id) { status } }", json!({ "id": campaign_id }))
            .await
            .context("activating the campaign")?;
        if data["activateCampaign"]["status"] != "ACTIVE" {
            bail!("activateCampaign did not make the campaign ACTIVE: {data}");
        }
        self.graphql(
            "mutation($i: CreateAffiliateInput!) { createAffiliate(input: $i) { id code } }",
            json!({ "i": {
                "name": "Bench",
                "code": AFFILIATE_CODE,
                "email": "bench@example.com",
                "commissionConfig": { "baseRate": "10", "minimumPayout": "100" },
            }}),
        )
        .await
        .context("creating the affiliate")?;
        Ok(())
    }

    /// Fixtures, then the probe: everything a load run needs, checked.
    pub async fn prepare(&self, payloads: &Payloads) -> anyhow::Result<()> {
        self.create_fixtures().await.context("preparing the campaign and the affiliate through GraphQL")?;
        self.probe_ingest(payloads).await
    }

    /// One impression before the load, so a missing or failing endpoint is reported
    /// clearly instead of as a wall of errors.
    pub async fn probe_ingest(&self, payloads: &Payloads) -> anyhow::Result<()> {
        let (_, body) = payloads.next();
        let response = self
            .http
            .post(format!("{}{INGEST_PATH}", self.base))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .with_context(|| format!("POST {INGEST_PATH}"))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let text = response.text().await.unwrap_or_default();
        if matches!(status.as_u16(), 404 | 405) {
            bail!(
                "POST {INGEST_PATH} answered {status}: this alpes binary has no ingest endpoint.\n\
                 Rebuild it from a version that has it (cargo build --release) and run again."
            );
        }
        bail!("POST {INGEST_PATH} answered {status} to a valid impression: {text}")
    }

    /// One signed Stripe event before the load; it must be answered
    /// `200 {"received":true,"status":"processed"}` (so it made one order).
    pub async fn probe_stripe(&self, events: &StripeEvents) -> anyhow::Result<()> {
        let request = events.next_request();
        let mut builder = self
            .http
            .post(format!("{}{STRIPE_PATH}", self.base))
            .header("content-type", "application/json")
            .body(request.body);
        for (name, value) in request.headers {
            builder = builder.header(name, value);
        }
        let response = builder.send().await.with_context(|| format!("POST {STRIPE_PATH}"))?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if status == reqwest::StatusCode::OK && is_processed(text.as_bytes()) {
            return Ok(());
        }
        match status.as_u16() {
            404 | 405 => bail!(
                "POST {STRIPE_PATH} answered {status}: this alpes binary has no Stripe webhook route.\n\
                 Rebuild it from a version that has it (cargo build --release) and run again."
            ),
            503 => bail!("POST {STRIPE_PATH} answered {status}: Stripe webhooks are not configured: {text}"),
            _ => bail!("POST {STRIPE_PATH} answered {status} to a valid signed event (expected 200 processed): {text}"),
        }
    }

    /// `totalCount` of a GraphQL list, e.g. `orders` or `webhookEvents`.
    pub async fn total_count(&self, list: &str) -> anyhow::Result<u64> {
        let data = self.graphql(&format!("{{ {list} {{ totalCount }} }}"), json!({})).await?;
        // A list with arguments (`orders(filter: …)`) answers under its name.
        let name = list.split('(').next().unwrap_or(list).trim();
        data[name]["totalCount"].as_u64().with_context(|| format!("{{ {list} {{ totalCount }} }} returned {data}"))
    }

    /// `GET /tracking/impresiones/{id}` for each id, `concurrency` at a time.
    pub async fn read_back(&self, ids: Vec<String>, concurrency: usize) -> ReadBack {
        let mut results = futures::stream::iter(ids)
            .map(|id| async move {
                let outcome = self.lookup(&id).await;
                (id, outcome)
            })
            .buffer_unordered(concurrency);
        let mut read_back = ReadBack::default();
        while let Some((id, outcome)) = results.next().await {
            match outcome {
                Lookup::Found => read_back.found += 1,
                Lookup::Missing => read_back.missing.push(id),
                Lookup::Failed(why) => read_back.unchecked.push((id, why)),
            }
        }
        read_back.missing.sort();
        read_back
    }

    async fn lookup(&self, id: &str) -> Lookup {
        let url = format!("{}{INGEST_PATH}/{id}", self.base);
        let mut last = String::new();
        for attempt in 0..3 {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            match self.http.get(&url).bearer_auth(&self.token).send().await {
                Ok(r) if r.status().is_success() => return Lookup::Found,
                Ok(r) if r.status() == reqwest::StatusCode::NOT_FOUND => return Lookup::Missing,
                Ok(r) => {
                    let status = r.status();
                    last = format!("{status}: {}", r.text().await.unwrap_or_default());
                }
                Err(err) => last = err.to_string(),
            }
        }
        Lookup::Failed(last)
    }
}

enum Lookup {
    Found,
    Missing,
    Failed(String),
}

/// What reading the acknowledged ids back found.
#[derive(Debug, Default)]
pub struct ReadBack {
    pub found: usize,
    /// Answered 404.
    pub missing: Vec<String>,
    /// Neither 200 nor 404, after retries.
    pub unchecked: Vec<(String, String)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_is_forty_characters() {
        assert_eq!(JWT_SECRET.len(), 40);
    }

    async fn api_on(app: axum::Router) -> Api {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Api::new(format!("http://{addr}"), "t.o.k".into()).unwrap()
    }

    #[tokio::test]
    async fn the_probe_explains_a_missing_endpoint() {
        let payloads = Payloads::new();
        let missing = api_on(axum::Router::new()).await;
        let err = missing.probe_ingest(&payloads).await.unwrap_err();
        assert!(err.to_string().contains("no ingest endpoint"), "{err}");
        let present = api_on(crate::bare::app()).await;
        present.probe_ingest(&payloads).await.unwrap();
    }

    #[tokio::test]
    async fn the_stripe_probe_wants_a_processed_event_and_explains_the_rest() {
        use axum::{http::StatusCode, routing::post};
        let events = StripeEvents::new();
        let answer = |status: StatusCode, body: &'static str| {
            axum::Router::new().route(STRIPE_PATH, post(move || async move { (status, body) }))
        };
        let processed = api_on(answer(StatusCode::OK, r#"{"received":true,"status":"processed"}"#)).await;
        processed.probe_stripe(&events).await.unwrap();
        let missing = api_on(axum::Router::new()).await;
        let err = missing.probe_stripe(&events).await.unwrap_err();
        assert!(err.to_string().contains("no Stripe webhook route"), "{err}");
        let unconfigured = api_on(answer(StatusCode::SERVICE_UNAVAILABLE, "{}")).await;
        let err = unconfigured.probe_stripe(&events).await.unwrap_err();
        assert!(err.to_string().contains("not configured"), "{err}");
        let duplicate = api_on(answer(StatusCode::OK, r#"{"received":true,"status":"duplicate"}"#)).await;
        let err = duplicate.probe_stripe(&events).await.unwrap_err();
        assert!(err.to_string().contains("duplicate"), "{err}");
    }

    #[tokio::test]
    async fn total_count_reads_a_connection() {
        use axum::{routing::post, Json};
        let app = axum::Router::new().route(
            "/graphql",
            post(|Json(body): Json<Value>| async move {
                let query = body["query"].as_str().unwrap_or_default().to_string();
                match query.as_str() {
                    "{ orders { totalCount } }" => Json(json!({ "data": { "orders": { "totalCount": 42 } } })),
                    _ => Json(json!({ "errors": [{ "message": format!("unexpected {query}") }] })),
                }
            }),
        );
        let api = api_on(app).await;
        assert_eq!(api.total_count("orders").await.unwrap(), 42);
        let err = api.total_count("webhookEvents").await.unwrap_err();
        assert!(err.to_string().contains("unexpected"), "{err}");
    }

    #[tokio::test]
    async fn read_back_sorts_found_missing_and_unchecked() {
        use axum::{extract::Path, http::StatusCode, routing::get};
        let app = axum::Router::new().route(
            "/tracking/impresiones/{id}",
            get(|Path(id): Path<String>| async move {
                match id.as_str() {
                    "a" => StatusCode::OK,
                    "b" => StatusCode::NOT_FOUND,
                    _ => StatusCode::INTERNAL_SERVER_ERROR,
                }
            }),
        );
        let api = api_on(app).await;
        let read_back = api.read_back(vec!["a".into(), "b".into(), "c".into()], 2).await;
        assert_eq!(read_back.found, 1);
        assert_eq!(read_back.missing, vec!["b".to_string()]);
        assert_eq!(read_back.unchecked.len(), 1);
        assert!(read_back.unchecked[0].1.starts_with("500"), "{read_back:?}");
    }
}
