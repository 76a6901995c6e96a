//! Tracking ingest (seeds 002 and 003): exactly once, the events, bad input, the click redirect.

mod support;

use alpes::auth::Role;
use axum::http::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{json, Value};
use support::{create_affiliate, TestApp};

const PEER: [u8; 4] = [203, 0, 113, 7];

async fn setup() -> TestApp {
    let app = TestApp::new().await;
    program(&app).await;
    app
}

/// The campaign and affiliate of the seed 002 examples.
async fn program(app: &TestApp) {
    let campaign =
        json!({"input": {"name": "Seed", "code": "cmp-456", "startsAt": "2024-01-01T00:00:00Z", "currency": "COP"}});
    let c = app
        .ok(&app.admin(), "mutation($input: CreateCampaignInput!) { createCampaign(input: $input) { id } }", campaign)
        .await;
    app.ok(
        &app.admin(),
        "mutation($id: ID!) { activateCampaign(id: $id) { status } }",
        json!({"id": c["createCampaign"]["id"]}),
    )
    .await;
    let affiliate = json!({"input": {"name": "Influencer", "code": "inf-789", "email": "inf@example.com", "commissionConfig": {"baseRate": "10", "minimumPayout": "100"}}});
    app.ok(&app.admin(), support::CREATE_AFFILIATE, affiliate).await;
}

fn impression(id: &str) -> String {
    json!({
        "id": id, "campaña_id": "cmp-456", "influencer_id": "inf-789", "usuario_id": "usr-101",
        "tipo_evento": "IMPRESION", "user_agent": "Mozilla/5.0...", "ip_address": "192.168.1.1",
        "referrer": "https://instagram.com", "timestamp": chrono::Utc::now().to_rfc3339()
    })
    .to_string()
}

fn conversion(id: &str) -> String {
    json!({
        "id": id, "campaña_id": "cmp-456", "influencer_id": "inf-789", "usuario_id": "usr-101",
        "tipo_conversion": "VENTA", "valor": 150000.0, "moneda": "COP", "user_agent": "Mozilla/5.0...",
        "ip_address": "192.168.1.1", "referrer": "https://instagram.com", "timestamp": chrono::Utc::now().to_rfc3339()
    })
    .to_string()
}

async fn events(app: &TestApp) -> Vec<entity::outbox_events::Model> {
    entity::outbox_events::Entity::find().order_by_asc(entity::outbox_events::Column::Seq).all(app.db()).await.unwrap()
}

