//! Seed 004 "Servicio Conversiones": `POST /api/v1/conversiones`, the list with
//! `afiliado_id` / `campana_id` filters, and `GET /api/v1/conversiones/metricas`.
//! Conversions go through the tracking ingest (exactly once by `id`, attributed after).

use axum::{
    extract::{Path, State},
    response::Response,
    routing::get,
    Json, Router,
};
use chrono::{DateTime, SecondsFormat, Utc};
use entity::conversions::{self, ConversionStatus};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{JsonBody, QueryParams};
use crate::{
    domain::{
        commission::parse_period,
        money::{json_number, scaled},
        tracking::{self as rules, ConversionKind},
        validate,
    },
    error::{AppError, AppResult},
    http::{auth::Authenticated, tracking::created, HttpState},
    service::{
        affiliate_service, campaign_service, dashboard_service,
        tracking::{self as svc, ConversionFilter, ConversionInput, Item, Stored},
    },
    state::AppState,
    wire::{given, required_id, text, when},
};

pub fn router() -> Router<HttpState> {
    Router::new()
        .route("/api/v1/conversiones", get(list).post(create))
        .route("/api/v1/conversiones/metricas", get(metrics))
        .route("/api/v1/conversiones/{id}", get(show))
}

#[derive(Deserialize)]
struct DatosCliente {
    email: Option<String>,
    #[serde(flatten)]
    rest: serde_json::Map<String, Value>,
}

#[derive(Deserialize)]
struct Registrar {
    /// The caller's id for this conversion: a repeat with the same id is stored once.
    id: Option<String>,
    afiliado_id: Option<String>,
    campana_id: Option<String>,
    tipo_conversion: Option<String>,
    #[serde(deserialize_with = "super::decimal")]
    valor_conversion: Decimal,
    moneda: String,
    canal_origen: Option<String>,
    datos_cliente: Option<DatosCliente>,
    productos: Option<Value>,
    metadatos: Option<Value>,
    id_usuario: Option<String>,
    id_anonimo: Option<String>,
    click_id: Option<String>,
    fecha_conversion: Option<DateTime<Utc>>,
}

async fn create(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    JsonBody(body): JsonBody<Registrar>,
) -> AppResult<Response> {
    // Partners' systems post with an ADMIN token; an affiliate only for itself.
    let afiliado = rules::identifier(body.afiliado_id.as_deref(), "afiliado_id")?;
    match (caller.affiliate_scope(), &afiliado) {
        (None, _) => caller.require_admin()?,
        (Some(own), Some(reference)) => {
            let named = affiliate_service::get(&state.db, &caller, reference).await?;
            if named.id != own {
                return Err(AppError::Forbidden("affiliates can only register their own conversions".into()).into());
            }
        }
        (Some(_), None) => return Err(AppError::validation("afiliado_id", "afiliado_id is required").into()),
    }
    let cliente = body.datos_cliente.unwrap_or(DatosCliente { email: None, rest: Default::default() });
    let email = cliente.email.as_deref().map(validate::email).transpose()?;
    let products = body.productos.unwrap_or_else(|| json!([]));
    let metadata = body.metadatos.unwrap_or_else(|| json!({}));
    let utm = |key: &str| metadata.get(key).and_then(Value::as_str).map(str::to_owned);
    let external_id = match body.id {
        Some(id) => Some(required_id(Some(id), "id")?),
        None => None,
    };
    let input = ConversionInput {
        external_id,
        kind: ConversionKind::parse(body.tipo_conversion.as_deref().unwrap_or("venta"), "tipo_conversion")?,
        value: body.valor_conversion,
        currency: body.moneda,
        occurred_at: when(body.fecha_conversion, "fecha_conversion")?,
        campaign: given(body.campana_id, "campana_id")?,
        affiliate: given(afiliado, "afiliado_id")?,
        user_id: rules::identifier(body.id_usuario.as_deref(), "id_usuario")?,
        anonymous_id: rules::identifier(body.id_anonimo.as_deref(), "id_anonimo")?,
        click_id: rules::identifier(body.click_id.as_deref(), "click_id")?,
        channel: text(body.canal_origen, "canal_origen", 64)?,
        customer_email: email,
        // The email is kept only as its hash; the rest (location, device) as given.
        customer: Value::Object(cliente.rest),
        products,
        metadata: json!({ "utm_source": utm("utm_source"), "utm_medium": utm("utm_medium"), "utm_campaign": utm("utm_campaign"), "metadatos": metadata }),
        referrer: None,
        user_agent: None,
        ip: None,
    };
    let receipt = state.ingest.submit(Item::Conversion(input)).await?;
    let Stored::Conversion(row) = &receipt.stored else {
        return Err(AppError::internal(anyhow::anyhow!("conversion stored as something else")).into());
    };
    Ok(created(&receipt, view(row)))
}

