//! Stripe orders (seeds 000 and 001) as the seeds publish them: the order event of
//! `conversiones.eventos` and the seed's names of order states.

use entity::orders::{self, OrderStatus};
use serde_json::json;

use crate::domain::{
    envelope::{Envelope, Topic},
    money::json_number,
};

/// The seed's name of an order state.
pub fn order_status_name(status: OrderStatus) -> &'static str {
    match status {
        OrderStatus::Pending => "pendiente",
        OrderStatus::Paid => "pagado",
        OrderStatus::PartiallyRefunded => "reembolsado_parcial",
        OrderStatus::Refunded => "reembolsado",
        OrderStatus::Expired => "expirado",
        OrderStatus::Failed => "fallido",
    }
}

/// An order event on `conversiones.eventos`, in the seed 004 envelope.
pub fn order_event(order: &orders::Model, event_type: &'static str) -> Envelope {
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
            "estado": order_status_name(order.status),
            "gclid": order.gclid,
            "campaign": order.campaign,
            "source": order.source,
            "product_id": order.product_id,
        }),
    )
    .for_affiliate(order.affiliate_id)
}
