//! Seed 004 "Marketing / Comisiones": the bodies of `/api/v1/comisiones`, the commission
//! and the report as the seed answers them, and the seed's names of commission kinds and
//! states.

use crate::model::commissions::{Commission, CommissionStatus};
use crate::service::codes::Codes;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::names::*;
use super::{decimal, optional_decimal};
use crate::{
    domain::{
        commission::{Kind, Status},
        money::{json_number, scaled},
    },
    error::{AppError, AppResult},
    service::commission::{self as svc, GroupBy, Report},
};

#[derive(Deserialize)]
pub struct MontoBase {
    #[serde(deserialize_with = "decimal")]
    pub valor: Decimal,
    pub moneda: String,
}

#[derive(Deserialize)]
pub struct CrearComision {
    /// Without it, the conversion's affiliate.
    pub afiliado_id: Option<String>,
    pub campana_id: Option<String>,
    pub conversion_id: Option<String>,
    pub monto_base: Option<MontoBase>,
    pub tipo_comision: Option<String>,
    #[serde(default, deserialize_with = "optional_decimal")]
    pub porcentaje: Option<Decimal>,
    #[serde(default, deserialize_with = "optional_decimal")]
    pub monto_fijo: Option<Decimal>,
    pub configuracion: Option<Value>,
}

#[derive(Deserialize, Default)]
pub struct Calcular {
    #[serde(default)]
    pub forzar_recalculo: bool,
}

#[derive(Deserialize, Default)]
pub struct Aprobar {
    pub comentarios: Option<String>,
    pub metadatos_aprobacion: Option<Value>,
    pub version: Option<i32>,
}

#[derive(Deserialize)]
pub struct Rechazar {
    pub motivo: String,
}

#[derive(Deserialize)]
pub struct Filtro {
    pub afiliado_id: Option<String>,
    pub campana_id: Option<String>,
    pub conversion_id: Option<String>,
    pub estado: Option<String>,
    pub periodo: Option<String>,
    pub formato: Option<String>,
    pub limite: Option<u64>,
    pub offset: Option<u64>,
}

#[derive(Deserialize)]
pub struct FiltroReporte {
    pub periodo: Option<String>,
    pub formato: Option<String>,
    pub agrupar_por: Option<String>,
    pub afiliado_id: Option<String>,
    pub campana_id: Option<String>,
    pub estado: Option<String>,
}

impl CrearComision {
    pub fn into_input(self) -> AppResult<svc::NewCommission> {
        let kind = match self.tipo_comision.as_deref().map(|t| t.trim().to_lowercase()) {
            None => None,
            Some(t) if t == "porcentual" || t == "percentage" => Some(Kind::Percentage),
            Some(t) if t == "fijo" || t == "fija" || t == "flat" => Some(Kind::Flat),
            Some(_) => {
                return Err(AppError::validation("tipo_comision", "tipo_comision must be 'porcentual' or 'fijo'"))
            }
        };
        let rate = match kind {
            Some(Kind::Flat) => self.monto_fijo.or(self.porcentaje),
            _ => self.porcentaje,
        };
        Ok(svc::NewCommission {
            affiliate: self.afiliado_id.map(|id| id.trim().to_string()).filter(|id| !id.is_empty()),
            campaign: self.campana_id,
            conversion: self.conversion_id.map(|id| id.trim().to_string()).filter(|id| !id.is_empty()),
            base_amount: self.monto_base.as_ref().map(|m| m.valor),
            currency: self.monto_base.map(|m| m.moneda),
            kind,
            rate,
            config: self.configuracion,
        })
    }
}

/// An id the seed sends as text.
pub fn uuid(value: &str, field: &str) -> AppResult<Uuid> {
    Uuid::parse_str(value.trim()).map_err(|_| AppError::validation(field, format!("'{value}' is not a valid id")))
}

/// `agrupar_por`: by affiliate unless said otherwise.
pub fn group_by(value: Option<&str>) -> AppResult<GroupBy> {
    match value.map(|g| g.trim().to_lowercase()) {
        None => Ok(GroupBy::Affiliate),
        Some(g) if g == "afiliado" || g == "affiliate" => Ok(GroupBy::Affiliate),
        Some(g) if g == "campana" || g == "campaña" || g == "campaign" => Ok(GroupBy::Campaign),
        Some(g) if g == "estado" || g == "status" => Ok(GroupBy::Status),
        Some(_) => Err(AppError::validation("agrupar_por", "agrupar_por must be 'afiliado', 'campana' or 'estado'")),
    }
}

/// `estado`: a commission state by the seed's name (or ours).
pub fn parse_status(value: &str) -> AppResult<CommissionStatus> {
    Status::parse(value).map(svc::stored_status).ok_or_else(|| {
        AppError::validation("estado", "estado must be reservada, calculada, aprobada, pagada, cancelada or rechazada")
    })
}

/// A report with the seed's field names.
pub fn report_view(report: &Report, group_by: GroupBy) -> Value {
    let group_name = match group_by {
        GroupBy::Affiliate => "afiliado",
        GroupBy::Campaign => "campana",
        GroupBy::Status => "estado",
    };
    json!({
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
    })
}

/// A commission with the seed's field names.
pub fn view(m: &Commission, codes: &Codes) -> Value {
    json!({
        "comision_id": m.id,
        "afiliado_id": m.affiliate_id,
        "afiliado_codigo": codes.affiliate(Some(m.affiliate_id)),
        "campana_id": m.campaign_id,
        "campana_codigo": codes.campaign(m.campaign_id),
        "conversion_id": m.conversion_id,
        "conversion_id_externo": codes.conversion(m.conversion_id),
        "monto_base": { "valor": json_number(scaled(m.base_amount, &m.currency)), "moneda": m.currency },
        "tipo_comision": commission_kind(m.commission_type),
        "porcentaje": m.rate.map(json_number),
        "monto_calculado": m.amount.map(|a| json_number(scaled(a, &m.currency))),
        "moneda": m.currency,
        "estado": commission_status(m.status),
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
