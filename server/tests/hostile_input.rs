//! Crafted offsets, cursors, page sizes and periods: each is a clear client error
//! (`VALIDATION` / 400), never a panic or a 500.

mod support;

use axum::{body::Body, http::Request, http::StatusCode};
use serde_json::json;
use support::TestApp;

#[tokio::test]
async fn crafted_rest_paging_and_periods_are_validation_errors() {
    let app = TestApp::new().await;
    let admin = app.admin();
    let huge = "18446744073709551615";
    let paths = [
        format!("/api/v1/conversiones?offset={huge}"),
        format!("/api/v1/afiliados?offset={huge}"),
        format!("/api/v1/campanas?offset={huge}"),
        format!("/api/v1/comisiones?offset={huge}"),
        "/api/v1/conversiones?offset=9223372036854775808".to_string(),
        "/api/v1/conversiones?limite=0".to_string(),
        "/api/v1/conversiones/metricas?periodo=3660w".to_string(),
        "/api/v1/conversiones/metricas?periodo=99999999999999999999d".to_string(),
        "/api/v1/conversiones/metricas?periodo=-5d".to_string(),
        "/api/v1/comisiones/reportes?periodo=9223372036854775807h".to_string(),
    ];
    for path in paths {
        let request = Request::builder()
            .uri(&path)
            .header("authorization", format!("Bearer {admin}"))
            .body(Body::empty())
            .unwrap_or_else(|e| panic!("request: {e}"));
        let (status, _, body) = app.send(request).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        assert_eq!(body["error"]["code"], "VALIDATION", "{path}: {body}");
    }
}

#[tokio::test]
async fn crafted_graphql_cursors_sizes_and_periods_are_validation_errors() {
    let app = TestApp::new().await;
    let admin = app.admin();
    let cursors = ["not-a-cursor", "AAAA", "////", "eyJpZCI6MX0", "MTg0NDY3NDQwNzM3MDk1NTE2MTU", ""];
    let mut cases: Vec<(String, serde_json::Value)> = Vec::new();
    for list in ["conversions", "commissions", "orders", "affiliates", "campaigns", "trackingLinks", "webhookEvents"] {
        for cursor in cursors {
            cases.push((
                format!("query($a: String) {{ {list}(first: 5, after: $a) {{ totalCount }} }}"),
                json!({ "a": cursor }),
            ));
        }
        cases.push((format!("{{ {list}(first: -1) {{ totalCount }} }}"), json!({})));
        cases.push((format!("{{ {list}(first: 2147483647) {{ totalCount }} }}"), json!({})));
    }
    for period in ["3660w", "99999999999999999999d", "-5d", "0d", "9223372036854775807h", "", "30x"] {
        cases.push(("query($p: String!) { dashboard(period: $p) { clicks } }".into(), json!({ "p": period })));
        cases.push(("query($p: String!) { conversionMetrics(period: $p) { total } }".into(), json!({ "p": period })));
    }
    for (query, variables) in cases {
        let (status, body) = app.post_graphql(Some(&admin), &query, variables.clone()).await;
        assert_ne!(status, StatusCode::INTERNAL_SERVER_ERROR, "{query} {variables}: {body}");
        let codes: Vec<&str> =
            body["errors"].as_array().into_iter().flatten().filter_map(|e| e["extensions"]["code"].as_str()).collect();
        assert!(!codes.is_empty(), "{query} {variables}: accepted: {body}");
        assert!(codes.iter().all(|c| *c == "VALIDATION"), "{query} {variables}: {body}");
    }
}

