//! Seed 004 "Servicio Conversiones": `POST /api/v1/conversiones`, the list with
//! `afiliado_id` / `campana_id` filters, and `GET /api/v1/conversiones/metricas`.
//! Conversions go through the tracking ingest (exactly once by `id`, attributed after).

use axum::{
    extract::{Path, State},
    response::Response,
    routing::get,
    Json, Router,
};
use chrono::{SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{JsonBody, QueryParams};
use crate::{
    domain::{commission::parse_period, money::json_number},
    error::{AppError, AppResult},
    http::{auth::Authenticated, tracking::created, HttpState},
    service::{
        affiliate_service, campaign_service,
        codes::Codes,
        dashboard_service,
        tracking::{self as svc, ConversionFilter, Recorder},
    },
    state::AppState,
    wire::conversions as wire,
};

pub fn router() -> Router<HttpState> {
    Router::new()
        .route("/api/v1/conversiones", get(list).post(create))
        .route("/api/v1/conversiones/metricas", get(metrics))
        .route("/api/v1/conversiones/{id}", get(show))
}

async fn create(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    JsonBody(body): JsonBody<wire::Registrar>,
) -> AppResult<Response> {
    // The shop's server posts with its API key (or an ADMIN token); affiliates never.
    let recorded =
        svc::record_conversion(&state, &state.ingest, Recorder::Caller(&caller), body.into_command()?, &wire::SEED_004)
            .await?;
    let codes = Codes::of_conversions(&state.db, std::slice::from_ref(&recorded.row)).await?;
    Ok(created(recorded.replayed, wire::view(&recorded.row, &codes)))
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
        status: filtro.estado.as_deref().map(wire::parse_status).transpose()?,
        from: period.map(|p| p.from),
        to: period.map(|p| p.to),
    };
    let result = svc::list_conversions(&state.db, &caller, filter, page).await?;
    let codes = Codes::of_conversions(&state.db, &result.items).await?;
    Ok(Json(json!({
        "conversiones": result.items.iter().map(|c| wire::view(c, &codes)).collect::<Vec<_>>(),
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
    let conversion = svc::get_conversion(&state.db, &caller, &id).await?;
    let codes = Codes::of_conversions(&state.db, std::slice::from_ref(&conversion)).await?;
    Ok(Json(wire::view(&conversion, &codes)))
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
    let m = state.bounded(dashboard_service::conversion_metrics(&state.db, &caller, period, query.canal)).await?;
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
        "por_estado": m.by_status.iter().map(|(status, n)| (crate::wire::names::conversion_status(*status).to_string(), json!(n))).collect::<serde_json::Map<_, _>>(),
    })))
}