/// Seed 004's answer: `conversion_id`, `afiliado_id`, `campana_id`, `estado`, `valor_conversion`, `fecha_conversion`.
fn view(m: &conversions::Model) -> Value {
    json!({
        "conversion_id": m.id,
        "id": m.external_id,
        "afiliado_id": m.affiliate_id,
        "campana_id": m.campaign_id,
        "tipo_conversion": svc::conversion_kind(m.conversion_type).seed_name(),
        "estado": status_name(m.status),
        "valor_conversion": json_number(scaled(m.value, &m.currency)),
        "moneda": m.currency,
        "canal_origen": m.channel,
        "productos": m.products,
        "score_fraude": m.fraud_score,
        "fecha_conversion": m.occurred_at.to_rfc3339_opts(SecondsFormat::Secs, true),
    })
}

fn status_name(status: ConversionStatus) -> &'static str {
    match status {
        ConversionStatus::Registered => "registrada",
        ConversionStatus::Attributed => "atribuida",
        ConversionStatus::Unattributed => "sin_atribuir",
        ConversionStatus::HeldForReview => "en_revision",
        ConversionStatus::Reverted => "revertida",
        ConversionStatus::Refunded => "reembolsada",
        ConversionStatus::Rejected => "rechazada",
    }
}

fn parse_status(value: &str) -> Result<ConversionStatus, AppError> {
    let all = [
        ConversionStatus::Registered,
        ConversionStatus::Attributed,
        ConversionStatus::Unattributed,
        ConversionStatus::HeldForReview,
        ConversionStatus::Reverted,
        ConversionStatus::Refunded,
        ConversionStatus::Rejected,
    ];
    all.into_iter().find(|s| status_name(*s).eq_ignore_ascii_case(value.trim())).ok_or_else(|| {
        AppError::validation(
            "estado",
            "estado must be one of registrada, atribuida, sin_atribuir, en_revision, revertida, reembolsada, rechazada",
        )
    })
}

#[derive(Deserialize)]
struct Filtro {
    afiliado_id: Option<String>,
    campana_id: Option<String>,
    estado: Option<String>,
    periodo: Option<String>,
    limite: Option<u64>,
    offset: Option<u64>,
}

async fn list(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    QueryParams(filtro): QueryParams<Filtro>,
) -> AppResult<Json<Value>> {
    let page = super::page(filtro.limite, filtro.offset, 100)?;
    let affiliate_id = match filtro.afiliado_id.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(reference) => Some(
            affiliate_service::get(&state.db, &caller, reference)
                .await
                .map_err(|e| unknown(e, "afiliado_id", "affiliate", reference))?
                .id,
        ),
        None => None,
    };
    let campaign_id = match filtro.campana_id.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(reference) => Some(
            campaign_service::get(&state.db, &caller, reference)
                .await
                .map_err(|e| unknown(e, "campana_id", "campaign", reference))?
                .id,
        ),
        None => None,
    };
    let period = filtro.periodo.as_deref().map(|p| parse_period(p, Utc::now(), "periodo")).transpose()?;
    let filter = ConversionFilter {
        affiliate_id,
        campaign_id,
        status: filtro.estado.as_deref().map(parse_status).transpose()?,
        from: period.map(|p| p.from),
        to: period.map(|p| p.to),
    };
    let result = svc::list_conversions(&state.db, &caller, filter, page).await?;
    Ok(Json(json!({
        "conversiones": result.items.iter().map(view).collect::<Vec<_>>(),
        "total": result.total,
        "limite": page.limit,
        "offset": page.offset,
    })))
}

/// A filter naming something that does not exist is a 422 naming the parameter.
fn unknown(err: AppError, field: &str, entity: &'static str, reference: &str) -> AppError {
    match err {
        AppError::NotFound { .. } => {
            AppError::UnknownReference { field: field.to_string(), entity, id: reference.to_string() }
        }
        other => other,
    }
}

async fn show(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    Ok(Json(view(&svc::get_conversion(&state.db, &caller, &id).await?)))
}

#[derive(Deserialize)]
struct MetricasQuery {
    periodo: Option<String>,
    canal: Option<String>,
}

async fn metrics(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    QueryParams(query): QueryParams<MetricasQuery>,
) -> AppResult<Json<Value>> {
    let periodo = query.periodo.unwrap_or_else(|| "30d".to_string());
    let period = parse_period(&periodo, Utc::now(), "periodo")?;
    let m = dashboard_service::conversion_metrics(&state.db, &caller, period, query.canal).await?;
    Ok(Json(json!({
        "periodo": periodo,
        "desde": m.period.from.to_rfc3339_opts(SecondsFormat::Secs, true),
        "hasta": m.period.to.to_rfc3339_opts(SecondsFormat::Secs, true),
        "canal": m.channel,
        "total_clics": m.clicks,
        "total_conversiones": m.conversions,
        "tasa_conversion": m.conversion_rate,
        "por_moneda": m.by_currency.iter().map(|c| json!({
            "moneda": c.currency,
            "conversiones": c.conversions,
            "valor_total": json_number(c.value),
            "valor_promedio": json_number(c.average),
        })).collect::<Vec<_>>(),
        "por_estado": m.by_status.iter().map(|(status, n)| (status_name(*status).to_string(), json!(n))).collect::<serde_json::Map<_, _>>(),
    })))
}
