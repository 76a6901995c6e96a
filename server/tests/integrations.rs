//! Outbound conversions (seed 000): Meta CAPI, Google Ads and Pipedrive against local
//! stand-ins that check each request's shape, headers and hashes; one platform down
//! (500, timing out, refusing connections) while the others go on; retries, DEAD,
//! manual retry, restart; every attempt in `integrations_log` (seed 001).

mod support;

use std::time::Duration;

use alpes::{auth::Role, config::Config, domain::stripe};
use axum::{body::Body, http::Request};
use entity::integration_deliveries::{self, DeliveryStatus, Integration};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Statement};
use serde_json::{json, Value};
use support::TestApp;
use wiremock::{
    matchers::{header, method, path, query_param},
    Mock, MockServer, ResponseTemplate,
};

const SECRET: &str = "whsec_test_secret";
const META_TOKEN: &str = "EAAB-meta-access-token-secret";
const GOOGLE_DEV_TOKEN: &str = "google-developer-token-secret";
const GOOGLE_CLIENT_SECRET: &str = "google-client-secret-value";
const GOOGLE_REFRESH: &str = "1//google-refresh-token-secret";
const GOOGLE_ACCESS: &str = "ya29.google-access-token-secret";
const PIPEDRIVE_TOKEN: &str = "pipedrive-api-token-secret";
const SECRETS: [&str; 6] =
    [META_TOKEN, GOOGLE_DEV_TOKEN, GOOGLE_CLIENT_SECRET, GOOGLE_REFRESH, GOOGLE_ACCESS, PIPEDRIVE_TOKEN];

/// Where each platform's stand-in listens.
#[derive(Clone)]
struct Endpoints {
    meta: String,
    google: String,
    pipedrive: String,
}

fn configure(config: &mut Config, at: &Endpoints) {
    config.meta_capi_pixel_id = Some("1234567890".into());
    config.meta_capi_access_token = Some(META_TOKEN.into());
    config.meta_capi_api_version = "v24.0".into();
    config.meta_capi_test_event_code = Some("TEST4242".into());
    config.meta_capi_base_url = at.meta.clone();
    config.google_ads_customer_id = Some("123-456-7890".into());
    config.google_ads_conversion_action_id = Some("987654".into());
    config.google_ads_developer_token = Some(GOOGLE_DEV_TOKEN.into());
    config.google_ads_client_id = Some("client-id.apps.googleusercontent.com".into());
    config.google_ads_client_secret = Some(GOOGLE_CLIENT_SECRET.into());
    config.google_ads_refresh_token = Some(GOOGLE_REFRESH.into());
    config.google_ads_login_customer_id = Some("111-222-3333".into());
    config.google_ads_base_url = at.google.clone();
    config.google_ads_token_url = format!("{}/token", at.google);
    config.pipedrive_api_token = Some(PIPEDRIVE_TOKEN.into());
    config.pipedrive_base_url = at.pipedrive.clone();
    config.delivery_max_attempts = 5;
    config.delivery_backoff_base_ms = 50;
    config.integration_timeout_ms = 1500;
}

async fn meta_ok(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path("/v24.0/1234567890/events"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"events_received": 1, "fbtrace_id": "AbC"})))
        .mount(server)
        .await;
}

async fn google_ok(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": GOOGLE_ACCESS, "expires_in": 3599, "token_type": "Bearer"})),
        )
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v21/customers/1234567890:uploadClickConversions"))
        .and(header("authorization", format!("Bearer {GOOGLE_ACCESS}").as_str()))
        .and(header("developer-token", GOOGLE_DEV_TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"results": [{"gclid": "TEST_GCLID"}]})))
        .mount(server)
        .await;
}

async fn pipedrive_ok(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/api/v2/persons/search"))
        .and(query_param("fields", "email"))
        .and(query_param("exact_match", "true"))
        .and(header("x-api-token", PIPEDRIVE_TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"success": true, "data": {"items": []}})))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/deals/search"))
        .and(query_param("fields", "title"))
        .and(header("x-api-token", PIPEDRIVE_TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"success": true, "data": {"items": []}})))
        .mount(server)
        .await;
    for (route, id) in [("/api/v2/persons", 42), ("/api/v2/deals", 777)] {
        Mock::given(method("POST"))
            .and(path(route))
            .and(header("x-api-token", PIPEDRIVE_TOKEN))
            .respond_with(ResponseTemplate::new(201).set_body_json(json!({"success": true, "data": {"id": id}})))
            .mount(server)
            .await;
    }
}

/// A local address nothing listens on: connections are refused.
async fn refused() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}

fn checkout(event_id: &str, session_id: &str, created: i64, metadata: Value) -> Value {
    json!({"id": event_id, "object": "event", "type": "checkout.session.completed", "livemode": false,
           "created": created, "data": {"object": {
        "id": session_id, "object": "checkout.session", "amount_total": 15075, "currency": "usd",
        "payment_status": "paid", "payment_intent": format!("pi_{session_id}"), "created": created,
        "success_url": "https://shop.example/gracias?session_id={CHECKOUT_SESSION_ID}",
        "customer_details": {"email": " Buyer@Example.com ", "phone": "+57 300 123 4567", "name": "Ana Buyer"},
        "metadata": metadata
    }}})
}

fn full_metadata() -> Value {
    json!({"gclid": "TEST_GCLID", "fbclid": "IwAR0aBcD_Ef", "campaign": "LANZAMIENTO_2026", "source": "google",
           "product_id": "PROD001", "client_ip_address": "203.0.113.9", "client_user_agent": "Mozilla/5.0 (X11)"})
}

async fn deliver(app: &TestApp, payload: &Value) {
    let body = payload.to_string();
    let signature = stripe::sign(body.as_bytes(), SECRET, chrono::Utc::now().timestamp());
    let request = Request::post("/api/v1/webhooks/stripe")
        .header("content-type", "application/json")
        .header("stripe-signature", signature)
        .body(Body::from(body))
        .unwrap();
    let (status, _, answer) = app.send(request).await;
    assert_eq!(status, 200, "{answer}");
}

async fn deliveries(app: &TestApp) -> Vec<integration_deliveries::Model> {
    integration_deliveries::Entity::find().all(app.db()).await.unwrap()
}

