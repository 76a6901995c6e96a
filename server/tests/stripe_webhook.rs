//! Stripe webhooks: signature, exactly-once orders and conversions, refunds, replay,
//! and seed 001's verification queries.

mod support;

use alpes::{auth::Role, domain::stripe};
use axum::{
    body::Body,
    http::{Request, StatusCode},
};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Statement};
use serde_json::{json, Value};
use support::TestApp;

const SECRET: &str = "whsec_test_secret";

fn checkout(event_id: &str, session_id: &str, amount: i64, currency: &str, extra: Value) -> Value {
    let mut object = json!({
        "id": session_id, "object": "checkout.session", "amount_total": amount, "currency": currency,
        "payment_status": "paid", "payment_intent": format!("pi_{session_id}"),
        "customer_details": {"email": "Buyer@Example.com", "phone": "+57 300 123 4567"},
        "metadata": {"gclid": "TEST_GCLID", "campaign": "LANZAMIENTO_2026", "source": "google", "product_id": "PROD001"}
    });
    for (k, v) in extra.as_object().cloned().unwrap_or_default() {
        object[k] = v;
    }
    json!({"id": event_id, "object": "event", "type": "checkout.session.completed", "livemode": false,
           "created": chrono::Utc::now().timestamp(), "data": {"object": object}})
}

fn event(event_id: &str, kind: &str, object: Value) -> Value {
    json!({"id": event_id, "object": "event", "type": kind, "livemode": false, "created": chrono::Utc::now().timestamp(), "data": {"object": object}})
}

async fn deliver_raw(app: &TestApp, body: &str, signature: Option<&str>) -> (StatusCode, Value) {
    let mut request = Request::post("/api/v1/webhooks/stripe").header("content-type", "application/json");
    if let Some(signature) = signature {
        request = request.header("stripe-signature", signature);
    }
    let (status, _, body) = app.send(request.body(Body::from(body.to_string())).unwrap()).await;
    (status, body)
}

async fn deliver(app: &TestApp, payload: &Value) -> (StatusCode, Value) {
    let body = payload.to_string();
    let signature = stripe::sign(body.as_bytes(), SECRET, chrono::Utc::now().timestamp());
    deliver_raw(app, &body, Some(&signature)).await
}

async fn orders(app: &TestApp) -> Vec<entity::orders::Model> {
    entity::orders::Entity::find().all(app.db()).await.unwrap()
}

async fn stored_event(app: &TestApp, id: &str) -> Option<entity::stripe_webhook_events::Model> {
    entity::stripe_webhook_events::Entity::find_by_id(id.to_string()).one(app.db()).await.unwrap()
}

#[test]
fn a_header_made_by_stripes_own_library_is_accepted_and_a_changed_byte_is_not() {
    let fixture: Value =
        serde_json::from_str(include_str!("fixtures/stripe_signed_event.json")).expect("fixture made with stripe-node");
    let payload = fixture["payload"].as_str().unwrap();
    let secret = fixture["secret"].as_str().unwrap().to_string();
    let header = fixture["header"].as_str().unwrap();
    let at = fixture["timestamp"].as_i64().unwrap();
    let signature = stripe::StripeSignature::parse(header).unwrap();
    assert!(signature.verify(payload.as_bytes(), std::slice::from_ref(&secret), at + 10).is_ok());
    let mut changed = payload.as_bytes().to_vec();
    changed[20] ^= 1;
    assert!(signature.verify(&changed, std::slice::from_ref(&secret), at + 10).is_err());
    assert_eq!(stripe::sign(payload.as_bytes(), &secret, at), header, "we sign exactly as Stripe does");
}

