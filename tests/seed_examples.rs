//! Every example of the replaced systems' documents (seeds 000–004), replayed as it is
//! written against the running binary, with only the set-up the README's "Coming from the
//! seed systems" documents: an API key (sent as `X-Api-Key`, which the seeds' curl lines
//! leave out) and the codes the examples refer to. Bodies are the documents' own text,
//! byte for byte; where a document elides a body with `...`, its fields without the
//! ellipsis are sent. Seed 001's verification queries run as written on the database.
//! The bus examples (seeds 002 and 003's topics) are replayed in `server/tests/event_bus.rs`.

use std::{io::Write as _, net::TcpStream};

use sea_orm::{ConnectionTrait, Database, Statement};

use super::*;

const SECRET: &str = "whsec_seed_examples";

/// The running service, its API key and what each call answered.
struct Seeds {
    server: Server,
    key: String,
    http: reqwest::Client,
}

/// An answer: status, and the body as JSON (`Value::String` when it is not JSON).
struct Answer {
    status: u16,
    body: Value,
    content_type: String,
}

impl Seeds {
    async fn start() -> Seeds {
        let database_url = support::fresh_database_url().await;
        let data_dir = std::env::temp_dir().join(format!("alpes-seeds-{}", uuid::Uuid::new_v4().simple()));
        let server = Server::start_with(database_url, data_dir, &[("STRIPE_WEBHOOK_SECRET", SECRET)]).await;
        // Set-up, as the README says: `alpes api-key --name seeds --role ADMIN --record-conversions`.
        let output = Command::new(env!("CARGO_BIN_EXE_alpes"))
            .env("DATABASE_URL", &server.database_url)
            .env("ALPES_DATA_DIR", &server.data_dir)
            .args(["api-key", "--name", "seeds", "--role", "ADMIN", "--record-conversions"])
            .output()
            .expect("run alpes api-key");
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let key = String::from_utf8_lossy(&output.stdout).trim().to_string();
        Seeds { server, key, http: reqwest::Client::new() }
    }