async fn delivery(app: &TestApp, integration: Integration) -> integration_deliveries::Model {
    integration_deliveries::Entity::find()
        .filter(integration_deliveries::Column::Integration.eq(integration))
        .one(app.db())
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no {integration:?} delivery"))
}

/// Waits until `integration`'s delivery reaches `status` (or fails the test after 20 s).
async fn wait_for(app: &TestApp, integration: Integration, status: DeliveryStatus) -> integration_deliveries::Model {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let found = integration_deliveries::Entity::find()
            .filter(integration_deliveries::Column::Integration.eq(integration))
            .one(app.db())
            .await
            .unwrap();
        if let Some(found) = found.filter(|d| d.status == status) {
            return found;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{integration:?} never reached {status:?}: {:?}",
            deliveries(app).await
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn log_rows(app: &TestApp, integration: &str) -> Vec<entity::integrations_log::Model> {
    let mut rows = entity::integrations_log::Entity::find()
        .filter(entity::integrations_log::Column::Integration.eq(integration))
        .all(app.db())
        .await
        .unwrap();
    rows.sort_by_key(|r| r.id);
    rows
}

async fn requests_to(server: &MockServer, route: &str) -> Vec<wiremock::Request> {
    server.received_requests().await.unwrap_or_default().into_iter().filter(|r| r.url.path() == route).collect()
}

async fn text_of(app: &TestApp, uri: &str) -> String {
    use tower::ServiceExt;
    let response = app.app.router.clone().oneshot(Request::get(uri).body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(response.status(), 200);
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// Everything `integrations_log` holds, as text.
async fn log_text(app: &TestApp) -> String {
    let rows = entity::integrations_log::Entity::find().all(app.db()).await.unwrap();
    serde_json::to_string(&rows).unwrap()
}

async fn assert_no_secrets_logged(app: &TestApp) {
    let text = log_text(app).await;
    for secret in SECRETS {
        assert!(!text.contains(secret), "{secret} leaked into integrations_log");
    }
    let deliveries = serde_json::to_string(&deliveries(app).await).unwrap();
    for secret in SECRETS {
        assert!(!deliveries.contains(secret), "{secret} leaked into integration_deliveries");
    }
    // The visitor's IP goes to Meta (it needs it raw) but not into our log.
    assert!(!text.contains("203.0.113.9"), "a client IP in integrations_log");
}

fn body(request: &wiremock::Request) -> Value {
    serde_json::from_slice(&request.body).unwrap()
}

#[tokio::test]
async fn a_paid_checkout_reaches_all_three_platforms_with_the_documented_requests() {
    let (meta, google, pipedrive) = (MockServer::start().await, MockServer::start().await, MockServer::start().await);
    meta_ok(&meta).await;
    google_ok(&google).await;
    pipedrive_ok(&pipedrive).await;
    let at = Endpoints { meta: meta.uri(), google: google.uri(), pipedrive: pipedrive.uri() };
    let app = TestApp::with_config(|c| configure(c, &at)).await;
    let created = chrono::Utc::now().timestamp() - 60;
    deliver(&app, &checkout("evt_all", "cs_all", created, full_metadata())).await;

    for integration in [Integration::MetaCapi, Integration::GoogleAds, Integration::Pipedrive] {
        let done = wait_for(&app, integration, DeliveryStatus::Succeeded).await;
        assert_eq!(done.attempts, 1);
    }
    let order = entity::orders::Entity::find().one(app.db()).await.unwrap().unwrap();
    let order_id = order.id.to_string();

    // Meta: one Purchase event, hashed user data, the token in the body.
    let sent = requests_to(&meta, "/v24.0/1234567890/events").await;
    assert_eq!(sent.len(), 1);
    assert_eq!(
        body(&sent[0]),
        json!({
            "access_token": META_TOKEN,
            "test_event_code": "TEST4242",
            "data": [{
                "event_name": "Purchase",
                "event_time": created,
                "event_id": order_id,
                "action_source": "website",
                "event_source_url": "https://shop.example/gracias?session_id=cs_all",
                "user_data": {
                    // SHA-256 of "buyer@example.com" and of "573001234567", computed independently.
                    "em": ["6a6c26195c3682faa816966af789717c3bfa834eee6c599d667d2b3429c27cfd"],
                    "ph": ["173afe355201e7ed8e349c576f30ebd4be4314b65e1d87196ae5f75b21518172"],
                    "fbc": format!("fb.1.{}.IwAR0aBcD_Ef", created * 1000),
                    "client_ip_address": "203.0.113.9",
                    "client_user_agent": "Mozilla/5.0 (X11)",
                },
                "custom_data": {"value": 150.75, "currency": "USD", "order_id": order_id, "content_ids": ["PROD001"]},
            }],
        })
    );
    // Google: a token from the refresh token, then the upload with its headers.
    let token = requests_to(&google, "/token").await;
    assert_eq!(token.len(), 1);
    let form = String::from_utf8(token[0].body.clone()).unwrap();
    for pair in [
        "grant_type=refresh_token",
        "client_id=client-id.apps.googleusercontent.com",
        "client_secret=google-client-secret-value",
        "refresh_token=1%2F%2Fgoogle-refresh-token-secret",
    ] {
        assert!(form.split('&').any(|p| p == pair), "{pair} missing from {form}");
    }
    let upload = requests_to(&google, "/v21/customers/1234567890:uploadClickConversions").await;
    assert_eq!(upload.len(), 1);
    assert_eq!(upload[0].headers.get("login-customer-id").unwrap(), "1112223333");
    let conversion_time = chrono::DateTime::from_timestamp(created, 0).unwrap().format("%Y-%m-%d %H:%M:%S+00:00");
    assert_eq!(
        body(&upload[0]),
        json!({
            "conversions": [{
                "gclid": "TEST_GCLID",
                "conversionAction": "customers/1234567890/conversionActions/987654",
                "conversionDateTime": conversion_time.to_string(),
                "conversionValue": 150.75,
                "currencyCode": "USD",
                "orderId": order_id,
            }],
            "partialFailure": true,
        })
    );

    // Pipedrive: person searched by email, created, then the deal; its id on the order.
    let search = requests_to(&pipedrive, "/api/v2/persons/search").await;
    assert_eq!(search.len(), 1);
    let query: Vec<(String, String)> = search[0].url.query_pairs().map(|(k, v)| (k.into(), v.into())).collect();
    assert!(query.contains(&("term".into(), "buyer@example.com".into())), "{query:?}");
    assert!(
        query.contains(&("fields".into(), "email".into())) && query.contains(&("exact_match".into(), "true".into()))
    );
    let person = requests_to(&pipedrive, "/api/v2/persons").await;
    assert_eq!(
        body(&person[0]),
        json!({"name": "Ana Buyer", "emails": [{"value": "buyer@example.com", "primary": true, "label": "work"}]})
    );
    let deal = requests_to(&pipedrive, "/api/v2/deals").await;
    assert_eq!(
        body(&deal[0]),
        json!({"title": "Pedido PROD001 (cs_all)", "value": 150.75, "currency": "USD", "person_id": 42})
    );
    let order = entity::orders::Entity::find().one(app.db()).await.unwrap().unwrap();
    assert_eq!(order.pipedrive_deal_id.as_deref(), Some("777"));

    // Every attempt is logged, with no credential anywhere in the log.
    for name in ["META_CAPI", "GOOGLE_ADS", "PIPEDRIVE"] {
        let rows = log_rows(&app, name).await;
        assert_eq!(rows.len(), 1, "{name}");
        assert_eq!((rows[0].status.as_str(), rows[0].reference_id.as_str()), ("SUCCESS", order_id.as_str()));
        assert!(rows[0].http_status.is_some_and(|s| (200..300).contains(&s)) && rows[0].latency_ms.is_some());
        assert!(rows[0].response_payload.is_some());
    }
    assert_no_secrets_logged(&app).await;
    assert!(
        !log_text(&app).await.contains("buyer@example.com"),
        "the buyer's email is sent to Pipedrive but not kept in the log"
    );

    // Seed 001's integrations query, verbatim.
    let backend = app.db().get_database_backend();
    let rows = app
        .db()
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT integration, reference_id, status, http_status, latency_ms, error_message, created_at\nFROM integrations_log\nORDER BY created_at DESC\nLIMIT 50;",
        ))
        .await
        .unwrap();
    assert_eq!(rows.len(), 3);
    let mut names: Vec<String> = rows.iter().map(|r| r.try_get::<String>("", "integration").unwrap()).collect();
    names.sort();
    assert_eq!(names, ["GOOGLE_ADS", "META_CAPI", "PIPEDRIVE"]);

    // A second order reuses the cached Google token.
    deliver(&app, &checkout("evt_all_2", "cs_all_2", created, full_metadata())).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while log_rows(&app, "GOOGLE_ADS").await.len() < 2 {
        assert!(tokio::time::Instant::now() < deadline, "second Google upload never happened");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(requests_to(&google, "/token").await.len(), 1, "the access token is cached until it expires");

    // Prometheus counters per integration and outcome.
    let response = text_of(&app, "/metrics").await;
    assert!(
        response.contains("alpes_integration_deliveries_total{integration=\"META_CAPI\",outcome=\"succeeded\"}"),
        "{response}"
    );
    assert!(response.contains("alpes_http_requests_total{method=\"POST\",status=\"200\"}"), "{response}");
}

#[derive(Debug, Clone, Copy)]
enum Fault {
    ServerError,
    Timeout,
    Refused,
}

/// One platform down in one way; the other two must not wait for it, and it catches up
/// once it is back.
async fn one_platform_down(fault: Fault, down: Integration) {
    let (meta, google, pipedrive) = (MockServer::start().await, MockServer::start().await, MockServer::start().await);
    let mut at = Endpoints { meta: meta.uri(), google: google.uri(), pipedrive: pipedrive.uri() };
    let server = match down {
        Integration::MetaCapi => &meta,
        Integration::GoogleAds => &google,
        Integration::Pipedrive => &pipedrive,
    };
    let mut reserved_port = None;
    for integration in [Integration::MetaCapi, Integration::GoogleAds, Integration::Pipedrive] {
        if integration == down {
            continue;
        }
        match integration {
            Integration::MetaCapi => meta_ok(&meta).await,
            Integration::GoogleAds => google_ok(&google).await,
            Integration::Pipedrive => pipedrive_ok(&pipedrive).await,
        }
    }
    match fault {
        Fault::ServerError => {
            Mock::given(wiremock::matchers::any())
                .respond_with(ResponseTemplate::new(500).set_body_json(json!({"error": {"message": "boom"}})))
                .mount(server)
                .await
        }
        Fault::Timeout => {
            Mock::given(wiremock::matchers::any())
                .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(10)))
                .mount(server)
                .await
        }
        Fault::Refused => {
            let url = refused().await;
            reserved_port = url.rsplit(':').next().map(str::to_owned);
            match down {
                Integration::MetaCapi => at.meta = url,
                Integration::GoogleAds => at.google = url,
                Integration::Pipedrive => at.pipedrive = url,
            }
        }
    }
    let app = TestApp::with_config(|c| {
        configure(c, &at);
        c.delivery_max_attempts = 30;
        c.delivery_backoff_base_ms = 40;
        // Long enough that the platforms that are up are done well before it runs out.
        c.integration_timeout_ms = 2500;
    })
    .await;
    deliver(&app, &checkout("evt_down", "cs_down", chrono::Utc::now().timestamp() - 5, full_metadata())).await;

    let mut up = Vec::new();
    for integration in [Integration::MetaCapi, Integration::GoogleAds, Integration::Pipedrive] {
        if integration != down {
            up.push(wait_for(&app, integration, DeliveryStatus::Succeeded).await);
        }
    }
    // The platforms that are up got through at the first attempt, before the one that is
    // down had even settled its first.
    let name = alpes::service::integration_service::integration_name(down);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while log_rows(&app, name).await.len() < 2 {
        assert!(tokio::time::Instant::now() < deadline, "{fault:?}: {name} was not retried");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let failures = log_rows(&app, name).await;
    for done in &up {
        assert_eq!(done.attempts, 1, "{fault:?}: {:?} waited for {name}", done.integration);
        if matches!(fault, Fault::Timeout) {
            assert!(done.updated_at < failures[0].created_at, "{fault:?}: {:?} waited for {name}", done.integration);
        }
    }
    let first = &failures[0];
    assert_eq!(first.status, "ERROR");
    let message = first.error_message.clone().unwrap_or_default();
    match fault {
        Fault::ServerError => assert_eq!((first.http_status, message.as_str()), (Some(500), "HTTP 500: boom")),
        Fault::Timeout => assert!(first.http_status.is_none() && message.contains("timed out"), "{message}"),
        Fault::Refused => assert!(first.http_status.is_none() && message.contains("could not connect"), "{message}"),
    }
    let waiting = delivery(&app, down).await;
    assert!(matches!(waiting.status, DeliveryStatus::Retrying | DeliveryStatus::InProgress), "{waiting:?}");

    // Back up: the delivery catches up by itself.
    let _revived;
    match fault {
        Fault::Refused => {
            let port = reserved_port.unwrap_or_default();
            let listener = std::net::TcpListener::bind(format!("127.0.0.1:{port}")).unwrap();
            _revived = MockServer::builder().listener(listener).start().await;
            match down {
                Integration::MetaCapi => meta_ok(&_revived).await,
                Integration::GoogleAds => google_ok(&_revived).await,
                Integration::Pipedrive => pipedrive_ok(&_revived).await,
            }
        }
        _ => {
            server.reset().await;
            match down {
                Integration::MetaCapi => meta_ok(server).await,
                Integration::GoogleAds => google_ok(server).await,
                Integration::Pipedrive => pipedrive_ok(server).await,
            }
        }
    }
    let done = wait_for(&app, down, DeliveryStatus::Succeeded).await;
    assert!(done.attempts >= 2, "{done:?}");
    let rows = log_rows(&app, name).await;
    assert_eq!(rows.len() as i32, done.attempts, "one log row per attempt");
    assert_eq!(rows.last().map(|r| r.status.as_str()), Some("SUCCESS"));
    assert!(rows[..rows.len() - 1].iter().all(|r| r.status == "ERROR"));
    assert_no_secrets_logged(&app).await;
}

#[tokio::test]
async fn meta_answering_500_holds_up_neither_google_nor_pipedrive() {
    one_platform_down(Fault::ServerError, Integration::MetaCapi).await;
}

#[tokio::test]
async fn google_timing_out_holds_up_neither_meta_nor_pipedrive() {
    one_platform_down(Fault::Timeout, Integration::GoogleAds).await;
}

#[tokio::test]
async fn pipedrive_refusing_connections_holds_up_neither_meta_nor_google() {
    one_platform_down(Fault::Refused, Integration::Pipedrive).await;
}

const DELIVERIES: &str = r#"query($filter: IntegrationDeliveryFilter) {
  integrationDeliveries(filter: $filter) { totalCount edges { node { id orderId integration eventKind status attempts maxAttempts lastError lastHttpStatus } } }
}"#;
const LOG: &str = r#"query($filter: IntegrationLogFilter) {
  integrationLog(filter: $filter, first: 10) { totalCount edges { node { integration referenceId status httpStatus latencyMs requestPayload responsePayload errorMessage } } }
}"#;
const RETRY: &str = r#"mutation($id: ID!) { retryIntegrationDelivery(id: $id) { id status attempts } }"#;