#[tokio::test]
async fn a_paid_checkout_makes_one_order_and_one_conversion() {
    let app = TestApp::new().await;
    let payload = checkout("evt_1", "cs_1", 15075, "usd", json!({}));
    let (status, body) = deliver(&app, &payload).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "processed");

    let order = orders(&app).await.pop().unwrap();
    assert_eq!(alpes::domain::money::scaled(order.amount, &order.currency).to_string(), "150.75");
    assert_eq!(order.currency, "USD");
    assert_eq!(order.status, entity::orders::OrderStatus::Paid);
    assert_eq!(order.payment_intent_id.as_deref(), Some("pi_cs_1"));
    assert_eq!((order.gclid.as_deref(), order.campaign.as_deref()), (Some("TEST_GCLID"), Some("LANZAMIENTO_2026")));
    assert_eq!((order.source.as_deref(), order.product_id.as_deref()), (Some("google"), Some("PROD001")));
    assert_eq!(
        order.customer_email_hash.as_deref(),
        Some(alpes::domain::pii::hash_email("buyer@example.com").as_str())
    );
    assert_eq!(order.metadata["attribution"], "unattributed", "no click and no known campaign: recorded as such");

    let conversion = entity::conversions::Entity::find().one(app.db()).await.unwrap().unwrap();
    assert_eq!(conversion.order_id, Some(order.id));
    assert_eq!(conversion.conversion_type, entity::conversions::ConversionType::Sale);
    assert_eq!(alpes::domain::money::scaled(conversion.value, &conversion.currency).to_string(), "150.75");
    let types: Vec<(String, String)> = entity::outbox_events::Entity::find()
        .all(app.db())
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.topic, e.event_type))
        .collect();
    let expected = [
        ("conversiones.eventos", "conversion_registrada"),
        ("evento-conversion-registrada", "conversion_registrada"),
        ("conversiones.eventos", "pedido_pagado"),
    ];
    assert_eq!(types, expected.map(|(t, e)| (t.to_string(), e.to_string())), "each seed's announcement of the sale");
    assert_eq!(
        stored_event(&app, "evt_1").await.unwrap().status,
        entity::stripe_webhook_events::WebhookEventStatus::Processed
    );

    // The same delivery again: 200, nothing new.
    let (status, body) = deliver(&app, &payload).await;
    assert_eq!((status, body["status"].as_str()), (StatusCode::OK, Some("duplicate")));
    // Another event for the same session: the session id keeps it to one order.
    let (status, body) = deliver(&app, &checkout("evt_2", "cs_1", 15075, "usd", json!({}))).await;
    assert_eq!((status, body["status"].as_str()), (StatusCode::OK, Some("ignored")));
    assert_eq!(
        (app.count("orders").await, app.count("conversions").await, app.count("outbox_events").await),
        (1, 1, 3)
    );
}

#[tokio::test]
async fn fifty_concurrent_deliveries_of_one_event_leave_one_order() {
    let app = TestApp::new().await;
    let body = checkout("evt_dup", "cs_dup", 9900, "eur", json!({})).to_string();
    let signature = stripe::sign(body.as_bytes(), SECRET, chrono::Utc::now().timestamp());
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let router = app.app.router.clone();
        let (body, signature) = (body.clone(), signature.clone());
        tasks.push(tokio::spawn(async move {
            use tower::ServiceExt;
            let request = Request::post("/api/v1/webhooks/stripe")
                .header("stripe-signature", signature)
                .body(Body::from(body))
                .unwrap();
            router.oneshot(request).await.unwrap().status()
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), StatusCode::OK);
    }
    assert_eq!((app.count("orders").await, app.count("conversions").await), (1, 1));
    assert_eq!(app.count("stripe_webhook_events").await, 1);
}

#[tokio::test]
async fn currencies_are_converted_exactly_by_their_minor_units() {
    let app = TestApp::new().await;
    for (i, (minor, currency, expected)) in
        [(1500, "jpy", "1500"), (1500, "kwd", "1.500"), (15000000, "cop", "150000.00")].into_iter().enumerate()
    {
        let (status, _) =
            deliver(&app, &checkout(&format!("evt_c{i}"), &format!("cs_c{i}"), minor, currency, json!({}))).await;
        assert_eq!(status, StatusCode::OK);
        let order = entity::orders::Entity::find()
            .filter(entity::orders::Column::StripeSessionId.eq(format!("cs_c{i}")))
            .one(app.db())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(alpes::domain::money::scaled(order.amount, &order.currency).to_string(), expected, "{currency}");
    }
}

