//! A refund: the order's refunded amount, the conversion's commissions cancelled or
//! shrunk, and the platforms told.

use super::*;

/// The refunded order's deliveries to the platforms that take refunds back.
pub(super) async fn refund_deliveries(
    txn: &DatabaseTransaction,
    charge: &Value,
    deliveries: &DeliveryPlan,
) -> AppResult<()> {
    let Some(intent) = text(charge, "payment_intent") else { return Ok(()) };
    if let Some(order) = orders::Entity::find().filter(orders::Column::PaymentIntentId.eq(&intent)).one(txn).await? {
        integration_service::enqueue(txn, deliveries, &order, DeliveryEventKind::Refund).await?;
    }
    Ok(())
}

/// `charge.refunded`: full or partial; the order and its conversion say so, and an event
/// tells the commissions side.
pub(super) async fn refund(txn: &DatabaseTransaction, charge: &Value) -> AppResult<Outcome> {
    let intent = text(charge, "payment_intent")
        .ok_or_else(|| AppError::validation("payment_intent", "charge without payment_intent"))?;
    let Some(order) = orders::Entity::find().filter(orders::Column::PaymentIntentId.eq(&intent)).one(txn).await? else {
        return Ok(Outcome::Ignored(format!("no order for payment_intent {intent}")));
    };
    let refunded_minor = charge["amount_refunded"]
        .as_i64()
        .ok_or_else(|| AppError::validation("amount_refunded", "charge without amount_refunded"))?;
    let currency = text(charge, "currency").unwrap_or_else(|| order.currency.clone());
    let (refunded, currency) = stripe::amount(refunded_minor, &currency, "amount_refunded")?;
    if currency.code() != order.currency {
        return Err(AppError::validation(
            "currency",
            format!("refund in {} for an order in {}", currency.code(), order.currency),
        ));
    }
    apply_refund(txn, order, refunded, ("reembolso total (Stripe)", "reembolso parcial (Stripe)")).await
}

/// The order refunded up to `refunded` in all (Stripe's figures are cumulative): the
/// order and its conversion say so, and its commissions are canceled or clawed back when
/// the refund is full, shrunk in proportion when partial. A figure already recorded is a
/// no-op.
pub(super) async fn apply_refund(
    txn: &DatabaseTransaction,
    order: orders::Model,
    refunded: Decimal,
    (full_reason, partial_reason): (&str, &str),
) -> AppResult<Outcome> {
    if refunded <= order.refunded_amount {
        return Ok(Outcome::Ignored(format!("refund of {refunded} already recorded")));
    }
    if refunded > order.amount {
        return Err(AppError::validation("amount_refunded", "refunded more than the order amount"));
    }
    let full = refunded == order.amount;
    let mut active: orders::ActiveModel = order.clone().into();
    active.refunded_amount = Set(refunded);
    active.status = Set(if full { OrderStatus::Refunded } else { OrderStatus::PartiallyRefunded });
    active.updated_at = Set(Utc::now().trunc_subsecs(6));
    let order = active.update(txn).await?;
    if full {
        conversions::Entity::update_many()
            .col_expr(conversions::Column::Status, sea_orm::sea_query::Expr::value(ConversionStatus::Refunded))
            .filter(conversions::Column::OrderId.eq(order.id))
            .exec(txn)
            .await?;
    }
    // The sale's commissions follow the refund in the same transaction: canceled or
    // clawed back when it is full, shrunk in proportion when it is partial.
    if let Some(conversion) =
        conversions::Entity::find().filter(conversions::Column::OrderId.eq(order.id)).one(txn).await?
    {
        if full {
            commission::reverse_for_conversion(txn, conversion.id, full_reason).await?;
        } else {
            let kept = order.amount - refunded;
            commission::adjust_for_refund(txn, conversion.id, kept, partial_reason).await?;
        }
    }
    outbox::record(txn, order_event(&order, "pedido_reembolsado")).await?;
    Ok(Outcome::Processed)
}