#[tokio::test]
async fn a_delivery_is_dead_after_its_attempts_and_an_admin_can_requeue_it() {
    let (meta, google, pipedrive) = (MockServer::start().await, MockServer::start().await, MockServer::start().await);
    meta_ok(&meta).await;
    google_ok(&google).await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(503).set_body_string("maintenance"))
        .mount(&pipedrive)
        .await;
    let at = Endpoints { meta: meta.uri(), google: google.uri(), pipedrive: pipedrive.uri() };
    let app = TestApp::with_config(|c| {
        configure(c, &at);
        c.delivery_max_attempts = 3;
    })
    .await;
    deliver(&app, &checkout("evt_dead", "cs_dead", chrono::Utc::now().timestamp(), full_metadata())).await;
    let dead = wait_for(&app, Integration::Pipedrive, DeliveryStatus::Dead).await;
    assert_eq!((dead.attempts, dead.last_http_status), (3, Some(503)));
    assert_eq!(dead.last_error.as_deref(), Some("person search: HTTP 503: maintenance"));
    assert_eq!(requests_to(&pipedrive, "/api/v2/persons/search").await.len(), 3, "no attempt after the last");
    let succeeded = wait_for(&app, Integration::MetaCapi, DeliveryStatus::Succeeded).await;

    // GraphQL: the lists staff see.
    let admin = app.admin();
    let data = app.ok(&admin, DELIVERIES, json!({"filter": {"status": "DEAD"}})).await;
    assert_eq!(data["integrationDeliveries"]["totalCount"], 1);
    let node = &data["integrationDeliveries"]["edges"][0]["node"];
    assert_eq!((node["integration"].as_str(), node["attempts"].as_i64()), (Some("PIPEDRIVE"), Some(3)));
    assert_eq!(node["lastHttpStatus"], 503);
    let data = app.ok(&admin, LOG, json!({"filter": {"integration": "PIPEDRIVE"}})).await;
    assert_eq!(data["integrationLog"]["totalCount"], 3);
    let entry = &data["integrationLog"]["edges"][0]["node"];
    assert_eq!((entry["status"].as_str(), entry["httpStatus"].as_i64()), (Some("ERROR"), Some(503)));
    assert_eq!(entry["referenceId"], json!(dead.order_id.to_string()));
    let analyst = app.token(Role::Analyst, None);
    let data = app.ok(&analyst, LOG, json!({"filter": {"status": "success"}})).await;
    assert_eq!(data["integrationLog"]["totalCount"], 2);
    let affiliate = app.token(Role::Affiliate, Some(uuid::Uuid::new_v4()));
    assert_eq!(app.error_code(Some(&affiliate), DELIVERIES, json!({})).await, "FORBIDDEN");
    assert_eq!(app.error_code(Some(&affiliate), LOG, json!({})).await, "FORBIDDEN");
    assert_eq!(app.error_code(None, DELIVERIES, json!({})).await, "UNAUTHENTICATED");
    assert_eq!(app.error_code(Some(&admin), DELIVERIES, json!({"filter": {"orderId": "nope"}})).await, "VALIDATION");

    // Re-queueing: admins only, DEAD (or waiting) deliveries only.
    let id = dead.id.to_string();
    assert_eq!(app.error_code(Some(&analyst), RETRY, json!({"id": id})).await, "FORBIDDEN");
    assert_eq!(
        app.error_code(Some(&admin), RETRY, json!({"id": succeeded.id.to_string()})).await,
        "INVALID_TRANSITION"
    );
    assert_eq!(app.error_code(Some(&admin), RETRY, json!({"id": "not-a-uuid"})).await, "VALIDATION");
    assert_eq!(app.error_code(Some(&admin), RETRY, json!({"id": uuid::Uuid::new_v4().to_string()})).await, "NOT_FOUND");
    assert_eq!(
        delivery(&app, Integration::Pipedrive).await.status,
        DeliveryStatus::Dead,
        "refused retries change nothing"
    );

    pipedrive.reset().await;
    pipedrive_ok(&pipedrive).await;
    let data = app.ok(&admin, RETRY, json!({"id": id})).await;
    assert_eq!(
        (data["retryIntegrationDelivery"]["status"].as_str(), data["retryIntegrationDelivery"]["attempts"].as_i64()),
        (Some("PENDING"), Some(0))
    );
    let done = wait_for(&app, Integration::Pipedrive, DeliveryStatus::Succeeded).await;
    assert_eq!(done.attempts, 1);
    assert_eq!(log_rows(&app, "PIPEDRIVE").await.len(), 4, "the earlier attempts stay in the log");
    let audit = app.count("audit_log").await;
    assert_eq!(audit, 1, "the retry is audited");
    let metrics = text_of(&app, "/metrics").await;
    assert!(
        metrics.contains("alpes_integration_deliveries_total{integration=\"PIPEDRIVE\",outcome=\"dead\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("alpes_integration_deliveries_total{integration=\"PIPEDRIVE\",outcome=\"failed\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("alpes_integration_deliveries_total{integration=\"PIPEDRIVE\",outcome=\"succeeded\"} 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn no_delivery_is_lost_across_a_restart() {
    let down = Endpoints { meta: refused().await, google: refused().await, pipedrive: refused().await };
    let first = TestApp::with_config(|c| {
        configure(c, &down);
        c.delivery_backoff_base_ms = 1500;
    })
    .await;
    deliver(&first, &checkout("evt_restart", "cs_restart", chrono::Utc::now().timestamp(), full_metadata())).await;
    for integration in [Integration::MetaCapi, Integration::GoogleAds, Integration::Pipedrive] {
        wait_for(&first, integration, DeliveryStatus::Retrying).await;
    }
    let url = first.url.clone();
    drop(first);

    let (meta, google, pipedrive) = (MockServer::start().await, MockServer::start().await, MockServer::start().await);
    meta_ok(&meta).await;
    google_ok(&google).await;
    pipedrive_ok(&pipedrive).await;
    let up = Endpoints { meta: meta.uri(), google: google.uri(), pipedrive: pipedrive.uri() };
    let second = TestApp::on_database(url, |c| {
        configure(c, &up);
        c.delivery_backoff_base_ms = 1500;
    })
    .await;
    for integration in [Integration::MetaCapi, Integration::GoogleAds, Integration::Pipedrive] {
        let done = wait_for(&second, integration, DeliveryStatus::Succeeded).await;
        assert!(done.attempts >= 2, "{done:?}");
    }
    assert_eq!(requests_to(&meta, "/v24.0/1234567890/events").await.len(), 1, "sent once, not twice");
    assert_eq!(requests_to(&google, "/v21/customers/1234567890:uploadClickConversions").await.len(), 1);
    assert_eq!(requests_to(&pipedrive, "/api/v2/deals").await.len(), 1);
    assert_eq!(second.count("integration_deliveries").await, 3);
}

#[tokio::test]
async fn old_purchases_and_orders_without_gclid_are_skipped_and_logged() {
    let (meta, google, pipedrive) = (MockServer::start().await, MockServer::start().await, MockServer::start().await);
    meta_ok(&meta).await;
    google_ok(&google).await;
    pipedrive_ok(&pipedrive).await;
    let at = Endpoints { meta: meta.uri(), google: google.uri(), pipedrive: pipedrive.uri() };
    let app = TestApp::with_config(|c| configure(c, &at)).await;
    let eight_days_ago = chrono::Utc::now().timestamp() - 8 * 86_400;
    deliver(&app, &checkout("evt_old", "cs_old", eight_days_ago, json!({"product_id": "PROD001"}))).await;
    let meta_skip = wait_for(&app, Integration::MetaCapi, DeliveryStatus::Skipped).await;
    assert!(meta_skip.last_error.as_deref().is_some_and(|e| e.contains("older than 7 days")), "{meta_skip:?}");
    let google_skip = wait_for(&app, Integration::GoogleAds, DeliveryStatus::Skipped).await;
    assert!(google_skip.last_error.as_deref().is_some_and(|e| e.contains("no gclid")), "{google_skip:?}");
    wait_for(&app, Integration::Pipedrive, DeliveryStatus::Succeeded).await;
    assert!(requests_to(&meta, "/v24.0/1234567890/events").await.is_empty());
    assert!(google.received_requests().await.unwrap_or_default().is_empty(), "not even a token is fetched");
    for name in ["META_CAPI", "GOOGLE_ADS"] {
        let rows = log_rows(&app, name).await;
        assert_eq!(rows.len(), 1);
        assert_eq!((rows[0].status.as_str(), rows[0].http_status), ("SKIPPED", None));
        assert!(rows[0].error_message.is_some());
    }
    let meta_log = &log_rows(&app, "META_CAPI").await[0];
    assert_eq!(meta_log.request_payload["data"][0]["event_name"], "Purchase", "logged as it would have been sent");
    assert_no_secrets_logged(&app).await;
}

/// An app with Pipedrive alone on, and its working stand-in.
async fn pipedrive_only() -> (MockServer, TestApp) {
    let pipedrive = MockServer::start().await;
    pipedrive_ok(&pipedrive).await;
    let app = TestApp::with_config(|c| {
        c.pipedrive_api_token = Some(PIPEDRIVE_TOKEN.into());
        c.pipedrive_base_url = pipedrive.uri();
    })
    .await;
    (pipedrive, app)
}

#[tokio::test]
async fn unconfigured_integrations_get_no_deliveries() {
    let app = TestApp::new().await;
    deliver(&app, &checkout("evt_none", "cs_none", chrono::Utc::now().timestamp(), full_metadata())).await;
    assert_eq!((app.count("orders").await, app.count("integration_deliveries").await), (1, 0));

    let (_pipedrive, app) = pipedrive_only().await;
    let payload = checkout("evt_one", "cs_one", chrono::Utc::now().timestamp(), full_metadata());
    deliver(&app, &payload).await;
    deliver(&app, &payload).await;
    wait_for(&app, Integration::Pipedrive, DeliveryStatus::Succeeded).await;
    assert_eq!(app.count("integration_deliveries").await, 1, "one delivery per configured integration, once");
}

#[test]
fn a_half_configured_integration_is_refused_at_start() {
    let mut config = Config::for_database("sqlite::memory:", std::env::temp_dir());
    assert!(config.validate().is_ok());
    config.google_ads_customer_id = Some("1234567890".into());
    config.google_ads_developer_token = Some(GOOGLE_DEV_TOKEN.into());
    let err = config.validate().unwrap_err().to_string();
    assert!(err.contains("GOOGLE_ADS_CONVERSION_ACTION_ID"), "{err}");
    assert!(!err.contains(GOOGLE_DEV_TOKEN), "{err}");
    let mut config = Config::for_database("sqlite::memory:", std::env::temp_dir());
    configure(
        &mut config,
        &Endpoints { meta: "http://m".into(), google: "http://g".into(), pipedrive: "http://p".into() },
    );
    assert!(config.validate().is_ok());
    let shown = format!("{config:?}");
    for secret in SECRETS.iter().filter(|s| **s != GOOGLE_ACCESS) {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
    assert!(shown.contains("meta_capi_access_token: \"<set>\""), "{shown}");
    config.meta_capi_base_url = "ftp://graph".into();
    assert!(config.validate().is_err());
    config.meta_capi_base_url = "https://graph.facebook.com".into();
    config.delivery_max_attempts = 0;
    assert!(config.validate().is_err());
}

#[tokio::test]
async fn staff_see_delivery_changes_live() {
    use futures::StreamExt;
    let (_pipedrive, app) = pipedrive_only().await;
    let state = app.app.state.clone();
    let subscribe = |caller: alpes::auth::Caller| {
        let mut request = async_graphql::Request::new(
            "subscription { integrationDeliveryUpdated { id orderId integration eventKind status attempts } }",
        );
        request.data = alpes::graphql::request_data(&state, Some(caller));
        app.app.schema.execute_stream(request)
    };
    let mut stream = subscribe(alpes::auth::Caller::system());
    assert!(tokio::time::timeout(Duration::from_millis(100), stream.next()).await.is_err(), "nothing yet");

    deliver(&app, &checkout("evt_live", "cs_live", chrono::Utc::now().timestamp(), full_metadata())).await;
    let done = wait_for(&app, Integration::Pipedrive, DeliveryStatus::Succeeded).await;
    alpes::events::relay::relay_once(&state, &state.hub).await.unwrap();
    let response = tokio::time::timeout(Duration::from_secs(5), stream.next()).await.unwrap().unwrap();
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    let data = response.data.into_json().unwrap();
    assert_eq!(
        data["integrationDeliveryUpdated"],
        json!({"id": done.id.to_string(), "orderId": done.order_id.to_string(), "integration": "PIPEDRIVE",
               "eventKind": "PURCHASE", "status": "SUCCEEDED", "attempts": 1})
    );

    let affiliate = alpes::auth::Caller::person(None, Role::Affiliate, Some(uuid::Uuid::new_v4()));
    let response = subscribe(affiliate).next().await.unwrap();
    let code = response.errors[0].extensions.as_ref().and_then(|e| e.get("code")).map(|v| v.to_string());
    assert_eq!(code.as_deref(), Some("\"FORBIDDEN\""));
}

async fn google_adjustments_ok(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path("/v21/customers/1234567890:uploadConversionAdjustments"))
        .and(header("authorization", format!("Bearer {GOOGLE_ACCESS}").as_str()))
        .and(header("developer-token", GOOGLE_DEV_TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"results": [{}]})))
        .mount(server)
        .await;
}

fn refund_event(event_id: &str, session_id: &str, refunded: i64) -> Value {
    json!({"id": event_id, "object": "event", "type": "charge.refunded", "livemode": false,
           "created": chrono::Utc::now().timestamp(), "data": {"object": {
        "id": format!("ch_{session_id}"), "object": "charge", "payment_intent": format!("pi_{session_id}"),
        "amount": 15075, "amount_refunded": refunded, "currency": "usd"}}})
}

/// Waits until `integration`'s refund delivery has `attempts` log rows ending in SUCCESS.
async fn wait_for_refund(app: &TestApp, integration: Integration, successes: usize) {
    let name = alpes::service::integration_service::integration_name(integration);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let rows = log_rows(app, name).await;
        if rows.iter().filter(|r| r.status == "SUCCESS").count() >= successes {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "{name}: {rows:?}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test]
async fn refunds_restate_then_retract_in_google_ads_and_pipedrive() {
    let (meta, google, pipedrive) = (MockServer::start().await, MockServer::start().await, MockServer::start().await);
    meta_ok(&meta).await;
    google_ok(&google).await;
    google_adjustments_ok(&google).await;
    pipedrive_ok(&pipedrive).await;
    Mock::given(method("PATCH"))
        .and(path("/api/v2/deals/777"))
        .and(header("x-api-token", PIPEDRIVE_TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"success": true, "data": {"id": 777}})))
        .mount(&pipedrive)
        .await;
    let at = Endpoints { meta: meta.uri(), google: google.uri(), pipedrive: pipedrive.uri() };
    let app = TestApp::with_config(|c| configure(c, &at)).await;
    deliver(&app, &checkout("evt_r", "cs_r", chrono::Utc::now().timestamp(), full_metadata())).await;
    for integration in [Integration::MetaCapi, Integration::GoogleAds, Integration::Pipedrive] {
        wait_for(&app, integration, DeliveryStatus::Succeeded).await;
    }
    let order = entity::orders::Entity::find().one(app.db()).await.unwrap().unwrap();

    deliver(&app, &refund_event("evt_r1", "cs_r", 5000)).await;
    wait_for_refund(&app, Integration::GoogleAds, 2).await;
    wait_for_refund(&app, Integration::Pipedrive, 2).await;
    let adjustments = requests_to(&google, "/v21/customers/1234567890:uploadConversionAdjustments").await;
    let partial = body(&adjustments[0]);
    let adjustment = &partial["conversionAdjustments"][0];
    assert_eq!(adjustment["adjustmentType"], "RESTATEMENT");
    assert_eq!(adjustment["orderId"], json!(order.id.to_string()));
    assert_eq!(adjustment["conversionAction"], "customers/1234567890/conversionActions/987654");
    assert_eq!(adjustment["restatementValue"], json!({"adjustedValue": 100.75, "currencyCode": "USD"}));
    assert!(adjustment["adjustmentDateTime"].as_str().is_some_and(|t| t.ends_with("+00:00") && t.len() == 25));
    assert_eq!(partial["partialFailure"], true);
    let patches = requests_to(&pipedrive, "/api/v2/deals/777").await;
    assert_eq!(body(&patches[0]), json!({"value": 100.75}));

    deliver(&app, &refund_event("evt_r2", "cs_r", 15075)).await;
    wait_for_refund(&app, Integration::GoogleAds, 3).await;
    wait_for_refund(&app, Integration::Pipedrive, 3).await;
    let adjustments = requests_to(&google, "/v21/customers/1234567890:uploadConversionAdjustments").await;
    let full = body(&adjustments[1]);
    assert_eq!(full["conversionAdjustments"][0]["adjustmentType"], "RETRACTION");
    assert!(full["conversionAdjustments"][0].get("restatementValue").is_none());
    let patches = requests_to(&pipedrive, "/api/v2/deals/777").await;
    assert_eq!(body(&patches[1]), json!({"value": 0.0, "status": "lost", "lost_reason": "Reembolsado en Stripe"}));

    // Meta has no refund event: no delivery for it; the others have one refund row each.
    assert_eq!(requests_to(&meta, "/v24.0/1234567890/events").await.len(), 1);
    let refunds = integration_deliveries::Entity::find()
        .filter(integration_deliveries::Column::EventKind.eq(integration_deliveries::DeliveryEventKind::Refund))
        .all(app.db())
        .await
        .unwrap();
    assert_eq!(refunds.len(), 2);
    assert!(refunds.iter().all(|d| d.status == DeliveryStatus::Succeeded && d.integration != Integration::MetaCapi));
    // A repeated refund event changes nothing.
    deliver(&app, &refund_event("evt_r2", "cs_r", 15075)).await;
    assert_eq!(app.count("integration_deliveries").await, 5);
}

#[tokio::test]
async fn two_replicas_on_one_database_never_send_a_delivery_twice() {
    let (meta, google, pipedrive) = (MockServer::start().await, MockServer::start().await, MockServer::start().await);
    meta_ok(&meta).await;
    google_ok(&google).await;
    pipedrive_ok(&pipedrive).await;
    let at = Endpoints { meta: meta.uri(), google: google.uri(), pipedrive: pipedrive.uri() };
    let first = TestApp::with_config(|c| configure(c, &at)).await;
    let second = TestApp::on_database(first.url.clone(), |c| configure(c, &at)).await;
    let orders = 12;
    for i in 0..orders {
        let payload =
            checkout(&format!("evt_rep{i}"), &format!("cs_rep{i}"), chrono::Utc::now().timestamp(), full_metadata());
        deliver(&first, &payload).await;
        // Both replicas race for every delivery.
        second.app.state.deliveries.wake_all();
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let done = deliveries(&first).await.iter().filter(|d| d.status == DeliveryStatus::Succeeded).count();
        if done == 3 * orders {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{done} of {} delivered", 3 * orders);
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let mut event_ids: Vec<String> = requests_to(&meta, "/v24.0/1234567890/events")
        .await
        .iter()
        .map(|r| body(r)["data"][0]["event_id"].as_str().unwrap_or_default().to_string())
        .collect();
    event_ids.sort();
    event_ids.dedup();
    assert_eq!(event_ids.len(), orders);
    assert_eq!(requests_to(&meta, "/v24.0/1234567890/events").await.len(), orders, "each event sent once");
    assert_eq!(requests_to(&google, "/v21/customers/1234567890:uploadClickConversions").await.len(), orders);
    assert_eq!(requests_to(&pipedrive, "/api/v2/deals").await.len(), orders);
    assert_eq!(first.count("integrations_log").await, 3 * orders as i64, "one attempt each");
}

#[tokio::test]
async fn a_rejected_google_token_is_renewed_for_the_next_attempt() {
    let google = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v21/customers/1234567890:uploadClickConversions"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error": {"code": 401, "message": "Request had invalid authentication credentials.", "status": "UNAUTHENTICATED"}})))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&google)
        .await;
    google_ok(&google).await;
    let unused = refused().await;
    let at = Endpoints { meta: unused.clone(), google: google.uri(), pipedrive: unused };
    let app = TestApp::with_config(|c| {
        configure(c, &at);
        c.meta_capi_pixel_id = None;
        c.meta_capi_access_token = None;
        c.pipedrive_api_token = None;
    })
    .await;
    deliver(&app, &checkout("evt_401", "cs_401", chrono::Utc::now().timestamp(), full_metadata())).await;
    let done = wait_for(&app, Integration::GoogleAds, DeliveryStatus::Succeeded).await;
    assert_eq!(done.attempts, 2);
    let rows = log_rows(&app, "GOOGLE_ADS").await;
    assert_eq!(rows[0].error_message.as_deref(), Some("HTTP 401: Request had invalid authentication credentials."));
    assert_eq!(requests_to(&google, "/token").await.len(), 2, "a new token after the 401");
    assert_eq!(app.count("integration_deliveries").await, 1, "only Google Ads is on");
}

