//! `/api/v1/afiliados` (seed 004, servicio Afiliados).

use crate::model::affiliates::{self, AffiliateStatus, AffiliateTier};
use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::IntoResponse,
    routing::get,
    Json, Router,
};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{decimal, optional_decimal, JsonBody, QueryParams};
use crate::{
    domain::{
        money::{json_number, scaled},
        pii::mask_account,
    },
    error::{AppError, AppResult},
    http::{auth::Authenticated, HttpState},
    service::affiliate_service::{self as svc, status_name, tier_name},
    state::AppState,
};

pub fn router() -> Router<HttpState> {
    Router::new()
        .route("/api/v1/afiliados", get(list).post(create))
        .route("/api/v1/afiliados/{id}", get(show).put(update).delete(remove))
}

#[derive(Deserialize)]
struct Documento {
    tipo: String,
    numero: String,
}

#[derive(Deserialize)]
struct DatosBancarios {
    banco: String,
    tipo_cuenta: String,
    numero_cuenta: String,
}

#[derive(Deserialize)]
struct ConfiguracionComisiones {
    #[serde(deserialize_with = "decimal")]
    comision_base: Decimal,
    #[serde(default, deserialize_with = "optional_decimal")]
    comision_premium: Option<Decimal>,
    #[serde(deserialize_with = "decimal")]
    minimo_pago: Decimal,
    moneda: Option<String>,
}

#[derive(Deserialize)]
struct CrearAfiliado {
    codigo: Option<String>,
    nombre: String,
    email: String,
    telefono: Option<String>,
    documento: Option<Documento>,
    tipo_afiliado: Option<String>,
    datos_bancarios: Option<DatosBancarios>,
    configuracion_comisiones: ConfiguracionComisiones,
}

#[derive(Deserialize)]
struct ActualizarAfiliado {
    codigo: Option<String>,
    nombre: Option<String>,
    email: Option<String>,
    telefono: Option<String>,
    documento: Option<Documento>,
    tipo_afiliado: Option<String>,
    datos_bancarios: Option<DatosBancarios>,
    configuracion_comisiones: Option<ConfiguracionComisiones>,
    estado: Option<String>,
}

#[derive(Deserialize)]
struct Filtro {
    estado: Option<String>,
    tipo_afiliado: Option<String>,
    busqueda: Option<String>,
    limite: Option<u64>,
    offset: Option<u64>,
}

async fn create(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    JsonBody(body): JsonBody<CrearAfiliado>,
) -> AppResult<impl IntoResponse> {
    let input = svc::NewAffiliate {
        code: body.codigo,
        name: body.nombre,
        email: body.email,
        phone: body.telefono,
        document: body.documento.map(|d| svc::Document { kind: d.tipo, number: d.numero }),
        tier: body.tipo_afiliado.as_deref().map(parse_tier).transpose()?.unwrap_or(AffiliateTier::Standard),
        bank_details: body.datos_bancarios.map(bank),
        commission: settings(body.configuracion_comisiones),
    };
    let model = svc::create(&state, &caller, input).await?;
    let body = json!({
        "afiliado_id": model.id,
        "codigo": model.code,
        "nombre": model.name,
        "email": model.email,
        "estado": status_name(model.status),
        "fecha_registro": model.created_at,
    });
    Ok((StatusCode::CREATED, Json(body)))
}

async fn list(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    QueryParams(filter): QueryParams<Filtro>,
) -> AppResult<Json<Value>> {
    let page = super::page(filter.limite, filter.offset, 100)?;
    let service_filter = svc::AffiliateFilter {
        status: filter.estado.as_deref().map(parse_status).transpose()?,
        tier: filter.tipo_afiliado.as_deref().map(parse_tier).transpose()?,
        search: filter.busqueda,
    };
    let result = svc::list(&state.db, &caller, service_filter, page).await?;
    Ok(Json(json!({
        "afiliados": result.items.iter().map(view).collect::<Vec<_>>(),
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

async fn update(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ActualizarAfiliado>,
) -> AppResult<Json<Value>> {
    let current = svc::get(&state.db, &caller, &id).await?;
    let patch = svc::AffiliatePatch {
        code: body.codigo,
        name: body.nombre,
        email: body.email,
        phone: body.telefono,
        document: body.documento.map(|d| svc::Document { kind: d.tipo, number: d.numero }),
        tier: body.tipo_afiliado.as_deref().map(parse_tier).transpose()?,
        bank_details: body.datos_bancarios.map(bank),
        commission: body.configuracion_comisiones.map(settings),
        status: body.estado.as_deref().map(parse_status).transpose()?,
    };
    Ok(Json(view(&svc::update(&state, &caller, current.id, patch).await?)))
}

async fn remove(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    let current = svc::get(&state.db, &caller, &id).await?;
    let model = svc::delete(&state, &caller, current.id).await?;
    Ok(Json(json!({ "afiliado_id": model.id, "estado": status_name(model.status) })))
}

fn bank(d: DatosBancarios) -> svc::BankDetails {
    svc::BankDetails { bank: d.banco, account_type: d.tipo_cuenta, account_number: d.numero_cuenta }
}

fn settings(c: ConfiguracionComisiones) -> svc::CommissionSettings {
    svc::CommissionSettings {
        base_rate: c.comision_base,
        premium_rate: c.comision_premium,
        minimum_payout: c.minimo_pago,
        currency: c.moneda,
    }
}

fn parse_tier(value: &str) -> AppResult<AffiliateTier> {
    match value.trim().to_lowercase().as_str() {
        "premium" => Ok(AffiliateTier::Premium),
        "estandar" | "estándar" | "standard" | "basico" | "básico" => Ok(AffiliateTier::Standard),
        _ => Err(AppError::validation("tipo_afiliado", "tipo_afiliado must be 'estandar' or 'premium'").into()),
    }
}

fn parse_status(value: &str) -> AppResult<AffiliateStatus> {
    match value.trim().to_lowercase().as_str() {
        "activo" | "active" => Ok(AffiliateStatus::Active),
        "suspendido" | "suspended" => Ok(AffiliateStatus::Suspended),
        "eliminado" | "deleted" => Ok(AffiliateStatus::Deleted),
        _ => Err(AppError::validation("estado", "estado must be 'activo', 'suspendido' or 'eliminado'").into()),
    }
}

/// An affiliate with the seed's field names; the account number is masked.
fn view(m: &affiliates::Model) -> Value {
    json!({
        "afiliado_id": m.id,
        "codigo": m.code,
        "nombre": m.name,
        "email": m.email,
        "telefono": m.phone,
        "documento": m.document_type.as_ref().map(|tipo| json!({ "tipo": tipo, "numero": m.document_number })),
        "tipo_afiliado": tier_name(m.tier),
        "datos_bancarios": m.bank_account_number.as_ref().map(|number| json!({
            "banco": m.bank_name,
            "tipo_cuenta": m.bank_account_type,
            "numero_cuenta": mask_account(number),
        })),
        "configuracion_comisiones": {
            "comision_base": json_number(m.base_rate),
            "comision_premium": m.premium_rate.map(json_number),
            "minimo_pago": json_number(scaled(m.minimum_payout, &m.payout_currency)),
            "moneda": m.payout_currency,
        },
        "estado": status_name(m.status),
        "fecha_registro": m.created_at,
        "fecha_actualizacion": m.updated_at,
    })
}
