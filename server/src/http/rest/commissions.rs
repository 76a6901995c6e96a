//! `/api/v1/comisiones` (seed 004, servicio Marketing / módulo Comisiones).

use axum::{
    body::Bytes,
    extract::{Path, State},
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use chrono::Utc;
use serde_json::{json, Value};
use uuid::Uuid;

use super::{commission_csv, JsonBody, QueryParams};
use crate::{
    auth::Caller,
    domain::commission::parse_period,
    error::{AppError, AppResult},
    http::{auth::Authenticated, HttpState},
    model::commissions::Commission,
    service::{
        affiliate_service, campaign_service,
        codes::Codes,
        commission::{self as svc, Approval, CommissionFilter},
        tracking,
    },
    state::AppState,
    wire::commissions as wire,
};

pub fn router() -> Router<HttpState> {
    Router::new()
        .route("/api/v1/comisiones", get(list).post(create))
        .route("/api/v1/comisiones/reportes", get(report))
        .route("/api/v1/comisiones/{id}", get(show))
        .route("/api/v1/comisiones/{id}/calcular", post(calculate))
        .route("/api/v1/comisiones/{id}/aprobar", post(approve))
        .route("/api/v1/comisiones/{id}/rechazar", post(reject))
}

async fn create(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    JsonBody(body): JsonBody<wire::CrearComision>,
) -> AppResult<impl IntoResponse> {
    // 200 with the commission the conversion already has for the affiliate (asking again
    // is idempotent), 201 with a new one.
    let (model, new) = svc::create(&state, &caller, body.into_input()?).await?;
    Ok((if new { StatusCode::CREATED } else { StatusCode::OK }, Json(one(&state, &model).await?)))
}

/// One commission as the seed shows it, with its affiliate's, campaign's and conversion's codes.
async fn one(state: &AppState, commission: &Commission) -> AppResult<Value> {
    let codes = Codes::of_commissions(&state.db, std::slice::from_ref(commission)).await?;
    Ok(wire::view(commission, &codes))
}

async fn show(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    Ok(Json(one(&state, &svc::get(&state.db, &caller, wire::uuid(&id, "comision_id")?).await?).await?))
}

async fn calculate(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
    body: Bytes,
) -> AppResult<Json<Value>> {
    let force = optional_body::<wire::Calcular>(&body)?.forzar_recalculo;
    Ok(Json(one(&state, &svc::calculate(&state, &caller, wire::uuid(&id, "comision_id")?, force).await?).await?))
}

async fn approve(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
    body: Bytes,
) -> AppResult<Json<Value>> {
    let body = optional_body::<wire::Aprobar>(&body)?;
    let approval =
        Approval { comments: body.comentarios, metadata: body.metadatos_aprobacion, expected_version: body.version };
    Ok(Json(one(&state, &svc::approve(&state, &caller, wire::uuid(&id, "comision_id")?, approval).await?).await?))
}

async fn reject(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<wire::Rechazar>,
) -> AppResult<Json<Value>> {
    let rejected = svc::reject(&state, &caller, wire::uuid(&id, "comision_id")?, &body.motivo).await?;
    Ok(Json(one(&state, &rejected).await?))
}

async fn list(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    QueryParams(filter): QueryParams<wire::Filtro>,
) -> AppResult<Response> {
    let csv = wants_csv(filter.formato.as_deref())?;
    let page = if csv {
        super::page(Some(filter.limite.unwrap_or(svc::MAX_EXPORT)), filter.offset, svc::MAX_EXPORT)?
    } else {
        super::page(filter.limite, filter.offset, 100)?
    };
    let service_filter = service_filter(
        &state,
        &caller,
        filter.afiliado_id.as_deref(),
        filter.campana_id.as_deref(),
        filter.estado.as_deref(),
        filter.periodo.as_deref(),
    )
    .await?;
    let service_filter = CommissionFilter {
        conversion_id: match filter.conversion_id.as_deref().map(str::trim).filter(|id| !id.is_empty()) {
            // By our id, or the id its client sent (`conv_98765`).
            Some(reference) => Some(match Uuid::parse_str(reference) {
                Ok(id) => id,
                Err(_) => tracking::get_conversion(&state.db, &caller, reference).await?.id,
            }),
            None => None,
        },
        ..service_filter
    };
    let result = svc::list(&state.db, &caller, service_filter, page).await?;
    if csv {
        return Ok(csv_response(commission_csv::to_csv(&result.items), "comisiones.csv"));
    }
    let codes = Codes::of_commissions(&state.db, &result.items).await?;
    Ok(Json(json!({
        "comisiones": result.items.iter().map(|c| wire::view(c, &codes)).collect::<Vec<_>>(),
        "total": result.total,
        "limite": page.limit,
        "offset": page.offset,
    }))
    .into_response())
}

async fn report(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    QueryParams(filter): QueryParams<wire::FiltroReporte>,
) -> AppResult<Response> {
    let csv = wants_csv(filter.formato.as_deref())?;
    let group_by = wire::group_by(filter.agrupar_por.as_deref())?;
    let period = parse_period(filter.periodo.as_deref().unwrap_or("30d"), Utc::now(), "periodo")?;
    let service_filter = service_filter(
        &state,
        &caller,
        filter.afiliado_id.as_deref(),
        filter.campana_id.as_deref(),
        filter.estado.as_deref(),
        None,
    )
    .await?;
    let report = state.bounded(svc::report(&state.db, &caller, period, group_by, service_filter)).await?;
    if csv {
        return Ok(csv_response(commission_csv::report_to_csv(&report), "reporte-comisiones.csv"));
    }
    Ok(Json(wire::report_view(&report, group_by)).into_response())
}

/// The filter of the seed's query parameters; affiliates and campaigns by id or code.
async fn service_filter(
    state: &AppState,
    caller: &Caller,
    affiliate: Option<&str>,
    campaign: Option<&str>,
    status: Option<&str>,
    period: Option<&str>,
) -> AppResult<CommissionFilter> {
    let affiliate_id = match affiliate {
        Some(reference) => {
            let found = affiliate_service::resolve_id(&state.db, reference).await;
            match found {
                Ok(id) => Some(id),
                // Another affiliate's id is FORBIDDEN below; an unknown one is simply unknown.
                Err(_) => match Uuid::parse_str(reference.trim()) {
                    Ok(id) if caller.affiliate_scope().is_some() => Some(id),
                    _ => return Err(AppError::not_found("affiliate", reference).into()),
                },
            }
        }
        None => None,
    };
    let campaign_id = match campaign {
        Some(reference) => Some(campaign_service::resolve_id(&state.db, reference).await?),
        None => None,
    };
    let status = status.map(wire::parse_status).transpose()?;
    let period = period.map(|p| parse_period(p, Utc::now(), "periodo")).transpose()?;
    Ok(CommissionFilter {
        affiliate_id,
        campaign_id,
        status,
        from: period.map(|p| p.from),
        to: period.map(|p| p.to),
        ..Default::default()
    })
}

/// A body the seed lets callers leave out: empty means the defaults.
fn optional_body<T: serde::de::DeserializeOwned + Default>(bytes: &[u8]) -> Result<T, AppError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(bytes)
        .map_err(|e| AppError::Validation { field: None, message: format!("invalid body: {e}") })
}

fn wants_csv(format: Option<&str>) -> AppResult<bool> {
    match format.map(|f| f.trim().to_lowercase()) {
        None => Ok(false),
        Some(f) if f == "json" => Ok(false),
        Some(f) if f == "csv" => Ok(true),
        Some(_) => Err(AppError::validation("formato", "formato must be 'json' or 'csv'").into()),
    }
}

fn csv_response(body: String, filename: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\"")),
        ],
        body,
    )
        .into_response()
}
