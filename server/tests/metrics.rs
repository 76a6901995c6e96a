//! `GET /metrics`: request latency per matched route, GraphQL operations by name, ingest
//! batches, Stripe webhook outcomes, and the database's backlogs and pool read when
//! scraped, every label bounded.

mod support;

use axum::{body::Body, http::Request};
use serde_json::json;
use support::TestApp;

async fn scrape(app: &TestApp) -> String {
    use tower::ServiceExt;
    let response = app.app.router.clone().oneshot(Request::get("/metrics").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(response.status(), 200);
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 22).await.unwrap();
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// The value of the series that starts with `prefix` (name and labels, as rendered).
fn value(text: &str, prefix: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(prefix)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test]
async fn routes_operations_ingest_webhooks_and_backlogs_are_measured() {
    let app = TestApp::new().await;
    let admin = app.admin();
    let campaign = json!({"input": {"name": "Metrics", "code": "cmp-metrics", "startsAt": "2024-01-01T00:00:00Z", "currency": "USD"}});
    app.ok(
        &admin,
        "mutation NewCampaign($input: CreateCampaignInput!) { createCampaign(input: $input) { id } }",
        campaign,
    )
    .await;
    app.ok(&admin, "query Campaigns { campaigns(first: 5) { totalCount } }", json!({})).await;
    app.ok(&admin, "query Campaigns { campaigns(first: 5) { totalCount } }", json!({})).await;
    app.ok(&admin, "{ campaigns(first: 1) { totalCount } }", json!({})).await;

    let impression = |id: &str| {
        json!({"id": id, "campaña_id": "cmp-metrics", "tipo_evento": "IMPRESION", "usuario_id": "usr-1",
               "timestamp": chrono::Utc::now().to_rfc3339()})
        .to_string()
    };
    for i in 0..3 {
        let (status, _, body) =
            app.post_json("/tracking/impresiones", &impression(&format!("imp-m-{i}")), [10, 0, 0, 1], &[]).await;
        assert!(status.is_success(), "{status} {body}");
    }
    let (status, _, _) = app.get("/api/v1/afiliados/00000000-0000-0000-0000-000000000000", Some(&admin), None).await;
    assert_eq!(status, 404);
    let checkout = json!({"id": "evt_metrics_1", "object": "event", "type": "checkout.session.completed", "livemode": false,
        "created": chrono::Utc::now().timestamp(), "data": {"object": {"id": "cs_metrics_1", "object": "checkout.session",
        "amount_total": 4900, "currency": "usd", "payment_status": "paid", "metadata": {}}}});
    assert_eq!(app.stripe(&checkout).await.0, 200);
    assert_eq!(app.stripe(&checkout).await.0, 200, "a repeat is answered, and counted as a duplicate");
    let invented = json!({"id": "evt_metrics_2", "object": "event", "type": "made.up.type", "livemode": false,
        "created": chrono::Utc::now().timestamp(), "data": {"object": {}}});
    assert_eq!(app.stripe(&invented).await.0, 200);

    let text = scrape(&app).await;
    // Latency by the route's template, never the path sent.
    let route = "alpes_http_request_duration_seconds_count{method=\"GET\",route=\"/api/v1/afiliados/{id}\"}";
    assert_eq!(value(&text, route), Some(1.0), "{text}");
    assert!(!text.contains("00000000-0000-0000-0000-000000000000"), "ids never become labels");
    let ingest = "alpes_http_request_duration_seconds_count{method=\"POST\",route=\"/tracking/impresiones\"}";
    assert_eq!(value(&text, ingest), Some(3.0));
    assert!(text.contains(
        "alpes_http_request_duration_seconds_bucket{method=\"POST\",route=\"/tracking/impresiones\",le=\"+Inf\"} 3\n"
    ));
    // GraphQL operations by name and type; a document's one named operation is named.
    let op = |name: &str, kind: &str| {
        value(&text, &format!("alpes_graphql_operation_duration_seconds_count{{operation=\"{name}\",type=\"{kind}\"}}"))
    };
    assert_eq!(op("Campaigns", "query"), Some(2.0), "{text}");
    assert_eq!(op("NewCampaign", "mutation"), Some(1.0));
    assert_eq!(op("anonymous", "query"), Some(1.0));
    // Ingest: three events stored, in batches whose sizes add up.
    assert_eq!(value(&text, "alpes_ingest_events_total{outcome=\"stored\"}"), Some(3.0));
    assert_eq!(value(&text, "alpes_ingest_batch_size_sum"), Some(3.0));
    assert!(value(&text, "alpes_ingest_commit_seconds_count").is_some_and(|n| n >= 1.0));
    // Stripe events by type and outcome; unknown types share one label.
    let webhook = |kind: &str, outcome: &str| {
        value(&text, &format!("alpes_stripe_webhook_events_total{{type=\"{kind}\",outcome=\"{outcome}\"}}"))
    };
    assert_eq!(webhook("checkout.session.completed", "processed"), Some(1.0), "{text}");
    assert_eq!(webhook("checkout.session.completed", "duplicate"), Some(1.0));
    assert_eq!(webhook("other", "ignored"), Some(1.0));
    // Read from the database when scraped.
    assert!(value(&text, "alpes_outbox_backlog").is_some(), "{text}");
    assert!(value(&text, "alpes_outbox_lag_seconds").is_some_and(|s| s >= 0.0));
    assert!(value(&text, "alpes_attribution_backlog").is_some());
    assert!(value(&text, "alpes_attribution_lag_seconds").is_some());
    assert_eq!(value(&text, "alpes_integration_deliveries{integration=\"PIPEDRIVE\",state=\"DEAD\"}"), Some(0.0));
    assert!(value(&text, "alpes_db_pool_connections{state=\"idle\"}").is_some());
    // The paid checkout is today's conversion, and its value today's revenue.
    assert_eq!(value(&text, "alpes_conversions_today{currency=\"USD\"}"), Some(1.0), "{text}");
    assert_eq!(value(&text, "alpes_revenue_today{currency=\"USD\"}"), Some(49.0));
    assert!(value(&text, "alpes_process_resident_memory_bytes").is_some_and(|b| b > 1e6));
    // Every sample line belongs to a documented family.
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let name = line.split(['{', ' ']).next().unwrap_or_default();
        let family = name.trim_end_matches("_bucket").trim_end_matches("_sum").trim_end_matches("_count");
        assert!(text.contains(&format!("# TYPE {family} ")) || text.contains(&format!("# TYPE {name} ")), "{line}");
    }
}

#[tokio::test]
async fn the_outbox_backlog_and_its_age_show_unpublished_events() {
    use sea_orm::{ActiveModelTrait, Set};
    let app = TestApp::new().await;
    // Events written but not yet published, as when the relay is behind.
    let written = chrono::Utc::now() - chrono::Duration::seconds(90);
    for i in 0..4 {
        entity::outbox_events::ActiveModel {
            id: Set(uuid::Uuid::now_v7()),
            topic: Set("sistema.eventos".into()),
            event_type: Set("prueba".into()),
            aggregate_type: Set("test".into()),
            aggregate_id: Set(i.to_string()),
            affiliate_id: Set(None),
            payload: Set(json!({})),
            created_at: Set(written),
            published_at: Set(None),
            nats_published_at: Set(None),
            ..Default::default()
        }
        .insert(app.db())
        .await
        .unwrap();
    }
    let text = scrape(&app).await;
    assert!(value(&text, "alpes_outbox_backlog").is_some_and(|n| n >= 4.0), "{text}");
    assert!(value(&text, "alpes_outbox_lag_seconds").is_some_and(|s| s >= 89.0), "{text}");
}
