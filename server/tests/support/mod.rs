//! Test support: a migrated database per test (SQLite file by default, a fresh
//! PostgreSQL database when `TEST_DATABASE_URL` is set) and a GraphQL client that
//! goes through the real router.
#![allow(dead_code)]

use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Arc,
};

use alpes::{
    app::App,
    auth::{Caller, JwtKeys, Role},
    config::Config,
    db,
};
use axum::{
    body::{to_bytes, Body},
    http::{Request, StatusCode},
};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use serde_json::{json, Value};
use tower::ServiceExt;
use uuid::Uuid;

pub struct TestApp {
    pub app: App,
    /// The database URL, to start another app on the same data.
    pub url: String,
    pub jwt: JwtKeys,
    /// SQL statements run since the counter was last reset.
    pub statements: Arc<AtomicUsize>,
    /// The statements themselves (text and values): to show, or to `EXPLAIN`.
    pub statement_log: Arc<std::sync::Mutex<Vec<Statement>>>,
}

pub fn backend_url() -> Option<String> {
    std::env::var("TEST_DATABASE_URL").ok().filter(|u| !u.trim().is_empty())
}

/// A fresh, empty database URL: a new PostgreSQL database, or a new SQLite file.
pub async fn fresh_database_url() -> String {
    match backend_url() {
        Some(admin_url) => {
            let name = format!("alpes_t_{}", Uuid::new_v4().simple());
            let admin = Database::connect(&admin_url).await.unwrap_or_else(|e| panic!("connect {admin_url}: {e}"));
            admin
                .execute_raw(Statement::from_string(admin.get_database_backend(), format!("CREATE DATABASE {name}")))
                .await
                .unwrap_or_else(|e| panic!("create database: {e}"));
            admin.close().await.ok();
            let base = admin_url.rsplit_once('/').map(|(base, _)| base.to_string()).unwrap_or(admin_url);
            format!("{base}/{name}")
        }
        None => {
            let dir = std::env::temp_dir().join(format!("alpes-test-{}", Uuid::new_v4().simple()));
            std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("temp dir: {e}"));
            format!("sqlite://{}?mode=rwc", dir.join("alpes.db").display())
        }
    }
}

impl TestApp {
    pub async fn new() -> Self {
        Self::with_config(|_| {}).await
    }

    /// A test app whose configuration `adjust` changes first.
    pub async fn with_config(adjust: impl FnOnce(&mut Config)) -> Self {
        // The service's logs, with `RUST_LOG` set (e.g. `RUST_LOG=error` shows internal errors).
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
        Self::on_database(fresh_database_url().await, adjust).await
    }

    /// A test app on an existing (or fresh) database, e.g. to restart on the same data.
    pub async fn on_database(url: String, adjust: impl FnOnce(&mut Config)) -> Self {
        let mut config = Config::for_database(&url, std::env::temp_dir());
        adjust(&mut config);
        let mut conn: DatabaseConnection = db::connect(&config).await.unwrap_or_else(|e| panic!("connect: {e}"));
        db::migrate(&conn).await.unwrap_or_else(|e| panic!("migrate: {e}"));
        let statements = Arc::new(AtomicUsize::new(0));
        let counter = statements.clone();
        let statement_log = Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = statement_log.clone();
        conn.set_metric_callback(move |metric| {
            counter.fetch_add(1, Ordering::SeqCst);
            if let Ok(mut log) = log.lock() {
                if log.len() < 1000 {
                    log.push(metric.statement.clone());
                }
            }
        });
        let jwt = JwtKeys::from_secret(config.jwt_secret.as_deref().unwrap_or_default().as_bytes());
        let app = App::new(conn, config, jwt.clone());
        Self { app, url, jwt, statements, statement_log }
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.app.state.db
    }

    pub fn token(&self, role: Role, affiliate_id: Option<Uuid>) -> String {
        let caller = Caller::person(None, role, affiliate_id);
        self.jwt.issue(&caller, chrono::Duration::hours(1)).map(|t| t.0).unwrap_or_else(|e| panic!("token: {e}"))
    }

    pub fn admin(&self) -> String {
        self.token(Role::Admin, None)
    }

    /// A new API key (as an admin makes it in the app): the secret.
    pub async fn api_key(&self, role: Role, affiliate: Option<&str>, records_conversions: bool) -> String {
        let input = alpes::service::api_key_service::NewKey {
            name: "test key".into(),
            role,
            affiliate: affiliate.map(str::to_owned),
            records_conversions,
            expires_in_days: None,
        };
        alpes::service::api_key_service::create(&self.app.state, &Caller::system(), input)
            .await
            .unwrap_or_else(|e| panic!("api key: {e}"))
            .secret
    }

