//! Black-box tests: the real `alpes` binary, real HTTP and WebSocket clients.
//! Runs against SQLite, or a fresh PostgreSQL database when `TEST_DATABASE_URL` is set.

#[path = "../server/tests/support/mod.rs"]
mod support;

mod seed_examples;

use std::{
    net::TcpListener,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use futures::{SinkExt, StreamExt};
use graphql_client::{GraphQLQuery, Response};
use ops::*;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::{client::IntoClientRequest, http::HeaderValue, Message};

/// The operations the tests send, from `tests/graphql/e2e.graphql`, typed and checked
/// against `schema.graphql` when the tests compile.
mod ops {
    #![allow(clippy::upper_case_acronyms)]
    use graphql_client::GraphQLQuery;

    type DateTime = String;
    type Decimal = String;
    type JSON = serde_json::Value;

    macro_rules! operation {
        ($($name:ident),* $(,)?) => {$(
            #[derive(GraphQLQuery)]
            #[graphql(
                schema_path = "../schema.graphql",
                query_path = "../tests/graphql/e2e.graphql",
                response_derives = "Debug",
                variables_derives = "Debug",
                skip_serializing_none
            )]
            pub struct $name;
        )*};
    }

    operation!(
        Login,
        CreateAffiliate,
        CreateCampaign,
        Me,
        Users,
        ConversionJourney,
        OrdersAndLog,
        LiveEvents,
        AffiliateEvents,
        AttributionEvents,
        DeliveryUpdates,
        CreateApiKey,
    );
}

const ADMIN_EMAIL: &str = "admin@example.com";
const ADMIN_PASSWORD: &str = "e2e admin password";

struct Server {
    child: Child,
    base: String,
    addr: String,
    database_url: String,
    data_dir: PathBuf,
}

impl Server {
    async fn start() -> Server {
        let database_url = support::fresh_database_url().await;
        let data_dir = std::env::temp_dir().join(format!("alpes-e2e-{}", uuid::Uuid::new_v4().simple()));
        Self::start_on(database_url, data_dir).await
    }

    async fn start_on(database_url: String, data_dir: PathBuf) -> Server {
        Self::start_with(database_url, data_dir, &[]).await
    }

    /// A server with extra environment variables.
    async fn start_with(database_url: String, data_dir: PathBuf, env: &[(&str, &str)]) -> Server {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let addr = format!("127.0.0.1:{port}");
        let child = Command::new(env!("CARGO_BIN_EXE_alpes"))
            .envs(env.iter().copied())
            .env("DATABASE_URL", &database_url)
            .env("ALPES_DATA_DIR", &data_dir)
            .env("ALPES_ADDR", &addr)
            .env("ALPES_ADMIN_EMAIL", ADMIN_EMAIL)
            .env("ALPES_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env_remove("ALPES_JWT_SECRET")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start alpes");
        let server = Server { child, base: format!("http://{addr}"), addr, database_url, data_dir };
        server.wait_healthy().await;
        server
    }

