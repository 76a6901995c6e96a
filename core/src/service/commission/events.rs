//! Recording a commission's creation, and the audit views of commissions (the events
//! themselves are seed formats: `wire::events`).

use super::*;

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
