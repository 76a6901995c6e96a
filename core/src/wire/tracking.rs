//! The seeds' wire formats of tracking: the Spanish bodies of seed 002 (impressions,
//! conversions) and seed 003 (interactions), how each becomes an ingest input, and the
//! answers the seeds expect. The REST routes and the bus consumer share them.

use crate::model::{conversions, interactions::Interaction};
use chrono::{DateTime, Utc};

use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{decimal, given, required};
use crate::{
    domain::{
        money::{json_number, scaled},
        tracking::{self as rules, ConversionKind, TouchKind},
    },
    error::{AppError, AppResult},
    service::tracking::{
        conversion_kind, touch_kind, Client, ConversionCommand, Fields, Ref, SessionInput, TouchCommand,
    },
};

/// How seed 002 (impressions and conversions of `/tracking/…`) names the fields.
pub const SEED_002: Fields = Fields {
    id: "id",
    occurred_at: "timestamp",
    campaign: "campaña_id",
    affiliate: "influencer_id",
    user_id: "usuario_id",
    anonymous_id: "id_anonimo",
    click_id: "click_id",
    channel: "canal",
    source: "fuente",
    medium: "medio",
    gclid: "gclid",
    fbclid: "fbclid",
    referrer: "referrer",
    user_agent: "user_agent",
    ip: "ip_address",
    email: "email",
    value: "valor",
    currency: "moneda",
    products: "productos",
    metadata: "metadatos",
};