    async fn wait_healthy(&self) {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(r) = client.get(format!("{}/health", self.base)).send().await {
                if r.status().is_success() {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("alpes did not become healthy");
    }

    /// Sends one typed operation; the answer as the schema says it is shaped.
    async fn send<Q: GraphQLQuery>(&self, token: Option<&str>, variables: Q::Variables) -> Response<Q::ResponseData> {
        let mut request =
            reqwest::Client::new().post(format!("{}/graphql", self.base)).json(&Q::build_query(variables));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("graphql request").json().await.expect("graphql json")
    }

    /// Sends one typed operation that must succeed; its data.
    async fn ok<Q: GraphQLQuery>(&self, token: Option<&str>, variables: Q::Variables) -> Q::ResponseData
    where
        Q::ResponseData: std::fmt::Debug,
    {
        let response = self.send::<Q>(token, variables).await;
        assert!(response.errors.is_none(), "unexpected errors: {:?}", response.errors);
        response.data.expect("data")
    }

    async fn login(&self) -> String {
        let variables = login::Variables { email: ADMIN_EMAIL.into(), password: ADMIN_PASSWORD.into() };
        self.ok::<Login>(None, variables).await.login.token
    }

    /// SIGTERM, and the exit status.
    fn terminate(&mut self) -> std::process::ExitStatus {
        let status = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status().expect("kill");
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(Instant::now() < deadline, "alpes did not stop after SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn ws_connect(server: &Server, protocol: &str) -> Ws {
    let mut request = format!("ws://{}/graphql/ws", server.addr).into_client_request().unwrap();
    request.headers_mut().insert("Sec-WebSocket-Protocol", HeaderValue::from_str(protocol).unwrap());
    let (ws, response) = tokio_tungstenite::connect_async(request).await.expect("websocket");
    assert_eq!(response.headers().get("sec-websocket-protocol").and_then(|v| v.to_str().ok()), Some(protocol));
    ws
}

async fn ws_send(ws: &mut Ws, value: Value) {
    ws.send(Message::Text(value.to_string().into())).await.expect("ws send");
}

/// The next JSON message that is not a keep-alive.
async fn ws_next(ws: &mut Ws) -> Value {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("ws timeout")
            .expect("ws closed")
            .expect("ws error");
        if let Message::Text(text) = message {
            let value: Value = serde_json::from_str(&text).unwrap();
            if value["type"] != "ka" && value["type"] != "ping" {
                return value;
            }
        }
    }
}

/// Subscribes to a typed subscription over the WebSocket (`subscribe`, or `start` in the
/// legacy protocol).
async fn ws_subscribe<Q: GraphQLQuery>(ws: &mut Ws, id: &str, kind: &str, variables: Q::Variables) {
    ws_send(ws, json!({"id": id, "type": kind, "payload": Q::build_query(variables)})).await;
}

/// The data of one subscription message, typed.
fn data_of<Q: GraphQLQuery>(message: &Value) -> Q::ResponseData {
    serde_json::from_value(message["payload"]["data"].clone()).unwrap_or_else(|e| panic!("{e}: {message}"))
}

fn affiliate(name: &str, email: &str) -> create_affiliate::Variables {
    use create_affiliate::{AffiliateCommissionConfigInput, AffiliateTier, CreateAffiliateInput};
    create_affiliate::Variables {
        input: CreateAffiliateInput {
            code: None,
            name: name.into(),
            email: email.into(),
            phone: None,
            document: None,
            tier: AffiliateTier::STANDARD,
            bank_details: None,
            commission_config: AffiliateCommissionConfigInput {
                base_rate: "10".into(),
                premium_rate: None,
                minimum_payout: "100".into(),
                currency: None,
            },
        },
    }
}

fn campaign(name: &str, code: Option<&str>, starts_at: &str, currency: &str) -> create_campaign::Variables {
    create_campaign::Variables {
        input: create_campaign::CreateCampaignInput {
            code: code.map(str::to_owned),
            name: name.into(),
            description: None,
            starts_at: starts_at.into(),
            ends_at: None,
            budget: None,
            currency: currency.into(),
            type_: None,
            channels: Vec::new(),
            allowed_domains: Vec::new(),
            targeting: None,
            commission_config: None,
            attribution_model: None,
            lookback_days: None,
        },
    }
}

#[tokio::test]
async fn admin_creates_affiliate_and_campaign_and_a_subscriber_sees_both_live() {
    let server = Server::start().await;
    let token = server.login().await;

    let mut ws = ws_connect(&server, "graphql-transport-ws").await;
    ws_send(&mut ws, json!({"type": "connection_init", "payload": {"authorization": format!("Bearer {token}")}})).await;
    assert_eq!(ws_next(&mut ws).await["type"], "connection_ack");
    ws_subscribe::<LiveEvents>(&mut ws, "1", "subscribe", live_events::Variables).await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    let created = server
        .ok::<CreateAffiliate>(Some(&token), affiliate("María González", "maria@example.com"))
        .await
        .create_affiliate;
    let campaign = server
        .ok::<CreateCampaign>(Some(&token), campaign("Black Friday", None, "2026-11-24T00:00:00Z", "COP"))
        .await
        .create_campaign;

    // Each change comes with its audit event (`auditoria.eventos`); the domain's events, in order:
    let mut changes = Vec::new();
    let mut audits = 0;
    while changes.len() < 2 {
        let message = ws_next(&mut ws).await;
        assert_eq!(message["type"], "next", "{message}");
        assert_eq!(message["id"], "1");
        let event = data_of::<LiveEvents>(&message).events;
        if event.topic == "auditoria.eventos" {
            audits += 1;
        } else {
            changes.push(event);
        }
    }
    assert!(audits <= 2, "{audits} audit events");
    let mut changes = changes.into_iter();
    let Some(event) = changes.next() else { panic!("the affiliate's event") };
    assert_eq!(event.topic, "afiliados.eventos");
    assert_eq!(event.event_type, "afiliado_creado");
    assert_eq!(event.aggregate_id, created.id);
    assert_eq!(event.envelope["datos_afiliado"]["nombre"], "María González");
    let Some(event) = changes.next() else { panic!("the campaign's event") };
    assert_eq!(event.topic, "marketing.eventos");
    assert_eq!(event.event_type, "campana_creada");
    assert_eq!(event.aggregate_id, campaign.id);
    assert_eq!(event.envelope["campana_id"], campaign.id);
}

#[tokio::test]
async fn legacy_graphql_ws_protocol_and_bad_tokens_on_connection_init() {
    let server = Server::start().await;
    let token = server.login().await;

    let mut ws = ws_connect(&server, "graphql-ws").await;
    ws_send(&mut ws, json!({"type": "connection_init", "payload": {"authorization": format!("Bearer {token}")}})).await;
    assert_eq!(ws_next(&mut ws).await["type"], "connection_ack");
    ws_subscribe::<AffiliateEvents>(&mut ws, "7", "start", affiliate_events::Variables).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    server.ok::<CreateAffiliate>(Some(&token), affiliate("Legacy", "legacy@example.com")).await;
    let message = ws_next(&mut ws).await;
    assert_eq!(message["type"], "data", "{message}");
    assert_eq!(message["id"], "7");
    assert_eq!(data_of::<AffiliateEvents>(&message).events.event_type, "afiliado_creado");

    // A forged token in connection_init is refused.
    let mut bad = ws_connect(&server, "graphql-transport-ws").await;
    ws_send(&mut bad, json!({"type": "connection_init", "payload": {"authorization": "Bearer not.a.token"}})).await;
    let refused = tokio::time::timeout(Duration::from_secs(5), bad.next()).await.expect("answer");
    match refused {
        Some(Ok(Message::Close(frame))) => {
            assert!(frame.is_some_and(|f| u16::from(f.code) == 4403 || f.reason.contains("token")))
        }
        Some(Ok(Message::Text(text))) => {
            assert!(text.contains("error") || text.contains("token"), "{text}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn logs_to_a_file_are_json_lines_that_carry_the_request_id() {
    let data_dir = std::env::temp_dir().join(format!("alpes-e2e-logs-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&data_dir).unwrap();
    let log_path = data_dir.join("alpes.log");
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_alpes"))
        .env("DATABASE_URL", support::fresh_database_url().await)
        .env("ALPES_DATA_DIR", &data_dir)
        .env("ALPES_ADDR", format!("127.0.0.1:{port}"))
        .env("ALPES_ADMIN_EMAIL", ADMIN_EMAIL)
        .env("ALPES_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env_remove("ALPES_LOG_FORMAT")
        .env_remove("NO_COLOR")
        .env("RUST_LOG", "info,tower_http=debug")
        .stdout(Stdio::null())
        .stderr(Stdio::from(std::fs::File::create(&log_path).unwrap()))
        .spawn()
        .expect("start alpes");
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let asked = client.get(format!("http://127.0.0.1:{port}/health")).header("x-request-id", "e2e-log-7f3a");
        if asked.send().await.is_ok_and(|r| r.status().is_success()) {
            break;
        }
        assert!(Instant::now() < deadline, "alpes did not become healthy");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    child.kill().ok();
    child.wait().ok();
    let text = std::fs::read_to_string(&log_path).unwrap();
    assert!(!text.contains('\u{1b}'), "no terminal colour codes in a file: {text}");
    let lines: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}")))
        .collect();
    assert!(lines.iter().any(|l| l["level"] == "INFO" && l["fields"]["message"].is_string()), "{text}");
    let served: Vec<&Value> = lines.iter().filter(|l| l["span"]["request_id"] == "e2e-log-7f3a").collect();
    assert!(!served.is_empty(), "the request's lines carry its id: {text}");
    assert!(served.iter().all(|l| l["span"]["path"] == "/health"), "{text}");
    std::fs::remove_dir_all(&data_dir).ok();
}

#[tokio::test]
async fn health_ready_home_and_graphiql() {
    let server = Server::start().await;
    let client = reqwest::Client::new();
    let health: Value = client.get(format!("{}/health", server.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!(health["status"], "ok");
    assert!(health["revision"].as_str().is_some_and(|r| !r.is_empty()), "{health}");
    let ready: Value = client.get(format!("{}/ready", server.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!(ready["status"], "ready");
    let graphiql = client.get(format!("{}/graphql", server.base)).send().await.unwrap().text().await.unwrap();
    assert!(graphiql.to_lowercase().contains("graphiql"));
    let home = client.get(format!("{}/", server.base)).send().await.unwrap();
    assert!(home.status().is_success());
    let missing = client.get(format!("{}/api/v1/nothing", server.base)).send().await.unwrap();
    assert_eq!(missing.status(), 404);
    let body: Value = missing.json().await.unwrap();
    assert_eq!(body["error"]["code"], "NOT_FOUND");
    // The container health check: the binary asks itself.
    let check = |path: &str| {
        Command::new(env!("CARGO_BIN_EXE_alpes"))
            .args(["health", "--url", &format!("{}{path}", server.base)])
            .output()
            .expect("run alpes")
    };
    let ready = check("/ready");
    assert!(ready.status.success(), "{}", String::from_utf8_lossy(&ready.stderr));
    assert!(String::from_utf8_lossy(&ready.stdout).contains("answered 200"));
    let missing = check("/api/v1/nothing");
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("answered 404"));
}

/// The server never took the connection: refused, or reset while still waiting in the
/// listen queue when the listener closed (the kernel had completed the handshake, the
/// service had not accepted it; no byte of it was read). A connection the service accepted
/// is served to the end, so a reset can only be one of these.
fn door_closed(err: &reqwest::Error) -> bool {
    if err.is_connect() {
        return true;
    }
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::ConnectionReset {
                return err.status().is_none();
            }
        }
        source = cause.source();
    }
    false
}

/// SIGTERM while hundreds of writes are in flight: each one the server accepted is
/// answered (201, stored) before it exits; the rest find the door closed (refused), none
/// is cut off halfway or answered with an error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_in_flight_requests_finish() {
    let database_url = support::fresh_database_url().await;
    let data_dir = std::env::temp_dir().join(format!("alpes-e2e-{}", uuid::Uuid::new_v4().simple()));
    let mut server = Server::start_with(database_url, data_dir, &[("ALPES_INGEST_RATE_LIMIT_PER_IP", "0")]).await;
    let token = server.login().await;
    server
        .ok::<CreateCampaign>(Some(&token), campaign("Rebajas", Some("rebajas"), "2026-01-01T00:00:00Z", "COP"))
        .await;
    // A connection per request: a refused connection is the only way not to be served.
    let client = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
    let mut requests = tokio::task::JoinSet::new();
    for i in 0..600 {
        let (client, url) = (client.clone(), format!("{}/tracking/impresiones", server.base));
        requests.spawn(async move {
            let body = json!({ "id": format!("shutdown-{i}"), "campaña_id": "rebajas", "tipo_evento": "IMPRESION" });
            client.post(url).json(&body).send().await.map(|r| r.status().as_u16())
        });
    }
    let (mut created, mut refused, mut answered) = (0, 0, 0);
    while let Some(result) = requests.join_next().await {
        answered += 1;
        if answered == 20 {
            // Mid-stream: the rest are in flight, queued, or not yet connected.
            let pid = server.child.id().to_string();
            assert!(Command::new("kill").args(["-TERM", pid.as_str()]).status().unwrap().success());
        }
        match result.unwrap() {
            Ok(201) => created += 1,
            Ok(status) => panic!("an accepted request was answered {status}"),
            Err(err) if door_closed(&err) => refused += 1,
            Err(err) => panic!("a request was cut off: {err:?}"),
        }
    }
    eprintln!("SIGTERM mid-stream: {created} answered 201, {refused} refused, none cut off");
    assert!(created >= 20, "those answered before the signal were served");
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "alpes did not stop after SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "clean exit: {status:?}");

    // Every answered write is stored.
    let restarted = Server::start_on(server.database_url.clone(), server.data_dir.clone()).await;
    let token = restarted.login().await;
    let stored: Value = reqwest::Client::new()
        .get(format!("{}/tracking/campanas/rebajas/impresiones?limite=1", restarted.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stored["total"], json!(created), "{created} answered 201, {refused} refused: {stored}");
}

#[tokio::test]
async fn tokens_survive_a_restart_and_sigterm_stops_cleanly() {
    let mut server = Server::start().await;
    let token = server.login().await;
    let status = server.terminate();
    assert!(status.success(), "clean exit on SIGTERM: {status:?}");
    // The generated JWT secret was kept in the data directory.
    assert!(server.data_dir.join("jwt_secret").exists());

    let restarted = Server::start_on(server.database_url.clone(), server.data_dir.clone()).await;
    let me = restarted.ok::<Me>(Some(&token), me::Variables).await.me;
    assert_eq!(me.user.map(|u| u.email).as_deref(), Some(ADMIN_EMAIL));
    // The first admin is created once only.
    let users = restarted.ok::<Users>(Some(&token), users::Variables).await.users;
    assert_eq!(users.len(), 1);
}

#[tokio::test]
async fn a_backup_taken_while_serving_is_a_working_database() {
    let server = Server::start().await;
    let backup = server.data_dir.join("backup.db");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_alpes"))
            .env("DATABASE_URL", &server.database_url)
            .env("ALPES_DATA_DIR", &server.data_dir)
            .env("RUST_LOG", "warn")
            .args(args)
            .output()
            .expect("run alpes")
    };
    let output = run(&["backup", "--output", &backup.to_string_lossy()]);
    if server.database_url.starts_with("postgres") {
        assert!(!output.status.success());
        assert!(String::from_utf8_lossy(&output.stderr).contains("pg_dump"), "PostgreSQL has its own tools");
        return;
    }
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8_lossy(&output.stdout).contains("written to"));
    // A second backup to the same file is refused rather than overwriting it.
    let again = run(&["backup", "--output", &backup.to_string_lossy()]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists already"));
    // The copy opens as Alpes' database: the admin made at start is in it, the books balance.
    let url = format!("sqlite://{}?mode=rw", backup.display());
    let copy = Command::new(env!("CARGO_BIN_EXE_alpes"))
        .env("DATABASE_URL", &url)
        .env("ALPES_DATA_DIR", &server.data_dir)
        .env("RUST_LOG", "warn")
        .args(["reconcile", "--format", "json"])
        .output()
        .expect("run alpes");
    assert!(copy.status.success(), "{}", String::from_utf8_lossy(&copy.stderr));
    let conn = sea_orm::Database::connect(&url).await.unwrap();
    use sea_orm::{EntityTrait, PaginatorTrait};
    assert_eq!(entity::users::Entity::find().count(&conn).await.unwrap(), 1);
}

/// `alpes import` loads the seed systems' history (CSV and NDJSON, seed 004, 003 and 002
/// bodies, 2023 dates) into a running Alpes, attributes it, reports each refused row with
/// its line and reason, and a second run changes nothing.
#[tokio::test]
async fn alpes_import_loads_history_once_and_reports_refused_rows() {
    let server = Server::start().await;
    let dir = server.data_dir.join("history");
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path.to_string_lossy().to_string()
    };
    let conversions = write(
        "conversiones.ndjson",
        concat!(
            r#"{"id":"conv_98765","afiliado_id":"af_12345","campana_id":"camp_67890","tipo_conversion":"venta","valor_conversion":250000.0,"moneda":"COP","id_usuario":"user-1","fecha_conversion":"2023-11-26T10:00:00Z"}"#,
            "\n",
            r#"{"afiliado_id":"af_12345","valor_conversion":100.0,"moneda":"COP"}"#,
            "\n\n",
            r#"{"id":"conv-002","campaña_id":"camp_67890","usuario_id":"user-2","tipo_conversion":"VENTA","valor":1000,"moneda":"COP","timestamp":"2023-11-26T12:00:00Z"}"#,
            "\n",
            r#"{"id":"conv_pagada","afiliado_id":"af_12345","campana_id":"camp_67890","tipo_conversion":"venta","valor_conversion":100000.0,"moneda":"COP","id_usuario":"user-1","fecha_conversion":"2023-11-26T11:00:00Z"}"#,
            "\n",
            r#"{"id":"conv_cancelada","afiliado_id":"af_12345","campana_id":"camp_67890","tipo_conversion":"venta","valor_conversion":50000.0,"moneda":"COP","id_usuario":"user-1","fecha_conversion":"2023-11-26T11:30:00Z"}"#,
            "\n"
        ),
    );
    let affiliates = write(
        "afiliados.csv",
        "afiliado_id,nombre,email,tipo_afiliado,configuracion_comisiones.comision_base,configuracion_comisiones.minimo_pago,configuracion_comisiones.moneda\n\
         af_12345,María González,maria@email.com,premium,15,50000,COP\n\
         af_67890,Juan Pérez,juan@email.com,estandar,10,50000,COP\n\
         af_bad,Sin Correo,nope,estandar,10,1,COP\n",
    );
    let campaigns = write(
        "campanas.ndjson",
        r#"{"campana_id":"camp_67890","nombre":"Black Friday 2023","fecha_inicio":"2023-11-24T00:00:00Z","fecha_fin":"2023-11-27T23:59:59Z","moneda":"COP","configuracion_comisiones":{"comision_venta":8.0}}"#,
    );
    let clicks = write(
        "interacciones.ndjson",
        concat!(
            r#"{"id_interaccion":"click-1","tipo":"CLICK","marca_temporal":1700906400000,"identidad_usuario":{"id_usuario":"user-1"},"parametros_tracking":{"fuente":"instagram","medio":"social","campania":"camp_67890","id_afiliado":"af_12345"}}"#,
            "\n",
            r#"{"id_interaccion":"click-2","tipo":"CLICK","marca_temporal":1700910000000,"identidad_usuario":{"id_usuario":"user-2"},"parametros_tracking":{"campania":"camp_67890","id_afiliado":"af_67890"}}"#,
            "\n"
        ),
    );
    // Seed 001: tracking_event rows joined with their session, as the README's query exports them.
    let events = write(
        "tracking_events.csv",
        "id,event_id,event_type,created_at,currency,value,payload_json,utm_source,utm_medium,utm_campaign,gclid,landing_path,user_agent\n\
         te-1,5f0c6f9e-0000-4000-8000-000000000001,click,2024-01-15 10:00:00,,,,google,cpc,LANZAMIENTO_2024,TEST_GCLID,/landing,Mozilla/5.0\n\
         te-2,5f0c6f9e-0000-4000-8000-000000000001,page_view,2024-01-15 10:01:00,,,,google,cpc,LANZAMIENTO_2024,,/producto,Mozilla/5.0\n\
         te-3,5f0c6f9e-0000-4000-8000-000000000001,purchase,2024-01-15 10:05:00+00,USD,49.90,\"{\"\"product_id\"\":\"\"p-1\"\"}\",google,cpc,LANZAMIENTO_2024,TEST_GCLID,/checkout,Mozilla/5.0\n\
         te-4,5f0c6f9e-0000-4000-8000-000000000001,checkout_started,2024-01-15 10:04:00,,,,,,,,,\n",
    );
    // Seed 001's orders: the sales themselves (its purchase events above are the same sales).
    let orders = write(
        "orders.csv",
        "id,event_id,stripe_session_id,payment_intent_id,amount,currency,status,created_at,gclid,campaign,source,product_id\n\
         0b7e0d1c-0000-4000-8000-000000000001,5f0c6f9e-0000-4000-8000-000000000001,cs_seed001_1,pi_seed001_1,49.90,USD,paid,2024-01-15 10:05:00,TEST_GCLID,LANZAMIENTO_2024,google,p-1\n\
         0b7e0d1c-0000-4000-8000-000000000002,5f0c6f9e-0000-4000-8000-000000000002,cs_seed001_2,pi_seed001_2,20.00,USD,refunded,2024-01-16 09:00:00,,,,\n\
         0b7e0d1c-0000-4000-8000-000000000003,,cs_seed001_3,,5.00,USD,lost,2024-01-16 09:00:00,,,,\n",
    );
    // Seed 004's commissions with their states.
    let commissions = write(
        "comisiones.ndjson",
        concat!(
            r#"{"conversion_id":"conv_98765","afiliado_id":"af_12345","monto_base":{"valor":250000.0,"moneda":"COP"},"tipo_comision":"porcentual","porcentaje":15.0,"estado":"aprobada","comentarios":"aprobada en 2023"}"#,
            "\n",
            r#"{"conversion_id":"conv-002","afiliado_id":"af_67890","estado":"rechazada","motivo_rechazo":"fraude"}"#,
            "\n",
            r#"{"conversion_id":"conv_pagada","afiliado_id":"af_12345","estado":"pagada","pago_id":"TRF-2023-12-001","fecha_pago":"2023-12-15"}"#,
            "\n",
            r#"{"afiliado_id":"af_12345","estado":"aprobada"}"#,
            "\n",
            r#"{"conversion_id":"conv_cancelada","afiliado_id":"af_12345","estado":"cancelada","motivo_cancelacion":"devuelto fuera de plazo"}"#,
            "\n",
            r#"{"conversion_id":"conv_98765","afiliado_id":"af_12345","estado":"en_disputa"}"#,
            "\n"
        ),
    );
    let refused = server.data_dir.join("refused.ndjson");
    let import = || {
        let output = Command::new(env!("CARGO_BIN_EXE_alpes"))
            .env("DATABASE_URL", &server.database_url)
            .env("ALPES_DATA_DIR", &server.data_dir)
            .env("RUST_LOG", "warn")
            // Meta is configured: an order that was not imported history would be queued for it.
            .env("META_CAPI_PIXEL_ID", "1234567890")
            .env("META_CAPI_ACCESS_TOKEN", "stand-in")
            .env("META_CAPI_BASE_URL", "http://127.0.0.1:9")
            // Given in any order: what rows refer to is imported first.
            .args([
                "import",
                &commissions,
                &conversions,
                &orders,
                &clicks,
                &events,
                &affiliates,
                &campaigns,
                "--refused",
            ])
            .arg(&refused)
            .output()
            .expect("run alpes import");
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8_lossy(&output.stdout).to_string()
    };

    let first = import();
    for expected in [
        "afiliados.csv: 3 rows, 2 imported, 0 there already, 1 refused (affiliates)",
        "campanas.ndjson: 1 rows, 1 imported, 0 there already, 0 refused (campaigns)",
        "interacciones.ndjson: 2 rows, 2 imported, 0 there already, 0 refused (interactions)",
        // The purchase is the order's sale: counted as there.
        "tracking_events.csv: 4 rows, 2 imported, 1 there already, 1 refused (tracking_events)",
        "orders.csv: 3 rows, 2 imported, 0 there already, 1 refused (orders)",
        "conversiones.ndjson: 5 rows, 4 imported, 0 there already, 1 refused (conversions)",
        "comisiones.ndjson: 6 rows, 4 imported, 0 there already, 2 refused (commissions)",
        "6 rows refused",
    ] {
        assert!(first.contains(expected), "{expected:?} in\n{first}");
    }
    let lines: Vec<Value> =
        std::fs::read_to_string(&refused).unwrap().lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    assert_eq!(lines.len(), 6, "{lines:?}");
    assert!(lines[0]["file"].as_str().unwrap().ends_with("afiliados.csv"));
    assert_eq!(lines[0]["line"], 4, "the CSV's fourth line");
    assert!(lines[0]["reason"].as_str().unwrap().contains("email"), "{}", lines[0]);
    assert_eq!(lines[0]["row"]["afiliado_id"], "af_bad");
    assert_eq!(lines[1]["line"], 5);
    assert!(lines[1]["reason"].as_str().unwrap().contains("checkout_started"), "{}", lines[1]);
    assert_eq!(lines[2]["line"], 4);
    assert!(lines[2]["reason"].as_str().unwrap().contains("lost"), "{}", lines[2]);
    assert_eq!(lines[3]["line"], 2);
    assert!(lines[3]["reason"].as_str().unwrap().starts_with("id"), "{}", lines[3]);
    assert_eq!(lines[4]["line"], 4);
    assert!(lines[4]["reason"].as_str().unwrap().contains("conversion_id"), "{}", lines[4]);
    assert_eq!(lines[5]["line"], 6);
    assert!(lines[5]["reason"].as_str().unwrap().contains("en_disputa"), "{}", lines[5]);

    // The running server finds them by the seeds' own ids, at their own (2023) times, attributed.
    let token = server.login().await;
    let client = reqwest::Client::new();
    let get = |path: String| {
        let request = client.get(format!("{}{path}", server.base)).bearer_auth(&token);
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 200, "{path}");
            response.json::<Value>().await.unwrap()
        }
    };
    let maria = get("/api/v1/afiliados/af_12345".into()).await;
    assert_eq!(maria["configuracion_comisiones"]["comision_base"], json!(15.0));
    assert_eq!(maria["configuracion_comisiones"]["moneda"], "COP");
    let campaign = get("/api/v1/campanas/camp_67890".into()).await;
    assert_eq!(campaign["nombre"], "Black Friday 2023");
    let sale = get("/api/v1/conversiones/conv_98765".into()).await;
    assert_eq!(sale["estado"], "atribuida", "{sale}");
    assert_eq!(sale["afiliado_id"], maria["afiliado_id"]);
    assert!(sale["fecha_conversion"].as_str().unwrap().starts_with("2023-11-26"), "{sale}");
    let seed_002 = get("/api/v1/conversiones/conv-002".into()).await;
    assert_eq!(seed_002["estado"], "atribuida", "credited to the click of user-2: {seed_002}");
    // The commissions in the states they had, one per conversion and affiliate: the
    // attribution afterwards made no second one beside them.
    let approved = get("/api/v1/comisiones?conversion_id=conv_98765".into()).await;
    assert_eq!(approved["total"], 1, "{approved}");
    assert_eq!(approved["comisiones"][0]["estado"], "aprobada", "{approved}");
    assert_eq!(approved["comisiones"][0]["monto_calculado"], json!(37500.0), "{approved}");
    assert_eq!(approved["comisiones"][0]["comentarios"], "aprobada en 2023", "{approved}");
    let rejected = get("/api/v1/comisiones?conversion_id=conv-002".into()).await;
    assert_eq!(rejected["total"], 1, "{rejected}");
    assert_eq!(rejected["comisiones"][0]["estado"], "rechazada", "{rejected}");
    assert_eq!(rejected["comisiones"][0]["motivo_rechazo"], "fraude", "{rejected}");
    // Paid in the replaced system: paid here too, in a payout of its own with the payment's
    // reference, never to be paid again; canceled, with its reason.
    let paid = get("/api/v1/comisiones?conversion_id=conv_pagada".into()).await;
    assert_eq!(paid["total"], 1, "{paid}");
    assert_eq!(paid["comisiones"][0]["estado"], "pagada", "{paid}");
    assert_eq!(paid["comisiones"][0]["monto_calculado"], json!(8000.0), "the campaign's 8 %: {paid}");
    assert!(paid["comisiones"][0]["fecha_pago"].as_str().unwrap().starts_with("2023-12-15"), "{paid}");
    let canceled = get("/api/v1/comisiones?conversion_id=conv_cancelada".into()).await;
    assert_eq!(canceled["total"], 1, "{canceled}");
    assert_eq!(canceled["comisiones"][0]["estado"], "cancelada", "{canceled}");
    assert_eq!(canceled["comisiones"][0]["motivo_cancelacion"], "devuelto fuera de plazo", "{canceled}");
    // Seed 001's order: its sale at its own time, from the session's click, never sent on.
    let purchase = get("/api/v1/conversiones/cs_seed001_1".into()).await;
    assert_eq!(purchase["valor_conversion"], json!(49.9), "{purchase}");
    assert!(purchase["fecha_conversion"].as_str().unwrap().starts_with("2024-01-15T10:05"), "{purchase}");
    let db = sea_orm::Database::connect(&server.database_url).await.unwrap();
    let row = |sql: &str| {
        let statement =
            sea_orm::Statement::from_string(sea_orm::ConnectionTrait::get_database_backend(&db), sql.to_string());
        let db = &db;
        async move { sea_orm::ConnectionTrait::query_one_raw(db, statement).await.unwrap().unwrap() }
    };
    let clicked =
        row("SELECT i.external_id AS click, o.status AS status, o.gclid AS gclid, o.created_at AS created_at \
         FROM orders o JOIN interactions i ON i.id = o.click_id WHERE o.stripe_session_id = 'cs_seed001_1'")
        .await;
    assert_eq!(clicked.try_get::<String>("", "click").unwrap(), "te-1");
    assert_eq!(clicked.try_get::<String>("", "status").unwrap(), "PAID");
    assert_eq!(clicked.try_get::<String>("", "gclid").unwrap(), "TEST_GCLID");
    let refunded = row("SELECT status FROM orders WHERE stripe_session_id = 'cs_seed001_2'").await;
    assert_eq!(refunded.try_get::<String>("", "status").unwrap(), "REFUNDED");
    let payout = row("SELECT p.status AS status, p.amount AS amount, p.commission_count AS n, p.paid_at AS paid_at \
         FROM payouts p JOIN commissions c ON c.payout_id = p.id WHERE p.reference = 'TRF-2023-12-001'")
    .await;
    assert_eq!(payout.try_get::<String>("", "status").unwrap(), "PAID");
    assert_eq!(payout.try_get::<i32>("", "n").unwrap(), 1);
    assert_eq!(payout.try_get::<rust_decimal::Decimal>("", "amount").unwrap(), rust_decimal::Decimal::from(8000));
    let sent = row("SELECT COUNT(*) AS n FROM integration_deliveries").await;
    assert_eq!(sent.try_get::<i64>("", "n").unwrap(), 0, "imported orders are never delivered");
    db.close().await.unwrap();
    let counts = || async {
        let affiliates = get("/api/v1/afiliados".into()).await["total"].clone();
        let conversions = get("/api/v1/conversiones".into()).await["total"].clone();
        (affiliates, conversions)
    };
    let before = counts().await;
    assert_eq!(before, (json!(2), json!(6)));

    let second = import();
    for expected in [
        "afiliados.csv: 3 rows, 0 imported, 2 there already, 1 refused",
        "campanas.ndjson: 1 rows, 0 imported, 1 there already",
        "interacciones.ndjson: 2 rows, 0 imported, 2 there already",
        "tracking_events.csv: 4 rows, 0 imported, 3 there already, 1 refused",
        "orders.csv: 3 rows, 0 imported, 2 there already, 1 refused",
        "comisiones.ndjson: 6 rows, 0 imported, 4 there already, 2 refused",
        "conversiones.ndjson: 5 rows, 0 imported, 4 there already, 1 refused",
        "0 conversions attributed",
    ] {
        assert!(second.contains(expected), "{expected:?} in\n{second}");
    }
    assert_eq!(counts().await, before, "a second run changes nothing");
    // The books balance after an import: the paid commission's payout is its amount.
    let reconcile = Command::new(env!("CARGO_BIN_EXE_alpes"))
        .env("DATABASE_URL", &server.database_url)
        .env("ALPES_DATA_DIR", &server.data_dir)
        .env("RUST_LOG", "warn")
        .arg("reconcile")
        .output()
        .expect("run alpes reconcile");
    let printed = String::from_utf8_lossy(&reconcile.stdout);
    assert!(reconcile.status.success(), "{printed}{}", String::from_utf8_lossy(&reconcile.stderr));
    assert!(printed.contains("COP"), "{printed}");
}

// Several threads: the stand-in collector answers while the test waits for the process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_go_to_an_opentelemetry_collector_when_one_is_set() {
    use std::sync::{Arc, Mutex};
    // A stand-in OTLP/HTTP collector that keeps what it is sent.
    /// Each request: its content type and body.
    type Received = Arc<Mutex<Vec<(String, Vec<u8>)>>>;
    let received: Received = Arc::default();
    let kept = received.clone();
    let collector = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
            let kept = kept.clone();
            async move {
                let kind = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
                kept.lock().unwrap().push((kind, body.to_vec()));
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, collector).await });

    let data_dir = std::env::temp_dir().join(format!("alpes-e2e-otel-{}", uuid::Uuid::new_v4().simple()));
    let env = [("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()), ("OTEL_BSP_SCHEDULE_DELAY", "100")];
    let mut server = Server::start_with(support::fresh_database_url().await, data_dir, &env).await;
    let client = reqwest::Client::new();
    let answer = client.get(format!("{}/ready", server.base)).header("x-request-id", "e2e-otel-42").send().await;
    assert!(answer.unwrap().status().is_success());
    // Stopping flushes what is still buffered.
    assert!(server.terminate().success());
    let received = received.lock().unwrap().clone();
    assert!(!received.is_empty(), "the collector got no spans");
    assert!(received.iter().all(|(kind, _)| kind == "application/x-protobuf"), "{received:?}");
    let sent: Vec<u8> = received.into_iter().flat_map(|(_, body)| body).collect();
    let contains = |needle: &[u8]| sent.windows(needle.len()).any(|w| w == needle);
    assert!(contains(b"e2e-otel-42"), "the request's span carries its id");
    assert!(contains(b"alpes"), "the service is named");
}

#[tokio::test]
async fn the_version_names_the_git_revision_built_from() {
    let output = Command::new(env!("CARGO_BIN_EXE_alpes")).arg("--version").output().expect("run alpes");
    assert!(output.status.success());
    let version = String::from_utf8_lossy(&output.stdout).trim().to_string();
    let revision = version
        .strip_prefix(&format!("alpes {} (", env!("CARGO_PKG_VERSION")))
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or_else(|| panic!("unexpected --version: {version}"));
    // A checkout's short commit (12 hex digits, `-dirty` with local changes); `unknown`
    // only when built outside a git checkout.
    let commit = revision.trim_end_matches("-dirty");
    let checkout = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.git").exists();
    if checkout {
        assert!(commit.len() == 12 && commit.chars().all(|c| c.is_ascii_hexdigit()), "{version}");
    } else {
        assert_eq!(revision, "unknown", "{version}");
    }

    let output = Command::new(env!("CARGO_BIN_EXE_alpes"))
        .env("ALPES_LOG_FORMAT", "xml")
        .arg("export-schema")
        .output()
        .expect("run alpes");
    assert!(!output.status.success(), "an unknown log format is refused");
    assert!(String::from_utf8_lossy(&output.stderr).contains("ALPES_LOG_FORMAT must be json or pretty"));
}

#[tokio::test]
async fn bad_configuration_fails_fast_with_a_message() {
    let output = Command::new(env!("CARGO_BIN_EXE_alpes"))
        .env("DATABASE_URL", "mysql://nope")
        .env("ALPES_DATA_DIR", std::env::temp_dir())
        .arg("migrate")
        .output()
        .expect("run alpes");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("DATABASE_URL"));

    let output =
        Command::new(env!("CARGO_BIN_EXE_alpes")).args(["token", "--role", "AFFILIATE"]).output().expect("run alpes");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--affiliate"));

    let output = Command::new(env!("CARGO_BIN_EXE_alpes")).args(["export-schema"]).output().expect("run alpes");
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../schema.graphql")).unwrap()
    );
}

#[tokio::test]
async fn cli_token_is_accepted_by_the_server() {
    let server = Server::start().await;
    // The server generated and kept its secret; `alpes token` reads the same one.
    let output = Command::new(env!("CARGO_BIN_EXE_alpes"))
        .env("ALPES_DATA_DIR", &server.data_dir)
        .env_remove("ALPES_JWT_SECRET")
        .args(["token", "--role", "ANALYST", "--ttl", "1h"])
        .output()
        .expect("run alpes token");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let token = String::from_utf8_lossy(&output.stdout).trim().to_string();
    let me = server.ok::<Me>(Some(&token), me::Variables).await.me;
    assert!(matches!(me.role, me::UserRole::ANALYST), "{me:?}");
    assert!(me.user.is_none());
    let denied = server.send::<CreateAffiliate>(Some(&token), affiliate("X", "x@example.com")).await;
    let code =
        denied.errors.as_deref().and_then(|e| e.first()).and_then(|e| e.extensions.as_ref()).map(|x| x["code"].clone());
    assert_eq!(code, Some(json!("FORBIDDEN")));

    // `alpes api-key` makes a key the running server accepts.
    let output = Command::new(env!("CARGO_BIN_EXE_alpes"))
        .env("DATABASE_URL", &server.database_url)
        .env("ALPES_DATA_DIR", &server.data_dir)
        .args(["api-key", "--name", "bi tool", "--role", "ANALYST"])
        .output()
        .expect("run alpes api-key");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let key = String::from_utf8_lossy(&output.stdout).trim().to_string();
    assert!(key.starts_with("alpes_sk_"), "{key}");
    let me = server.ok::<Me>(Some(&key), me::Variables).await.me;
    assert!(matches!(me.role, me::UserRole::ANALYST), "{me:?}");
}

#[tokio::test]
async fn the_server_attributes_a_tracked_conversion_and_publishes_it_live() {
    let server = Server::start().await;
    let token = server.login().await;
    let mut ws = ws_connect(&server, "graphql-transport-ws").await;
    ws_send(&mut ws, json!({"type": "connection_init", "payload": {"authorization": format!("Bearer {token}")}})).await;
    assert_eq!(ws_next(&mut ws).await["type"], "connection_ack");
    ws_subscribe::<AttributionEvents>(&mut ws, "1", "subscribe", attribution_events::Variables).await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    let created = server.ok::<CreateAffiliate>(Some(&token), affiliate("Lucía", "lucia@example.com")).await;
    let affiliate_code = created.create_affiliate.code;
    server
        .ok::<CreateCampaign>(Some(&token), campaign("Rebajas", Some("rebajas"), "2026-01-01T00:00:00Z", "COP"))
        .await;
    let body = json!({
        "id": "e2e-conv-1", "campaña_id": "rebajas", "influencer_id": affiliate_code, "usuario_id": "usr-1",
        "tipo_conversion": "VENTA", "valor": 150000.0, "moneda": "COP", "timestamp": chrono::Utc::now().to_rfc3339()
    });
    // Conversions come from the shop's server, with a key an admin made for it.
    let keyless = reqwest::Client::new()
        .post(format!("{}/tracking/conversiones", server.base))
        .json(&body)
        .send()
        .await
        .expect("ingest");
    assert_eq!(keyless.status().as_u16(), 401);
    let issued = server
        .ok::<CreateApiKey>(
            Some(&token),
            create_api_key::Variables {
                input: create_api_key::CreateApiKeyInput {
                    name: "shop server".into(),
                    role: create_api_key::UserRole::ANALYST,
                    affiliate_id: None,
                    scopes: vec![create_api_key::ApiKeyScope::RECORD_CONVERSIONS],
                    expires_in_days: None,
                },
            },
        )
        .await
        .create_api_key;
    assert!(issued.secret.starts_with(&issued.api_key.prefix));
    let response = reqwest::Client::new()
        .post(format!("{}/tracking/conversiones", server.base))
        .header("x-api-key", &issued.secret)
        .json(&body)
        .send()
        .await
        .expect("ingest");
    assert_eq!(response.status().as_u16(), 201);

    // Attributed by the server's own worker, and published to live subscribers.
    let message = ws_next(&mut ws).await;
    let event = data_of::<AttributionEvents>(&message).events;
    assert_eq!(event.event_type, "ConversionAtribuida", "{message}");
    assert_eq!(event.envelope["id_campania"], "rebajas");
    assert_eq!(event.envelope["monto_atribuido"], json!({"valor": 150000.0, "moneda": "COP"}));
    assert_eq!(event.envelope["id_interaccion_original"], "e2e-conv-1");
    let conversion = server
        .ok::<ConversionJourney>(Some(&token), conversion_journey::Variables { id: "e2e-conv-1".into() })
        .await
        .conversion;
    assert!(matches!(conversion.status, conversion_journey::ConversionStatus::ATTRIBUTED), "{conversion:?}");
    let credits = conversion.journey.map(|j| j.credits).unwrap_or_default();
    assert_eq!(credits[0].affiliate.as_ref().map(|a| a.code.as_str()), Some(affiliate_code.as_str()));
}

#[tokio::test]
async fn a_paid_checkout_reaches_meta_and_pipedrive_from_the_running_server() {
    use wiremock::{
        matchers::{header, method, path},
        Mock, MockServer, ResponseTemplate,
    };
    let (meta, pipedrive) = (MockServer::start().await, MockServer::start().await);
    Mock::given(method("POST"))
        .and(path("/v24.0/PIXEL1/events"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"events_received": 1})))
        .mount(&meta)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/persons/search"))
        .and(header("x-api-token", "pd-token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"success": true, "data": {"items": [{"item": {"id": 5}}]}})),
        )
        .mount(&pipedrive)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/deals/search"))
        .and(header("x-api-token", "pd-token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"success": true, "data": {"items": []}})))
        .mount(&pipedrive)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v2/deals"))
        .and(header("x-api-token", "pd-token"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"success": true, "data": {"id": 91}})))
        .mount(&pipedrive)
        .await;
    let (meta_url, pipedrive_url) = (meta.uri(), pipedrive.uri());
    let data_dir = std::env::temp_dir().join(format!("alpes-e2e-{}", uuid::Uuid::new_v4().simple()));
    let server = Server::start_with(
        support::fresh_database_url().await,
        data_dir,
        &[
            ("STRIPE_WEBHOOK_SECRET", "whsec_e2e"),
            ("META_CAPI_PIXEL_ID", "PIXEL1"),
            ("META_CAPI_ACCESS_TOKEN", "meta-token"),
            ("META_CAPI_BASE_URL", &meta_url),
            ("PIPEDRIVE_API_TOKEN", "pd-token"),
            ("PIPEDRIVE_BASE_URL", &pipedrive_url),
        ],
    )
    .await;
    let token = server.login().await;
    let mut ws = ws_connect(&server, "graphql-transport-ws").await;
    ws_send(&mut ws, json!({"type": "connection_init", "payload": {"authorization": format!("Bearer {token}")}})).await;
    assert_eq!(ws_next(&mut ws).await["type"], "connection_ack");
    ws_subscribe::<DeliveryUpdates>(&mut ws, "1", "subscribe", delivery_updates::Variables).await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    let event = json!({"id": "evt_e2e", "object": "event", "type": "checkout.session.completed", "livemode": false,
        "created": chrono::Utc::now().timestamp(), "data": {"object": {
            "id": "cs_e2e", "object": "checkout.session", "amount_total": 9900, "currency": "eur",
            "payment_status": "paid", "payment_intent": "pi_e2e", "customer_details": {"email": "e2e@example.com"},
            "metadata": {"fbclid": "fbclid-e2e", "product_id": "PROD9"}}}});
    let body = event.to_string();
    let signature = alpes::domain::stripe::sign(body.as_bytes(), "whsec_e2e", chrono::Utc::now().timestamp());
    let response = reqwest::Client::new()
        .post(format!("{}/api/v1/webhooks/stripe", server.base))
        .header("stripe-signature", signature)
        .body(body)
        .send()
        .await
        .expect("webhook");
    assert_eq!(response.status().as_u16(), 200);

    // Both platforms get the order, and staff see each delivery settle live.
    let mut settled = Vec::new();
    while settled.len() < 2 {
        let message = ws_next(&mut ws).await;
        let update = data_of::<DeliveryUpdates>(&message).integration_delivery_updated;
        assert!(matches!(update.status, delivery_updates::DeliveryStatus::SUCCEEDED), "{message}");
        assert_eq!(update.attempts, 1, "{message}");
        settled.push(format!("{:?}", update.integration));
    }
    settled.sort();
    assert_eq!(settled, ["META_CAPI", "PIPEDRIVE"]);
    let sent = meta.received_requests().await.unwrap_or_default();
    let meta_body: Value = serde_json::from_slice(&sent[0].body).unwrap();
    assert_eq!(meta_body["access_token"], "meta-token");
    assert_eq!(meta_body["data"][0]["event_name"], "Purchase");
    let data = server.ok::<OrdersAndLog>(Some(&token), orders_and_log::Variables).await;
    assert_eq!(data.orders.edges[0].node.pipedrive_deal_id.as_deref(), Some("91"), "{data:?}");
    assert_eq!(data.integration_log.total_count, 2);
    let metrics = reqwest::get(format!("{}/metrics", server.base)).await.unwrap().text().await.unwrap();
    assert!(
        metrics.contains("alpes_integration_deliveries_total{integration=\"PIPEDRIVE\",outcome=\"succeeded\"} 1"),
        "{metrics}"
    );
}

/// A GraphQL call with a raw document: its `data`, or why not.
async fn raw_graphql(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    query: &str,
    variables: Value,
) -> Result<Value, String> {
    let answer = client
        .post(format!("{base}/graphql"))
        .bearer_auth(token)
        .json(&json!({ "query": query, "variables": variables }))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let body: Value = answer.json().await.map_err(|e| e.to_string())?;
    match body.get("errors") {
        Some(errors) => Err(errors.to_string()),
        None => Ok(body["data"].clone()),
    }
}

/// A signed Stripe event to the webhook: whether it was acknowledged (2xx).
async fn post_stripe(client: &reqwest::Client, base: &str, secret: &str, event: &Value) -> bool {
    let body = event.to_string();
    let signature = alpes::domain::stripe::sign(body.as_bytes(), secret, chrono::Utc::now().timestamp());
    let sent = client
        .post(format!("{base}/api/v1/webhooks/stripe"))
        .header("stripe-signature", signature)
        .body(body)
        .timeout(Duration::from_secs(10))
        .send()
        .await;
    sent.is_ok_and(|r| r.status().is_success())
}

/// A small deterministic generator (xorshift), so that a failing run can be repeated.
struct Dice(u64);

impl Dice {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

/// What the chaos drivers got acknowledged: sessions and the cumulative refund of each.
#[derive(Default)]
struct Acknowledged {
    sales: Vec<(String, i64)>,
    refunded: std::collections::HashMap<String, i64>,
}

/// Checkouts and refunds, as Stripe sends them, until aborted.
async fn drive_stripe(
    base: String,
    round: usize,
    affiliate: String,
    seen: std::sync::Arc<std::sync::Mutex<Acknowledged>>,
) {
    let client = reqwest::Client::new();
    let mut dice = Dice(0x9E37_79B9_7F4A_7C15 ^ (round as u64 + 1));
    for n in 0.. {
        let now = chrono::Utc::now().timestamp();
        let sales = seen.lock().map(|s| s.sales.clone()).unwrap_or_default();
        if dice.below(4) == 0 && !sales.is_empty() {
            // A refund of an earlier sale: more of it each time, up to all of it.
            let (session, amount) = sales[dice.below(sales.len() as u64) as usize].clone();
            let before = seen.lock().ok().and_then(|s| s.refunded.get(&session).copied()).unwrap_or(0);
            let total = (before + 1 + dice.below(amount as u64) as i64).min(amount);
            let intent = session.replace("cs_", "pi_");
            let event = json!({"id": format!("evt_re_{session}_{total}"), "object": "event", "type": "charge.refunded",
                "created": now, "data": {"object": {"id": format!("ch_{session}"), "object": "charge", "payment_intent": intent,
                "amount": amount, "amount_refunded": total, "currency": "usd"}}});
            if post_stripe(&client, &base, CHAOS_SECRET, &event).await {
                if let Ok(mut s) = seen.lock() {
                    let entry = s.refunded.entry(session).or_insert(0);
                    *entry = (*entry).max(total);
                }
            }
            continue;
        }
        let session = format!("cs_chaos_{round}_{n}");
        let amount = 1_000 + dice.below(19_000) as i64;
        let event = json!({"id": format!("evt_{session}"), "object": "event", "type": "checkout.session.completed",
            "created": now, "data": {"object": {"id": session, "object": "checkout.session", "amount_total": amount,
            "currency": "usd", "payment_status": "paid", "created": now, "payment_intent": session.replace("cs_", "pi_"),
            "customer_details": {"email": format!("{session}@buyers.example.com")}, "metadata": {"affiliate": affiliate}}}});
        if post_stripe(&client, &base, CHAOS_SECRET, &event).await {
            if let Ok(mut s) = seen.lock() {
                s.sales.push((session, amount));
            }
        }
    }
}

/// An admin's money work, until aborted: calculate, approve, pay out, mark paid.
async fn drive_money(base: String, token: String, affiliate_id: String) {
    let client = reqwest::Client::new();
    loop {
        let _ =
            raw_graphql(&client, &base, &token, "mutation { calculatePendingCommissions { calculated } }", json!({}))
                .await;
        let calculated = raw_graphql(
            &client,
            &base,
            &token,
            "{ commissions(filter: { status: CALCULATED }, first: 50) { nodes { id } } }",
            json!({}),
        )
        .await;
        let ids: Vec<Value> = calculated
            .ok()
            .and_then(|d| d["commissions"]["nodes"].as_array().cloned())
            .unwrap_or_default()
            .into_iter()
            .map(|n| n["id"].clone())
            .collect();
        if !ids.is_empty() {
            let _ = raw_graphql(
                &client,
                &base,
                &token,
                "mutation($ids: [ID!]!) { approveCommissions(ids: $ids) { id } }",
                json!({"ids": ids}),
            )
            .await;
        }
        let _ = raw_graphql(
            &client,
            &base,
            &token,
            "mutation($a: ID!) { createPayout(affiliateId: $a, currency: \"USD\") { id } }",
            json!({"a": affiliate_id}),
        )
        .await;
        let pending =
            raw_graphql(&client, &base, &token, "{ payouts(status: PENDING, first: 1) { nodes { id } } }", json!({}))
                .await;
        if let Some(id) = pending.ok().and_then(|d| d["payouts"]["nodes"][0]["id"].as_str().map(str::to_owned)) {
            let _ = raw_graphql(
                &client,
                &base,
                &token,
                "mutation($id: ID!) { markPayoutPaid(id: $id) { id } }",
                json!({"id": id}),
            )
            .await;
        }
    }
}

const CHAOS_SECRET: &str = "whsec_chaos";

/// Money flows survive `kill -9` at any moment: Stripe checkouts and refunds arriving while
/// an admin calculates, approves, pays out and marks paid; the process killed at a random
/// moment and restarted on the same data, round after round. Then every acknowledged
/// checkout has one order and one conversion, the reconciliation's SQL invariants hold
/// (credits sum to each conversion, commissions follow credits and rates and refunds,
/// payouts equal their commissions, every change audited), and the daily rollups kept in
/// the writers' transactions equal the ones rebuilt from the raw tables.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn money_flows_survive_kill_9_at_any_moment() {
    // More rounds: ALPES_CHAOS_ROUNDS; the same load without the kills: ALPES_CHAOS_NO_KILL
    // (tells a crash's harm from a race's).
    let rounds: usize = std::env::var("ALPES_CHAOS_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(8);
    let database_url = support::fresh_database_url().await;
    let data_dir = std::env::temp_dir().join(format!("alpes-e2e-{}", uuid::Uuid::new_v4().simple()));
    let env = [("STRIPE_WEBHOOK_SECRET", CHAOS_SECRET)];
    let mut server = Server::start_with(database_url.clone(), data_dir.clone(), &env).await;
    let token = server.login().await;
    let client = reqwest::Client::new();
    let made = raw_graphql(
        &client,
        &server.base,
        &token,
        "mutation($i: CreateAffiliateInput!) { createAffiliate(input: $i) { id code } }",
        json!({"i": {"name": "Chaos Partner", "email": "chaos@example.com", "tier": "STANDARD",
                     "commissionConfig": {"baseRate": "10", "minimumPayout": "20", "currency": "USD"}}}),
    )
    .await
    .expect("affiliate");
    let (affiliate_id, code) = (
        made["createAffiliate"]["id"].as_str().unwrap().to_string(),
        made["createAffiliate"]["code"].as_str().unwrap().to_string(),
    );

    let seen = std::sync::Arc::new(std::sync::Mutex::new(Acknowledged::default()));
    let mut dice = Dice(0xA5A5_5A5A_1234_5678);
    for round in 0..rounds {
        let stripe = tokio::spawn(drive_stripe(server.base.clone(), round, code.clone(), seen.clone()));
        let money = tokio::spawn(drive_money(server.base.clone(), token.clone(), affiliate_id.clone()));
        tokio::time::sleep(Duration::from_millis(300 + dice.below(1_200))).await;
        if std::env::var("ALPES_CHAOS_NO_KILL").is_ok() {
            stripe.abort();
            money.abort();
            continue;
        }
        server.child.kill().expect("kill -9");
        server.child.wait().expect("reap");
        stripe.abort();
        money.abort();
        server = Server::start_with(database_url.clone(), data_dir.clone(), &env).await;
    }
    let (sales, acknowledged) = {
        let s = seen.lock().unwrap();
        (s.sales.clone(), s.sales.len())
    };
    assert!(acknowledged >= rounds, "the load reached the server: {acknowledged} checkouts acknowledged");

    // Attribution catches up with what was recorded before each kill.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let waiting = raw_graphql(
            &client,
            &server.base,
            &token,
            "{ conversions(filter: { status: REGISTERED }) { totalCount } }",
            json!({}),
        )
        .await
        .expect("conversions")["conversions"]["totalCount"]
            .as_i64();
        if waiting == Some(0) {
            break;
        }
        assert!(Instant::now() < deadline, "attribution did not catch up: {waiting:?} waiting");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let conn = sea_orm::Database::connect(&database_url).await.unwrap();
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    let ids: Vec<String> = sales.iter().map(|(s, _)| s.clone()).collect();
    let orders = entity::orders::Entity::find()
        .filter(entity::orders::Column::StripeSessionId.is_in(ids.clone()))
        .count(&conn)
        .await
        .unwrap();
    let conversions = entity::conversions::Entity::find()
        .filter(entity::conversions::Column::ExternalId.is_in(ids))
        .count(&conn)
        .await
        .unwrap();
    assert_eq!(
        (orders, conversions),
        (acknowledged as u64, acknowledged as u64),
        "one order and one conversion per acknowledged checkout"
    );

    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_alpes"))
            .env("DATABASE_URL", &database_url)
            .env("ALPES_DATA_DIR", &data_dir)
            .env("RUST_LOG", "warn")
            .args(args)
            .output()
            .expect("run alpes")
    };
    let report = run(&["reconcile", "--format", "json"]);
    let report: Value = serde_json::from_slice(&report.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&report.stderr)));
    let failed: Vec<&Value> = report["checks"].as_array().unwrap().iter().filter(|c| c["violations"] != 0).collect();
    if !failed.is_empty() {
        // What the offending sales hold, to read the fault from the failure alone.
        for id in failed.iter().filter(|c| c["subject"] == "CONVERSION").flat_map(|c| c["examples"].as_array().unwrap())
        {
            let id: uuid::Uuid = id.as_str().unwrap().parse().unwrap();
            let sale = entity::conversions::Entity::find_by_id(id).one(&conn).await.unwrap();
            let order = match sale.as_ref().and_then(|v| v.order_id) {
                Some(o) => entity::orders::Entity::find_by_id(o).one(&conn).await.unwrap(),
                None => None,
            };
            let commissions = entity::commissions::Entity::find()
                .filter(entity::commissions::Column::ConversionId.eq(id))
                .all(&conn)
                .await
                .unwrap();
            let history = entity::audit_log::Entity::find()
                .filter(entity::audit_log::Column::EntityId.is_in(commissions.iter().map(|c| c.id.to_string())))
                .all(&conn)
                .await
                .unwrap();
            let history: Vec<_> = history.iter().map(|a| (a.created_at, &a.action, &a.after)).collect();
            eprintln!("conversion {sale:#?}\norder {order:#?}\ncommissions {commissions:#?}\nhistory {history:#?}");
        }
    }
    assert!(failed.is_empty() && report["balanced"] == true, "after {rounds} kills: {failed:?}");
    let payouts = entity::payouts::Entity::find().count(&conn).await.unwrap();

    // The rollups the writers kept equal those rebuilt from the raw tables.
    assert!(server.terminate().success());
    let kept = alpes::service::rollup::snapshot(&conn).await.unwrap();
    assert!(kept.iter().any(|line| line.starts_with("commission_daily")), "{kept:?}");
    let rebuilt = run(&["rollup", "rebuild"]);
    assert!(rebuilt.status.success(), "{}", String::from_utf8_lossy(&rebuilt.stderr));
    assert_eq!(alpes::service::rollup::snapshot(&conn).await.unwrap(), kept, "rollups kept = rebuilt");
    eprintln!("survived {rounds} kills: {acknowledged} checkouts acknowledged, {payouts} payouts, books balanced");
}

