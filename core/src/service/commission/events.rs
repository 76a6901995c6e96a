//! The seed 004 events and audit views of commissions and payouts.

use super::*;
use crate::wire::commissions::{status_name, type_name};

pub(super) async fn record_created<C: ConnectionTrait>(
    conn: &C,
    caller: &Caller,
    model: &commissions::Model,
) -> AppResult<()> {
    outbox::record(conn, event(model, "comision_creada")).await?;
    audit::record(
        conn,
        caller,
        audit::Change {
            action: "commission.create",
            entity_type: "commission",
            entity_id: model.id.to_string(),
            before: None,
            after: Some(audit_view(model)),
        },
    )
    .await
}

/// The seed 004 commission event.
pub fn event(m: &commissions::Model, event_type: &'static str) -> Envelope {
    let mut data = json!({
        "monto_base": json_number(scaled(m.base_amount, &m.currency)),
        "monto_calculado": m.amount.map(|a| json_number(scaled(a, &m.currency))),
        "moneda": m.currency,
        "estado": status_name(m.status),
        "tipo_comision": type_name(m.commission_type),
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

pub(super) fn payout_event(p: &payouts::Model, event_type: &'static str, members: &[commissions::Model]) -> Envelope {
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

/// What the audit log keeps of a commission: who/when are the audit row's own columns;
/// this is the from/to.
pub(super) fn audit_view(m: &commissions::Model) -> Value {
    json!({
        "status": lifecycle_status(m.status).name(),
        "amount": m.amount.map(|a| a.to_string()),
        "baseAmount": m.base_amount.to_string(),
        "rate": m.rate.map(|r| r.to_string()),
        "currency": m.currency,
        "payoutId": m.payout_id,
        "version": m.version,
        "approvalLevel": m.approval_level,
        "approvalPolicy": m.approval_policy,
        "reason": m.cancel_reason.as_ref().or(m.rejection_reason.as_ref()),
    })
}
