//! `/api/v1/comisiones` (seed 004, servicio Marketing / módulo Comisiones).

use crate::model::commissions;
use axum::{
    body::Bytes,
    extract::{Path, State},
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use chrono::Utc;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::{commission_csv, optional_decimal, JsonBody, QueryParams};
use crate::{
    auth::Caller,
    domain::{
        commission::{parse_period, Kind, Status},
        money::{json_number, scaled},
    },
    error::{AppError, AppResult},
    http::{auth::Authenticated, HttpState},
    service::{
        affiliate_service, campaign_service,
        commission::{self as svc, status_name, type_name, Approval, CommissionFilter, GroupBy},
    },
    state::AppState,
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

#[derive(Deserialize)]
struct MontoBase {
    #[serde(deserialize_with = "super::decimal")]
    valor: Decimal,
    moneda: String,
}

#[derive(Deserialize)]
struct CrearComision {
    afiliado_id: String,
    campana_id: Option<String>,
    conversion_id: Option<String>,
    monto_base: Option<MontoBase>,
    tipo_comision: Option<String>,
    #[serde(default, deserialize_with = "optional_decimal")]
    porcentaje: Option<Decimal>,
    #[serde(default, deserialize_with = "optional_decimal")]
    monto_fijo: Option<Decimal>,
    configuracion: Option<Value>,
}

#[derive(Deserialize, Default)]
struct Calcular {
    #[serde(default)]
    forzar_recalculo: bool,
}

#[derive(Deserialize, Default)]
struct Aprobar {
    comentarios: Option<String>,
    metadatos_aprobacion: Option<Value>,
    version: Option<i32>,
}

#[derive(Deserialize)]
struct Rechazar {
    motivo: String,
}

#[derive(Deserialize)]
struct Filtro {
    afiliado_id: Option<String>,
    campana_id: Option<String>,
    conversion_id: Option<String>,
    estado: Option<String>,
    periodo: Option<String>,
    formato: Option<String>,
    limite: Option<u64>,
    offset: Option<u64>,
}

#[derive(Deserialize)]
struct FiltroReporte {
    periodo: Option<String>,
    formato: Option<String>,
    agrupar_por: Option<String>,
    afiliado_id: Option<String>,
    campana_id: Option<String>,
    estado: Option<String>,
}

async fn create(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    JsonBody(body): JsonBody<CrearComision>,
) -> AppResult<impl IntoResponse> {
    let kind = match body.tipo_comision.as_deref().map(|t| t.trim().to_lowercase()) {
        None => None,
        Some(t) if t == "porcentual" || t == "percentage" => Some(Kind::Percentage),
        Some(t) if t == "fijo" || t == "fija" || t == "flat" => Some(Kind::Flat),
        Some(_) => {
            return Err(AppError::validation("tipo_comision", "tipo_comision must be 'porcentual' or 'fijo'").into())
        }
    };
    let rate = match kind {
        Some(Kind::Flat) => body.monto_fijo.or(body.porcentaje),
        _ => body.porcentaje,
    };
    let conversion_id = body.conversion_id.as_deref().map(|id| uuid(id, "conversion_id")).transpose()?;
    let input = svc::NewCommission {
        affiliate: body.afiliado_id,
        campaign: body.campana_id,
        conversion_id,
        base_amount: body.monto_base.as_ref().map(|m| m.valor),
        currency: body.monto_base.map(|m| m.moneda),
        kind,
        rate,
        config: body.configuracion,
    };
    let model = svc::create(&state, &caller, input).await?;
    Ok((StatusCode::CREATED, Json(view(&model))))
}

async fn show(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    Ok(Json(view(&svc::get(&state.db, &caller, uuid(&id, "comision_id")?).await?)))
}

async fn calculate(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
    body: Bytes,
) -> AppResult<Json<Value>> {
    let force = optional_body::<Calcular>(&body)?.forzar_recalculo;
    Ok(Json(view(&svc::calculate(&state, &caller, uuid(&id, "comision_id")?, force).await?)))
}

async fn approve(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
    body: Bytes,
) -> AppResult<Json<Value>> {
    let body = optional_body::<Aprobar>(&body)?;
    let approval =
        Approval { comments: body.comentarios, metadata: body.metadatos_aprobacion, expected_version: body.version };
    Ok(Json(view(&svc::approve(&state, &caller, uuid(&id, "comision_id")?, approval).await?)))
}

async fn reject(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Rechazar>,
) -> AppResult<Json<Value>> {
    Ok(Json(view(&svc::reject(&state, &caller, uuid(&id, "comision_id")?, &body.motivo).await?)))
}

async fn list(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    QueryParams(filter): QueryParams<Filtro>,
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
        conversion_id: filter.conversion_id.as_deref().map(|id| uuid(id, "conversion_id")).transpose()?,
        ..service_filter
    };
    let result = svc::list(&state.db, &caller, service_filter, page).await?;
    if csv {
        return Ok(csv_response(commission_csv::to_csv(&result.items), "comisiones.csv"));
    }
    Ok(Json(json!({
        "comisiones": result.items.iter().map(view).collect::<Vec<_>>(),
        "total": result.total,
        "limite": page.limit,
        "offset": page.offset,
    }))
    .into_response())
}

async fn report(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    QueryParams(filter): QueryParams<FiltroReporte>,
) -> AppResult<Response> {
    let csv = wants_csv(filter.formato.as_deref())?;
    let group_by = match filter.agrupar_por.as_deref().map(|g| g.trim().to_lowercase()) {
        None => GroupBy::Affiliate,
        Some(g) if g == "afiliado" || g == "affiliate" => GroupBy::Affiliate,
        Some(g) if g == "campana" || g == "campaña" || g == "campaign" => GroupBy::Campaign,
        Some(g) if g == "estado" || g == "status" => GroupBy::Status,
        Some(_) => {
            return Err(
                AppError::validation("agrupar_por", "agrupar_por must be 'afiliado', 'campana' or 'estado'").into()
            )
        }
    };
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
    let report = svc::report(&state.db, &caller, period, group_by, service_filter).await?;
    if csv {
        return Ok(csv_response(commission_csv::report_to_csv(&report), "reporte-comisiones.csv"));
    }
    let group_name = match group_by {
        GroupBy::Affiliate => "afiliado",
        GroupBy::Campaign => "campana",
        GroupBy::Status => "estado",
    };
    Ok(Json(json!({
        "periodo": { "desde": report.period.from, "hasta": report.period.to },
        "agrupado_por": group_name,
        "filas": report.rows.iter().map(|r| json!({
            "clave": r.key,
            "nombre": r.name,
            "moneda": r.currency,
            "cantidad": r.count,
            "monto": json_number(r.amount),
            "monto_aprobado": json_number(r.approved_amount),
            "monto_pagado": json_number(r.paid_amount),
        })).collect::<Vec<_>>(),
        "totales": report.totals.iter().map(|t| json!({
            "moneda": t.currency,
            "cantidad": t.count,
            "monto": json_number(t.amount),
            "monto_aprobado": json_number(t.approved_amount),
            "monto_pagado": json_number(t.paid_amount),
        })).collect::<Vec<_>>(),
    }))
    .into_response())
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
            let found = affiliate_service::resolve(&state.db, reference).await;
            match found {
                Ok(a) => Some(a.id),
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
        Some(reference) => Some(campaign_service::resolve(&state.db, reference).await?.id),
        None => None,
    };
    let status = status
        .map(|s| {
            Status::parse(s).map(svc::stored_status).ok_or_else(|| {
                AppError::validation(
                    "estado",
                    "estado must be reservada, calculada, aprobada, pagada, cancelada or rechazada",
                )
            })
        })
        .transpose()?;
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

fn uuid(value: &str, field: &str) -> Result<Uuid, AppError> {
    Uuid::parse_str(value.trim()).map_err(|_| AppError::validation(field, format!("'{value}' is not a valid id")))
}

/// A commission with the seed's field names.
fn view(m: &commissions::Model) -> Value {
    json!({
        "comision_id": m.id,
        "afiliado_id": m.affiliate_id,
        "campana_id": m.campaign_id,
        "conversion_id": m.conversion_id,
        "monto_base": { "valor": json_number(scaled(m.base_amount, &m.currency)), "moneda": m.currency },
        "tipo_comision": type_name(m.commission_type),
        "porcentaje": m.rate.map(json_number),
        "monto_calculado": m.amount.map(|a| json_number(scaled(a, &m.currency))),
        "moneda": m.currency,
        "estado": status_name(m.status),
        "configuracion": m.config,
        "comentarios": m.approval_comments,
        "metadatos_aprobacion": {
            "nivel_aprobacion": m.approval_level,
            "politica_aplicada": m.approval_policy,
        },
        "motivo_rechazo": m.rejection_reason,
        "motivo_cancelacion": m.cancel_reason,
        "pago_id": m.payout_id,
        "ajusta_comision_id": m.adjusts_commission_id,
        "version": m.version,
        "fecha_creacion": m.created_at,
        "fecha_calculo": m.calculated_at,
        "fecha_aprobacion": m.approved_at,
        "fecha_pago": m.paid_at,
        "fecha_cancelacion": m.canceled_at,
    })
}
