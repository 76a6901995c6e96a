//! `/api/v1/campanas` (seed 004, servicio Marketing).

use crate::model::campaigns::{self, AttributionModel, CampaignStatus};
use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::IntoResponse,
    routing::{get, post},
    Json, Router,
};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{optional_decimal, JsonBody, QueryParams};
use crate::{
    domain::money::{json_number, scaled},
    error::{AppError, AppResult},
    http::{auth::Authenticated, HttpState},
    service::campaign_service::{self as svc, status_name},
    state::AppState,
};

pub fn router() -> Router<HttpState> {
    Router::new()
        .route("/api/v1/campanas", get(list).post(create))
        .route("/api/v1/campanas/{id}", get(show))
        .route("/api/v1/campanas/{id}/activar", post(activate))
}

#[derive(Deserialize, Default)]
struct ConfiguracionComisiones {
    #[serde(default, deserialize_with = "optional_decimal")]
    comision_conversion: Option<Decimal>,
    #[serde(default, deserialize_with = "optional_decimal")]
    comision_venta: Option<Decimal>,
    #[serde(default, deserialize_with = "optional_decimal")]
    bonus_objetivos: Option<Decimal>,
}

#[derive(Deserialize)]
struct CrearCampana {
    codigo: Option<String>,
    nombre: String,
    descripcion: Option<String>,
    fecha_inicio: DateTime<Utc>,
    fecha_fin: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "optional_decimal")]
    presupuesto: Option<Decimal>,
    moneda: String,
    tipo_campana: Option<String>,
    #[serde(default)]
    canales: Vec<String>,
    segmentacion: Option<Value>,
    configuracion_comisiones: Option<ConfiguracionComisiones>,
    modelo_atribucion: Option<AttributionModel>,
    ventana_dias: Option<i32>,
}

#[derive(Deserialize)]
struct Filtro {
    estado: Option<String>,
    busqueda: Option<String>,
    limite: Option<u64>,
    offset: Option<u64>,
}

async fn create(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    JsonBody(body): JsonBody<CrearCampana>,
) -> AppResult<impl IntoResponse> {
    let commission = body.configuracion_comisiones.unwrap_or_default();
    let input = svc::NewCampaign {
        code: body.codigo,
        name: body.nombre,
        description: body.descripcion,
        starts_at: body.fecha_inicio,
        ends_at: body.fecha_fin,
        budget: body.presupuesto,
        currency: body.moneda,
        campaign_type: body.tipo_campana,
        channels: body.canales,
        targeting: body.segmentacion,
        commission: svc::CampaignCommission {
            conversion_rate: commission.comision_conversion,
            sale_rate: commission.comision_venta,
            bonus_targets: commission.bonus_objetivos,
            commission_type: None,
            flat_amount: None,
        },
        attribution_model: body.modelo_atribucion,
        lookback_days: body.ventana_dias,
    };
    let model = svc::create(&state, &caller, input).await?;
    Ok((StatusCode::CREATED, Json(view(&model))))
}

async fn list(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    QueryParams(filter): QueryParams<Filtro>,
) -> AppResult<Json<Value>> {
    let page = super::page(filter.limite, filter.offset, 100)?;
    let service_filter = svc::CampaignFilter {
        status: filter.estado.as_deref().map(parse_status).transpose()?,
        search: filter.busqueda,
    };
    let result = svc::list(&state.db, &caller, service_filter, page).await?;
    Ok(Json(json!({
        "campanas": result.items.iter().map(view).collect::<Vec<_>>(),
        "total": result.total,
        "limite": page.limit,
        "offset": page.offset,
    })))
}

async fn show(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    Ok(Json(view(&svc::get(&state.db, &caller, &id).await?)))
}

async fn activate(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    let current = svc::get(&state.db, &caller, &id).await?;
    Ok(Json(view(&svc::activate(&state, &caller, current.id).await?)))
}

fn parse_status(value: &str) -> AppResult<CampaignStatus> {
    match value.trim().to_lowercase().as_str() {
        "borrador" | "draft" => Ok(CampaignStatus::Draft),
        "activa" | "active" => Ok(CampaignStatus::Active),
        "pausada" | "paused" => Ok(CampaignStatus::Paused),
        "finalizada" | "ended" => Ok(CampaignStatus::Ended),
        _ => {
            Err(AppError::validation("estado", "estado must be 'borrador', 'activa', 'pausada' or 'finalizada'").into())
        }
    }
}

/// A campaign with the seed's field names.
fn view(m: &campaigns::Model) -> Value {
    json!({
        "campana_id": m.id,
        "codigo": m.code,
        "nombre": m.name,
        "descripcion": m.description,
        "fecha_inicio": m.starts_at,
        "fecha_fin": m.ends_at,
        "presupuesto": m.budget.map(|b| json_number(scaled(b, &m.currency))),
        "moneda": m.currency,
        "tipo_campana": m.campaign_type,
        "canales": m.channels,
        "segmentacion": m.targeting,
        "configuracion_comisiones": {
            "comision_conversion": m.conversion_rate.map(json_number),
            "comision_venta": m.sale_rate.map(json_number),
            "bonus_objetivos": m.bonus_targets.map(json_number),
        },
        "modelo_atribucion": m.attribution_model,
        "ventana_dias": m.lookback_days,
        "estado": status_name(m.status),
        "fecha_creacion": m.created_at,
    })
}