#[tokio::test]
async fn redirects_are_not_followed_and_oversized_answers_are_not_read() {
    // Pipedrive's stand-in sends the request (and its api_token) elsewhere; Meta's answers
    // 2 MiB. Neither is followed nor read whole: both deliveries fail and are retried.
    let (meta, google, pipedrive, elsewhere) =
        (MockServer::start().await, MockServer::start().await, MockServer::start().await, MockServer::start().await);
    google_ok(&google).await;
    pipedrive_ok(&elsewhere).await;
    Mock::given(wiremock::matchers::any())
        .respond_with(
            ResponseTemplate::new(307).insert_header("location", format!("{}/api/v2/persons/search", elsewhere.uri())),
        )
        .mount(&pipedrive)
        .await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(200).set_body_string("x".repeat(2 * 1024 * 1024)))
        .mount(&meta)
        .await;
    let at = Endpoints { meta: meta.uri(), google: google.uri(), pipedrive: pipedrive.uri() };
    let app = TestApp::with_config(|c| {
        configure(c, &at);
        c.delivery_max_attempts = 1;
    })
    .await;
    deliver(&app, &checkout("evt_redirect", "cs_redirect", chrono::Utc::now().timestamp(), full_metadata())).await;
    let pipedrive_dead = wait_for(&app, Integration::Pipedrive, DeliveryStatus::Dead).await;
    assert_eq!(pipedrive_dead.last_http_status, Some(307));
    assert!(elsewhere.received_requests().await.unwrap_or_default().is_empty(), "the redirect was followed");
    let meta_dead = wait_for(&app, Integration::MetaCapi, DeliveryStatus::Dead).await;
    let error = meta_dead.last_error.unwrap_or_default();
    assert!(error.contains("larger than 1024 KiB"), "{error}");
    wait_for(&app, Integration::GoogleAds, DeliveryStatus::Succeeded).await;
}

