//! `GET /api/v1/openapi.json`: the REST surface (seed routes, tracking, webhooks, health)
//! as an OpenAPI 3.1 document, for the systems and tools that call it. GraphQL describes
//! itself (`schema.graphql`, introspection).

use axum::{routing::get, Json, Router};
use serde_json::{json, Map, Value};

use super::HttpState;

pub fn router() -> Router<HttpState> {
    Router::new()
        .route("/api/v1/openapi.json", get(|| async { Json(document()) }))
        // The document rendered by a viewer built into the binary (`web/docs.html`).
        .route("/docs", get(|| async { super::spa::page("docs.html") }))
}

/// How an operation is called.
#[derive(Clone, Copy, PartialEq)]
enum Auth {
    Public,
    Bearer,
    StripeSignature,
}

struct Op {
    method: &'static str,
    path: &'static str,
    tag: &'static str,
    summary: &'static str,
    auth: Auth,
    query: &'static [&'static str],
    body: Option<Value>,
    ok: u16,
    /// Another success it may answer, and what it means.
    also: Option<(u16, &'static str)>,
}

fn op(method: &'static str, path: &'static str, tag: &'static str, summary: &'static str, auth: Auth) -> Op {
    Op {
        method,
        path,
        tag,
        summary,
        auth,
        query: &[],
        body: None,
        ok: if method == "post" { 201 } else { 200 },
        also: None,
    }
}

impl Op {
    fn query(mut self, names: &'static [&'static str]) -> Self {
        self.query = names;
        self
    }
    fn body(mut self, example: Value) -> Self {
        self.body = Some(example);
        self
    }
    fn ok(mut self, status: u16) -> Self {
        self.ok = status;
        self
    }
    fn also(mut self, status: u16, description: &'static str) -> Self {
        self.also = Some((status, description));
        self
    }
}

