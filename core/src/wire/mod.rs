//! The seeds' wire formats (Spanish field names, as outside systems send and expect them),
//! kept in one place, in two layers so that nothing depends on itself:
//!
//! - below the services, `names` (the seed names of our states and kinds) and `events`
//!   (the envelopes the services write to the outbox): they see only the records;
//! - above them, one module per seed service (`tracking`, `conversions`, `affiliates`,
//!   `campaigns`, `commissions`): the request bodies, how each becomes a service input, and
//!   the answers the seeds expect. The REST routes and the bus consumer use these.
//!
//! (The commission CSV export, a rendering of these names, is the http layer's.)

pub mod affiliates;
pub mod campaigns;
pub mod commissions;
pub mod conversions;
pub mod events;
pub mod names;
pub mod tracking;

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer};

use crate::{
    error::{AppError, AppResult},
    service::tracking::Ref,
};

/// A field a seed body must carry: present and not blank. Its format is checked by the
/// service that records it.
pub fn required(value: Option<String>, field: &str) -> AppResult<String> {
    match value {
        Some(value) if !value.trim().is_empty() => Ok(value),
        _ => Err(AppError::validation(field, format!("{field} is required"))),
    }
}

/// A campaign or affiliate as the body names it (id or code).
pub fn given(value: Option<String>, field: &'static str) -> Option<Ref> {
    value.map(|value| Ref::Given { value, field })
}

/// Money and rates as the seeds send them: JSON numbers (`15.0`) or strings, read
/// exactly from their text, never through a float.
pub fn decimal<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Decimal, D::Error> {
    let value = serde_json::Value::deserialize(deserializer)?;
    parse_decimal(&value).ok_or_else(|| serde::de::Error::custom(format!("expected a decimal number, got {value}")))
}

pub fn optional_decimal<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Decimal>, D::Error> {
    let value = serde_json::Value::deserialize(deserializer)?;
    if value.is_null() {
        return Ok(None);
    }
    parse_decimal(&value)
        .map(Some)
        .ok_or_else(|| serde::de::Error::custom(format!("expected a decimal number, got {value}")))
}

fn parse_decimal(value: &serde_json::Value) -> Option<Decimal> {
    use std::str::FromStr;
    match value {
        serde_json::Value::Number(n) => {
            let text = n.to_string();
            Decimal::from_str(&text).or_else(|_| Decimal::from_scientific(&text)).ok()
        }
        serde_json::Value::String(s) => Decimal::from_str(s.trim()).ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_read_from_their_text() {
        let cases = [("15.0", "15.0"), ("0.1", "0.1"), ("\"250000.00\"", "250000.00"), ("1e2", "100")];
        for (json, expected) in cases {
            let value: serde_json::Value = serde_json::from_str(json).unwrap_or_default();
            assert_eq!(
                parse_decimal(&value).map(|d| d.normalize().to_string()),
                Some(expected.parse::<Decimal>().map(|d| d.normalize().to_string()).unwrap_or_default()),
                "{json}"
            );
        }
        assert_eq!(parse_decimal(&serde_json::json!("abc")), None);
        assert_eq!(parse_decimal(&serde_json::json!(true)), None);
    }

    /// Seed bodies as any client may send them: the seeds' own field names with any JSON
    /// under them (numbers of any size, text, nesting). Reading and turning them into
    /// commands never panics.
    mod generated {
        use proptest::prelude::*;
        use serde_json::Value;

        use crate::service::tracking::Client;

        const FIELDS: &[&str] = &[
            "id",
            "nombre",
            "email",
            "telefono",
            "documento",
            "tipo",
            "numero",
            "tipo_afiliado",
            "datos_bancarios",
            "banco",
            "tipo_cuenta",
            "numero_cuenta",
            "configuracion_comisiones",
            "comision_base",
            "comision_premium",
            "minimo_pago",
            "moneda",
            "codigo",
            "afiliado_id",
            "campana_id",
            "campaña_id",
            "conversion_id",
            "fecha_inicio",
            "fecha_fin",
            "presupuesto",
            "tipo_campana",
            "canales",
            "segmentacion",
            "comision_conversion",
            "comision_venta",
            "bonus_objetivos",
            "modelo_atribucion",
            "ventana_dias",
            "monto_base",
            "valor",
            "tipo_comision",
            "porcentaje",
            "configuracion",
            "influencer_id",
            "usuario_id",
            "id_anonimo",
            "tipo_evento",
            "tipo_conversion",
            "timestamp",
            "user_agent",
            "referrer",
            "ip_address",
            "id_interaccion",
            "marca_temporal",
            "identidad_usuario",
            "id_usuario",
            "parametros_tracking",
            "fuente",
            "medio",
            "campania",
            "id_afiliado",
            "datos_cliente",
            "metadatos",
            "productos",
            "estado",
        ];

        fn json() -> impl Strategy<Value = Value> {
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::from),
                any::<i64>().prop_map(Value::from),
                any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
                ".{0,24}".prop_map(Value::from),
                prop::sample::select(vec!["2026-11-23T10:30:00Z", "COP", "USD", "VENTA", "CLICK", "premium", "1e308"])
                    .prop_map(Value::from),
            ];
            leaf.prop_recursive(3, 40, 8, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                    prop::collection::vec((prop::sample::select(FIELDS), inner), 0..10)
                        .prop_map(|pairs| Value::Object(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())),
                ]
            })
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 3_000, ..ProptestConfig::default() })]

            #[test]
            fn seed_bodies_never_panic(body in json()) {
                if let Ok(b) = serde_json::from_value::<super::super::affiliates::CrearAfiliado>(body.clone()) {
                    let _ = b.into_input();
                }
                if let Ok(b) = serde_json::from_value::<super::super::campaigns::CrearCampana>(body.clone()) {
                    let _ = b.into_input();
                }
                if let Ok(b) = serde_json::from_value::<super::super::commissions::CrearComision>(body.clone()) {
                    let _ = b.into_input();
                }
                if let Ok(b) = serde_json::from_value::<super::super::conversions::Registrar>(body.clone()) {
                    let _ = b.into_command();
                }
                if let Ok(b) = serde_json::from_value::<super::super::tracking::Impresion>(body.clone()) {
                    let _ = b.into_command(Client::default());
                }
                if let Ok(b) = serde_json::from_value::<super::super::tracking::Conversion>(body.clone()) {
                    let _ = b.into_command(Client::default());
                }
                if let Ok(b) = serde_json::from_value::<super::super::tracking::Interaccion>(body) {
                    let _ = b.into_command(Client::default());
                }
            }
        }
    }
}