/// Demo data is made of test orders: with every platform configured, seeding a programme
/// sends not a single request to any of them, and the answer says so.
#[tokio::test]
async fn demo_orders_never_reach_a_platform() {
    let (meta, google, pipedrive) = (MockServer::start().await, MockServer::start().await, MockServer::start().await);
    meta_ok(&meta).await;
    google_ok(&google).await;
    pipedrive_ok(&pipedrive).await;
    let at = Endpoints { meta: meta.uri(), google: google.uri(), pipedrive: pipedrive.uri() };
    let app = TestApp::with_config(|c| configure(c, &at)).await;
    let report =
        app.ok(&app.admin(), "mutation { seedDemoData(days: 2) { paidOrders refunds outbound } }", json!({})).await;
    assert!(report["seedDemoData"]["paidOrders"].as_u64().unwrap_or(0) > 0, "{report}");
    let outbound = report["seedDemoData"]["outbound"].as_str().unwrap_or_default();
    assert!(outbound.contains("none is sent to Google Ads, Meta or Pipedrive"), "{report}");
    assert_eq!(app.count("integration_deliveries").await, 0);
    app.app.state.ctx.events_committed();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    for server in [&meta, &google, &pipedrive] {
        assert_eq!(server.received_requests().await.unwrap_or_default().len(), 0, "{}", server.uri());
    }
    // A live checkout next to them is still delivered: the platforms are up and configured.
    deliver(&app, &checkout("evt_live", "cs_live", chrono::Utc::now().timestamp() - 60, full_metadata())).await;
    for integration in [Integration::MetaCapi, Integration::GoogleAds, Integration::Pipedrive] {
        wait_for(&app, integration, DeliveryStatus::Succeeded).await;
    }
    assert_eq!(app.count("integration_deliveries").await, 3);
}

