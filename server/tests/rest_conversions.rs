//! Seed 004 "Servicio Conversiones": register, list with filters, metrics; and the
//! `conversionMetrics` query on the same service.

mod support;

use alpes::auth::Role;
use axum::{
    body::Body,
    http::{Request, StatusCode},
};
use serde_json::{json, Value};
use support::{create_affiliate, TestApp};

async fn setup() -> (TestApp, Value, Value) {
    let app = TestApp::new().await;
    let ana = create_affiliate(&app, "Ana", "ana@example.com").await;
    let beto = create_affiliate(&app, "Beto", "beto@example.com").await;
    let mut input = support::campaign_input("Black Friday");
    input["code"] = json!("camp_67890");
    app.ok(&app.admin(), support::CREATE_CAMPAIGN, json!({ "input": input })).await;
    (app, ana, beto)
}

/// The seed's body, for `afiliado`.
fn seed_body(id: &str, afiliado: &str, valor: f64, canal: &str) -> Value {
    json!({
        "id": id,
        "afiliado_id": afiliado,
        "campana_id": "camp_67890",
        "tipo_conversion": "venta",
        "valor_conversion": valor,
        "moneda": "COP",
        "canal_origen": canal,
        "datos_cliente": { "email": "cliente@email.com", "nombre": "Ana Cliente", "telefono": "+57 300 123 4567", "ubicacion": "Bogotá", "dispositivo": "desktop" },
        "productos": [{ "id": "PROD001", "nombre": "Laptop Gaming", "categoria": "Tecnología", "precio": valor, "cantidad": 1 }],
        "metadatos": { "utm_source": "google", "utm_campaign": "black_friday", "utm_medium": "cpc" }
    })
}

