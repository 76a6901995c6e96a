//! The seed events the services write to the outbox, in the seed 004 envelope (or, for
//! seeds 002 and 003, their own payload), field for field. A service gathers what an
//! event carries and writes it in its transaction; this module spells it. Beside each of
//! our ids (`afiliado_id`, `campana_id`, `conversion_id`) the envelope carries the name
//! the seeds knew it by (`afiliado_codigo`, `campana_codigo`, `conversion_id_externo`):
//! written here when the builder has it, by the outbox otherwise.

use chrono::{DateTime, Utc};
use entity::{
    affiliates, audit_log, campaigns,
    commissions::{self, CommissionStatus},
    conversions, interactions, orders,
    payouts::{self, PayoutStatus},
    tracking_links,
};
use rust_decimal::Decimal;
use serde_json::{json, Value};
use uuid::Uuid;

use super::names::*;
use crate::{
    domain::{
        envelope::{Envelope, Topic},
        money::{json_number, scaled},
        tracking::ConversionKind,
    },
    model::interactions::touch_kind,
};

/// The seed 004 affiliate event.
pub fn affiliate(model: &affiliates::Model, event_type: &'static str) -> Envelope {
    Envelope::new(
        Topic::Affiliates,
        event_type,
        "affiliate",
        model.id,
        &[("afiliado_id", json!(model.id)), ("afiliado_codigo", json!(model.code))],
        "datos_afiliado",
        json!({
            "codigo": model.code,
            "nombre": model.name,
            "email": model.email,
            "tipo_afiliado": affiliate_tier(model.tier),
            "estado": affiliate_status(model.status),
            "configuracion_comisiones": {
                "comision_base": json_number(model.base_rate),
                "comision_premium": model.premium_rate.map(json_number),
                "minimo_pago": json_number(model.minimum_payout),
                "moneda": model.payout_currency,
            },
        }),
    )
    .for_affiliate(Some(model.id))
}

/// Seed 004's `auditoria.eventos`: one event per audit row (who changed what, before and
/// after), for compliance consumers. Staff only: it names no affiliate.
pub fn audit_recorded(row: &audit_log::Model) -> Envelope {
    Envelope::new(
        Topic::Audit,
        "auditoria_registrada",
        "audit",
        row.id,
        &[
            ("auditoria_id", json!(row.id)),
            ("entidad_tipo", json!(row.entity_type)),
            ("entidad_id", json!(row.entity_id)),
        ],
        "datos_auditoria",
        json!({
            "accion": row.action,
            "actor_id": row.actor_id,
            "actor_rol": row.actor_role,
            "antes": row.before,
            "despues": row.after,
            "fecha": row.created_at.to_rfc3339(),
        }),
    )
}

/// `event` with its affiliate's and campaign's codes beside their ids, from a writer that
/// has them at hand (the ingest path), so that the outbox need not look them up.
pub fn named(
    mut event: Envelope,
    affiliate: Option<&affiliates::Model>,
    campaign: Option<&campaigns::Model>,
) -> Envelope {
    if let Value::Object(body) = &mut event.body {
        if body.contains_key("afiliado_id") {
            body.insert("afiliado_codigo".into(), json!(affiliate.map(|a| &a.code)));
        }
        if body.contains_key("campana_id") {
            body.insert("campana_codigo".into(), json!(campaign.map(|c| &c.code)));
        }
    }
    event
}

/// The seed 004 campaign event (`datos_campana` with the seed's field names).
pub fn campaign(model: &campaigns::Model, event_type: &'static str) -> Envelope {
    Envelope::new(
        Topic::Marketing,
        event_type,
        "campaign",
        model.id,
        &[("campana_id", json!(model.id)), ("campana_codigo", json!(model.code))],
        "datos_campana",
        json!({
            "codigo": model.code,
            "nombre": model.name,
            "descripcion": model.description,
            "fecha_inicio": model.starts_at,
            "fecha_fin": model.ends_at,
            "presupuesto": model.budget.map(json_number),
            "moneda": model.currency,
            "tipo_campana": model.campaign_type,
            "canales": model.channels,
            "segmentacion": model.targeting,
            "configuracion_comisiones": {
                "comision_conversion": model.conversion_rate.map(json_number),
                "comision_venta": model.sale_rate.map(json_number),
                "bonus_objetivos": model.bonus_targets.map(json_number),
            },
            "modelo_atribucion": model.attribution_model,
            "ventana_dias": model.lookback_days,
            "estado": campaign_status(model.status),
        }),
    )
}

