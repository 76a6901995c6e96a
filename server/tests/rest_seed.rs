//! The seed 004 REST routes for affiliates and campaigns, with the seed's bodies.

mod support;

use alpes::auth::Role;
use axum::{
    body::{to_bytes, Body},
    http::{Method, Request, StatusCode},
};
use serde_json::{json, Value};
use support::TestApp;
use tower::ServiceExt;

async fn call(
    app: &TestApp,
    method: Method,
    uri: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> (StatusCode, Value) {
    let mut request = Request::builder().method(method).uri(uri).header("content-type", "application/json");
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let request = request.body(body.map(|b| Body::from(b.to_string())).unwrap_or_default()).unwrap();
    let response = app.app.router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = to_bytes(response.into_body(), 1 << 20).await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

const SEED_AFFILIATE: &str = r#"{
    "nombre": "María González",
    "email": "maria.gonzalez@email.com",
    "telefono": "+57 300 123 4567",
    "documento": { "tipo": "cedula", "numero": "1234567890" },
    "tipo_afiliado": "premium",
    "datos_bancarios": { "banco": "Banco Nacional", "tipo_cuenta": "ahorros", "numero_cuenta": "1234567890" },
    "configuracion_comisiones": { "comision_base": 15.0, "comision_premium": 20.0, "minimo_pago": 50000.0 }
}"#;

const SEED_CAMPAIGN: &str = r#"{
    "nombre": "Campaña Black Friday 2023",
    "descripcion": "Promoción especial de Black Friday",
    "fecha_inicio": "2023-11-24T00:00:00Z",
    "fecha_fin": "2030-11-27T23:59:59Z",
    "presupuesto": 500000.0,
    "moneda": "COP",
    "tipo_campana": "promocional",
    "canales": ["web", "email", "social"],
    "segmentacion": { "edad_minima": 18, "edad_maxima": 65, "ubicaciones": ["Bogotá", "Medellín", "Cali"] },
    "configuracion_comisiones": { "comision_conversion": 15.0, "comision_venta": 8.0, "bonus_objetivos": 25.0 }
}"#;