#[tokio::test]
async fn seed_002_impression_is_stored_once_with_its_event() {
    let app = setup().await;
    let before = events(&app).await.len();
    let (status, headers, first) = app.post_json("/tracking/impresiones", &impression("imp-123"), PEER, &[]).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(first["id"], "imp-123");
    assert_eq!(first["campaña_id"], "cmp-456");
    assert_eq!(first["influencer_id"], "inf-789");
    assert_eq!(first["estado"], "registrada");
    assert!(headers.get("idempotent-replayed").is_none());

    let (status, headers, again) = app.post_json("/tracking/impresiones", &impression("imp-123"), PEER, &[]).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(again, first, "a repeat answers as the first did");
    assert_eq!(headers.get("idempotent-replayed").and_then(|v| v.to_str().ok()), Some("true"));
    assert_eq!(app.count("interactions").await, 1);

    let events = events(&app).await;
    assert_eq!(events.len(), before + 1, "one event, not two");
    let event = events.last().unwrap();
    assert_eq!(event.topic, "evento-impresion-registrada");
    assert_eq!(event.payload["datos_impresion"]["id"], "imp-123");

    let row = entity::interactions::Entity::find().one(app.db()).await.unwrap().unwrap();
    let ip_hash = row.ip_hash.clone().unwrap();
    assert_eq!(ip_hash.len(), 64);
    assert!(!format!("{row:?}").contains("192.168.1.1"), "the raw IP is never stored");

    let (status, _, read) = app.get("/tracking/impresiones/imp-123", Some(&app.admin()), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read, first);
    let (status, _, _) = app.get("/tracking/impresiones/imp-123", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    for path in [
        "/tracking/campa%C3%B1as/cmp-456/impresiones",
        "/tracking/campa%c3%b1as/cmp-456/impresiones",
        "/tracking/campanas/cmp-456/impresiones",
    ] {
        let (status, _, list) = app.get(path, Some(&app.admin()), None).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(list["total"], 1, "{path}");
    }
}

#[tokio::test]
async fn seed_002_conversion_is_stored_once_with_its_event() {
    let app = setup().await;
    let key = app.shop_key().await;
    let shop = [("x-api-key", key.as_str())];
    let (status, _, first) = app.post_json("/tracking/conversiones", &conversion("conv-123"), PEER, &shop).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(first["valor"], json!(150000.0));
    assert_eq!(first["moneda"], "COP");
    assert_eq!(first["tipo_conversion"], "VENTA");
    let (_, _, again) = app.post_json("/tracking/conversiones", &conversion("conv-123"), PEER, &shop).await;
    assert_eq!(again, first);
    assert_eq!(app.count("conversions").await, 1);

    let stored = entity::conversions::Entity::find().one(app.db()).await.unwrap().unwrap();
    assert_eq!(stored.value.normalize().to_string(), "150000");
    let event = events(&app).await.into_iter().find(|e| e.event_type == "conversion_registrada").unwrap();
    assert_eq!(event.topic, "conversiones.eventos");
    assert_eq!(event.payload["conversion_id"], json!(stored.id));
    assert_eq!(event.payload["datos_conversion"]["valor_conversion"], json!(150000.0));
    assert_eq!(event.payload["datos_conversion"]["tipo_conversion"], "venta");

    let (status, _, read) = app.get("/tracking/conversiones/conv-123", Some(&app.admin()), None).await;
    assert_eq!((status, &read), (StatusCode::OK, &first));
    let (_, _, list) = app.get("/tracking/campa%C3%B1as/cmp-456/conversiones", Some(&app.admin()), None).await;
    assert_eq!(list["total"], 1);
}

/// POSTs an impression straight to the router, so that many can be in flight at once.
async fn send_impression(router: axum::Router, body: String) -> axum::response::Response {
    use tower::ServiceExt;
    let request = axum::http::Request::post("/tracking/impresiones")
        .header("content-type", "application/json")
        .body(axum::body::Body::from(body))
        .unwrap();
    router.oneshot(request).await.unwrap()
}

#[tokio::test]
async fn concurrent_duplicates_store_once_and_answer_alike() {
    let app = setup().await;
    // 240 sends of 40 ids at once: the ingest builds a batch while the one before is being
    // written, so repeats land in the same batch, in a batch in flight, and after it.
    let mut tasks = Vec::new();
    for n in 0..240 {
        let router = app.app.router.clone();
        tasks.push(tokio::spawn(async move {
            let id = format!("imp-wave-{}", n % 40);
            let response = send_impression(router, impression(&id)).await;
            let status = response.status();
            let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
            (id, status, serde_json::from_slice::<serde_json::Value>(&body).unwrap())
        }));
    }
    let mut answers: std::collections::HashMap<String, serde_json::Value> = std::collections::HashMap::new();
    for task in tasks {
        let (id, status, body) = task.await.unwrap();
        assert_eq!(status, StatusCode::CREATED, "{id}: {body}");
        let first = answers.entry(id.clone()).or_insert_with(|| body.clone());
        assert_eq!(&body, first, "every send of {id} answers as the first");
    }
    assert_eq!(answers.len(), 40);
    assert_eq!(app.count("interactions").await, 40);
    let impressions = events(&app).await.into_iter().filter(|e| e.event_type == "impresion_registrada").count();
    assert_eq!(impressions, 40);
}

#[tokio::test]
async fn a_repeat_answers_as_the_first_even_when_its_body_would_now_be_refused() {
    let app = setup().await;
    let (status, _, first) = app.post_json("/tracking/impresiones", &impression("imp-again"), PEER, &[]).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let mut changed: serde_json::Value = serde_json::from_str(&impression("imp-again")).unwrap();
    changed["campaña_id"] = json!("no-such-campaign");
    let (status, headers, again) = app.post_json("/tracking/impresiones", &changed.to_string(), PEER, &[]).await;
    assert_eq!(status, StatusCode::CREATED, "{again}");
    assert_eq!(again, first, "the id is stored: the repeat answers as the first send did");
    assert_eq!(headers.get("idempotent-replayed").and_then(|v| v.to_str().ok()), Some("true"));

    changed["id"] = json!("imp-new");
    let (status, _, refused) = app.post_json("/tracking/impresiones", &changed.to_string(), PEER, &[]).await;
    assert!(status.is_client_error(), "{status} {refused}");
    assert_eq!(app.count("interactions").await, 1);
}

#[tokio::test]
async fn a_refused_item_does_not_fail_the_items_batched_with_it() {
    let app = setup().await;
    let before = events(&app).await.len();
    let mut tasks = Vec::new();
    for n in 0..24 {
        let router = app.app.router.clone();
        let mut body: serde_json::Value = serde_json::from_str(&impression(&format!("imp-mixed-{n}"))).unwrap();
        if n % 2 == 1 {
            body["campaña_id"] = json!("no-such-campaign");
        }
        tasks.push(tokio::spawn(async move { (n, send_impression(router, body.to_string()).await.status()) }));
    }
    for task in tasks {
        let (n, status) = task.await.unwrap();
        if n % 2 == 0 {
            assert_eq!(status, StatusCode::CREATED, "item {n}");
        } else {
            assert!(status.is_client_error(), "item {n}: {status}");
        }
    }
    assert_eq!(app.count("interactions").await, 12);
    assert_eq!(events(&app).await.len(), before + 12, "an event for each stored item, none for the refused");
}

#[tokio::test]
async fn seed_003_interaction_links_identities_and_emits_the_seed_payload() {
    let app = setup().await;
    let body = json!({
        "id_interaccion": "uuid-del-clic", "tipo": "CLICK", "marca_temporal": chrono::Utc::now().timestamp_millis(),
        "identidad_usuario": {"id_usuario": "user-123", "id_anonimo": "anon-xyz"},
        "parametros_tracking": {"fuente": "facebook.com", "medio": "social", "campania": "cmp-456", "id_afiliado": "inf-789"}
    });
    let (status, _, answer) = app.post_json("/tracking/interacciones", &body.to_string(), PEER, &[]).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    assert_eq!(answer["canal"], "social");
    let link = entity::identity_links::Entity::find_by_id("anon-xyz".to_string()).one(app.db()).await.unwrap().unwrap();
    assert_eq!(link.user_id, "user-123");

    let event = events(&app).await.into_iter().find(|e| e.topic == "interaccion-registrada").unwrap();
    assert_eq!(
        event.payload,
        json!({
            "id_interaccion": "uuid-del-clic",
            "tipo": "CLICK",
            "marca_temporal": body["marca_temporal"],
            "identidad_usuario": {"id_usuario": "user-123", "id_anonimo": "anon-xyz"},
            "parametros_tracking": {"fuente": "facebook.com", "medio": "social", "campania": "cmp-456", "id_afiliado": "inf-789"}
        }),
        "seed 003 payload, field for field"
    );

    // A later event of the same anonymous id with another user does not relink it.
    let other = json!({"id_interaccion": "2", "tipo": "VISTA", "identidad_usuario": {"id_usuario": "user-999", "id_anonimo": "anon-xyz"}});
    app.post_json("/tracking/interacciones", &other.to_string(), PEER, &[]).await;
    let link = entity::identity_links::Entity::find_by_id("anon-xyz".to_string()).one(app.db()).await.unwrap().unwrap();
    assert_eq!(link.user_id, "user-123");
}

/// (name, route, body, status, code, field)
type Case = (&'static str, &'static str, String, StatusCode, &'static str, Option<&'static str>);

#[tokio::test]
async fn bad_input_is_refused_and_stores_nothing() {
    let app = setup().await;
    // The shop's key first: making it is a change of its own (an audit row and its event).
    let key = app.shop_key().await;
    let before = (app.count("interactions").await, app.count("conversions").await, app.count("outbox_events").await);
    let future = (chrono::Utc::now() + chrono::Duration::days(2)).to_rfc3339();
    let big = json!({"id": "big", "campaña_id": "cmp-456", "referrer": "x".repeat(70 * 1024)}).to_string();
    let cases: Vec<Case> = vec![
        ("malformed json", "/tracking/impresiones", "{\"id\": ".into(), StatusCode::BAD_REQUEST, "VALIDATION", None),
        ("wrong type", "/tracking/impresiones", r#"{"id": 5, "campaña_id": "cmp-456"}"#.into(), StatusCode::BAD_REQUEST, "VALIDATION", None),
        ("missing id", "/tracking/impresiones", r#"{"campaña_id": "cmp-456"}"#.into(), StatusCode::BAD_REQUEST, "VALIDATION", Some("id")),
        ("missing campaign", "/tracking/impresiones", r#"{"id": "x1"}"#.into(), StatusCode::BAD_REQUEST, "VALIDATION", Some("campaña_id")),
        ("future", "/tracking/impresiones", json!({"id": "x2", "campaña_id": "cmp-456", "timestamp": future}).to_string(), StatusCode::BAD_REQUEST, "VALIDATION", Some("timestamp")),
        ("unknown campaign", "/tracking/impresiones", r#"{"id": "x3", "campaña_id": "nope"}"#.into(), StatusCode::UNPROCESSABLE_ENTITY, "NOT_FOUND", Some("campaña_id")),
        ("unknown affiliate", "/tracking/impresiones", r#"{"id": "x4", "campaña_id": "cmp-456", "influencer_id": "ghost"}"#.into(), StatusCode::UNPROCESSABLE_ENTITY, "NOT_FOUND", Some("influencer_id")),
        ("wrong event type", "/tracking/impresiones", r#"{"id": "x5", "campaña_id": "cmp-456", "tipo_evento": "CLICK"}"#.into(), StatusCode::BAD_REQUEST, "VALIDATION", Some("tipo_evento")),
        ("too big", "/tracking/impresiones", big, StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE", None),
        ("unknown currency", "/tracking/conversiones", conversion("c1").replace("COP", "ABC"), StatusCode::BAD_REQUEST, "VALIDATION", Some("moneda")),
        ("negative value", "/tracking/conversiones", conversion("c2").replace("150000.0", "-5"), StatusCode::BAD_REQUEST, "VALIDATION", Some("valor")),
        ("sub-minor value", "/tracking/conversiones", conversion("c3").replace("150000.0", "1.005"), StatusCode::BAD_REQUEST, "VALIDATION", Some("valor")),
        ("value as text", "/tracking/conversiones", conversion("c4").replace("150000.0", "\"mucho\""), StatusCode::BAD_REQUEST, "VALIDATION", None),
        ("bad conversion type", "/tracking/conversiones", conversion("c5").replace("VENTA", "REGALO"), StatusCode::BAD_REQUEST, "VALIDATION", Some("tipo_conversion")),
        ("no identity", "/tracking/interacciones", r#"{"id_interaccion": "i1", "tipo": "CLICK"}"#.into(), StatusCode::BAD_REQUEST, "VALIDATION", Some("identidad_usuario")),
        ("bad type", "/tracking/interacciones", r#"{"id_interaccion": "i2", "tipo": "SCROLL", "identidad_usuario": {"id_anonimo": "a"}}"#.into(), StatusCode::BAD_REQUEST, "VALIDATION", Some("tipo")),
        ("unknown seed campaign", "/tracking/interacciones", r#"{"id_interaccion": "i3", "tipo": "CLICK", "identidad_usuario": {"id_anonimo": "a"}, "parametros_tracking": {"campania": "nope"}}"#.into(), StatusCode::UNPROCESSABLE_ENTITY, "NOT_FOUND", Some("parametros_tracking.campania")),
    ];
    for (name, uri, body, status, code, field) in cases {
        let shop = [("x-api-key", key.as_str())];
        let headers: &[(&str, &str)] = if uri.contains("conversiones") { &shop } else { &[] };
        let (got, _, answer) = app.post_json(uri, &body, PEER, headers).await;
        assert_eq!(got, status, "{name}: {answer}");
        assert_eq!(answer["error"]["code"], code, "{name}: {answer}");
        if let Some(field) = field {
            assert_eq!(answer["error"]["field"], field, "{name}: {answer}");
        }
    }
    let after = (app.count("interactions").await, app.count("conversions").await, app.count("outbox_events").await);
    assert_eq!(before, after, "nothing stored");
}

#[tokio::test]
async fn floods_from_one_ip_get_429_with_retry_after() {
    let app = TestApp::with_config(|c| c.ingest_rate_limit_per_ip = 5).await;
    program(&app).await;
    let mut refused = None;
    for i in 0..30 {
        let (status, headers, body) =
            app.post_json("/tracking/impresiones", &impression(&format!("f{i}")), PEER, &[]).await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            refused = Some((i, headers, body));
            break;
        }
        assert_eq!(status, StatusCode::CREATED);
    }
    let (at, headers, body) = refused.expect("the flood was refused");
    assert!(at >= 10, "the burst (2 × rate) passes first: refused at {at}");
    assert_eq!(body["error"]["code"], "RATE_LIMITED");
    assert!(headers.get("retry-after").and_then(|v| v.to_str().ok()).is_some_and(|v| v.parse::<u64>().is_ok()));
    assert_eq!(app.count("interactions").await as usize, at);
    // Another client is not affected.
    let (status, _, _) = app.post_json("/tracking/impresiones", &impression("other"), [198, 51, 100, 1], &[]).await;
    assert_eq!(status, StatusCode::CREATED);
}

async fn link(app: &TestApp) -> String {
    let data = app
        .ok(
            &app.admin(),
            "mutation { createTrackingLink(input: {affiliateId: \"inf-789\", campaignId: \"cmp-456\", destinationUrl: \"https://shop.example.com/p?sku=1#top\", code: \"summer\"}) { code } }",
            json!({}),
        )
        .await;
    data["createTrackingLink"]["code"].as_str().unwrap().to_string()
}

fn set_cookie(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .and_then(|v| v.split(';').next())
        .and_then(|v| v.split_once('='))
        .map(|(_, v)| v.to_string())
}

#[tokio::test]
async fn click_redirect_records_the_click_and_keeps_the_visitor() {
    let app = setup().await;
    let code = link(&app).await;
    let (status, headers, _) =
        app.get(&format!("/r/{code}?utm_source=ig&utm_medium=social&gclid=G-1&fbclid=F-1"), None, None).await;
    assert_eq!(status, StatusCode::FOUND);
    let location = headers.get("location").and_then(|v| v.to_str().ok()).unwrap().to_string();
    let visitor = set_cookie(&headers, "alpes_aid").unwrap();
    let click_id = set_cookie(&headers, "alpes_cid").unwrap();
    assert_eq!(location, format!("https://shop.example.com/p?sku=1&alpes_cid={click_id}#top"));

    let click = entity::interactions::Entity::find()
        .filter(entity::interactions::Column::ExternalId.eq(click_id.clone()))
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(click.kind, entity::interactions::InteractionKind::Click);
    assert_eq!(click.anonymous_id.as_deref(), Some(visitor.as_str()));
    assert_eq!(click.gclid.as_deref(), Some("G-1"));
    assert_eq!(click.flags, json!([]));
    let session =
        entity::tracking_sessions::Entity::find_by_id(click.session_id.unwrap()).one(app.db()).await.unwrap().unwrap();
    assert_eq!(session.utm_source.as_deref(), Some("ig"));
    assert_eq!(session.fbclid.as_deref(), Some("F-1"));
    assert_eq!(session.landing_path.as_deref(), Some("/p"));

    // The same browser again: the visitor id is kept, the click is new.
    let (_, headers, _) = app.get(&format!("/r/{code}"), None, Some(&format!("alpes_aid={visitor}"))).await;
    assert_eq!(set_cookie(&headers, "alpes_aid").as_deref(), Some(visitor.as_str()));
    assert_ne!(set_cookie(&headers, "alpes_cid"), Some(click_id.clone()));

    // A conversion posted with that browser's cookies (the shop's server passing them on,
    // with its key): same visitor, linked to the click.
    let cookies = format!("alpes_aid={visitor}; alpes_cid={click_id}");
    let key = app.shop_key().await;
    let (status, _, _) = app
        .post_json(
            "/tracking/conversiones",
            &conversion("conv-browser"),
            PEER,
            &[("cookie", cookies.as_str()), ("x-api-key", key.as_str())],
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let stored = entity::conversions::Entity::find().one(app.db()).await.unwrap().unwrap();
    assert_eq!(stored.anonymous_id.as_deref(), Some(visitor.as_str()));
    assert_eq!(stored.interaction_id, Some(click.id));
}

#[tokio::test]
async fn paused_campaign_links_still_redirect_but_the_click_is_flagged() {
    let app = setup().await;
    let code = link(&app).await;
    app.ok(&app.admin(), "mutation { pauseCampaign(id: \"cmp-456\") { status } }", json!({})).await;
    let (status, headers, _) = app.get(&format!("/r/{code}"), None, None).await;
    assert_eq!(status, StatusCode::FOUND);
    let click_id = set_cookie(&headers, "alpes_cid").unwrap();
    let click = entity::interactions::Entity::find()
        .filter(entity::interactions::Column::ExternalId.eq(click_id))
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(click.flags, json!(["CAMPAIGN_NOT_ACTIVE"]));

    let (status, headers, _) = app.get("/r/does-not-exist", None, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(headers.get("content-type").and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("text/html")));
}

#[tokio::test]
async fn graphql_records_through_the_same_service() {
    let app = setup().await;
    let admin = app.admin();
    let impression = app
        .ok(&admin, "mutation { recordImpression(input: {id: \"g-imp\", campaignId: \"cmp-456\", affiliateId: \"inf-789\", userId: \"u1\"}) { externalId kind channel campaign { code } affiliate { code } } }", json!({}))
        .await;
    assert_eq!(impression["recordImpression"]["kind"], "IMPRESSION");
    assert_eq!(impression["recordImpression"]["campaign"]["code"], "cmp-456");
    let click = app
        .ok(&admin, "mutation { recordClick(input: {id: \"g-click\", campaignId: \"cmp-456\", anonymousId: \"anon-1\", utmSource: \"google\", utmMedium: \"cpc\"}) { externalId kind channel sessionId } }", json!({}))
        .await;
    assert_eq!(click["recordClick"]["channel"], "paid_search");
    assert!(click["recordClick"]["sessionId"].is_string());
    let query = "mutation($i: RecordConversionInput!) { recordConversion(input: $i) { externalId type value currency clickInteractionId anonymousId } }";
    let input = json!({"i": {"id": "g-conv", "value": "99.90", "currency": "usd", "campaignId": "cmp-456", "anonymousId": "anon-1", "clickId": "g-click", "customerEmail": "Buyer@Example.com"}});
    let conversion = app.ok(&admin, query, input.clone()).await;
    assert_eq!(conversion["recordConversion"]["value"], "99.90");
    assert_eq!(conversion["recordConversion"]["currency"], "USD");
    assert!(conversion["recordConversion"]["clickInteractionId"].is_string());
    let again = app.ok(&admin, query, input).await;
    assert_eq!(again, conversion);
    let stored = entity::conversions::Entity::find().one(app.db()).await.unwrap().unwrap();
    assert_eq!(
        stored.customer_email_hash.as_deref(),
        Some(alpes::domain::pii::hash_email("buyer@example.com").as_str())
    );

    let listed = app
        .ok(
            &admin,
            "{ conversions(filter: {status: REGISTERED}) { totalCount edges { node { externalId } } } }",
            json!({}),
        )
        .await;
    assert_eq!(listed["conversions"]["totalCount"], 1);

    // Analysts cannot record; affiliates record for themselves only.
    let analyst = app.token(Role::Analyst, None);
    let code = app
        .error_code(Some(&analyst), "mutation { recordImpression(input: {campaignId: \"cmp-456\"}) { id } }", json!({}))
        .await;
    assert_eq!(code, "FORBIDDEN");
    let other = create_affiliate(&app, "Other", "other@example.com").await;
    let other_id: uuid::Uuid = other["id"].as_str().unwrap().parse().unwrap();
    let token = app.token(Role::Affiliate, Some(other_id));
    let code = app
        .error_code(
            Some(&token),
            "mutation { recordImpression(input: {campaignId: \"cmp-456\", affiliateId: \"inf-789\"}) { affiliateId } }",
            json!({}),
        )
        .await;
    assert_eq!(code, "FORBIDDEN", "an affiliate cannot record for another one");
    let mine = app
        .ok(&token, "mutation { recordImpression(input: {campaignId: \"cmp-456\"}) { affiliateId } }", json!({}))
        .await;
    assert_eq!(mine["recordImpression"]["affiliateId"], other["id"], "an affiliate records for itself");
    let own_code = other["code"].as_str().unwrap();
    let named = app
        .ok(
            &token,
            &format!("mutation {{ recordImpression(input: {{campaignId: \"cmp-456\", affiliateId: \"{own_code}\"}}) {{ affiliateId }} }}"),
            json!({}),
        )
        .await;
    assert_eq!(named["recordImpression"]["affiliateId"], other["id"], "naming itself is fine");
    let seen = app.ok(&token, "{ conversions { totalCount } }", json!({})).await;
    assert_eq!(seen["conversions"]["totalCount"], 0, "not another affiliate's conversions");
    let code = app
        .error_code(Some(&admin), "mutation { recordImpression(input: {campaignId: \"ghost\"}) { id } }", json!({}))
        .await;
    assert_eq!(code, "NOT_FOUND");
}

/// Every transport goes through the same checks, and an error names the field the way
/// that transport does: the same bad currency is `moneda` on the seed route and
/// `currency` in GraphQL; GraphQL gets the seed routes' length limits too.
#[tokio::test]
async fn each_transport_gets_the_same_checks_under_its_own_field_names() {
    let app = setup().await;
    let admin = app.admin();
    let record = "mutation($i: RecordConversionInput!) { recordConversion(input: $i) { id } }";
    let field = |body: &Value| body["errors"][0]["extensions"]["field"].as_str().map(str::to_owned);
    let (_, body) = app
        .post_graphql(Some(&admin), record, json!({"i": {"value": "10", "currency": "ABC", "campaignId": "cmp-456"}}))
        .await;
    assert_eq!(field(&body).as_deref(), Some("currency"), "{body}");
    let (_, body) = app
        .post_graphql(Some(&admin), record, json!({"i": {"value": "-1", "currency": "USD", "campaignId": "cmp-456"}}))
        .await;
    assert_eq!(field(&body).as_deref(), Some("value"), "{body}");
    let (_, body) = app
        .post_graphql(
            Some(&admin),
            "mutation($r: String) { recordImpression(input: {campaignId: \"cmp-456\", referrer: $r}) { id } }",
            json!({"r": "x".repeat(3000)}),
        )
        .await;
    assert_eq!(field(&body).as_deref(), Some("referrer"), "{body}");
    assert_eq!(body["errors"][0]["extensions"]["code"], "VALIDATION");
    let (_, body) = app
        .post_graphql(
            Some(&admin),
            "mutation { recordClick(input: {campaignId: \"cmp-456\", userId: \"a\\nb\"}) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(field(&body).as_deref(), Some("userId"), "{body}");
    let key = app.shop_key().await;
    let (status, _, answer) = app
        .post_json(
            "/tracking/conversiones",
            &conversion("t1").replace("COP", "ABC"),
            PEER,
            &[("x-api-key", key.as_str())],
        )
        .await;
    assert_eq!((status, answer["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("moneda")));
    assert_eq!(app.count("interactions").await + app.count("conversions").await, 0, "nothing stored");
}
