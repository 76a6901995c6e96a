//! Seed 004 "Servicio Marketing": the bodies of `/api/v1/campanas`, the campaign as the
//! seed answers it, and the seed's names of campaign states.

use crate::model::campaigns::{AttributionModel, Campaign, CampaignStatus};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{json, Value};

use super::names::*;
use super::optional_decimal;
use crate::{
    domain::money::{json_number, scaled},
    error::{AppError, AppResult},
    service::campaign_service as svc,
};

#[derive(Deserialize, Default)]
pub struct ConfiguracionComisiones {
    #[serde(default, deserialize_with = "optional_decimal")]
    pub comision_conversion: Option<Decimal>,
    #[serde(default, deserialize_with = "optional_decimal")]
    pub comision_venta: Option<Decimal>,
    #[serde(default, deserialize_with = "optional_decimal")]
    pub bonus_objetivos: Option<Decimal>,
}

#[derive(Deserialize)]
pub struct CrearCampana {
    pub codigo: Option<String>,
    /// The seed system's own id (`camp_67890`): the code when `codigo` is not given.
    pub campana_id: Option<String>,
    pub nombre: String,
    pub descripcion: Option<String>,
    pub fecha_inicio: DateTime<Utc>,
    pub fecha_fin: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "optional_decimal")]
    pub presupuesto: Option<Decimal>,
    pub moneda: String,
    pub tipo_campana: Option<String>,
    #[serde(default)]
    pub canales: Vec<String>,
    pub segmentacion: Option<Value>,
    pub configuracion_comisiones: Option<ConfiguracionComisiones>,
    pub modelo_atribucion: Option<AttributionModel>,
    pub ventana_dias: Option<i32>,
}

#[derive(Deserialize)]
pub struct Filtro {
    pub estado: Option<String>,
    pub busqueda: Option<String>,
    pub limite: Option<u64>,
    pub offset: Option<u64>,
}

impl CrearCampana {
    pub fn into_input(self) -> svc::NewCampaign {
        let commission = self.configuracion_comisiones.unwrap_or_default();
        svc::NewCampaign {
            code: self.codigo.or(self.campana_id),
            name: self.nombre,
            description: self.descripcion,
            starts_at: self.fecha_inicio,
            ends_at: self.fecha_fin,
            budget: self.presupuesto,
            currency: self.moneda,
            campaign_type: self.tipo_campana,
            channels: self.canales,
            allowed_domains: Vec::new(),
            targeting: self.segmentacion,
            commission: svc::CampaignCommission {
                conversion_rate: commission.comision_conversion,
                sale_rate: commission.comision_venta,
                bonus_targets: commission.bonus_objetivos,
                ..Default::default()
            },
            attribution_model: self.modelo_atribucion,
            lookback_days: self.ventana_dias,
        }
    }
}

impl Filtro {
    pub fn into_filter(self) -> AppResult<svc::CampaignFilter> {
        Ok(svc::CampaignFilter { status: self.estado.as_deref().map(parse_status).transpose()?, search: self.busqueda })
    }
}

pub fn parse_status(value: &str) -> AppResult<CampaignStatus> {
    match value.trim().to_lowercase().as_str() {
        "borrador" | "draft" => Ok(CampaignStatus::Draft),
        "activa" | "active" => Ok(CampaignStatus::Active),
        "pausada" | "paused" => Ok(CampaignStatus::Paused),
        "finalizada" | "ended" => Ok(CampaignStatus::Ended),
        _ => Err(AppError::validation("estado", "estado must be 'borrador', 'activa', 'pausada' or 'finalizada'")),
    }
}

/// A campaign with the seed's field names.
pub fn view(m: &Campaign) -> Value {
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
        "estado": campaign_status(m.status),
        "fecha_creacion": m.created_at,
    })
}
