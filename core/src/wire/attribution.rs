//! Seed 003 "Atribución": the events `ConversionAtribuida` (on `eventos-atribucion`) and
//! `AtribucionRevertida` (on `atribucion-revertida`), field for field.

use entity::conversions::{self, ConversionType};
use rust_decimal::Decimal;
use serde_json::json;
use uuid::Uuid;

use crate::domain::{
    envelope::{Envelope, Topic},
    money::json_number,
};

/// The seed's `tipo_conversion` of attribution events.
pub fn conversion_type(kind: ConversionType) -> &'static str {
    match kind {
        ConversionType::Sale => "PURCHASE",
        ConversionType::Lead => "LEAD",
        ConversionType::Signup => "SIGNUP",
        ConversionType::Other => "OTHER",
    }
}

/// `ConversionAtribuida`: what one campaign was credited of a conversion.
pub fn conversion_attributed(
    journey_id: Uuid,
    campaign_code: &str,
    conversion: &conversions::Model,
    amount: Decimal,
    affiliate: Option<Uuid>,
) -> Envelope {
    Envelope::raw(
        Topic::Attribution,
        "ConversionAtribuida",
        "journey",
        journey_id,
        json!({
            "id_interaccion_atribuida": journey_id,
            "id_campania": campaign_code,
            "tipo_conversion": conversion_type(conversion.conversion_type),
            "monto_atribuido": { "valor": json_number(amount), "moneda": conversion.currency },
            "id_interaccion_original": conversion.external_id.clone().unwrap_or_else(|| conversion.id.to_string()),
            "score_fraude": conversion.fraud_score,
        }),
    )
    .for_affiliate(affiliate)
}

/// `AtribucionRevertida`: the journey and its touches as `orden:<n>,campania:<code>`.
pub fn attribution_reverted(journey_id: Uuid, interactions: Vec<String>) -> Envelope {
    Envelope::raw(
        Topic::AttributionReverted,
        "AtribucionRevertida",
        "journey",
        journey_id,
        json!({ "journey_id_revertido": journey_id, "interacciones": interactions }),
    )
}