#[tokio::test]
async fn affiliates_with_the_seed_bodies() {
    let app = TestApp::new().await;
    let admin = app.admin();
    let (status, created) = call(&app, Method::POST, "/api/v1/afiliados", Some(&admin), Some(SEED_AFFILIATE)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["nombre"], "María González");
    assert_eq!(created["estado"], "activo");
    assert!(created["fecha_registro"].is_string());
    let id = created["afiliado_id"].as_str().unwrap().to_string();

    let (status, one) = call(&app, Method::GET, &format!("/api/v1/afiliados/{id}"), Some(&admin), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["tipo_afiliado"], "premium");
    assert_eq!(one["datos_bancarios"]["numero_cuenta"], "••••••7890");
    assert_eq!(one["configuracion_comisiones"]["comision_base"], json!(15.0));
    assert_eq!(one["configuracion_comisiones"]["minimo_pago"], json!(50000.0));

    let update = r#"{ "telefono": "+57 300 999 8888", "configuracion_comisiones": { "comision_base": 18.0, "comision_premium": 25.0, "minimo_pago": 75000.0 } }"#;
    let (status, updated) =
        call(&app, Method::PUT, "/api/v1/afiliados/maria-gonzalez", Some(&admin), Some(update)).await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["telefono"], "+57 300 999 8888");
    assert_eq!(updated["configuracion_comisiones"]["minimo_pago"], json!(75000.0));

    let (status, list) = call(&app, Method::GET, "/api/v1/afiliados?busqueda=maria", Some(&admin), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["total"], 1);

    let (status, deleted) = call(&app, Method::DELETE, &format!("/api/v1/afiliados/{id}"), Some(&admin), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(deleted["estado"], "eliminado");
    let (status, gone) = call(&app, Method::GET, &format!("/api/v1/afiliados/{id}"), Some(&admin), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(gone["error"]["code"], "NOT_FOUND");
}

/// Seed 004's "Caso 1" sends only a name and an email; the seed's answers name the
/// affiliate `af_12345`, and other routes use that id.
#[tokio::test]
async fn the_minimal_seed_body_and_the_seeds_own_id() {
    let app = TestApp::new().await;
    let admin = app.admin();
    let minimal = r#"{"nombre": "Juan Pérez", "email": "juan@email.com"}"#;
    let (status, created) = call(&app, Method::POST, "/api/v1/afiliados", Some(&admin), Some(minimal)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["afiliado_id"].as_str().unwrap();
    let (_, one) = call(&app, Method::GET, &format!("/api/v1/afiliados/{id}"), Some(&admin), None).await;
    assert_eq!(one["codigo"], "juan-perez");
    assert_eq!(one["tipo_afiliado"], "estandar");
    assert_eq!(
        one["configuracion_comisiones"],
        json!({ "comision_base": 10.0, "comision_premium": null, "minimo_pago": 50.0, "moneda": "USD" }),
        "the documented defaults"
    );

    let with_id = r#"{"afiliado_id": "af_12345", "nombre": "María González", "email": "maria@email.com"}"#;
    let (status, created) = call(&app, Method::POST, "/api/v1/afiliados", Some(&admin), Some(with_id)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["codigo"], "af_12345");
    let (status, found) = call(&app, Method::GET, "/api/v1/afiliados/af_12345", Some(&admin), None).await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(found["afiliado_id"], created["afiliado_id"]);
    let (status, again) =
        call(&app, Method::POST, "/api/v1/afiliados", Some(&admin), Some(&with_id.replace("maria@", "otra@"))).await;
    assert_eq!((status, again["error"]["field"].as_str()), (StatusCode::CONFLICT, Some("code")), "{again}");
}

#[tokio::test]
async fn affiliate_errors_are_json_with_a_code_and_change_nothing() {
    let app = TestApp::new().await;
    let admin = app.admin();
    call(&app, Method::POST, "/api/v1/afiliados", Some(&admin), Some(SEED_AFFILIATE)).await;
    let before = app.count("affiliates").await;
    let analyst = app.token(Role::Analyst, None);
    let cases: Vec<(&str, Option<&str>, String, StatusCode, &str)> = vec![
        ("no token", None, SEED_AFFILIATE.to_string(), StatusCode::UNAUTHORIZED, "UNAUTHENTICATED"),
        ("analyst", Some(&analyst), SEED_AFFILIATE.to_string(), StatusCode::FORBIDDEN, "FORBIDDEN"),
        ("not json", Some(&admin), "nombre=x".to_string(), StatusCode::BAD_REQUEST, "VALIDATION"),
        (
            "missing nombre",
            Some(&admin),
            r#"{"email":"a@b.co","configuracion_comisiones":{"comision_base":1,"minimo_pago":1}}"#.to_string(),
            StatusCode::BAD_REQUEST,
            "VALIDATION",
        ),
        (
            "duplicate email",
            Some(&admin),
            SEED_AFFILIATE.replace("María González", "Otra"),
            StatusCode::CONFLICT,
            "CONFLICT",
        ),
        (
            "bad tier",
            Some(&admin),
            SEED_AFFILIATE.replace("\"premium\"", "\"gold\"").replace("maria.gonzalez@", "x@"),
            StatusCode::BAD_REQUEST,
            "VALIDATION",
        ),
        (
            "rate as text",
            Some(&admin),
            SEED_AFFILIATE.replace("15.0", "\"quince\"").replace("maria.gonzalez@", "y@"),
            StatusCode::BAD_REQUEST,
            "VALIDATION",
        ),
    ];
    for (name, token, body, status, code) in cases {
        let (got, body) = call(&app, Method::POST, "/api/v1/afiliados", token, Some(&body)).await;
        assert_eq!(got, status, "{name}: {body}");
        assert_eq!(body["error"]["code"], code, "{name}: {body}");
    }
    let (_, dup) = call(&app, Method::POST, "/api/v1/afiliados", Some(&admin), Some(SEED_AFFILIATE)).await;
    assert_eq!(dup["error"]["field"], "email");
    // Every wrong input at once, in `errors`; nothing written.
    let two_wrong = SEED_AFFILIATE.replace("María González", " ").replace("maria.gonzalez@email.com", "nope");
    let (status, body) = call(&app, Method::POST, "/api/v1/afiliados", Some(&admin), Some(&two_wrong)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let fields: Vec<&str> =
        body["error"]["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["name", "email"], "{body}");
    assert_eq!(body["error"]["field"], "name");
    let (status, body) = call(&app, Method::GET, "/api/v1/afiliados?limite=500", Some(&admin), None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("VALIDATION")));
    let (status, body) = call(&app, Method::GET, "/api/v1/afiliados?limite=abc", Some(&admin), None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("VALIDATION")));
    assert_eq!(app.count("affiliates").await, before);
}

#[tokio::test]
async fn campaigns_with_the_seed_bodies() {
    let app = TestApp::new().await;
    let admin = app.admin();
    let (status, created) = call(&app, Method::POST, "/api/v1/campanas", Some(&admin), Some(SEED_CAMPAIGN)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["estado"], "borrador");
    assert_eq!(created["codigo"], "campana-black-friday-2023");
    assert_eq!(created["presupuesto"], json!(500000.0));
    assert_eq!(created["segmentacion"]["ubicaciones"][1], "Medellín");
    assert_eq!(created["configuracion_comisiones"]["comision_venta"], json!(8.0));
    assert_eq!(created["modelo_atribucion"], "LAST_CLICK");
    let id = created["campana_id"].as_str().unwrap().to_string();

    let (status, active) =
        call(&app, Method::POST, &format!("/api/v1/campanas/{id}/activar"), Some(&admin), None).await;
    assert_eq!(status, StatusCode::OK, "{active}");
    assert_eq!(active["estado"], "activa");
    let (status, again) = call(&app, Method::POST, &format!("/api/v1/campanas/{id}/activar"), Some(&admin), None).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(again["error"]["code"], "INVALID_TRANSITION");

    let (_, list) = call(&app, Method::GET, "/api/v1/campanas?estado=activa", Some(&admin), None).await;
    assert_eq!(list["total"], 1);
    let (_, by_code) = call(&app, Method::GET, "/api/v1/campanas/campana-black-friday-2023", Some(&admin), None).await;
    assert_eq!(by_code["campana_id"], created["campana_id"]);
    // `campañas` as curl (lower-case escapes), browsers (upper-case) and people without an ñ write it.
    for segment in ["campa%c3%b1as", "campa%C3%B1as", "campa%C3%b1as", "campanas"] {
        let path = format!("/api/v1/{segment}/campana-black-friday-2023?estado=activa");
        let (status, found) = call(&app, Method::GET, &path, Some(&admin), None).await;
        assert_eq!(status, StatusCode::OK, "{path}: {found}");
        assert_eq!(found["campana_id"], created["campana_id"], "{path}");
    }
    // Only escapes are normalised: an id that is not there is still not found.
    let (status, _) =
        call(&app, Method::GET, "/api/v1/campa%c3%b1as/campana-black-friday-2024", Some(&admin), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let bad = SEED_CAMPAIGN.replace("2030-11-27T23:59:59Z", "2023-11-01T00:00:00Z");
    let (status, body) = call(&app, Method::POST, "/api/v1/campanas", Some(&admin), Some(&bad)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["field"], "endsAt");
    let (status, _) =
        call(&app, Method::POST, "/api/v1/campanas", Some(&admin), Some(&SEED_CAMPAIGN.replace("COP", "XXX"))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(app.count("campaigns").await, 1);
}