/// How seed 003 (`InteraccionRegistrada`) names the fields.
pub const SEED_003: Fields = Fields {
    id: "id_interaccion",
    occurred_at: "marca_temporal",
    campaign: "parametros_tracking.campania",
    affiliate: "parametros_tracking.id_afiliado",
    user_id: "identidad_usuario.id_usuario",
    anonymous_id: "identidad_usuario.id_anonimo",
    source: "parametros_tracking.fuente",
    medium: "parametros_tracking.medio",
    gclid: "parametros_tracking.gclid",
    fbclid: "parametros_tracking.fbclid",
    ip: "ip",
    ..SEED_002
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
    /// The command this seed 002 impression is.
    pub fn into_command(self, client: Client) -> AppResult<TouchCommand> {
        if let Some(kind) = &self.tipo_evento {
            if TouchKind::parse(kind, "tipo_evento")? != TouchKind::Impression {
                return Err(AppError::validation("tipo_evento", "this route records impressions (IMPRESION)"));
            }
        }
        Ok(TouchCommand {
            id: Some(required(self.id, "id")?),
            occurred_at: self.timestamp,
            campaign: Some(Ref::Given { value: required(self.campaign, "campaña_id")?, field: "campaña_id" }),
            affiliate: given(self.influencer_id, "influencer_id"),
            user_id: self.usuario_id,
            anonymous_id: self.id_anonimo,
            referrer: self.referrer,
            user_agent: self.user_agent,
            ip: self.ip_address,
            client,
            ..TouchCommand::default()
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
    /// The command this seed 002 conversion is.
    pub fn into_command(self, client: Client) -> AppResult<ConversionCommand> {
        Ok(ConversionCommand {
            id: Some(required(self.id, "id")?),
            kind: Some(ConversionKind::parse(self.tipo_conversion.as_deref().unwrap_or("VENTA"), "tipo_conversion")?),
            value: self.valor,
            currency: Some(self.moneda),
            occurred_at: self.timestamp,
            campaign: Some(Ref::Given { value: required(self.campaign, "campaña_id")?, field: "campaña_id" }),
            affiliate: given(self.influencer_id, "influencer_id"),
            user_id: self.usuario_id,
            anonymous_id: self.id_anonimo,
            click_id: self.click_id,
            channel: self.canal,
            customer_email: self.email,
            referrer: self.referrer,
            user_agent: self.user_agent,
            ip: self.ip_address,
            client,
            ..ConversionCommand::default()
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

/// A seed 002 `RegistrarImpresion` command from the bus: the body `POST
/// /tracking/impresiones` takes (no browser behind it).
pub fn impression_from_command(body: Value) -> AppResult<TouchCommand> {
    let body: Impresion = serde_json::from_value(body)
        .map_err(|e| AppError::validation("body", format!("not a RegistrarImpresion: {e}")))?;
    body.into_command(Client::default())
}

/// A seed 002 `RegistrarConversion` command from the bus: the body `POST
/// /tracking/conversiones` takes.
pub fn conversion_from_command(body: Value) -> AppResult<ConversionCommand> {
    let body: Conversion = serde_json::from_value(body)
        .map_err(|e| AppError::validation("body", format!("not a RegistrarConversion: {e}")))?;
    body.into_command(Client::default())
}

/// A seed 003 `InteraccionRegistrada` from the bus (no browser behind it).
pub fn interaction_from_seed(body: Value) -> AppResult<(TouchKind, TouchCommand)> {
    let body: Interaccion = serde_json::from_value(body)
        .map_err(|e| AppError::validation("body", format!("not an InteraccionRegistrada: {e}")))?;
    body.into_command(Client::default())
}

impl Interaccion {
    /// The kind of touch and the command this seed 003 interaction is.
    pub fn into_command(self, client: Client) -> AppResult<(TouchKind, TouchCommand)> {
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
        let known = |v: &Option<String>| v.as_deref().is_some_and(|v| !v.trim().is_empty());
        if !known(&identity.id_usuario) && !known(&identity.id_anonimo) && client.anonymous_id.is_none() {
            return Err(AppError::validation("identidad_usuario", "id_usuario or id_anonimo is required"));
        }
        let command = TouchCommand {
            id: Some(required(self.id_interaccion, "id_interaccion")?),
            occurred_at,
            campaign: given(params.campania, "parametros_tracking.campania"),
            affiliate: given(params.id_afiliado, "parametros_tracking.id_afiliado"),
            user_id: identity.id_usuario,
            anonymous_id: identity.id_anonimo,
            source: params.fuente,
            medium: params.medio,
            gclid: params.gclid,
            fbclid: params.fbclid,
            referrer: self.referrer,
            user_agent: self.user_agent,
            client,
            ..TouchCommand::default()
        };
        Ok((kind, command))
    }
}

// ---- seed 001: tracking_event rows, for import ----

/// How seed 001's tables name the fields: a `tracking_event` row joined with its
/// `tracking_session` (the session's id, `event_id`, is who the visitor was).
pub const SEED_001: Fields = Fields {
    id: "id",
    occurred_at: "created_at",
    anonymous_id: "event_id",
    source: "utm_source",
    medium: "utm_medium",
    gclid: "gclid",
    fbclid: "fbclid",
    user_agent: "user_agent",
    value: "value",
    currency: "currency",
    metadata: "payload_json",
    ..Fields::PLAIN
};

/// A seed 001 `tracking_event` row with its session's columns, as the README's export
/// query writes it.
#[derive(Deserialize)]
pub struct TrackingEvent {
    pub id: Option<String>,
    pub event_id: Option<String>,
    pub event_type: String,
    pub created_at: String,
    pub currency: Option<String>,
    #[serde(default, deserialize_with = "super::optional_decimal")]
    pub value: Option<Decimal>,
    pub payload_json: Option<Value>,
    pub utm_source: Option<String>,
    pub utm_medium: Option<String>,
    pub utm_campaign: Option<String>,
    pub utm_term: Option<String>,
    pub utm_content: Option<String>,
    pub gclid: Option<String>,
    pub fbclid: Option<String>,
    pub landing_path: Option<String>,
    pub user_agent: Option<String>,
}

/// What a seed 001 event is here: a touch, or (a `purchase`) a conversion.
pub enum Seed001 {
    Touch(TouchKind, TouchCommand),
    Conversion(ConversionCommand),
}

/// A seed 001 `tracking_event` row (joined with its session) as a command.
pub fn tracking_event(body: Value) -> AppResult<Seed001> {
    let row: TrackingEvent = serde_json::from_value(body)
        .map_err(|e| AppError::validation("body", format!("not a tracking_event row: {e}")))?;
    let id = required(row.id, "id")?;
    let kind = TouchKind::parse(&row.event_type, "event_type")?;
    let occurred_at = Some(sql_time(&row.created_at, "created_at")?);
    // Seed 001 kept the payload as JSON text; a CSV cell or NDJSON may hold it either way.
    let payload = match row.payload_json {
        Some(Value::String(text)) if !text.trim().is_empty() => Some(
            serde_json::from_str::<Value>(&text)
                .map_err(|e| AppError::validation("payload_json", format!("payload_json is not JSON: {e}")))?,
        ),
        Some(Value::String(_) | Value::Null) | None => None,
        other => other,
    };
    let session = SessionInput {
        utm_source: row.utm_source.clone(),
        utm_medium: row.utm_medium.clone(),
        utm_campaign: row.utm_campaign,
        utm_term: row.utm_term,
        utm_content: row.utm_content,
        landing_path: row.landing_path,
    };
    if matches!(kind, TouchKind::Purchase | TouchKind::Conversion) {
        let mut metadata = match payload {
            Some(Value::Object(map)) => map,
            _ => serde_json::Map::new(),
        };
        for (key, value) in [
            ("utm_source", &session.utm_source),
            ("utm_medium", &session.utm_medium),
            ("utm_campaign", &session.utm_campaign),
            ("gclid", &row.gclid),
            ("fbclid", &row.fbclid),
        ] {
            if let Some(value) = value {
                metadata.entry(key).or_insert_with(|| json!(value));
            }
        }
        return Ok(Seed001::Conversion(ConversionCommand {
            id: Some(id),
            kind: Some(ConversionKind::Sale),
            value: row.value.ok_or_else(|| AppError::validation("value", "a purchase needs its value"))?,
            currency: Some(
                row.currency.ok_or_else(|| AppError::validation("currency", "a purchase needs its currency"))?,
            ),
            occurred_at,
            anonymous_id: row.event_id,
            metadata: Some(Value::Object(metadata)),
            user_agent: row.user_agent,
            ..ConversionCommand::default()
        }));
    }
    Ok(Seed001::Touch(
        kind,
        TouchCommand {
            id: Some(id),
            occurred_at,
            anonymous_id: row.event_id,
            source: session.utm_source.clone(),
            medium: session.utm_medium.clone(),
            gclid: row.gclid,
            fbclid: row.fbclid,
            user_agent: row.user_agent,
            // A click opened the visit: it carries the session's landing and UTM.
            session: (kind == TouchKind::Click).then_some(session),
            ..TouchCommand::default()
        },
    ))
}

/// A time as SQL exports write it: RFC 3339, or `YYYY-MM-DD HH:MM:SS[.f]` taken as UTC.
pub(crate) fn sql_time(text: &str, field: &str) -> AppResult<DateTime<Utc>> {
    let text = text.trim();
    let zoned =
        DateTime::parse_from_rfc3339(text).or_else(|_| DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f%#z"));
    if let Ok(time) = zoned {
        return Ok(time.with_timezone(&Utc));
    }
    ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"]
        .iter()
        .find_map(|format| chrono::NaiveDateTime::parse_from_str(text, format).ok())
        .or_else(|| chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0)))
        .map(|t| t.and_utc())
        .ok_or_else(|| {
            AppError::validation(
                field,
                format!("{field}: '{text}' is not a time (RFC 3339, YYYY-MM-DD HH:MM:SS or YYYY-MM-DD)"),
            )
        })
}

// ---- answers ----

/// The answer to an impression: the impression, our id, its flags and state.
pub fn impression_view(m: &Interaction) -> Value {
    let mut view = super::events::impression(
        &m.external_id,
        &m.campaign_ref,
        &m.affiliate_ref,
        &m.user_id,
        &m.referrer,
        m.occurred_at,
    );
    view["impresion_id"] = json!(m.id);
    view["flags"] = m.flags.clone();
    view["estado"] = json!("registrada");
    view
}

pub fn conversion_view(m: &conversions::Conversion) -> Value {
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

pub fn interaction_view(m: &Interaction) -> Value {
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

// ---- events ----

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql_export_times_are_utc() {
        let at = |text: &str| sql_time(text, "created_at").map(|t| t.to_rfc3339()).ok();
        let expected = Some("2024-01-15T10:30:00+00:00".to_string());
        for text in ["2024-01-15T10:30:00Z", "2024-01-15 10:30:00", "2024-01-15 10:30:00.000", "2024-01-15 12:30:00+02"]
        {
            assert_eq!(at(text), expected, "{text}");
        }
        assert_eq!(at("15/01/2024"), None);
    }

    #[test]
    fn a_seed_001_purchase_is_a_conversion_and_a_click_opens_a_session() {
        let row = |kind: &str| {
            json!({
                "id": "te-1", "event_id": "s-1", "event_type": kind, "created_at": "2024-01-15 10:00:00",
                "currency": "USD", "value": "49.90", "payload_json": "{\"product_id\": \"p-1\"}",
                "utm_source": "google", "utm_campaign": "LANZAMIENTO_2024", "gclid": "G-1", "landing_path": "/l"
            })
        };
        match tracking_event(row("purchase")) {
            Ok(Seed001::Conversion(c)) => {
                assert_eq!(
                    (c.id.as_deref(), c.value, c.currency.as_deref()),
                    (Some("te-1"), Decimal::new(4990, 2), Some("USD"))
                );
                assert_eq!(c.anonymous_id.as_deref(), Some("s-1"));
                let metadata = c.metadata.unwrap_or_default();
                assert_eq!((metadata["product_id"].as_str(), metadata["gclid"].as_str()), (Some("p-1"), Some("G-1")));
                assert_eq!(metadata["utm_campaign"], "LANZAMIENTO_2024");
            }
            _ => panic!("a purchase is a conversion"),
        }
        match tracking_event(row("click")) {
            Ok(Seed001::Touch(TouchKind::Click, t)) => {
                assert_eq!(t.session.and_then(|s| s.landing_path).as_deref(), Some("/l"));
                assert_eq!(t.gclid.as_deref(), Some("G-1"));
            }
            _ => panic!("a click is a touch"),
        }
        assert!(
            matches!(tracking_event(row("page_view")), Ok(Seed001::Touch(TouchKind::View, t)) if t.session.is_none())
        );
        assert!(tracking_event(row("checkout_started")).is_err());
        let mut no_value = row("purchase");
        no_value["value"] = Value::Null;
        assert!(tracking_event(no_value).is_err());
    }
}
