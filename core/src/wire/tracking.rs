//! The seeds' wire formats of tracking: the Spanish bodies of seed 002 (impressions,
//! conversions) and seed 003 (interactions), how each becomes an ingest input, and the
//! answers the seeds expect. The REST routes and the bus consumer share them.

use chrono::{DateTime, Utc};
use entity::{conversions, interactions};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{decimal, given, required_id, text, when};
use crate::{
    domain::{
        money::{json_number, scaled},
        tracking::{self as rules, ConversionKind, TouchKind},
        validate,
    },
    error::{AppError, AppResult},
    service::tracking::{conversion_kind, touch_kind, Client, ConversionInput, TouchEvent, TouchInput},
};

// ---- seed 002: impressions ----

#[derive(Deserialize)]
pub struct Impresion {
    pub id: Option<String>,
    #[serde(alias = "campana_id")]
    #[serde(rename = "campaña_id")]
    pub campaign: Option<String>,
    pub influencer_id: Option<String>,
    pub usuario_id: Option<String>,
    pub id_anonimo: Option<String>,
    pub tipo_evento: Option<String>,
    pub user_agent: Option<String>,
    pub ip_address: Option<String>,
    pub referrer: Option<String>,
    pub timestamp: Option<DateTime<Utc>>,
}

impl Impresion {
    /// The touch this seed 002 impression records.
    pub fn into_input(self, client: Client) -> AppResult<TouchInput> {
        if let Some(kind) = &self.tipo_evento {
            if TouchKind::parse(kind, "tipo_evento")? != TouchKind::Impression {
                return Err(AppError::validation("tipo_evento", "this route records impressions (IMPRESION)"));
            }
        }
        Ok(TouchInput {
            external_id: Some(required_id(self.id, "id")?),
            kind: TouchKind::Impression,
            occurred_at: when(self.timestamp, "timestamp")?,
            campaign: Some(
                given(self.campaign, "campaña_id")?
                    .ok_or_else(|| AppError::validation("campaña_id", "campaña_id is required"))?,
            ),
            affiliate: given(self.influencer_id, "influencer_id")?,
            tracking_link_id: None,
            user_id: rules::identifier(self.usuario_id.as_deref(), "usuario_id")?,
            anonymous_id: rules::identifier(self.id_anonimo.as_deref(), "id_anonimo")?.or(client.anonymous_id),
            source: None,
            medium: None,
            gclid: None,
            fbclid: None,
            referrer: text(self.referrer, "referrer", 2048)?,
            user_agent: text(self.user_agent, "user_agent", 512)?.or(client.user_agent),
            ip: text(self.ip_address, "ip_address", 64)?.or(client.ip),
            session: None,
            flags: Vec::new(),
            event: TouchEvent::Impression,
        })
    }
}

// ---- seed 002: conversions ----

#[derive(Deserialize)]
pub struct Conversion {
    pub id: Option<String>,
    #[serde(alias = "campana_id")]
    #[serde(rename = "campaña_id")]
    pub campaign: Option<String>,
    pub influencer_id: Option<String>,
    pub usuario_id: Option<String>,
    pub id_anonimo: Option<String>,
    pub click_id: Option<String>,
    pub tipo_conversion: Option<String>,
    #[serde(deserialize_with = "decimal")]
    pub valor: Decimal,
    pub moneda: String,
    pub canal: Option<String>,
    pub email: Option<String>,
    pub user_agent: Option<String>,
    pub ip_address: Option<String>,
    pub referrer: Option<String>,
    pub timestamp: Option<DateTime<Utc>>,
}

impl Conversion {
    /// The conversion this seed 002 body records.
    pub fn into_input(self, client: Client) -> AppResult<ConversionInput> {
        let kind = ConversionKind::parse(self.tipo_conversion.as_deref().unwrap_or("VENTA"), "tipo_conversion")?;
        let email = self.email.as_deref().map(validate::email).transpose()?;
        Ok(ConversionInput {
            external_id: Some(required_id(self.id, "id")?),
            kind,
            value: self.valor,
            currency: self.moneda,
            occurred_at: when(self.timestamp, "timestamp")?,
            campaign: Some(
                given(self.campaign, "campaña_id")?
                    .ok_or_else(|| AppError::validation("campaña_id", "campaña_id is required"))?,
            ),
            affiliate: given(self.influencer_id, "influencer_id")?,
            user_id: rules::identifier(self.usuario_id.as_deref(), "usuario_id")?,
            anonymous_id: rules::identifier(self.id_anonimo.as_deref(), "id_anonimo")?.or(client.anonymous_id),
            click_id: rules::identifier(self.click_id.as_deref(), "click_id")?.or(client.click_id),
            channel: rules::identifier(self.canal.as_deref(), "canal")?,
            customer_email: email,
            customer: json!({}),
            products: json!([]),
            metadata: json!({}),
            referrer: text(self.referrer, "referrer", 2048)?,
            user_agent: text(self.user_agent, "user_agent", 512)?.or(client.user_agent),
            ip: text(self.ip_address, "ip_address", 64)?.or(client.ip),
        })
    }
}