/// Every REST operation the server routes (a test checks that none answers 404).
fn operations() -> Vec<Op> {
    use Auth::*;
    vec![
        op("get", "/health", "system", "Liveness", Public),
        op("get", "/ready", "system", "Readiness: the database answers", Public),
        op("get", "/metrics", "system", "Prometheus metrics", Public),
        op("get", "/api/v1/openapi.json", "system", "This document", Public),
        op("post", "/tracking/impresiones", "tracking", "Record an impression (seed 002)", Public).body(json!({
            "id": "imp-123", "campaña_id": "cmp-456", "influencer_id": "inf-789", "usuario_id": "usr-101",
            "tipo_evento": "IMPRESION", "user_agent": "Mozilla/5.0", "referrer": "https://instagram.com",
            "timestamp": "2026-11-23T10:30:00Z"
        })),
        op(
            "post",
            "/tracking/conversiones",
            "tracking",
            "Record a conversion (seed 002): the shop's API key (scope RECORD_CONVERSIONS) or an ADMIN token",
            Bearer,
        )
        .body(json!({
            "id": "conv-123", "campaña_id": "cmp-456", "influencer_id": "inf-789", "usuario_id": "usr-101",
            "tipo_conversion": "VENTA", "valor": 150000.0, "moneda": "COP", "timestamp": "2026-11-23T10:30:00Z"
        })),
        op("post", "/tracking/interacciones", "tracking", "Record an InteraccionRegistrada (seed 003)", Public).body(
            json!({
                "id_interaccion": "uuid-del-clic", "tipo": "CLICK", "marca_temporal": 1733047200000_i64,
                "identidad_usuario": { "id_usuario": "user-123", "id_anonimo": "anon-xyz" },
                "parametros_tracking": { "fuente": "facebook.com", "medio": "social", "campania": "campania-verano-2025", "id_afiliado": "influencer-abc" }
            }),
        ),
        op("get", "/tracking/impresiones/{id}", "tracking", "An impression by id", Bearer),
        op("get", "/tracking/conversiones/{id}", "tracking", "A tracked conversion by id", Bearer),
        op("get", "/tracking/campanas/{campaign}/impresiones", "tracking", "Impressions of a campaign", Bearer),
        op("get", "/tracking/campanas/{campaign}/conversiones", "tracking", "Conversions of a campaign", Bearer),
        op("get", "/r/{code}", "tracking", "Follow a tracking link: records the click, 302 to the destination", Public)
            .ok(302),
        op("post", "/api/v1/webhooks/stripe", "stripe", "Stripe webhook events (signed)", StripeSignature).ok(200),
        op("post", "/api/v1/afiliados", "afiliados", "Register an affiliate (seed 004)", Bearer).body(json!({
            "nombre": "Juan Pérez", "email": "juan@email.com", "telefono": "+57 300 123 4567",
            "documento": { "tipo": "cedula", "numero": "1234567890" }, "tipo_afiliado": "premium",
            "configuracion_comisiones": { "comision_base": 15.0, "comision_premium": 20.0, "minimo_pago": 75000.0 }
        })),
        op("get", "/api/v1/afiliados", "afiliados", "List affiliates", Bearer)
            .query(&["estado", "tipo_afiliado", "busqueda", "limite", "offset"]),
        op("get", "/api/v1/afiliados/{id}", "afiliados", "An affiliate by id or code", Bearer),
        op("put", "/api/v1/afiliados/{id}", "afiliados", "Update an affiliate", Bearer),
        op("delete", "/api/v1/afiliados/{id}", "afiliados", "Delete an affiliate (kept for the money trail)", Bearer),
        op("post", "/api/v1/campanas", "campanas", "Create a campaign (seed 004)", Bearer).body(json!({
            "nombre": "Campaña Black Friday 2023", "fecha_inicio": "2023-11-24T00:00:00Z",
            "fecha_fin": "2023-11-27T23:59:59Z", "presupuesto": 500000.0, "moneda": "COP",
            "configuracion_comisiones": { "comision_conversion": 15.0, "comision_venta": 8.0, "bonus_objetivos": 25.0 }
        })),
        op("get", "/api/v1/campanas", "campanas", "List campaigns", Bearer).query(&["estado", "limite", "offset"]),
        op("get", "/api/v1/campanas/{id}", "campanas", "A campaign by id or code", Bearer),
        op("post", "/api/v1/campanas/{id}/activar", "campanas", "Activate a campaign", Bearer).ok(200),
        op("post", "/api/v1/conversiones", "conversiones", "Register a conversion (seed 004)", Bearer).body(json!({
            "id": "conv_98765", "afiliado_id": "af_12345", "campana_id": "camp_67890", "tipo_conversion": "venta",
            "valor_conversion": 250000.0, "moneda": "COP", "canal_origen": "web",
            "datos_cliente": { "email": "cliente@email.com", "ubicacion": "Bogotá" },
            "productos": [{ "id": "PROD001", "precio": 250000.0, "cantidad": 1 }]
        })),
        op("get", "/api/v1/conversiones", "conversiones", "List conversions", Bearer)
            .query(&["afiliado_id", "campana_id", "estado", "periodo", "limite", "offset"]),
        op("get", "/api/v1/conversiones/metricas", "conversiones", "Conversion metrics of a period", Bearer)
            .query(&["periodo", "canal"]),
        op("get", "/api/v1/conversiones/{id}", "conversiones", "A conversion by id", Bearer),
        op("post", "/api/v1/comisiones", "comisiones", "Create a commission (seed 004)", Bearer).body(json!({
            "afiliado_id": "af_12345", "campana_id": "camp_67890", "conversion_id": "conv_98765",
            "monto_base": { "valor": 250000.0, "moneda": "COP" }, "tipo_comision": "porcentual", "porcentaje": 15.0
        }))
        .also(200, "the commission the conversion already has for this affiliate (asking again is idempotent)"),
        op("get", "/api/v1/comisiones", "comisiones", "List commissions (JSON or CSV)", Bearer)
            .query(&["afiliado_id", "campana_id", "conversion_id", "estado", "periodo", "limite", "offset", "formato"]),
        op("get", "/api/v1/comisiones/reportes", "comisiones", "Commission report, totals per currency", Bearer)
            .query(&["periodo", "agrupar_por", "formato"]),
        op("get", "/api/v1/comisiones/{id}", "comisiones", "A commission by id", Bearer),
        op("post", "/api/v1/comisiones/{id}/calcular", "comisiones", "Calculate a commission", Bearer)
            .body(json!({ "forzar_recalculo": false }))
            .ok(200),
        op("post", "/api/v1/comisiones/{id}/aprobar", "comisiones", "Approve a commission", Bearer)
            .body(json!({ "comentarios": "ok", "metadatos_aprobacion": { "nivel_aprobacion": "supervisor" } }))
            .ok(200),
        op("post", "/api/v1/comisiones/{id}/rechazar", "comisiones", "Reject a commission", Bearer)
            .body(json!({ "motivo": "duplicada" }))
            .ok(200),
        op("get", "/api/v1/pagos/archivo", "pagos", "The payment file of the PENDING payouts in one currency: SEPA pain.001 (EUR), PayPal Payouts or Wise CSV (ADMIN)", Bearer)
            .query(&["formato", "moneda", "ids", "fecha"]),
        op("post", "/api/v1/admin/seed", "admin", "Add demo data (ADMIN)", Bearer).query(&["days"]).ok(200),
        op("get", "/api/v1/admin/seed", "admin", "Add demo data (ADMIN)", Bearer).query(&["days"]),
    ]
}