/// A deal made by an attempt whose answer was lost is found by its title (which names the
/// checkout) and kept: Pipedrive never gets the same order as two deals.
#[tokio::test]
async fn a_deal_already_in_pipedrive_is_found_not_made_again() {
    let (meta, google, pipedrive) = (MockServer::start().await, MockServer::start().await, MockServer::start().await);
    meta_ok(&meta).await;
    google_ok(&google).await;
    let title = "Pedido PROD001 (cs_twice)";
    Mock::given(method("GET"))
        .and(path("/api/v2/deals/search"))
        .and(query_param("term", "cs_twice"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"success": true, "data": {"items": [
            {"result_score": 0.9, "item": {"id": 555, "title": "Pedido PROD001 (cs_twice_other)"}},
            {"result_score": 0.8, "item": {"id": 901, "title": title}}
        ]}})))
        .mount(&pipedrive)
        .await;
    pipedrive_ok(&pipedrive).await;
    let at = Endpoints { meta: meta.uri(), google: google.uri(), pipedrive: pipedrive.uri() };
    let app = TestApp::with_config(|c| configure(c, &at)).await;
    deliver(&app, &checkout("evt_twice", "cs_twice", chrono::Utc::now().timestamp() - 60, full_metadata())).await;
    wait_for(&app, Integration::Pipedrive, DeliveryStatus::Succeeded).await;
    assert_eq!(requests_to(&pipedrive, "/api/v2/deals").await.len(), 0, "no second deal");
    let order = entity::orders::Entity::find().one(app.db()).await.unwrap().unwrap();
    assert_eq!(order.pipedrive_deal_id.as_deref(), Some("901"));
}