async fn call(
    app: &TestApp,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> (StatusCode, Value) {
    let mut request = Request::builder().method(method).uri(uri).header("content-type", "application/json");
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let body = body.map(Value::to_string).unwrap_or_default();
    let (status, _, value) = app.send(request.body(Body::from(body)).unwrap()).await;
    (status, value)
}

#[tokio::test]
async fn register_list_and_measure_as_the_seed_does() {
    let (app, ana, beto) = setup().await;
    let admin = app.admin();
    let ana_code = ana["code"].as_str().unwrap();

    let (status, created) =
        call(&app, "POST", "/api/v1/conversiones", Some(&admin), Some(&seed_body("c-1", ana_code, 250000.0, "web")))
            .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["estado"], "registrada");
    assert_eq!(created["valor_conversion"], json!(250000.0));
    assert_eq!(created["afiliado_id"], ana["id"]);
    assert!(created["conversion_id"].is_string());
    assert!(created["fecha_conversion"].as_str().is_some_and(|t| t.ends_with('Z')));
    // The customer's email is kept only as its hash.
    let row = <entity::conversions::Entity as sea_orm::EntityTrait>::find_by_id(stored_id(&created))
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.customer_email_hash.as_deref(), Some(alpes::domain::pii::hash_email("cliente@email.com").as_str()));
    assert!(!row.customer.to_string().contains("cliente@email.com"));
    assert_eq!(row.customer["ubicacion"], "Bogotá");
    // Name and phone only as hashes too.
    assert_eq!(row.customer["telefono"], json!(alpes::domain::pii::hash_phone("573001234567")));
    for raw in ["Ana Cliente", "300 123"] {
        assert!(!row.customer.to_string().contains(raw), "{raw} stored: {}", row.customer);
    }

    // The same id again: the same conversion, nothing new.
    let (status, again) =
        call(&app, "POST", "/api/v1/conversiones", Some(&admin), Some(&seed_body("c-1", ana_code, 250000.0, "web")))
            .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(again["conversion_id"], created["conversion_id"]);
    assert_eq!(app.count("conversions").await, 1);

    let beto_code = beto["code"].as_str().unwrap();
    call(&app, "POST", "/api/v1/conversiones", Some(&admin), Some(&seed_body("c-2", beto_code, 100000.0, "web"))).await;
    call(&app, "POST", "/api/v1/conversiones", Some(&admin), Some(&seed_body("c-3", beto_code, 50000.5, "email")))
        .await;

    let (status, list) = call(
        &app,
        "GET",
        &format!("/api/v1/conversiones?afiliado_id={beto_code}&campana_id=camp_67890"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["total"], 2);
    assert!(list["conversiones"].as_array().unwrap().iter().all(|c| c["afiliado_id"] == beto["id"]));
    let (_, one) = call(&app, "GET", "/api/v1/conversiones/c-3", Some(&admin), None).await;
    assert_eq!(one["valor_conversion"], json!(50000.5));
    assert_eq!(one["canal_origen"], "email");

    let (status, metrics) =
        call(&app, "GET", "/api/v1/conversiones/metricas?periodo=30d&canal=web", Some(&admin), None).await;
    assert_eq!(status, StatusCode::OK, "{metrics}");
    assert_eq!(metrics["periodo"], "30d");
    assert_eq!(metrics["canal"], "web");
    assert_eq!(metrics["total_conversiones"], 2);
    assert_eq!(
        metrics["por_moneda"],
        json!([{ "moneda": "COP", "conversiones": 2, "valor_total": 350000.0, "valor_promedio": 175000.0 }])
    );
    assert_eq!(metrics["por_estado"]["registrada"], 2);
    let (_, all) = call(&app, "GET", "/api/v1/conversiones/metricas", Some(&admin), None).await;
    assert_eq!(all["total_conversiones"], 3);
    assert_eq!(all["por_moneda"][0]["valor_total"], json!(400000.5));
    assert_eq!(all["por_moneda"][0]["valor_promedio"], json!(133333.5), "400000.50 / 3, half-even to the cent");

    // The same figures through GraphQL.
    let data = app
        .ok(
            &admin,
            "{ conversionMetrics(period: \"30d\", channel: \"web\") { conversions clicks conversionRate byCurrency { currency conversions value average } byStatus { status count } } }",
            json!({}),
        )
        .await;
    let m = &data["conversionMetrics"];
    assert_eq!(m["conversions"], 2);
    assert_eq!(m["clicks"], 0);
    assert_eq!(m["conversionRate"], Value::Null);
    assert_eq!(
        m["byCurrency"],
        json!([{ "currency": "COP", "conversions": 2, "value": "350000.00", "average": "175000.00" }])
    );
    assert_eq!(m["byStatus"], json!([{ "status": "REGISTERED", "count": 2 }]));

    // An affiliate sees only its own, in the list and in the metrics.
    let ana_token = app.token(Role::Affiliate, Some(uuid::Uuid::parse_str(ana["id"].as_str().unwrap()).unwrap()));
    let (_, own) = call(&app, "GET", "/api/v1/conversiones", Some(&ana_token), None).await;
    assert_eq!(own["total"], 1);
    let (_, own_metrics) = call(&app, "GET", "/api/v1/conversiones/metricas", Some(&ana_token), None).await;
    assert_eq!(own_metrics["total_conversiones"], 1);
    // Another affiliate's code answers as a code that does not exist: no existence oracle.
    let (status, theirs) =
        call(&app, "GET", &format!("/api/v1/conversiones?afiliado_id={beto_code}"), Some(&ana_token), None).await;
    let (missing_status, missing) =
        call(&app, "GET", "/api/v1/conversiones?afiliado_id=no-such-partner", Some(&ana_token), None).await;
    assert_eq!((status, &theirs["error"]["code"]), (missing_status, &missing["error"]["code"]));
    assert_eq!(theirs["error"]["code"], "NOT_FOUND");
    let (status, _) =
        call(&app, "POST", "/api/v1/conversiones", Some(&ana_token), Some(&seed_body("c-9", beto_code, 1.0, "web")))
            .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Nor for itself: conversions make commissions, so affiliates never record them.
    let (status, _) =
        call(&app, "POST", "/api/v1/conversiones", Some(&ana_token), Some(&seed_body("c-10", ana_code, 1.0, "web")))
            .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

fn stored_id(created: &Value) -> uuid::Uuid {
    uuid::Uuid::parse_str(created["conversion_id"].as_str().unwrap()).unwrap()
}

#[tokio::test]
async fn bad_requests_get_a_coded_error_and_store_nothing() {
    let (app, ana, _) = setup().await;
    let admin = app.admin();
    let analyst = app.token(Role::Analyst, None);
    let code = ana["code"].as_str().unwrap();
    let mut negative = seed_body("b-1", code, 10.0, "web");
    negative["valor_conversion"] = json!(-5);
    let mut unknown_campaign = seed_body("b-2", code, 10.0, "web");
    unknown_campaign["campana_id"] = json!("no-such-campaign");
    let mut bad_currency = seed_body("b-3", code, 10.0, "web");
    bad_currency["moneda"] = json!("XX");
    let mut bad_type = seed_body("b-4", code, 10.0, "web");
    bad_type["tipo_conversion"] = json!("regalo");
    let mut bad_email = seed_body("b-5", code, 10.0, "web");
    bad_email["datos_cliente"]["email"] = json!("not-an-email");
    let mut future = seed_body("b-6", code, 10.0, "web");
    future["fecha_conversion"] = json!("2099-01-01T00:00:00Z");
    let cases: [(Option<&str>, Value, StatusCode, &str); 9] = [
        (None, seed_body("b-0", code, 10.0, "web"), StatusCode::UNAUTHORIZED, "UNAUTHENTICATED"),
        (Some(&analyst), seed_body("b-0", code, 10.0, "web"), StatusCode::FORBIDDEN, "FORBIDDEN"),
        (Some(&admin), negative, StatusCode::BAD_REQUEST, "VALIDATION"),
        (Some(&admin), unknown_campaign, StatusCode::UNPROCESSABLE_ENTITY, "NOT_FOUND"),
        (Some(&admin), bad_currency, StatusCode::BAD_REQUEST, "VALIDATION"),
        (Some(&admin), bad_type, StatusCode::BAD_REQUEST, "VALIDATION"),
        (Some(&admin), bad_email, StatusCode::BAD_REQUEST, "VALIDATION"),
        (Some(&admin), future, StatusCode::BAD_REQUEST, "VALIDATION"),
        (Some(&admin), json!({ "afiliado_id": code, "moneda": "COP" }), StatusCode::BAD_REQUEST, "VALIDATION"),
    ];
    for (token, body, status, code) in cases {
        let (got, error) = call(&app, "POST", "/api/v1/conversiones", token, Some(&body)).await;
        assert_eq!((got, error["error"]["code"].as_str().unwrap_or_default()), (status, code), "{body} → {error}");
    }
    assert_eq!(app.count("conversions").await, 0);

    let reads = [
        ("/api/v1/conversiones?afiliado_id=nobody", StatusCode::UNPROCESSABLE_ENTITY, "NOT_FOUND"),
        ("/api/v1/conversiones?estado=perdida", StatusCode::BAD_REQUEST, "VALIDATION"),
        ("/api/v1/conversiones?periodo=ayer", StatusCode::BAD_REQUEST, "VALIDATION"),
        ("/api/v1/conversiones?limite=0", StatusCode::BAD_REQUEST, "VALIDATION"),
        ("/api/v1/conversiones/metricas?periodo=30x", StatusCode::BAD_REQUEST, "VALIDATION"),
        ("/api/v1/conversiones/does-not-exist", StatusCode::NOT_FOUND, "NOT_FOUND"),
    ];
    for (uri, status, code) in reads {
        let (got, error) = call(&app, "GET", uri, Some(&admin), None).await;
        assert_eq!((got, error["error"]["code"].as_str().unwrap_or_default()), (status, code), "{uri} → {error}");
    }
}