/// `enlace_creado` on `marketing.eventos`: a tracking link of an affiliate for a campaign.
pub fn link_created(link: &tracking_links::Model, affiliate_id: Uuid, campaign_id: Uuid, url: &str) -> Envelope {
    Envelope::new(
        Topic::Marketing,
        "enlace_creado",
        "tracking_link",
        link.id,
        &[("enlace_id", json!(link.id)), ("afiliado_id", json!(affiliate_id)), ("campana_id", json!(campaign_id))],
        "datos_enlace",
        json!({ "codigo": link.code, "url_destino": link.destination_url, "url": url }),
    )
    .for_affiliate(Some(affiliate_id))
}

/// The seed 004 commission event.
pub fn commission(m: &commissions::Model, event_type: &'static str) -> Envelope {
    let mut data = json!({
        "monto_base": json_number(scaled(m.base_amount, &m.currency)),
        "monto_calculado": m.amount.map(|a| json_number(scaled(a, &m.currency))),
        "moneda": m.currency,
        "estado": commission_status(m.status),
        "tipo_comision": commission_kind(m.commission_type),
        "porcentaje": m.rate.map(json_number),
        "version": m.version,
    });
    if let Some(adjusts) = m.adjusts_commission_id {
        data["ajusta_comision_id"] = json!(adjusts);
    }
    if let Some(payout) = m.payout_id {
        data["pago_id"] = json!(payout);
    }
    if let Some(reason) = m.cancel_reason.as_ref().or(m.rejection_reason.as_ref()) {
        data["motivo"] = json!(reason);
    }
    if m.status == CommissionStatus::Approved {
        data["nivel_aprobacion"] = json!(m.approval_level);
        data["politica_aplicada"] = json!(m.approval_policy);
    }
    Envelope::new(
        Topic::Commissions,
        event_type,
        "commission",
        m.id,
        &[
            ("comision_id", json!(m.id)),
            ("afiliado_id", json!(m.affiliate_id)),
            ("campana_id", json!(m.campaign_id)),
            ("conversion_id", json!(m.conversion_id)),
        ],
        "datos_comision",
        data,
    )
    .for_affiliate(Some(m.affiliate_id))
}

pub fn payout(p: &payouts::Model, event_type: &'static str, members: &[commissions::Model]) -> Envelope {
    Envelope::new(
        Topic::Commissions,
        event_type,
        "payout",
        p.id,
        &[("pago_id", json!(p.id)), ("afiliado_id", json!(p.affiliate_id))],
        "datos_pago",
        json!({
            "monto": json_number(scaled(p.amount, &p.currency)),
            "moneda": p.currency,
            "estado": match p.status { PayoutStatus::Pending => "pendiente", PayoutStatus::Paid => "pagado", PayoutStatus::Canceled => "cancelado" },
            "comisiones": members.iter().map(|m| m.id).collect::<Vec<_>>(),
        }),
    )
    .for_affiliate(Some(p.affiliate_id))
}

/// An order event on `conversiones.eventos`, in the seed 004 envelope.
pub fn order(order: &orders::Model, event_type: &'static str) -> Envelope {
    Envelope::new(
        Topic::Conversions,
        event_type,
        "order",
        order.id,
        &[
            ("pedido_id", json!(order.id)),
            ("afiliado_id", json!(order.affiliate_id)),
            ("campana_id", json!(order.campaign_id)),
        ],
        "datos_pedido",
        json!({
            "stripe_session_id": order.stripe_session_id,
            "payment_intent_id": order.payment_intent_id,
            "monto": json_number(order.amount),
            "monto_reembolsado": json_number(order.refunded_amount),
            "moneda": order.currency,
            "estado": order_status(order.status),
            "gclid": order.gclid,
            "campaign": order.campaign,
            "source": order.source,
            "product_id": order.product_id,
        }),
    )
    .for_affiliate(order.affiliate_id)
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
            "tipo_conversion": attributed_conversion_type(conversion.conversion_type),
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

/// A seed 002 impression as its event (and the answer to it) carries it.
pub fn impression(
    external_id: &str,
    campaign_ref: &Option<String>,
    affiliate_ref: &Option<String>,
    user_id: &Option<String>,
    referrer: &Option<String>,
    occurred_at: DateTime<Utc>,
) -> Value {
    json!({
        "id": external_id,
        "campaña_id": campaign_ref,
        "influencer_id": affiliate_ref,
        "usuario_id": user_id,
        "tipo_evento": "IMPRESION",
        "referrer": referrer,
        "timestamp": occurred_at,
    })
}

/// Seed 002 `ImpresionRegistrada`, in the seed 004 envelope.
pub fn impression_recorded(m: &interactions::Model) -> Envelope {
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
        impression(&m.external_id, &m.campaign_ref, &m.affiliate_ref, &m.user_id, &m.referrer, m.occurred_at),
    )
    .for_affiliate(m.affiliate_id)
}

