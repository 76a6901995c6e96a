//! Seed 004 "Servicio Afiliados": the bodies of `/api/v1/afiliados`, the affiliate as the
//! seed answers it (account number masked), and the seed's names of tiers and states.

use crate::model::affiliates::{Affiliate, AffiliateStatus, AffiliateTier};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{json, Value};

use super::names::*;
use super::{decimal, optional_decimal};
use crate::{
    domain::money::{json_number, scaled},
    error::{AppError, AppResult},
    service::affiliate_service as svc,
};

#[derive(Deserialize)]
pub struct Documento {
    pub tipo: String,
    pub numero: String,
}

#[derive(Deserialize)]
pub struct DatosBancarios {
    pub banco: String,
    pub tipo_cuenta: String,
    pub numero_cuenta: String,
}

#[derive(Deserialize)]
pub struct ConfiguracionComisiones {
    #[serde(deserialize_with = "decimal")]
    pub comision_base: Decimal,
    #[serde(default, deserialize_with = "optional_decimal")]
    pub comision_premium: Option<Decimal>,
    #[serde(deserialize_with = "decimal")]
    pub minimo_pago: Decimal,
    pub moneda: Option<String>,
}

#[derive(Deserialize)]
pub struct CrearAfiliado {
    pub codigo: Option<String>,
    /// The seed system's own id (`af_12345`): the code when `codigo` is not given, so
    /// every route finds the affiliate by it.
    pub afiliado_id: Option<String>,
    pub nombre: String,
    pub email: String,
    pub telefono: Option<String>,
    pub documento: Option<Documento>,
    pub tipo_afiliado: Option<String>,
    pub datos_bancarios: Option<DatosBancarios>,
    /// Left out: the programme's defaults (`CommissionSettings::default`).
    #[serde(default)]
    pub configuracion_comisiones: Option<ConfiguracionComisiones>,
}

#[derive(Deserialize)]
pub struct ActualizarAfiliado {
    pub codigo: Option<String>,
    pub nombre: Option<String>,
    pub email: Option<String>,
    pub telefono: Option<String>,
    pub documento: Option<Documento>,
    pub tipo_afiliado: Option<String>,
    pub datos_bancarios: Option<DatosBancarios>,
    pub configuracion_comisiones: Option<ConfiguracionComisiones>,
    pub estado: Option<String>,
}

#[derive(Deserialize)]
pub struct Filtro {
    pub estado: Option<String>,
    pub tipo_afiliado: Option<String>,
    pub busqueda: Option<String>,
    pub limite: Option<u64>,
    pub offset: Option<u64>,
}

impl CrearAfiliado {
    pub fn into_input(self) -> AppResult<svc::NewAffiliate> {
        Ok(svc::NewAffiliate {
            code: self.codigo.or(self.afiliado_id),
            name: self.nombre,
            email: self.email,
            phone: self.telefono,
            document: self.documento.map(|d| svc::Document { kind: d.tipo, number: d.numero }),
            tier: self.tipo_afiliado.as_deref().map(parse_tier).transpose()?.unwrap_or(AffiliateTier::Standard),
            bank_details: self.datos_bancarios.map(bank),
            commission: self.configuracion_comisiones.map(settings).unwrap_or_default(),
        })
    }
}

impl ActualizarAfiliado {
    pub fn into_patch(self) -> AppResult<svc::AffiliatePatch> {
        Ok(svc::AffiliatePatch {
            code: self.codigo,
            name: self.nombre,
            email: self.email,
            phone: self.telefono,
            document: self.documento.map(|d| svc::Document { kind: d.tipo, number: d.numero }),
            tier: self.tipo_afiliado.as_deref().map(parse_tier).transpose()?,
            bank_details: self.datos_bancarios.map(bank),
            commission: self.configuracion_comisiones.map(settings),
            status: self.estado.as_deref().map(parse_status).transpose()?,
        })
    }
}

impl Filtro {
    pub fn into_filter(self) -> AppResult<svc::AffiliateFilter> {
        Ok(svc::AffiliateFilter {
            status: self.estado.as_deref().map(parse_status).transpose()?,
            tier: self.tipo_afiliado.as_deref().map(parse_tier).transpose()?,
            search: self.busqueda,
        })
    }
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

pub fn parse_tier(value: &str) -> AppResult<AffiliateTier> {
    match value.trim().to_lowercase().as_str() {
        "premium" => Ok(AffiliateTier::Premium),
        "estandar" | "estándar" | "standard" | "basico" | "básico" => Ok(AffiliateTier::Standard),
        _ => Err(AppError::validation("tipo_afiliado", "tipo_afiliado must be 'estandar' or 'premium'")),
    }
}

pub fn parse_status(value: &str) -> AppResult<AffiliateStatus> {
    match value.trim().to_lowercase().as_str() {
        "activo" | "active" => Ok(AffiliateStatus::Active),
        "suspendido" | "suspended" => Ok(AffiliateStatus::Suspended),
        "eliminado" | "deleted" => Ok(AffiliateStatus::Deleted),
        "solicitado" | "applied" => Ok(AffiliateStatus::Applied),
        "rechazado" | "rejected" => Ok(AffiliateStatus::Rejected),
        _ => Err(AppError::validation(
            "estado",
            "estado must be 'activo', 'suspendido', 'eliminado', 'solicitado' or 'rechazado'",
        )),
    }
}

/// The seed's answer to a creation.
pub fn created_view(m: &Affiliate) -> Value {
    json!({
        "afiliado_id": m.id,
        "codigo": m.code,
        "nombre": m.name,
        "email": m.email,
        "estado": affiliate_status(m.status),
        "fecha_registro": m.created_at,
    })
}

/// An affiliate with the seed's field names; the account number is masked.
pub fn view(m: &Affiliate) -> Value {
    json!({
        "afiliado_id": m.id,
        "codigo": m.code,
        "nombre": m.name,
        "email": m.email,
        "telefono": m.phone,
        "documento": m.document_type.as_ref().map(|tipo| json!({ "tipo": tipo, "numero": m.document_number })),
        "tipo_afiliado": affiliate_tier(m.tier),
        "datos_bancarios": m.bank_account_masked.as_ref().map(|masked| json!({
            "banco": m.bank_name,
            "tipo_cuenta": m.bank_account_type,
            "numero_cuenta": masked,
        })),
        "configuracion_comisiones": {
            "comision_base": json_number(m.base_rate),
            "comision_premium": m.premium_rate.map(json_number),
            "minimo_pago": json_number(scaled(m.minimum_payout, &m.payout_currency)),
            "moneda": m.payout_currency,
        },
        "estado": affiliate_status(m.status),
        "fecha_registro": m.created_at,
        "fecha_actualizacion": m.updated_at,
    })
}