fn operation(op: &Op) -> Value {
    let mut parameters: Vec<Value> = op
        .path
        .split('/')
        .filter_map(|segment| segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }))
        .collect();
    parameters
        .extend(op.query.iter().map(|name| json!({ "name": name, "in": "query", "schema": { "type": "string" } })));
    let mut responses = Map::new();
    responses.insert(op.ok.to_string(), json!({ "description": "done" }));
    if let Some((status, description)) = op.also {
        responses.insert(status.to_string(), json!({ "description": description }));
    }
    for (status, description) in [("400", "bad input"), ("404", "not found"), ("422", "names something unknown")] {
        responses.insert(status.into(), json!({ "description": description, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } }));
    }
    if op.method != "get" {
        responses.insert("409".into(), json!({ "description": "conflicts with what exists (a taken email or code, a stale version) or a move its state does not allow", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } }));
    }
    responses.insert("503".into(), json!({ "description": "unavailable or timed out: try again (Retry-After)", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } }));
    if op.path == "/r/{code}" {
        // A person follows a link: an unknown one is a page, not JSON.
        responses.insert("404".into(), json!({ "description": "unknown or removed link", "content": { "text/html": { "schema": { "type": "string" } } } }));
    }
    if op.auth == Auth::Bearer {
        responses.insert("401".into(), json!({ "description": "no or bad token" }));
        responses.insert("403".into(), json!({ "description": "not allowed for this role" }));
    }
    if op.path.starts_with("/tracking") && op.method == "post" {
        responses.insert("413".into(), json!({ "description": "body over 64 KiB" }));
        responses.insert("429".into(), json!({ "description": "too many requests from this IP (Retry-After)" }));
    }
    let mut value = json!({
        "tags": [op.tag],
        "summary": op.summary,
        "parameters": parameters,
        "responses": responses,
    });
    match op.auth {
        Auth::Bearer => value["security"] = json!([{ "bearer": [] }, { "apiKey": [] }]),
        Auth::StripeSignature => value["security"] = json!([{ "stripeSignature": [] }]),
        Auth::Public => value["security"] = json!([]),
    }
    if let Some(example) = &op.body {
        value["requestBody"] = json!({ "required": true, "content": { "application/json": { "schema": { "type": "object" }, "example": example } } });
    }
    value
}

pub fn document() -> Value {
    let mut paths = Map::new();
    for op in operations() {
        let entry = paths.entry(op.path.to_string()).or_insert_with(|| json!({}));
        entry[op.method] = operation(&op);
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Alpes REST API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Seed-compatible REST routes (Spanish field names), tracking ingest and the Stripe webhook. GraphQL (POST /graphql, WebSocket /graphql/ws) is the main API and describes itself.",
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": { "type": "http", "scheme": "bearer", "description": "a user's JWT, or an API key (alpes_sk_…)" },
                "apiKey": { "type": "apiKey", "in": "header", "name": "X-Api-Key", "description": "an API key (alpes_sk_…) made in the admin app" },
                "stripeSignature": { "type": "apiKey", "in": "header", "name": "Stripe-Signature" },
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": { "error": { "type": "object", "required": ["code", "message"], "properties": {
                        "code": { "type": "string", "enum": ["VALIDATION", "UNAUTHENTICATED", "FORBIDDEN", "NOT_FOUND", "CONFLICT", "INVALID_TRANSITION", "PAYLOAD_TOO_LARGE", "RATE_LIMITED", "TIMEOUT", "UNAVAILABLE", "INTERNAL"] },
                        "message": { "type": "string" },
                        "field": { "type": "string", "description": "the (first) wrong input" },
                        "errors": { "type": "array", "description": "every wrong input of a VALIDATION error, each with what is wrong", "items": {
                            "type": "object", "required": ["field", "message"],
                            "properties": { "field": { "type": "string" }, "message": { "type": "string" } },
                        } },
                    } } },
                },
            },
        },
    })
}