/// Seed 003 `InteraccionRegistrada`, field for field.
pub fn interaction_recorded(m: &interactions::Model) -> Envelope {
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

/// A conversion recorded, as both seeds publish it: seed 004's `conversion_registrada` on
/// `conversiones.eventos`, and seed 002's `ConversionRegistrada` on
/// `evento-conversion-registrada`.
pub fn conversion_recorded(m: &conversions::Model, kind: ConversionKind) -> [Envelope; 2] {
    [conversion_recorded_004(m, kind), conversion_recorded_002(m, kind)]
}

/// Seed 002 `ConversionRegistrada`, in the seed 004 envelope: the fields of the
/// conversion `POST /tracking/conversiones` takes.
fn conversion_recorded_002(m: &conversions::Model, kind: ConversionKind) -> Envelope {
    Envelope::new(
        Topic::ConversionRecorded,
        "conversion_registrada",
        "conversion",
        m.id,
        &[
            ("conversion_id", json!(m.external_id.clone().unwrap_or_else(|| m.id.to_string()))),
            ("conversion_id_externo", json!(m.external_id)),
            ("campana_id", json!(m.campaign_id)),
            ("afiliado_id", json!(m.affiliate_id)),
        ],
        "datos_conversion",
        json!({
            "id": m.external_id,
            "campaña_id": m.campaign_id,
            "influencer_id": m.affiliate_id,
            "usuario_id": m.user_id,
            "tipo_conversion": kind.seed_name(),
            "valor": json_number(m.value),
            "moneda": m.currency,
            "timestamp": m.occurred_at,
        }),
    )
    .for_affiliate(m.affiliate_id)
}

/// Seed 004 `conversion_validada` on `conversiones.eventos`: the conversion passed the
/// fraud checks (attributed, or released from review by a person).
pub fn conversion_validated(m: &conversions::Model) -> Envelope {
    conversion_outcome(m, "conversion_validada")
}

/// Seed 004 `conversion_procesada` on `conversiones.eventos`: its attribution is done,
/// whatever came of it (`estado`: ATRIBUIDA, NO_ATRIBUIDA, EN_REVISION).
pub fn conversion_processed(m: &conversions::Model) -> Envelope {
    conversion_outcome(m, "conversion_procesada")
}

fn conversion_outcome(m: &conversions::Model, event_type: &'static str) -> Envelope {
    use conversions::ConversionStatus as S;
    let status = match m.status {
        S::Attributed => "ATRIBUIDA",
        S::Unattributed => "NO_ATRIBUIDA",
        S::HeldForReview => "EN_REVISION",
        S::Registered => "REGISTRADA",
        S::Rejected => "RECHAZADA",
        S::Reverted => "REVERTIDA",
        S::Refunded => "REEMBOLSADA",
    };
    Envelope::new(
        Topic::Conversions,
        event_type,
        "conversion",
        m.id,
        &[
            ("conversion_id", json!(m.id)),
            ("conversion_id_externo", json!(m.external_id)),
            ("afiliado_id", json!(m.affiliate_id)),
            ("campana_id", json!(m.campaign_id)),
        ],
        "datos_conversion",
        json!({
            "estado": status,
            "puntuacion_fraude": m.fraud_score,
            "senales_fraude": m.fraud_signals,
            "valor_conversion": json_number(m.value),
            "moneda": m.currency,
        }),
    )
    .for_affiliate(m.affiliate_id)
}

/// Seed 004 `conversion_registrada` on `conversiones.eventos`.
fn conversion_recorded_004(m: &conversions::Model, kind: ConversionKind) -> Envelope {
    Envelope::new(
        Topic::Conversions,
        "conversion_registrada",
        "conversion",
        m.id,
        &[
            ("conversion_id", json!(m.id)),
            ("conversion_id_externo", json!(m.external_id)),
            ("afiliado_id", json!(m.affiliate_id)),
            ("campana_id", json!(m.campaign_id)),
        ],
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