/// A PostgreSQL cluster of the test's own (initdb in a temp dir, run by the `postgres`
/// user when the test runs as root), so that it can be stopped without harming the
/// other tests' database.
struct PrivatePostgres {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
}

impl PrivatePostgres {
    fn create() -> PrivatePostgres {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL's binaries under /usr/lib/postgresql")
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .filter(|p| p.join("initdb").exists())
            .max()
            .expect("initdb");
        let dir = std::env::temp_dir().join(format!("alpes-pg-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let pg = PrivatePostgres { bin, dir, port };
        if pg.as_postgres(Command::new("id").arg("-u")).is_some() {
            Command::new("chown").arg("postgres").arg(&pg.dir).status().expect("chown");
        }
        let data = pg.dir.join("data");
        let status = pg
            .as_postgres(
                Command::new(pg.bin.join("initdb")).arg("-D").arg(&data).args(["-A", "trust", "-U", "postgres"]),
            )
            .unwrap_or_else(|| {
                Command::new(pg.bin.join("initdb"))
                    .arg("-D")
                    .arg(&data)
                    .args(["-A", "trust", "-U", "postgres"])
                    .stdout(Stdio::null())
                    .status()
                    .expect("initdb")
            });
        assert!(status.success(), "initdb");
        pg.start();
        pg
    }

    /// Runs `command` as the `postgres` user when this process is root (PostgreSQL refuses
    /// to run as root); `None` when it is not root.
    fn as_postgres(&self, command: &mut Command) -> Option<std::process::ExitStatus> {
        let root = Command::new("id").arg("-u").output().ok().is_some_and(|o| o.stdout.starts_with(b"0\n"));
        if !root {
            return None;
        }
        let program = command.get_program().to_owned();
        let args: Vec<_> = command.get_args().map(|a| a.to_owned()).collect();
        Some(
            Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(program)
                .args(args)
                .stdout(Stdio::null())
                .status()
                .expect("runuser"),
        )
    }

    fn pg_ctl(&self, args: &[&str]) -> bool {
        let data = self.dir.join("data");
        let options = format!("-p {} -k {} -c listen_addresses=127.0.0.1", self.port, self.dir.display());
        let mut command = Command::new(self.bin.join("pg_ctl"));
        command.arg("-D").arg(&data).args(["-o", &options, "-l"]).arg(self.dir.join("log")).args(args);
        let status = match self.as_postgres(&mut command) {
            Some(status) => status,
            None => command.stdout(Stdio::null()).status().expect("pg_ctl"),
        };
        status.success()
    }

    fn start(&self) {
        assert!(self.pg_ctl(&["-w", "start"]), "private PostgreSQL started");
    }

    /// Stops it the hard way: connections cut, no checkpoint (as a crash or a failover does).
    fn stop(&self) {
        assert!(self.pg_ctl(&["-w", "-m", "immediate", "stop"]), "private PostgreSQL stopped");
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let _ = self.pg_ctl(&["-m", "immediate", "stop"]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// What each request of an outage test got: when, its status, how long it took.
#[derive(Debug, Clone)]
struct Answer {
    at: Instant,
    status: u16,
    took: Duration,
    retry_after: bool,
}

/// Sends one request; its status (0 when no answer came at all), time and `Retry-After`.
async fn answer(request: reqwest::RequestBuilder) -> Answer {
    let at = Instant::now();
    match request.timeout(Duration::from_secs(20)).send().await {
        Ok(r) => Answer {
            at,
            status: r.status().as_u16(),
            took: at.elapsed(),
            retry_after: r.headers().contains_key("retry-after"),
        },
        Err(_) => Answer { at, status: 0, took: at.elapsed(), retry_after: false },
    }
}

/// What an outage run saw: every answer, the checkouts acknowledged, and when the fault
/// began and ended.
struct OutageRun {
    writes: Vec<Answer>,
    acknowledged: Vec<String>,
    graphql: Vec<Answer>,
    ready: Vec<Answer>,
    health: Vec<Answer>,
    openapi: Vec<Answer>,
    down: Instant,
    up: Instant,
}

impl OutageRun {
    fn during(&self, a: &Answer) -> bool {
        a.at > self.down + Duration::from_secs(1) && a.at + a.took < self.up
    }

    fn after(&self, a: &Answer) -> bool {
        a.at > self.up + Duration::from_secs(8)
    }
}

fn statuses(answers: &[Answer]) -> Vec<u16> {
    let mut s: Vec<u16> = answers.iter().map(|a| a.status).collect();
    s.sort_unstable();
    s.dedup();
    s
}

/// Runs load (checkouts from Stripe by four writers; a GraphQL read, `/ready`, `/health`
/// and the OpenAPI document polled) for 3 s, then `fault`, 10 s later `mend`, then 12 s more.
async fn under_outage(
    server: &Server,
    token: &str,
    fault: impl std::future::Future<Output = ()>,
    mend: impl std::future::Future<Output = ()>,
) -> OutageRun {
    use std::sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    };
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for worker in 0..4 {
        let (base, stop) = (server.base.clone(), stop.clone());
        writers.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            let (mut answers, mut acknowledged) = (Vec::new(), Vec::new());
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let session = format!("cs_outage_{worker}_{n}");
                let now = chrono::Utc::now().timestamp();
                let event = json!({"id": format!("evt_{session}"), "object": "event", "type": "checkout.session.completed",
                    "created": now, "data": {"object": {"id": session, "object": "checkout.session", "amount_total": 2_500,
                    "currency": "usd", "payment_status": "paid", "created": now,
                    "customer_details": {"email": format!("{session}@buyers.example.com")}}}});
                let body = event.to_string();
                let signature = alpes::domain::stripe::sign(body.as_bytes(), CHAOS_SECRET, now);
                let url = format!("{base}/api/v1/webhooks/stripe");
                let got = answer(client.post(url).header("stripe-signature", signature).body(body)).await;
                if (200..300).contains(&got.status) {
                    acknowledged.push(session);
                }
                let refused = got.status >= 500;
                answers.push(got);
                if refused {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
            (answers, acknowledged)
        }));
    }
    let probe = |path: &'static str| {
        let (base, token, stop) = (server.base.clone(), token.to_string(), stop.clone());
        tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut answers = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let request = match path {
                    "/graphql" => client
                        .post(format!("{base}/graphql"))
                        .bearer_auth(&token)
                        .json(&json!({"query": "{ orders(first: 5) { totalCount } }"})),
                    _ => client.get(format!("{base}{path}")),
                };
                answers.push(answer(request).await);
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            answers
        })
    };
    let (graphql, ready, health, openapi) =
        (probe("/graphql"), probe("/ready"), probe("/health"), probe("/api/v1/openapi.json"));

    tokio::time::sleep(Duration::from_secs(3)).await;
    // From when the fault is in place (stopping a database can take a moment on a busy machine).
    fault.await;
    let down = Instant::now();
    tokio::time::sleep(Duration::from_secs(10)).await;
    mend.await;
    let up = Instant::now();
    tokio::time::sleep(Duration::from_secs(12)).await;
    stop.store(true, Ordering::Relaxed);

    let (mut writes, mut acknowledged) = (Vec::new(), Vec::new());
    for writer in writers {
        let (a, k) = writer.await.unwrap();
        writes.extend(a);
        acknowledged.extend(k);
    }
    OutageRun {
        writes,
        acknowledged,
        graphql: graphql.await.unwrap(),
        ready: ready.await.unwrap(),
        health: health.await.unwrap(),
        openapi: openapi.await.unwrap(),
        down,
        up,
    }
}