/// A platform refusing the request itself (400: a parameter it will never take) is not
/// asked again for hours: the delivery is DEAD after that one attempt, with the reason.
#[tokio::test]
async fn a_request_refused_for_good_is_dead_at_once() {
    let (meta, google, pipedrive) = (MockServer::start().await, MockServer::start().await, MockServer::start().await);
    Mock::given(method("POST"))
        .and(path("/v24.0/1234567890/events"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {
            "message": "Invalid parameter", "type": "OAuthException", "code": 100, "fbtrace_id": "AbC"}})))
        .mount(&meta)
        .await;
    google_ok(&google).await;
    pipedrive_ok(&pipedrive).await;
    let at = Endpoints { meta: meta.uri(), google: google.uri(), pipedrive: pipedrive.uri() };
    let app = TestApp::with_config(|c| configure(c, &at)).await;
    deliver(&app, &checkout("evt_400", "cs_400", chrono::Utc::now().timestamp() - 60, full_metadata())).await;
    let dead = wait_for(&app, Integration::MetaCapi, DeliveryStatus::Dead).await;
    assert_eq!((dead.attempts, dead.last_http_status), (1, Some(400)), "{dead:?}");
    let reason = dead.last_error.unwrap_or_default();
    assert!(reason.starts_with("refused for good:") && reason.contains("Invalid parameter"), "{reason}");
    assert_eq!(requests_to(&meta, "/v24.0/1234567890/events").await.len(), 1);
    // The other platforms are not held up.
    wait_for(&app, Integration::GoogleAds, DeliveryStatus::Succeeded).await;
    wait_for(&app, Integration::Pipedrive, DeliveryStatus::Succeeded).await;
}