#[tokio::test]
async fn a_checkout_after_a_click_is_tied_to_it() {
    let app = TestApp::new().await;
    let c = app
        .ok(&app.admin(), support::CREATE_CAMPAIGN, json!({"input": support::campaign_input("Lanzamiento 2026")}))
        .await;
    let a = support::create_affiliate(&app, "Ana", "ana@example.com").await;
    let link = app
        .ok(
            &app.admin(),
            "mutation($i: CreateTrackingLinkInput!) { createTrackingLink(input: $i) { code } }",
            json!({"i": {"affiliateId": a["id"], "campaignId": c["createCampaign"]["id"], "destinationUrl": "https://shop.example.com"}}),
        )
        .await;
    let code = link["createTrackingLink"]["code"].as_str().unwrap();
    let (status, headers, _) = app.get(&format!("/r/{code}?gclid=G-9"), None, None).await;
    assert_eq!(status, StatusCode::FOUND);
    let location = headers.get("location").unwrap().to_str().unwrap();
    let click_id = location.split("alpes_cid=").nth(1).unwrap().to_string();

    let payload =
        checkout("evt_click", "cs_click", 5000, "usd", json!({"client_reference_id": click_id, "metadata": {}}));
    let (status, _) = deliver(&app, &payload).await;
    assert_eq!(status, StatusCode::OK);
    let order = orders(&app).await.pop().unwrap();
    let click = entity::interactions::Entity::find().one(app.db()).await.unwrap().unwrap();
    assert_eq!(order.click_id, Some(click.id));
    assert_eq!(order.event_id, click.session_id, "linked to the tracking session");
    assert_eq!(order.campaign_id, click.campaign_id);
    assert_eq!(order.affiliate_id, click.affiliate_id);
    assert_eq!(order.gclid.as_deref(), Some("G-9"), "gclid from the click when the metadata has none");
    assert_eq!(order.metadata["attribution"], "click");
    let conversion = entity::conversions::Entity::find().one(app.db()).await.unwrap().unwrap();
    assert_eq!(conversion.anonymous_id, click.anonymous_id, "same visitor: one journey");
    assert_eq!(conversion.interaction_id, Some(click.id));
}

