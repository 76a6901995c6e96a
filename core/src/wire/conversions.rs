//! Seed 004 "Servicio Conversiones": the body of `POST /api/v1/conversiones`, the
//! conversion as the seed answers it, and the seed's names of conversion states.

use crate::model::conversions::{Conversion, ConversionStatus};
use crate::service::codes::Codes;
use chrono::{DateTime, SecondsFormat, Utc};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{json, Value};

use super::given;
use super::names::*;
use crate::{
    domain::{
        money::{json_number, scaled},
        tracking::ConversionKind,
    },
    error::{AppError, AppResult},
    service::tracking::{conversion_kind, ConversionCommand, Fields},
};

/// How seed 004 names the fields of a conversion.
pub const SEED_004: Fields = Fields {
    id: "id",
    occurred_at: "fecha_conversion",
    campaign: "campana_id",
    affiliate: "afiliado_id",
    user_id: "id_usuario",
    anonymous_id: "id_anonimo",
    click_id: "click_id",
    channel: "canal_origen",
    source: "metadatos.utm_source",
    medium: "metadatos.utm_medium",
    gclid: "gclid",
    fbclid: "fbclid",
    referrer: "referrer",
    user_agent: "user_agent",
    ip: "ip",
    email: "datos_cliente.email",
    value: "valor_conversion",
    currency: "moneda",
    products: "productos",
    metadata: "metadatos",
};

#[derive(Deserialize)]
pub struct DatosCliente {
    pub email: Option<String>,
    #[serde(flatten)]
    pub rest: serde_json::Map<String, Value>,
}

#[derive(Deserialize)]
pub struct Registrar {
    /// The caller's id for this conversion: a repeat with the same id is stored once.
    pub id: Option<String>,
    pub afiliado_id: Option<String>,
    pub campana_id: Option<String>,
    pub tipo_conversion: Option<String>,
    #[serde(deserialize_with = "super::decimal")]
    pub valor_conversion: Decimal,
    /// Without it, the programme's currency.
    pub moneda: Option<String>,
    pub canal_origen: Option<String>,
    pub datos_cliente: Option<DatosCliente>,
    pub productos: Option<Value>,
    pub metadatos: Option<Value>,
    pub id_usuario: Option<String>,
    pub id_anonimo: Option<String>,
    pub click_id: Option<String>,
    pub fecha_conversion: Option<DateTime<Utc>>,
}

impl Registrar {
    /// The command this seed 004 body is. The UTM parameters the seed sends in
    /// `metadatos` are kept beside them; the customer's email only as its hash.
    pub fn into_command(self) -> AppResult<ConversionCommand> {
        let cliente = self.datos_cliente.unwrap_or(DatosCliente { email: None, rest: Default::default() });
        let metadata = self.metadatos.unwrap_or_else(|| json!({}));
        let utm = |key: &str| metadata.get(key).and_then(Value::as_str).map(str::to_owned);
        Ok(ConversionCommand {
            id: self.id,
            kind: Some(ConversionKind::parse(self.tipo_conversion.as_deref().unwrap_or("venta"), "tipo_conversion")?),
            value: self.valor_conversion,
            currency: self.moneda,
            occurred_at: self.fecha_conversion,
            campaign: given(self.campana_id, "campana_id"),
            affiliate: given(self.afiliado_id, "afiliado_id"),
            user_id: self.id_usuario,
            anonymous_id: self.id_anonimo,
            click_id: self.click_id,
            channel: self.canal_origen,
            customer_email: cliente.email,
            customer: Some(Value::Object(cliente.rest)),
            products: self.productos,
            metadata: Some(json!({
                "utm_source": utm("utm_source"),
                "utm_medium": utm("utm_medium"),
                "utm_campaign": utm("utm_campaign"),
                "metadatos": metadata,
            })),
            ..ConversionCommand::default()
        })
    }
}

/// Seed 004's answer: `conversion_id`, `afiliado_id`, `campana_id`, `estado`, `valor_conversion`,
/// `fecha_conversion`; beside our ids, the client's (`id`) and the affiliate's and campaign's codes.
pub fn view(m: &Conversion, codes: &Codes) -> Value {
    json!({
        "conversion_id": m.id,
        "id": m.external_id,
        "afiliado_id": m.affiliate_id,
        "afiliado_codigo": codes.affiliate(m.affiliate_id),
        "campana_id": m.campaign_id,
        "campana_codigo": codes.campaign(m.campaign_id),
        "tipo_conversion": conversion_kind(m.conversion_type).seed_name(),
        "estado": conversion_status(m.status),
        "valor_conversion": json_number(scaled(m.value, &m.currency)),
        "moneda": m.currency,
        "canal_origen": m.channel,
        "productos": m.products,
        "score_fraude": m.fraud_score,
        "fecha_conversion": m.occurred_at.to_rfc3339_opts(SecondsFormat::Secs, true),
    })
}

pub fn parse_status(value: &str) -> Result<ConversionStatus, AppError> {
    let all = [
        ConversionStatus::Registered,
        ConversionStatus::Attributed,
        ConversionStatus::Unattributed,
        ConversionStatus::HeldForReview,
        ConversionStatus::Reverted,
        ConversionStatus::Refunded,
        ConversionStatus::Rejected,
    ];
    all.into_iter().find(|s| conversion_status(*s).eq_ignore_ascii_case(value.trim())).ok_or_else(|| {
        AppError::validation(
            "estado",
            "estado must be one of registrada, atribuida, sin_atribuir, en_revision, revertida, reembolsada, rechazada",
        )
    })
}