/// What every outage must show: no 500 and no hang (a refusal is a 503 that says when to
/// retry, within seconds), writes refused while it lasts and taken again after it without
/// a restart, `/ready` red then green, what needs no database served throughout, and
/// every acknowledged checkout in the database. `reads_served` says whether the GraphQL
/// read is answered during the fault (a lock held by another writer leaves reads alone).
async fn check_outage(what: &str, run: &OutageRun, database_url: &str, reads_served: bool) {
    for (kind, list) in [("writes", &run.writes), ("graphql", &run.graphql), ("ready", &run.ready)] {
        assert!(
            list.iter().all(|a| (200..300).contains(&a.status) || (a.status == 503 && a.retry_after)),
            "{what}, {kind}: only 2xx or 503 with Retry-After: {:?}",
            statuses(list)
        );
        let slowest = list.iter().map(|a| a.took).max().unwrap();
        assert!(slowest < Duration::from_secs(8), "{what}, {kind}: no request hangs (slowest {slowest:?})");
    }
    let refused = run.writes.iter().filter(|a| run.during(a)).filter(|a| a.status == 503).count();
    let taken = run.writes.iter().filter(|a| run.during(a)).filter(|a| a.status == 200).count();
    assert!(refused > 0, "{what}: writes during the fault are refused with 503: {:?}", statuses(&run.writes));
    assert!(run.ready.iter().filter(|a| run.during(a)).all(|a| a.status == 503), "{what}: /ready is red during it");
    assert!(run.ready.iter().filter(|a| run.after(a)).all(|a| a.status == 200), "{what}: /ready green after it");
    assert!(run.writes.iter().filter(|a| run.after(a)).any(|a| a.status == 200), "{what}: writes taken again");
    assert!(run.graphql.iter().filter(|a| run.after(a)).all(|a| a.status == 200), "{what}: reads served after");
    if reads_served {
        let during: Vec<Answer> = run.graphql.iter().filter(|a| run.during(a)).cloned().collect();
        assert!(!during.is_empty() && during.iter().all(|a| a.status == 200), "{what}: reads served during it");
    }
    for (kind, list) in [("health", &run.health), ("openapi", &run.openapi)] {
        assert!(list.iter().all(|a| a.status == 200), "{what}, {kind} needs no database: {:?}", statuses(list));
    }
    let conn = sea_orm::Database::connect(database_url).await.unwrap();
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    let stored = entity::orders::Entity::find()
        .filter(entity::orders::Column::StripeSessionId.is_in(run.acknowledged.clone()))
        .count(&conn)
        .await
        .unwrap();
    assert_eq!(stored, run.acknowledged.len() as u64, "{what}: every acknowledged checkout is stored");
    eprintln!(
        "{what}: {} writes, {} acknowledged, {refused} refused with 503 and {taken} taken during the fault; slowest write {:?}",
        run.writes.len(),
        run.acknowledged.len(),
        run.writes.iter().map(|a| a.took).max().unwrap()
    );
}