    /// The shop server's key: may record conversions.
    pub async fn shop_key(&self) -> String {
        self.api_key(Role::Analyst, None, true).await
    }

    /// POST /graphql through the router; returns (status, body).
    pub async fn post_graphql(&self, token: Option<&str>, query: &str, variables: Value) -> (StatusCode, Value) {
        let mut request = Request::post("/graphql").header("content-type", "application/json");
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let body = json!({ "query": query, "variables": variables }).to_string();
        let response = self
            .app
            .router
            .clone()
            .oneshot(request.body(Body::from(body)).unwrap_or_else(|e| panic!("request: {e}")))
            .await
            .unwrap_or_else(|e| panic!("router: {e}"));
        let status = response.status();
        let bytes = to_bytes(response.into_body(), 10 * 1024 * 1024).await.unwrap_or_else(|e| panic!("body: {e}"));
        let value =
            serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("json: {e}: {}", String::from_utf8_lossy(&bytes)));
        (status, value)
    }

    /// Any request through the router; returns (status, headers, JSON body or Null).
    pub async fn send(&self, request: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Value) {
        let response = self.app.router.clone().oneshot(request).await.unwrap_or_else(|e| panic!("router: {e}"));
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = to_bytes(response.into_body(), 10 * 1024 * 1024).await.unwrap_or_else(|e| panic!("body: {e}"));
        (status, headers, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    /// POST a JSON body (as text) from the given peer address, with optional headers.
    pub async fn post_json(
        &self,
        uri: &str,
        body: &str,
        peer: [u8; 4],
        headers: &[(&str, &str)],
    ) -> (StatusCode, axum::http::HeaderMap, Value) {
        let mut request = Request::post(uri).header("content-type", "application/json");
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        let mut request = request.body(Body::from(body.to_string())).unwrap_or_else(|e| panic!("request: {e}"));
        request.extensions_mut().insert(axum::extract::ConnectInfo(std::net::SocketAddr::from((peer, 40000))));
        self.send(request).await
    }

    /// GET with an optional bearer token and cookies.
    pub async fn get(
        &self,
        uri: &str,
        token: Option<&str>,
        cookie: Option<&str>,
    ) -> (StatusCode, axum::http::HeaderMap, Value) {
        let mut request = Request::get(uri);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        let mut request = request.body(Body::empty()).unwrap_or_else(|e| panic!("request: {e}"));
        request.extensions_mut().insert(axum::extract::ConnectInfo(std::net::SocketAddr::from(([10, 1, 1, 1], 40000))));
        self.send(request).await
    }

    /// POST a Stripe event to the webhook route, signed with the test secret.
    pub async fn stripe(&self, payload: &Value) -> (StatusCode, Value) {
        let body = payload.to_string();
        let signature =
            alpes::domain::stripe::sign(body.as_bytes(), "whsec_test_secret", chrono::Utc::now().timestamp());
        let request = Request::post("/api/v1/webhooks/stripe")
            .header("content-type", "application/json")
            .header("stripe-signature", signature)
            .body(Body::from(body))
            .unwrap_or_else(|e| panic!("request: {e}"));
        let (status, _, body) = self.send(request).await;
        (status, body)
    }

    /// A GraphQL call that must succeed: returns `data`.
    pub async fn ok(&self, token: &str, query: &str, variables: Value) -> Value {
        let (_, body) = self.post_graphql(Some(token), query, variables).await;
        assert!(body.get("errors").is_none(), "unexpected errors: {body}");
        body["data"].clone()
    }

    /// A GraphQL call that must fail: returns the first error's `extensions.code`.
    pub async fn error_code(&self, token: Option<&str>, query: &str, variables: Value) -> String {
        let (_, body) = self.post_graphql(token, query, variables).await;
        let code = body["errors"][0]["extensions"]["code"].as_str().map(str::to_owned);
        code.unwrap_or_else(|| panic!("expected an error with a code: {body}"))
    }

    /// A GraphQL call that must fail validation: the fields its `extensions.errors` name.
    pub async fn error_fields(&self, token: &str, query: &str, variables: Value) -> Vec<String> {
        let (_, body) = self.post_graphql(Some(token), query, variables).await;
        let errors = body["errors"][0]["extensions"]["errors"].as_array().cloned();
        let errors = errors.unwrap_or_else(|| panic!("expected field errors: {body}"));
        errors.iter().filter_map(|e| e["field"].as_str().map(str::to_owned)).collect()
    }

    pub async fn count(&self, table: &str) -> i64 {
        let backend = self.db().get_database_backend();
        let row = self
            .db()
            .query_one_raw(Statement::from_string(backend, format!("SELECT COUNT(*) AS n FROM {table}")))
            .await
            .unwrap_or_else(|e| panic!("count {table}: {e}"))
            .unwrap_or_else(|| panic!("no count row"));
        row.try_get::<i64>("", "n").unwrap_or_else(|e| panic!("count value: {e}"))
    }

    pub fn reset_statements(&self) {
        self.statements.store(0, Ordering::SeqCst);
        if let Ok(mut log) = self.statement_log.lock() {
            log.clear();
        }
    }

    /// The text of the statements run since the last reset (the first 1000).
    pub fn statements_run(&self) -> Vec<String> {
        self.statements_with_values().into_iter().map(|s| s.sql).collect()
    }

    /// The statements run since the last reset (the first 1000), with their values.
    pub fn statements_with_values(&self) -> Vec<Statement> {
        self.statement_log.lock().map(|log| log.clone()).unwrap_or_default()
    }

    pub fn statement_count(&self) -> usize {
        self.statements.load(Ordering::SeqCst)
    }
}

pub const CREATE_AFFILIATE: &str = r#"
mutation($input: CreateAffiliateInput!) {
  createAffiliate(input: $input) {
    id code name email phone tier status
    document { type number }
    bankDetails { bank accountType accountNumber }
    commissionConfig { baseRate premiumRate minimumPayout currency }
  }
}"#;

pub const CREATE_CAMPAIGN: &str = r#"
mutation($input: CreateCampaignInput!) {
  createCampaign(input: $input) {
    id code name status currency budget channels targeting lookbackDays attributionModel startsAt endsAt type
    commissionConfig { conversionRate saleRate bonusTargets commissionType flatAmount }
  }
}"#;

pub fn affiliate_input(name: &str, email: &str) -> Value {
    json!({
        "name": name,
        "email": email,
        "phone": "+57 300 123 4567",
        "document": { "type": "cedula", "number": "1234567890" },
        "tier": "PREMIUM",
        "bankDetails": { "bank": "Banco Nacional", "accountType": "ahorros", "accountNumber": "1234567890" },
        "commissionConfig": { "baseRate": "15.0", "premiumRate": "20.0", "minimumPayout": "50000.0", "currency": "COP" }
    })
}

pub fn campaign_input(name: &str) -> Value {
    json!({
        "name": name,
        "description": "Promoción especial",
        "startsAt": "2026-11-24T00:00:00Z",
        "endsAt": "2027-11-27T23:59:59Z",
        "budget": "500000",
        "currency": "COP",
        "type": "promocional",
        "channels": ["web", "email", "social"],
        "targeting": { "edad_minima": 18, "ubicaciones": ["Bogotá"] },
        "commissionConfig": { "conversionRate": "15.0", "saleRate": "8.0", "bonusTargets": "25.0" }
    })
}

pub async fn create_affiliate(app: &TestApp, name: &str, email: &str) -> Value {
    let data = app.ok(&app.admin(), CREATE_AFFILIATE, json!({ "input": affiliate_input(name, email) })).await;
    data["createAffiliate"].clone()
}

pub async fn create_campaign(app: &TestApp, name: &str) -> Value {
    let data = app.ok(&app.admin(), CREATE_CAMPAIGN, json!({ "input": campaign_input(name) })).await;
    data["createCampaign"].clone()
}

/// The outbox's event types in order: of one aggregate, or of all.
pub async fn event_types(app: &TestApp, aggregate: Option<&str>) -> Vec<String> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
    // The domain's events; each change's audit event (`auditoria.eventos`) is left out.
    let mut query = entity::outbox_events::Entity::find()
        .filter(entity::outbox_events::Column::Topic.ne("auditoria.eventos"))
        .order_by_asc(entity::outbox_events::Column::Seq);
    if let Some(id) = aggregate {
        query = query.filter(entity::outbox_events::Column::AggregateId.eq(id));
    }
    query.all(app.db()).await.unwrap_or_else(|e| panic!("outbox: {e}")).into_iter().map(|e| e.event_type).collect()
}