#[tokio::test]
async fn a_database_locked_by_another_writer_answers_unavailable_within_seconds() {
    use sea_orm::{ConnectionTrait, Database, DbBackend, TransactionTrait};
    let app = TestApp::new().await;
    let other = Database::connect(&app.url).await.unwrap_or_else(|e| panic!("connect: {e}"));
    let holder = other.begin().await.unwrap_or_else(|e| panic!("begin: {e}"));
    let lock = match other.get_database_backend() {
        DbBackend::Postgres => "LOCK TABLE affiliates IN ACCESS EXCLUSIVE MODE",
        _ => "UPDATE affiliates SET name = name",
    };
    holder.execute_unprepared(lock).await.unwrap_or_else(|e| panic!("lock: {e}"));

    // Readiness says so too on SQLite (the write lock cannot be had); on PostgreSQL a locked
    // table is not a database that refuses writes.
    let (status, _, body) = app.get("/ready", None, None).await;
    let expected = match other.get_database_backend() {
        DbBackend::Sqlite => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::OK,
    };
    assert_eq!(status, expected, "{body}");

    let started = std::time::Instant::now();
    let input = json!({ "input": support::affiliate_input("Locked Out", "locked@example.com") });
    let (status, body) = app.post_graphql(Some(&app.admin()), support::CREATE_AFFILIATE, input).await;
    let waited = started.elapsed();
    holder.rollback().await.unwrap_or_else(|e| panic!("rollback: {e}"));
    assert_ne!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAVAILABLE", "{body}");
    assert!(waited < std::time::Duration::from_secs(8), "answered after {waited:?}");
    // Once the lock is gone the same request goes through, and the service is ready.
    support::create_affiliate(&app, "Let In", "in@example.com").await;
    let (status, _, _) = app.get("/ready", None, None).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_half_sent_header_does_not_hold_a_connection_open() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = TestApp::new().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|e| panic!("bind: {e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("addr: {e}"));
    let shutdown = app.app.state.shutdown.clone();
    let server = tokio::spawn(alpes::app::run_until_shutdown(
        listener,
        app.app.router.clone(),
        app.app.state.metrics.clone(),
        std::future::pending(),
        shutdown.clone(),
    ));

    let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap_or_else(|e| panic!("connect: {e}"));
    slow.write_all(b"GET /health HTTP/1.1\r\nHost: alpes.test\r\nX-Slow: ")
        .await
        .unwrap_or_else(|e| panic!("write: {e}"));
    // A whole request on another connection is answered meanwhile.
    let mut quick = tokio::net::TcpStream::connect(addr).await.unwrap_or_else(|e| panic!("connect: {e}"));
    quick
        .write_all(b"GET /health HTTP/1.1\r\nHost: alpes.test\r\nConnection: close\r\n\r\n")
        .await
        .unwrap_or_else(|e| panic!("write: {e}"));
    let mut answer = String::new();
    quick.read_to_string(&mut answer).await.unwrap_or_else(|e| panic!("read: {e}"));
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    let started = std::time::Instant::now();
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(std::time::Duration::from_secs(20), slow.read_to_end(&mut rest)).await;
    assert!(closed.is_ok(), "the half-sent request still holds its connection after 20 s");
    assert!(started.elapsed() >= std::time::Duration::from_secs(5), "closed too soon: {:?}", started.elapsed());

    shutdown.cancel();
    let stopped = tokio::time::timeout(std::time::Duration::from_secs(15), server).await;
    assert!(stopped.is_ok(), "the server stops once cancelled");
}

/// A client that starts a body and never finishes it is cut off after the request time
/// limit with 503 `TIMEOUT`, and nothing is stored.
#[tokio::test]
async fn a_body_sent_forever_is_cut_off_at_the_request_time_limit() {
    let app = TestApp::with_config(|c| {
        c.report_timeout_ms = 100;
        c.request_timeout_ms = 1_000;
    })
    .await;
    let first = futures::stream::once(async { Ok::<_, std::io::Error>(axum::body::Bytes::from_static(b"{\"id\": ")) });
    let never = futures::stream::pending::<Result<axum::body::Bytes, std::io::Error>>();
    let body = Body::from_stream(futures::StreamExt::chain(first, never));
    let request = Request::post("/tracking/impresiones").header("content-type", "application/json").body(body).unwrap();
    let answered = tokio::time::timeout(std::time::Duration::from_secs(10), app.send(request)).await;
    let (status, _, answer) = answered.expect("cut off near its limit, not held open");
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("TIMEOUT")),
        "{answer}"
    );
    assert_eq!(app.count("interactions").await, 0);
}