/// PostgreSQL stopped for 10 s under load (connections cut, as in a crash or failover),
/// then started again: see [`check_outage`].
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_answers_503_and_heals_by_itself() {
    if !support::backend_url().is_some_and(|u| u.starts_with("postgres")) {
        eprintln!("the PostgreSQL outage is shown in the PostgreSQL pass");
        return;
    }
    let pg = PrivatePostgres::create();
    let data_dir = std::env::temp_dir().join(format!("alpes-e2e-{}", uuid::Uuid::new_v4().simple()));
    let mut server = Server::start_with(pg.url(), data_dir, &[("STRIPE_WEBHOOK_SECRET", CHAOS_SECRET)]).await;
    let token = server.login().await;
    let run = under_outage(&server, &token, async { pg.stop() }, async { pg.start() }).await;
    check_outage("PostgreSQL stopped", &run, &pg.url(), false).await;
    assert!(server.terminate().success());
}

/// SQLite: another process holds the database's write lock for 10 s (a long import, a
/// tool left in a transaction), then the disk fills for 10 s (a file size limit put on
/// the running process, so that every write past it fails as on a full disk) and is
/// freed: each time see [`check_outage`]; reads are still served while the lock is held.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_or_full_sqlite_database_answers_503_and_heals_by_itself() {
    if support::backend_url().is_some() {
        eprintln!("the SQLite faults are shown in the SQLite pass");
        return;
    }
    let database_url = support::fresh_database_url().await;
    let data_dir = std::env::temp_dir().join(format!("alpes-e2e-{}", uuid::Uuid::new_v4().simple()));
    let mut server =
        Server::start_with(database_url.clone(), data_dir, &[("STRIPE_WEBHOOK_SECRET", CHAOS_SECRET)]).await;
    let token = server.login().await;

    // The lock: held by another connection, as another process would.
    let (locked_tx, locked_rx) = tokio::sync::oneshot::channel();
    let (release_tx, release_rx) = tokio::sync::oneshot::channel::<()>();
    let holder = {
        let url = database_url.clone();
        tokio::spawn(async move {
            use sea_orm::TransactionTrait;
            let conn = sea_orm::Database::connect(&url).await.unwrap();
            let options = sea_orm::TransactionOptions {
                sqlite_transaction_mode: Some(sea_orm::SqliteTransactionMode::Immediate),
                ..Default::default()
            };
            let txn = conn.begin_with_options(options).await.unwrap();
            locked_tx.send(()).unwrap();
            release_rx.await.ok();
            txn.rollback().await.unwrap();
        })
    };
    let fault = async { locked_rx.await.unwrap() };
    let mend = async { release_tx.send(()).unwrap() };
    let run = under_outage(&server, &token, fault, mend).await;
    holder.await.unwrap();
    check_outage("SQLite locked by another process", &run, &database_url, true).await;

    // The disk full: no file of the process may grow past a byte, then any size again (the
    // soft limit only: raising a hard limit takes a privilege containers often lack).
    let pid = server.child.id().to_string();
    let limit = |size: &str| {
        let status =
            Command::new("prlimit").args(["--pid", &pid, &format!("--fsize={size}:")]).status().expect("prlimit");
        assert!(status.success(), "prlimit --fsize={size}: (the soft limit)");
    };
    let run = under_outage(&server, &token, async { limit("1") }, async { limit("unlimited") }).await;
    check_outage("SQLite disk full", &run, &database_url, false).await;
    assert!(server.terminate().success());
}