    /// `method path` with `body` sent as the seeds' curl lines send it (JSON, as written).
    async fn call(&self, method: &str, path: &str, body: Option<&str>) -> Answer {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut request =
            self.http.request(method, format!("{}{path}", self.server.base)).header("X-Api-Key", &self.key);
        if let Some(body) = body {
            request = request.header("Content-Type", "application/json").body(body.to_string());
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let content_type =
            response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
        let text = response.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Answer { status, body, content_type }
    }

    /// A call that must answer `status`; its body.
    async fn expect(&self, status: u16, method: &str, path: &str, body: Option<&str>) -> Value {
        let answer = self.call(method, path, body).await;
        assert_eq!(answer.status, status, "{method} {path}: {}", answer.body);
        answer.body
    }

    /// The commissions the service holds for a conversion (our id or its client's).
    async fn commissions_of(&self, conversion: &str) -> Vec<Value> {
        let list = self.expect(200, "GET", &format!("/api/v1/comisiones?conversion_id={conversion}"), None).await;
        items(&list)
    }
}

/// The rows of a list answer: the answer itself when it is an array, else its array field
/// (`afiliados`, `conversiones`, `comisiones`, …).
fn items(list: &Value) -> Vec<Value> {
    match list {
        Value::Array(rows) => rows.clone(),
        Value::Object(fields) => fields.values().find_map(Value::as_array).cloned().unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// A GET whose path is sent byte for byte (raw UTF-8 `ñ`), as a hand-typed HTTP/1.1 request.
fn raw_get(addr: &str, key: &str, path: &[u8]) -> u16 {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    let mut request = b"GET ".to_vec();
    request.extend_from_slice(path);
    request.extend_from_slice(
        format!(" HTTP/1.1\r\nHost: {addr}\r\nX-Api-Key: {key}\r\nConnection: close\r\n\r\n").as_bytes(),
    );
    stream.write_all(&request).expect("write");
    let mut answer = String::new();
    std::io::Read::read_to_string(&mut stream, &mut answer).expect("read");
    answer.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0)
}

/// Until the attribution worker has handled the conversion (its status leaves REGISTERED).
async fn attributed(seeds: &Seeds, conversion: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let shown = seeds.expect(200, "GET", &format!("/api/v1/conversiones/{conversion}"), None).await;
        if shown["estado"] != "registrada" || Instant::now() > deadline {
            return shown;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn every_seed_example_runs_as_written() {
    let seeds = Seeds::start().await;

    // Set-up: the codes the examples refer to (README, "Coming from the seed systems").
    for (code, name) in [
        ("cmp-456", "Seed 002 campaign"),
        ("camp_67890", "Seed 004 campaign"),
        ("campania-verano-2025", "Seed 003 summer campaign"),
    ] {
        let body =
            json!({ "campana_id": code, "nombre": name, "fecha_inicio": "2023-01-01T00:00:00Z", "moneda": "COP" });
        seeds.expect(201, "POST", "/api/v1/campanas", Some(&body.to_string())).await;
        seeds.expect(200, "POST", &format!("/api/v1/campanas/{code}/activar"), None).await;
    }
    for (code, name, rate) in
        [("inf-789", "Influencer 789", 10), ("af_12345", "María González", 15), ("af_123", "Juan", 10)]
    {
        let body = json!({
            "afiliado_id": code, "nombre": name, "email": format!("{code}@example.com"),
            "configuracion_comisiones": { "comision_base": rate, "minimo_pago": 50000.0, "moneda": "COP" }
        });
        seeds.expect(201, "POST", "/api/v1/afiliados", Some(&body.to_string())).await;
    }
    let influencer = json!({ "afiliado_id": "influencer-abc", "nombre": "Influencer ABC", "email": "abc@example.com" });
    seeds.expect(201, "POST", "/api/v1/afiliados", Some(&influencer.to_string())).await;

    seed_002(&seeds).await;
    seed_003(&seeds).await;
    seed_004(&seeds).await;
    seed_000_and_001(&seeds).await;
}

/// Seed 002: the tracking module's curl examples and its routes, `ñ` spelled every way.
async fn seed_002(seeds: &Seeds) {
    let impression = r#"{
    "id": "imp-123",
    "campaña_id": "cmp-456",
    "influencer_id": "inf-789",
    "usuario_id": "usr-101",
    "tipo_evento": "IMPRESION",
    "user_agent": "Mozilla/5.0...",
    "ip_address": "192.168.1.1",
    "referrer": "https://instagram.com",
    "timestamp": "2024-01-15T10:30:00Z"
  }"#;
    seeds.expect(201, "POST", "/tracking/impresiones", Some(impression)).await;
    let conversion = r#"{
    "id": "conv-123",
    "campaña_id": "cmp-456",
    "influencer_id": "inf-789",
    "usuario_id": "usr-101",
    "tipo_conversion": "VENTA",
    "valor": 150000.0,
    "moneda": "COP",
    "user_agent": "Mozilla/5.0...",
    "ip_address": "192.168.1.1",
    "referrer": "https://instagram.com",
    "timestamp": "2024-01-15T10:35:00Z"
  }"#;
    seeds.expect(201, "POST", "/tracking/conversiones", Some(conversion)).await;
    // Sent twice, stored once.
    let again = seeds.call("POST", "/tracking/impresiones", Some(impression)).await;
    assert!(again.status < 300, "a repeated impression: {}", again.body);

    let shown = seeds.expect(200, "GET", "/tracking/impresiones/imp-123", None).await;
    assert_eq!(shown["id"], "imp-123", "{shown}");
    let shown = seeds.expect(200, "GET", "/tracking/conversiones/conv-123", None).await;
    assert_eq!(shown["id"], "conv-123", "{shown}");
    for spelling in ["campa%C3%B1as", "campa%c3%b1as", "campanas"] {
        for (kind, id) in [("impresiones", "imp-123"), ("conversiones", "conv-123")] {
            let list = seeds.expect(200, "GET", &format!("/tracking/{spelling}/cmp-456/{kind}"), None).await;
            let found = items(&list).iter().filter(|row| row["id"] == id).count();
            assert_eq!(found, 1, "/tracking/{spelling}/cmp-456/{kind}: {list}");
        }
    }
    // As typed: the raw UTF-8 bytes of `ñ`.
    let raw = "/tracking/campañas/cmp-456/impresiones";
    assert_eq!(raw_get(&seeds.server.addr, &seeds.key, raw.as_bytes()), 200);
}

/// Seed 003: an `InteraccionRegistrada` as the tracking service sends it.
async fn seed_003(seeds: &Seeds) {
    let interaction = r#"{
  "id_interaccion": "uuid-del-clic",
  "tipo": "CLICK",
  "marca_temporal": 1733047200000,
  "identidad_usuario": {
    "id_usuario": "user-123",
    "id_anonimo": "anon-xyz"
  },
  "parametros_tracking": {
    "fuente": "facebook.com",
    "medio": "social",
    "campania": "campania-verano-2025",
    "id_afiliado": "influencer-abc"
  }
}"#;
    let answer = seeds.call("POST", "/tracking/interacciones", Some(interaction)).await;
    assert!(answer.status == 201 || answer.status == 202, "{}: {}", answer.status, answer.body);
}

/// Seed 004: the three services' REST examples, then its use cases.
async fn seed_004(seeds: &Seeds) {
    // Servicio Afiliados.
    let maria = r#"{
    "nombre": "María González",
    "email": "maria.gonzalez@email.com",
    "telefono": "+57 300 123 4567",
    "documento": {
        "tipo": "cedula",
        "numero": "1234567890"
    },
    "tipo_afiliado": "premium",
    "datos_bancarios": {
        "banco": "Banco Nacional",
        "tipo_cuenta": "ahorros",
        "numero_cuenta": "1234567890"
    },
    "configuracion_comisiones": {
        "comision_base": 15.0,
        "comision_premium": 20.0,
        "minimo_pago": 50000.0
    }
}"#;
    let created = seeds.expect(201, "POST", "/api/v1/afiliados", Some(maria)).await;
    for field in ["afiliado_id", "nombre", "email", "estado", "fecha_registro"] {
        assert!(!created[field].is_null(), "the seed's answer has {field}: {created}");
    }
    assert_eq!(created["estado"], "activo", "{created}");
    let afiliado_id = created["afiliado_id"].as_str().expect("afiliado_id").to_string();
    let list = seeds.expect(200, "GET", "/api/v1/afiliados", None).await;
    assert!(items(&list).iter().any(|a| a["afiliado_id"] == afiliado_id.as_str()), "{list}");
    let shown = seeds.expect(200, "GET", &format!("/api/v1/afiliados/{afiliado_id}"), None).await;
    assert_eq!(shown["datos_bancarios"]["numero_cuenta"].as_str().map(|n| n.contains("1234567890")), Some(false));
    let update = r#"{
    "telefono": "+57 300 999 8888",
    "configuracion_comisiones": {
        "comision_base": 18.0,
        "comision_premium": 25.0,
        "minimo_pago": 75000.0
    }
}"#;
    let updated = seeds.expect(200, "PUT", &format!("/api/v1/afiliados/{afiliado_id}"), Some(update)).await;
    assert_eq!(updated["telefono"], "+57 300 999 8888", "{updated}");
    assert_eq!(updated["configuracion_comisiones"]["comision_base"], json!(18.0), "{updated}");

    // Servicio Conversiones.
    let conversion = r#"{
    "afiliado_id": "af_12345",
    "campana_id": "camp_67890",
    "tipo_conversion": "venta",
    "valor_conversion": 250000.0,
    "moneda": "COP",
    "canal_origen": "web",
    "datos_cliente": {
        "email": "cliente@email.com",
        "ubicacion": "Bogotá",
        "dispositivo": "desktop"
    },
    "productos": [
        {
            "id": "PROD001",
            "nombre": "Laptop Gaming",
            "categoria": "Tecnología",
            "precio": 250000.0,
            "cantidad": 1
        }
    ],
    "metadatos": {
        "utm_source": "google",
        "utm_campaign": "black_friday",
        "utm_medium": "cpc"
    }
}"#;
    let registered = seeds.expect(201, "POST", "/api/v1/conversiones", Some(conversion)).await;
    for field in ["conversion_id", "afiliado_id", "campana_id", "estado", "valor_conversion", "fecha_conversion"] {
        assert!(!registered[field].is_null(), "the seed's answer has {field}: {registered}");
    }
    assert_eq!(registered["valor_conversion"], json!(250000.0), "{registered}");
    // Our ids, and beside them the codes the caller knows them by.
    assert_eq!(
        (&registered["afiliado_codigo"], &registered["campana_codigo"]),
        (&json!("af_12345"), &json!("camp_67890"))
    );
    let conversion_id = registered["conversion_id"].as_str().expect("conversion_id").to_string();
    let list = seeds.expect(200, "GET", "/api/v1/conversiones?afiliado_id=af_12345&campana_id=camp_67890", None).await;
    assert!(items(&list).iter().any(|c| c["conversion_id"] == conversion_id.as_str()), "{list}");
    let metrics = seeds.expect(200, "GET", "/api/v1/conversiones/metricas?periodo=30d&canal=web", None).await;
    assert!(metrics.is_object(), "{metrics}");

    // Servicio Marketing: a campaign, then the commission of the example's conversion,
    // `conv_98765` (the id the seed's answer gives it; the set-up registers it by that id).
    let campaign = r#"{
    "nombre": "Campaña Black Friday 2023",
    "descripcion": "Promoción especial de Black Friday",
    "fecha_inicio": "2023-11-24T00:00:00Z",
    "fecha_fin": "2023-11-27T23:59:59Z",
    "presupuesto": 500000.0,
    "moneda": "COP",
    "tipo_campana": "promocional",
    "canales": ["web", "email", "social"],
    "segmentacion": {
        "edad_minima": 18,
        "edad_maxima": 65,
        "ubicaciones": ["Bogotá", "Medellín", "Cali"]
    },
    "configuracion_comisiones": {
        "comision_conversion": 15.0,
        "comision_venta": 8.0,
        "bonus_objetivos": 25.0
    }
}"#;
    let made = seeds.expect(201, "POST", "/api/v1/campanas", Some(campaign)).await;
    assert_eq!(made["nombre"], "Campaña Black Friday 2023", "{made}");

    let mut with_id: Value = serde_json::from_str(conversion).expect("seed body");
    with_id["id"] = json!("conv_98765");
    seeds.expect(201, "POST", "/api/v1/conversiones", Some(&with_id.to_string())).await;
    let commission = r#"{
    "afiliado_id": "af_12345",
    "campana_id": "camp_67890",
    "conversion_id": "conv_98765",
    "monto_base": {
        "valor": 250000.0,
        "moneda": "COP"
    },
    "tipo_comision": "porcentual",
    "porcentaje": 15.0,
    "configuracion": {
        "aplicar_descuentos": true,
        "incluir_iva": false
    }
}"#;
    // Before or after the attribution reserved the conversion's commission, the answer is
    // that one commission (201 made now, 200 already there), and asking again changes nothing.
    let first = seeds.call("POST", "/api/v1/comisiones", Some(commission)).await;
    assert!(first.status == 201 || first.status == 200, "{}: {}", first.status, first.body);
    let comision_id = first.body["comision_id"].as_str().expect("comision_id").to_string();
    assert_eq!(first.body["conversion_id_externo"], "conv_98765", "{}", first.body);
    assert_eq!(first.body["afiliado_codigo"], "af_12345", "{}", first.body);
    assert_eq!(first.body["campana_codigo"], "camp_67890", "{}", first.body);
    attributed(seeds, "conv_98765").await;
    let second = seeds.expect(200, "POST", "/api/v1/comisiones", Some(commission)).await;
    assert_eq!(second["comision_id"], comision_id.as_str(), "{second}");
    assert_eq!(seeds.commissions_of("conv_98765").await.len(), 1, "one commission for the conversion and affiliate");
    let other_rate = commission.replace("\"porcentaje\": 15.0", "\"porcentaje\": 20.0");
    let refused = seeds.call("POST", "/api/v1/comisiones", Some(&other_rate)).await;
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert!(refused.body["error"]["message"].as_str().is_some_and(|m| m.contains("15 %")), "{}", refused.body);

    let calculated = seeds
        .expect(
            200,
            "POST",
            &format!("/api/v1/comisiones/{comision_id}/calcular"),
            Some(
                r#"{
    "forzar_recalculo": false
}"#,
            ),
        )
        .await;
    // The seed's own `comision_aprobada` event: 37 500 COP, 15 % of 250 000.
    assert_eq!(calculated["monto_calculado"], json!(37500.0), "{calculated}");
    let approve = r#"{
    "comentarios": "Comisión aprobada automáticamente",
    "metadatos_aprobacion": {
        "nivel_aprobacion": "automatico",
        "politica_aplicada": "estandar"
    }
}"#;
    let approved = seeds.expect(200, "POST", &format!("/api/v1/comisiones/{comision_id}/aprobar"), Some(approve)).await;
    assert_eq!(approved["estado"], "aprobada", "{approved}");
    assert_eq!(approved["metadatos_aprobacion"]["nivel_aprobacion"], "automatico", "{approved}");
    let list = seeds.expect(200, "GET", "/api/v1/comisiones?afiliado_id=af_12345&estado=aprobada", None).await;
    assert!(items(&list).iter().any(|c| c["comision_id"] == comision_id.as_str()), "{list}");
    let report = seeds.expect(200, "GET", "/api/v1/comisiones/reportes?periodo=30d&formato=json", None).await;
    assert!(report.is_object(), "{report}");

    // Caso 1: a new affiliate from the minimal body (`...` left out).
    let juan = seeds
        .expect(201, "POST", "/api/v1/afiliados", Some(r#"{"nombre": "Juan Pérez", "email": "juan@email.com"}"#))
        .await;
    assert_eq!(juan["estado"], "activo", "{juan}");

    // Caso 2: a conversion, then a commission for `$CONVERSION_ID` (no affiliate given: the
    // conversion's). Exactly one commission, whoever came first.
    let registered = seeds
        .expect(201, "POST", "/api/v1/conversiones", Some(r#"{"afiliado_id": "af_123", "valor_conversion": 100000}"#))
        .await;
    let conversion_id = registered["conversion_id"].as_str().expect("conversion_id").to_string();
    let asked =
        seeds.call("POST", "/api/v1/comisiones", Some(&format!("{{\"conversion_id\": \"{conversion_id}\"}}"))).await;
    assert!(asked.status == 201 || asked.status == 200, "{}: {}", asked.status, asked.body);
    attributed(seeds, &conversion_id).await;
    let made = seeds.commissions_of(&conversion_id).await;
    assert_eq!(made.len(), 1, "{made:?}");
    assert_eq!(made[0]["comision_id"], asked.body["comision_id"], "{made:?}");

    // Caso 3: reports.
    let approved = seeds.expect(200, "GET", "/api/v1/comisiones?estado=aprobada&periodo=30d", None).await;
    assert!(items(&approved).iter().any(|c| c["comision_id"] == comision_id.as_str()), "{approved}");
    let csv = seeds.call("GET", "/api/v1/comisiones?afiliado_id=af_123&formato=csv", None).await;
    assert_eq!(csv.status, 200, "{}", csv.body);
    assert!(csv.content_type.starts_with("text/csv"), "{}", csv.content_type);
    assert_eq!(
        csv.body.as_str().map(|text| text.lines().count()),
        Some(2),
        "a header and Caso 2's commission: {}",
        csv.body
    );

    // Health checks and the API documentation.
    seeds.expect(200, "GET", "/health", None).await;
    seeds.expect(200, "GET", "/docs", None).await;
}

/// Seed 000: a Stripe CLI `trigger checkout.session.completed` with its metadata
/// overrides, and the demo data route; seed 001: its verification queries, as written.
async fn seed_000_and_001(seeds: &Seeds) {
    let event = json!({
        "id": "evt_seed_000", "object": "event", "type": "checkout.session.completed", "livemode": false,
        "created": chrono::Utc::now().timestamp(),
        "data": { "object": {
            "id": "cs_test_seed_000", "object": "checkout.session", "amount_total": 3000, "currency": "usd",
            "payment_status": "paid", "payment_intent": "pi_seed_000", "mode": "payment",
            "customer_details": { "email": "stripe@example.com" },
            "metadata": { "gclid": "TEST_GCLID", "campaign": "LANZAMIENTO_2026" }
        }}
    });
    assert!(post_stripe(&seeds.http, &seeds.server.base, SECRET, &event).await, "the signed checkout is taken");

    let db = Database::connect(&seeds.server.database_url).await.expect("connect");
    let backend = db.get_database_backend();
    let query = |sql: &str| db.query_all_raw(Statement::from_string(backend, sql.to_string()));
    let webhooks = query(
        "SELECT stripe_event_id, status, error, received_at, processed_at
FROM stripe_webhook_event
ORDER BY received_at DESC
LIMIT 20;",
    )
    .await
    .expect("seed 001: webhooks");
    assert!(
        webhooks.iter().any(|r| r.try_get::<String>("", "stripe_event_id").is_ok_and(|id| id == "evt_seed_000")),
        "the checkout's event is listed"
    );
    let orders = query(
        "SELECT id, event_id, stripe_session_id, payment_intent_id, amount, currency, status, created_at
FROM orders
ORDER BY created_at DESC
LIMIT 20;",
    )
    .await
    .expect("seed 001: orders");
    assert!(
        orders.iter().any(|r| r.try_get::<String>("", "stripe_session_id").is_ok_and(|s| s == "cs_test_seed_000")),
        "the checkout's order is listed"
    );
    let gclid = query("SELECT gclid, campaign FROM orders WHERE stripe_session_id = 'cs_test_seed_000'")
        .await
        .expect("order metadata");
    assert_eq!(gclid.len(), 1);
    assert_eq!(gclid[0].try_get::<Option<String>>("", "gclid").ok().flatten().as_deref(), Some("TEST_GCLID"));
    assert_eq!(gclid[0].try_get::<Option<String>>("", "campaign").ok().flatten().as_deref(), Some("LANZAMIENTO_2026"));
    let purchases = query(
        "SELECT id, event_id, event_type, value, currency, created_at
FROM tracking_event
WHERE event_type = 'purchase'
ORDER BY created_at DESC
LIMIT 20;",
    )
    .await
    .expect("seed 001: purchases");
    assert!(!purchases.is_empty(), "the checkout is a purchase in tracking_event");
    query(
        "SELECT integration, reference_id, status, http_status, latency_ms, error_message, created_at
FROM integrations_log
ORDER BY created_at DESC
LIMIT 50;",
    )
    .await
    .expect("seed 001: integrations");

    // Seed 000's demo data: test orders, said in the answer.
    let seeded = seeds.expect(200, "GET", "/api/v1/admin/seed?days=30", None).await;
    assert!(seeded.is_object(), "{seeded}");
    db.close().await.ok();
}