// ---- seed 003: interactions ----

#[derive(Deserialize)]
pub struct Identidad {
    pub id_usuario: Option<String>,
    pub id_anonimo: Option<String>,
}

#[derive(Deserialize)]
pub struct Parametros {
    pub fuente: Option<String>,
    pub medio: Option<String>,
    pub campania: Option<String>,
    pub id_afiliado: Option<String>,
    pub gclid: Option<String>,
    pub fbclid: Option<String>,
}

#[derive(Deserialize)]
pub struct Interaccion {
    pub id_interaccion: Option<String>,
    pub tipo: String,
    pub marca_temporal: Option<i64>,
    pub identidad_usuario: Option<Identidad>,
    pub parametros_tracking: Option<Parametros>,
    pub referrer: Option<String>,
    pub user_agent: Option<String>,
}

/// A seed 003 `InteraccionRegistrada` from the bus (no browser behind it).
pub fn interaction_from_seed(body: Value) -> AppResult<TouchInput> {
    let body: Interaccion = serde_json::from_value(body)
        .map_err(|e| AppError::validation("body", format!("not an InteraccionRegistrada: {e}")))?;
    body.into_input(Client::default())
}

impl Interaccion {
    /// The touch this seed 003 interaction records.
    pub fn into_input(self, client: Client) -> AppResult<TouchInput> {
        let kind = TouchKind::parse(&self.tipo, "tipo")?;
        let occurred_at = match self.marca_temporal {
            Some(ms) => Some(rules::from_millis(ms, "marca_temporal")?),
            None => None,
        };
        let identity = self.identidad_usuario.unwrap_or(Identidad { id_usuario: None, id_anonimo: None });
        let params = self.parametros_tracking.unwrap_or(Parametros {
            fuente: None,
            medio: None,
            campania: None,
            id_afiliado: None,
            gclid: None,
            fbclid: None,
        });
        let user_id = rules::identifier(identity.id_usuario.as_deref(), "identidad_usuario.id_usuario")?;
        let anonymous_id =
            rules::identifier(identity.id_anonimo.as_deref(), "identidad_usuario.id_anonimo")?.or(client.anonymous_id);
        if user_id.is_none() && anonymous_id.is_none() {
            return Err(AppError::validation("identidad_usuario", "id_usuario or id_anonimo is required"));
        }
        Ok(TouchInput {
            external_id: Some(required_id(self.id_interaccion, "id_interaccion")?),
            kind,
            occurred_at: when(occurred_at, "marca_temporal")?,
            campaign: given(params.campania, "parametros_tracking.campania")?,
            affiliate: given(params.id_afiliado, "parametros_tracking.id_afiliado")?,
            tracking_link_id: None,
            user_id,
            anonymous_id,
            source: text(params.fuente, "parametros_tracking.fuente", 255)?,
            medium: text(params.medio, "parametros_tracking.medio", 255)?,
            gclid: text(params.gclid, "parametros_tracking.gclid", 255)?,
            fbclid: text(params.fbclid, "parametros_tracking.fbclid", 255)?,
            referrer: text(self.referrer, "referrer", 2048)?,
            user_agent: text(self.user_agent, "user_agent", 512)?.or(client.user_agent),
            ip: client.ip,
            session: None,
            flags: Vec::new(),
            event: TouchEvent::Interaction,
        })
    }
}

// ---- answers ----

pub fn impression_view(m: &interactions::Model) -> Value {
    json!({
        "id": m.external_id,
        "impresion_id": m.id,
        "campaña_id": m.campaign_ref,
        "influencer_id": m.affiliate_ref,
        "usuario_id": m.user_id,
        "tipo_evento": "IMPRESION",
        "referrer": m.referrer,
        "timestamp": m.occurred_at,
        "flags": m.flags,
        "estado": "registrada",
    })
}

pub fn conversion_view(m: &conversions::Model) -> Value {
    let refs = &m.metadata["refs"];
    json!({
        "id": m.external_id,
        "conversion_id": m.id,
        "campaña_id": refs["campaign"],
        "influencer_id": refs["affiliate"],
        "usuario_id": m.user_id,
        "tipo_conversion": conversion_kind(m.conversion_type).seed_name().to_uppercase(),
        "valor": json_number(scaled(m.value, &m.currency)),
        "moneda": m.currency,
        "timestamp": m.occurred_at,
        "estado": "registrada",
    })
}

pub fn interaction_view(m: &interactions::Model) -> Value {
    json!({
        "id_interaccion": m.external_id,
        "interaccion_id": m.id,
        "tipo": touch_kind(m.kind).seed_name(),
        "marca_temporal": m.occurred_at.timestamp_millis(),
        "identidad_usuario": { "id_usuario": m.user_id, "id_anonimo": m.anonymous_id },
        "parametros_tracking": { "fuente": m.source, "medio": m.medium, "campania": m.campaign_ref, "id_afiliado": m.affiliate_ref },
        "canal": m.channel,
        "estado": "registrada",
    })
}