#[tokio::test]
async fn bad_deliveries_get_a_clear_4xx_and_change_nothing() {
    let app = TestApp::new().await;
    let good = checkout("evt_ok", "cs_ok", 1000, "usd", json!({})).to_string();
    let now = chrono::Utc::now().timestamp();
    let signed = stripe::sign(good.as_bytes(), SECRET, now);
    let cases: Vec<(&str, String, Option<String>, StatusCode)> = vec![
        ("no signature", good.clone(), None, StatusCode::BAD_REQUEST),
        ("malformed signature", good.clone(), Some("t=abc,v1=zz".into()), StatusCode::BAD_REQUEST),
        (
            "wrong secret",
            good.clone(),
            Some(stripe::sign(good.as_bytes(), "whsec_wrong", now)),
            StatusCode::UNAUTHORIZED,
        ),
        ("too old", good.clone(), Some(stripe::sign(good.as_bytes(), SECRET, now - 301)), StatusCode::UNAUTHORIZED),
        (
            "from the future",
            good.clone(),
            Some(stripe::sign(good.as_bytes(), SECRET, now + 301)),
            StatusCode::UNAUTHORIZED,
        ),
        ("one byte changed", good.replacen("1000", "1001", 1), Some(signed.clone()), StatusCode::UNAUTHORIZED),
        ("not json", "not json".into(), Some(stripe::sign(b"not json", SECRET, now)), StatusCode::BAD_REQUEST),
        (
            "not an event",
            "{\"hello\":1}".into(),
            Some(stripe::sign(b"{\"hello\":1}", SECRET, now)),
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (name, body, signature, status) in cases {
        let (got, answer) = deliver_raw(&app, &body, signature.as_deref()).await;
        assert_eq!(got, status, "{name}: {answer}");
        assert!(answer["error"]["code"].is_string(), "{name}: {answer}");
    }
    assert_eq!((app.count("stripe_webhook_events").await, app.count("orders").await), (0, 0));

    // Verified but unusable: stored as FAILED with the reason, no order.
    let broken: Vec<(&str, Value, &str)> = vec![
        ("no amount", checkout("evt_b1", "cs_b1", 1, "usd", json!({"amount_total": null})), "amount_total"),
        ("no currency", checkout("evt_b2", "cs_b2", 100, "usd", json!({"currency": null})), "currency"),
        ("zero amount", checkout("evt_b3", "cs_b3", 0, "usd", json!({})), "amount_total"),
        ("unknown currency", checkout("evt_b4", "cs_b4", 100, "xyz", json!({})), "currency"),
    ];
    for (name, payload, field) in broken {
        let (status, answer) = deliver(&app, &payload).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{name}: {answer}");
        assert_eq!(answer["error"]["field"], field, "{name}");
        let stored = stored_event(&app, payload["id"].as_str().unwrap()).await.unwrap();
        assert_eq!(stored.status, entity::stripe_webhook_events::WebhookEventStatus::Failed, "{name}");
        assert!(stored.error.is_some(), "{name}");
    }
    assert_eq!(
        (app.count("orders").await, app.count("conversions").await, app.count("outbox_events").await),
        (0, 0, 0)
    );
}

#[tokio::test]
async fn unknown_event_types_are_stored_as_ignored() {
    let app = TestApp::new().await;
    let (status, body) = deliver(&app, &event("evt_x", "customer.created", json!({"id": "cus_1"}))).await;
    assert_eq!((status, body["status"].as_str()), (StatusCode::OK, Some("ignored")));
    let stored = stored_event(&app, "evt_x").await.unwrap();
    assert_eq!(stored.status, entity::stripe_webhook_events::WebhookEventStatus::Ignored);
}

#[tokio::test]
async fn refunds_partial_then_full() {
    let app = TestApp::new().await;
    deliver(&app, &checkout("evt_r0", "cs_r", 10000, "usd", json!({}))).await;
    let charge = |refunded: i64| json!({"id": "ch_1", "object": "charge", "payment_intent": "pi_cs_r", "amount": 10000, "amount_refunded": refunded, "currency": "usd", "refunded": refunded == 10000});
    let (status, _) = deliver(&app, &event("evt_r1", "charge.refunded", charge(2500))).await;
    assert_eq!(status, StatusCode::OK);
    let order = orders(&app).await.pop().unwrap();
    let refunded = alpes::domain::money::scaled(order.refunded_amount, &order.currency).to_string();
    assert_eq!((order.status, refunded.as_str()), (entity::orders::OrderStatus::PartiallyRefunded, "25.00"));
    let conversion = entity::conversions::Entity::find().one(app.db()).await.unwrap().unwrap();
    assert_eq!(conversion.status, entity::conversions::ConversionStatus::Registered);

    deliver(&app, &event("evt_r2", "charge.refunded", charge(10000))).await;
    let order = orders(&app).await.pop().unwrap();
    assert_eq!(order.status, entity::orders::OrderStatus::Refunded);
    let conversion = entity::conversions::Entity::find().one(app.db()).await.unwrap().unwrap();
    assert_eq!(conversion.status, entity::conversions::ConversionStatus::Refunded);
    let refunds = entity::outbox_events::Entity::find()
        .filter(entity::outbox_events::Column::EventType.eq("pedido_reembolsado"))
        .all(app.db())
        .await
        .unwrap();
    assert_eq!(refunds.len(), 2);
    assert_eq!(refunds[1].payload["datos_pedido"]["monto_reembolsado"], json!(100.0));
    // A refund for a payment we never saw is kept, ignored.
    let (_, body) = deliver(
        &app,
        &event(
            "evt_r3",
            "charge.refunded",
            json!({"payment_intent": "pi_other", "amount_refunded": 5, "currency": "usd"}),
        ),
    )
    .await;
    assert_eq!(body["status"], "ignored");
}

#[tokio::test]
async fn async_payments_and_expiry() {
    let app = TestApp::new().await;
    let pending = checkout("evt_a1", "cs_a", 4200, "usd", json!({"payment_status": "unpaid"}));
    deliver(&app, &pending).await;
    assert_eq!(orders(&app).await[0].status, entity::orders::OrderStatus::Pending);
    assert_eq!(app.count("conversions").await, 0, "no sale before the money arrives");
    let mut succeeded = checkout("evt_a2", "cs_a", 4200, "usd", json!({}));
    succeeded["type"] = json!("checkout.session.async_payment_succeeded");
    deliver(&app, &succeeded).await;
    assert_eq!(orders(&app).await[0].status, entity::orders::OrderStatus::Paid);
    assert_eq!(app.count("conversions").await, 1);

    deliver(&app, &checkout("evt_e1", "cs_e", 300, "usd", json!({"payment_status": "unpaid"}))).await;
    let (status, _) = deliver(
        &app,
        &event("evt_e2", "checkout.session.expired", json!({"id": "cs_e", "amount_total": 300, "currency": "usd"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let expired = entity::orders::Entity::find()
        .filter(entity::orders::Column::StripeSessionId.eq("cs_e"))
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(expired.status, entity::orders::OrderStatus::Expired);
    let said = entity::outbox_events::Entity::find()
        .filter(entity::outbox_events::Column::EventType.eq("pedido_expirado"))
        .all(app.db())
        .await
        .unwrap();
    assert_eq!(said.len(), 1);
}

#[tokio::test]
async fn graphql_lists_orders_and_events_and_replays_failed_ones() {
    let app = TestApp::new().await;
    deliver(&app, &checkout("evt_g1", "cs_g1", 2500, "usd", json!({}))).await;
    deliver(&app, &checkout("evt_g2", "cs_g2", 0, "usd", json!({}))).await;
    let admin = app.admin();
    let data = app
        .ok(&admin, "{ orders { totalCount edges { node { stripeSessionId amount currency status gclid productId attribution } } } webhookEvents { totalCount edges { node { id type status error attempts } } } }", json!({}))
        .await;
    assert_eq!(data["orders"]["totalCount"], 1);
    assert_eq!(data["orders"]["edges"][0]["node"]["amount"], "25.00");
    assert_eq!(data["orders"]["edges"][0]["node"]["status"], "PAID");
    assert_eq!(data["webhookEvents"]["totalCount"], 2);
    let one = app.ok(&admin, "{ order(id: \"cs_g1\") { amount } }", json!({})).await;
    assert_eq!(one["order"]["amount"], "25.00");

    let replay = "mutation($id: ID!) { replayWebhookEvent(id: $id) { id status error attempts } }";
    let replayed = app.ok(&admin, replay, json!({"id": "evt_g2"})).await;
    assert_eq!(replayed["replayWebhookEvent"]["status"], "FAILED", "still broken: it says so");
    assert_eq!(replayed["replayWebhookEvent"]["attempts"], 2);
    assert_eq!(app.error_code(Some(&admin), replay, json!({"id": "evt_g1"})).await, "INVALID_TRANSITION");
    assert_eq!(app.error_code(Some(&admin), replay, json!({"id": "evt_nope"})).await, "NOT_FOUND");
    let analyst = app.token(Role::Analyst, None);
    assert_eq!(app.error_code(Some(&analyst), replay, json!({"id": "evt_g2"})).await, "FORBIDDEN");
    let affiliate = app.token(Role::Affiliate, Some(uuid::Uuid::new_v4()));
    assert_eq!(app.error_code(Some(&affiliate), "{ webhookEvents { totalCount } }", json!({})).await, "FORBIDDEN");
    let none = app.ok(&affiliate, "{ orders { totalCount } }", json!({})).await;
    assert_eq!(none["orders"]["totalCount"], 0);
}

#[tokio::test]
async fn seed_001_verification_queries_return_the_rows() {
    let app = TestApp::new().await;
    deliver(&app, &checkout("evt_v1", "cs_v1", 1999, "usd", json!({}))).await;
    deliver(&app, &event("evt_v2", "customer.created", json!({"id": "cus_1"}))).await;
    let backend = app.db().get_database_backend();
    let run = |sql: &'static str| {
        let db = app.db().clone();
        async move { db.query_all_raw(Statement::from_string(backend, sql)).await.unwrap() }
    };
    let webhooks = run("SELECT stripe_event_id, status, error, received_at, processed_at\nFROM stripe_webhook_event\nORDER BY received_at DESC\nLIMIT 20;").await;
    assert_eq!(webhooks.len(), 2);
    let orders = run("SELECT id, event_id, stripe_session_id, payment_intent_id, amount, currency, status, created_at\nFROM orders\nORDER BY created_at DESC\nLIMIT 20;").await;
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0].try_get::<String>("", "stripe_session_id").unwrap(), "cs_v1");
    let purchases = run("SELECT id, event_id, event_type, value, currency, created_at\nFROM tracking_event\nWHERE event_type = 'purchase'\nORDER BY created_at DESC\nLIMIT 20;").await;
    assert_eq!(purchases.len(), 1);
    assert_eq!(purchases[0].try_get::<String>("", "currency").unwrap(), "USD");
    let integrations = run("SELECT integration, reference_id, status, http_status, latency_ms, error_message, created_at\nFROM integrations_log\nORDER BY created_at DESC\nLIMIT 50;").await;
    assert!(integrations.is_empty(), "no integration is configured in tests");
}

#[tokio::test]
async fn raw_customer_data_is_for_admins_and_only_for_a_few_days() {
    let app = TestApp::new().await;
    let extra = json!({
        "customer_details": {"email": "Buyer@Example.com", "phone": "+57 300 123 4567", "name": "Ana Gómez",
                             "address": {"line1": "Calle 1 # 2-3", "city": "Bogotá"}},
        "metadata": {"campaign": "LANZAMIENTO_2026", "client_ip_address": "203.0.113.9"}
    });
    deliver(&app, &checkout("evt_m1", "cs_m1", 2500, "usd", extra)).await;
    let raw = ["Buyer@Example.com", "Ana Gómez", "Calle 1", "203.0.113.9", "300 123"];
    let query = "{ webhookEvents { edges { node { id payload minimisedAt } } } }";

    // Admins read the event as sent while deliveries may need it; analysts only hashes.
    let admin = app.ok(&app.admin(), query, json!({})).await.to_string();
    assert!(raw.iter().all(|r| admin.contains(r)), "{admin}");
    let analyst = app.ok(&app.token(Role::Analyst, None), query, json!({})).await;
    let shown = analyst.to_string();
    assert!(raw.iter().all(|r| !shown.contains(r)), "{shown}");
    let node = &analyst["webhookEvents"]["edges"][0]["node"];
    assert_eq!(node["payload"]["data"]["object"]["id"], "cs_m1");
    assert!(node["minimisedAt"].is_null());

    // After ALPES_STRIPE_RAW_DAYS the stored event keeps only hashes, once.
    let shutdown = tokio_util::sync::CancellationToken::new();
    let later = chrono::Utc::now() + chrono::Duration::days(4);
    let state = &app.app.state;
    assert_eq!(
        alpes::service::retention::minimise_stripe_events(state, chrono::Utc::now(), &shutdown).await.unwrap(),
        0
    );
    assert_eq!(alpes::service::retention::minimise_stripe_events(state, later, &shutdown).await.unwrap(), 1);
    assert_eq!(alpes::service::retention::minimise_stripe_events(state, later, &shutdown).await.unwrap(), 0);
    let stored = stored_event(&app, "evt_m1").await.unwrap();
    assert!(stored.minimised_at.is_some());
    let text = stored.payload.to_string();
    assert!(raw.iter().all(|r| !text.contains(r)), "{text}");
    let order = orders(&app).await.pop().unwrap();
    let email_hash = alpes::domain::pii::hash_email("buyer@example.com");
    assert_eq!(order.customer_email_hash.as_deref(), Some(email_hash.as_str()));
    assert_eq!(stored.payload["data"]["object"]["customer_details"]["email"], email_hash);

    // A minimised event still processes (a replay reads it): the hashes are taken as they are.
    let minimised =
        alpes::domain::pii::minimise_stripe_event(&checkout("evt_m2", "cs_m2", 900, "usd", json!({}))).unwrap();
    let (status, _) = deliver(&app, &minimised).await;
    assert_eq!(status, StatusCode::OK);
    let second = orders(&app).await.into_iter().find(|o| o.stripe_session_id == "cs_m2").unwrap();
    assert_eq!(second.customer_email_hash.as_deref(), Some(email_hash.as_str()));
    assert_eq!(second.customer_phone_hash, alpes::domain::pii::hash_phone("+57 300 123 4567"));
}
