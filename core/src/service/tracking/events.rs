//! The seed events of tracking (`interaccion-registrada`, `conversiones.eventos`).

use super::*;

/// Seed 002 `ImpresionRegistrada`, in the seed 004 envelope.
pub(super) fn impression_event(m: &interactions::Model) -> Envelope {
    Envelope::new(
        Topic::ImpressionRecorded,
        "impresion_registrada",
        "interaction",
        m.id,
        &[
            ("impresion_id", json!(m.external_id)),
            ("campana_id", json!(m.campaign_id)),
            ("afiliado_id", json!(m.affiliate_id)),
        ],
        "datos_impresion",
        json!({
            "id": m.external_id,
            "campaña_id": m.campaign_ref,
            "influencer_id": m.affiliate_ref,
            "usuario_id": m.user_id,
            "tipo_evento": "IMPRESION",
            "referrer": m.referrer,
            "timestamp": m.occurred_at,
        }),
    )
    .for_affiliate(m.affiliate_id)
}

/// Seed 003 `InteraccionRegistrada`, field for field.
pub fn interaction_event(m: &interactions::Model) -> Envelope {
    Envelope::raw(
        Topic::InteractionRecorded,
        "interaccion_registrada",
        "interaction",
        m.id,
        json!({
            "id_interaccion": m.external_id,
            "tipo": touch_kind(m.kind).seed_name(),
            "marca_temporal": m.occurred_at.timestamp_millis(),
            "identidad_usuario": { "id_usuario": m.user_id, "id_anonimo": m.anonymous_id },
            "parametros_tracking": {
                "fuente": m.source,
                "medio": m.medium,
                "campania": m.campaign_ref,
                "id_afiliado": m.affiliate_ref,
            },
        }),
    )
    .for_affiliate(m.affiliate_id)
}

/// Seed 004 `conversion_registrada` on `conversiones.eventos`.
pub(crate) fn conversion_event(m: &conversions::Model, kind: ConversionKind) -> Envelope {
    Envelope::new(
        Topic::Conversions,
        "conversion_registrada",
        "conversion",
        m.id,
        &[("conversion_id", json!(m.id)), ("afiliado_id", json!(m.affiliate_id)), ("campana_id", json!(m.campaign_id))],
        "datos_conversion",
        json!({
            "tipo_conversion": kind.seed_name(),
            "valor_conversion": json_number(m.value),
            "moneda": m.currency,
            "canal_origen": m.channel,
        }),
    )
    .for_affiliate(m.affiliate_id)
}
