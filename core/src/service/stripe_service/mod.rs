//! Stripe webhook events → orders → conversions, exactly once (seeds 000 and 001).
//!
//! The event id goes into `stripe_webhook_events` in the same transaction as the
//! event's effects: a repeat delivery finds it and changes nothing; two concurrent
//! deliveries meet on its primary key and only one of them acts.

use chrono::{SubsecRound, Utc};
use entity::{
    affiliates::{self, AffiliateStatus},
    campaigns,
    conversions::{self, ConversionStatus, ConversionType},
    integration_deliveries::DeliveryEventKind,
    interactions, lead_sales,
    orders::{self, OrderStatus},
    stripe_webhook_events::{self, WebhookEventStatus},
};
use rust_decimal::Decimal;
use sea_orm::{
    sea_query::OnConflict, ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection,
    DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde_json::{json, Value};
use uuid::Uuid;

use super::{
    commission,
    coupon_service::{self, CouponPriority},
    integration_service, outbox, Page, PageRequest,
};
use crate::{
    auth::Caller,
    context::Ctx,
    db,
    domain::{
        money::json_number,
        pii, stripe,
        tracking::{self as rules, ConversionKind},
    },
    error::{AppError, AppResult},
    integrations::DeliveryPlan,
    model::{orders::Order, stripe_webhook_events::WebhookEvent},
    wire::events::order as order_event,
};

mod checkout;
mod query;
mod refund;
mod subscription;

use checkout::*;
pub use query::*;
use refund::*;
/// What became of a delivered event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Processed,
    /// Stored, nothing to do (an event type we do not act on, an order already paid, …).
    Ignored(String),
    /// Seen before: nothing was done again.
    Duplicate,
}

impl Outcome {
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Processed => "processed",
            Outcome::Ignored(_) => "ignored",
            Outcome::Duplicate => "duplicate",
        }
    }
}

/// The parts of an event we rely on; the rest stays in the stored payload.
struct Event<'a> {
    id: &'a str,
    kind: &'a str,
    livemode: bool,
    object: &'a Value,
    /// The stored event was minimised: its customer's email and phone are hashes already.
    minimised: bool,
}

fn parse(payload: &Value) -> AppResult<Event<'_>> {
    let id = payload["id"].as_str().filter(|s| !s.is_empty() && s.len() <= 255);
    let kind = payload["type"].as_str().filter(|s| !s.is_empty() && s.len() <= 128);
    let object = &payload["data"]["object"];
    match (id, kind, object.is_object()) {
        (Some(id), Some(kind), true) => Ok(Event {
            id,
            kind,
            livemode: payload["livemode"].as_bool().unwrap_or(false),
            object,
            minimised: pii::is_minimised(payload),
        }),
        _ => Err(AppError::validation("body", "not a Stripe event: id, type and data.object are required")),
    }
}

/// Handles one verified delivery. Content errors are stored on the event row as FAILED
/// (and returned); the effects are all or nothing.
pub async fn receive(ctx: &Ctx, payload: Value) -> AppResult<Outcome> {
    let event = parse(&payload)?;
    let (txn, turn) = db::write_txn(&ctx.db).await?;
    let now = Utc::now().trunc_subsecs(6);
    let inserted = stripe_webhook_events::Entity::insert(stripe_webhook_events::ActiveModel {
        stripe_event_id: Set(event.id.to_string()),
        event_type: Set(event.kind.to_string()),
        livemode: Set(event.livemode),
        status: Set(WebhookEventStatus::Received),
        error: Set(None),
        attempts: Set(1),
        payload: Set(payload.clone()),
        received_at: Set(now),
        processed_at: Set(None),
        minimised_at: Set(None),
    })
    .on_conflict(OnConflict::column(stripe_webhook_events::Column::StripeEventId).do_nothing().to_owned())
    .exec_without_returning(&txn)
    .await?;
    let mut attempts = 1;
    if inserted == 0 {
        let existing = stripe_webhook_events::Entity::find_by_id(event.id.to_string())
            .one(&txn)
            .await?
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("webhook event vanished")))?;
        if existing.status != WebhookEventStatus::Failed {
            txn.commit().await?;
            return Ok(Outcome::Duplicate);
        }
        // A delivery that failed before: Stripe retries it, and now it may go through.
        attempts = existing.attempts + 1;
        stripe_webhook_events::Entity::update_many()
            .col_expr(stripe_webhook_events::Column::Attempts, sea_orm::sea_query::Expr::value(attempts))
            .filter(stripe_webhook_events::Column::StripeEventId.eq(event.id))
            .exec(&txn)
            .await?;
    }
    finish(ctx, (txn, turn), &event, &payload, attempts).await
}

/// Re-processes a stored event (ADMIN), e.g. after a fix. A processed one is a no-op.
pub async fn replay(ctx: &Ctx, caller: &Caller, id: &str) -> AppResult<WebhookEvent> {
    caller.require_admin()?;
    let (txn, turn) = db::write_txn(&ctx.db).await?;
    let stored = stripe_webhook_events::Entity::find_by_id(id.to_string())
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::not_found("webhook event", id))?;
    if stored.status == WebhookEventStatus::Processed {
        return Err(AppError::InvalidTransition {
            entity: "webhook event",
            from: "PROCESSED".into(),
            to: "PROCESSED".into(),
        });
    }
    let payload = stored.payload.clone();
    let event = parse(&payload)?;
    stripe_webhook_events::Entity::update_many()
        .col_expr(stripe_webhook_events::Column::Attempts, sea_orm::sea_query::Expr::value(stored.attempts + 1))
        .filter(stripe_webhook_events::Column::StripeEventId.eq(id))
        .exec(&txn)
        .await?;
    // The outcome (or the failure) is recorded on the row either way.
    let _ = finish(ctx, (txn, turn), &event, &payload, stored.attempts + 1).await;
    stripe_webhook_events::Entity::find_by_id(id.to_string())
        .one(&ctx.db)
        .await?
        .map(WebhookEvent::from)
        .ok_or_else(|| AppError::not_found("webhook event", id))
}

/// Runs the event's effects in `txn` and records the outcome; on failure rolls back and
/// records the error on the event row in a transaction of its own.
async fn finish(
    ctx: &Ctx,
    (txn, turn): (DatabaseTransaction, db::WriteTurn),
    event: &Event<'_>,
    payload: &Value,
    attempts: i32,
) -> AppResult<Outcome> {
    let priority = super::coupon_service::CouponPriority::of(&ctx.config.coupon_priority);
    match process(&txn, event, &ctx.delivery_plan, priority).await {
        Ok(outcome) => {
            let (status, note) = match &outcome {
                Outcome::Ignored(reason) => (WebhookEventStatus::Ignored, Some(reason.clone())),
                _ => (WebhookEventStatus::Processed, None),
            };
            mark(&txn, event.id, status, note).await?;
            txn.commit().await?;
            ctx.events_committed();
            Ok(outcome)
        }
        Err(err) => {
            // The effects' error is the answer: a rollback that fails because the database
            // already rolled back (a full disk, an I/O error) must not hide it.
            if let Err(rollback) = txn.rollback().await {
                tracing::debug!(error = %rollback, "rollback after a failed event");
            }
            drop(turn);
            let reason = match &err {
                AppError::Internal(_) | AppError::Unavailable(_) => "processing failed; Stripe will retry".to_string(),
                other => other.to_string(),
            };
            record_failure(&ctx.db, event, payload, reason, attempts).await?;
            Err(err)
        }
    }
}

/// Keeps a failed delivery (its row was rolled back with the effects): FAILED, the reason,
/// the payload for a replay.
async fn record_failure(
    db: &DatabaseConnection,
    event: &Event<'_>,
    payload: &Value,
    reason: String,
    attempts: i32,
) -> AppResult<()> {
    let now = Utc::now().trunc_subsecs(6);
    let (txn, _turn) = db::write_txn(db).await?;
    stripe_webhook_events::Entity::insert(stripe_webhook_events::ActiveModel {
        stripe_event_id: Set(event.id.to_string()),
        event_type: Set(event.kind.to_string()),
        livemode: Set(event.livemode),
        status: Set(WebhookEventStatus::Failed),
        error: Set(Some(reason)),
        attempts: Set(attempts),
        payload: Set(payload.clone()),
        received_at: Set(now),
        processed_at: Set(Some(now)),
        minimised_at: Set(None),
    })
    .on_conflict(
        OnConflict::column(stripe_webhook_events::Column::StripeEventId)
            .update_columns([
                stripe_webhook_events::Column::Status,
                stripe_webhook_events::Column::Error,
                stripe_webhook_events::Column::ProcessedAt,
                stripe_webhook_events::Column::Attempts,
            ])
            .to_owned(),
    )
    .exec_without_returning(&txn)
    .await?;
    txn.commit().await?;
    Ok(())
}

async fn mark<C: ConnectionTrait>(
    conn: &C,
    id: &str,
    status: WebhookEventStatus,
    note: Option<String>,
) -> AppResult<()> {
    use sea_orm::sea_query::Expr;
    stripe_webhook_events::Entity::update_many()
        .col_expr(stripe_webhook_events::Column::Status, Expr::value(status))
        .col_expr(stripe_webhook_events::Column::Error, Expr::value(note))
        .col_expr(stripe_webhook_events::Column::ProcessedAt, Expr::value(Some(Utc::now().trunc_subsecs(6))))
        .filter(stripe_webhook_events::Column::StripeEventId.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}

async fn process(
    txn: &DatabaseTransaction,
    event: &Event<'_>,
    deliveries: &DeliveryPlan,
    priority: super::coupon_service::CouponPriority,
) -> AppResult<Outcome> {
    match event.kind {
        "checkout.session.completed" | "checkout.session.async_payment_succeeded" => {
            checkout(txn, event, deliveries, priority).await
        }
        "checkout.session.async_payment_failed" => {
            close_pending(txn, event.object, OrderStatus::Failed, "pedido_fallido").await
        }
        "checkout.session.expired" => close_pending(txn, event.object, OrderStatus::Expired, "pedido_expirado").await,
        "charge.refunded" => {
            let outcome = refund(txn, event.object).await?;
            if outcome == Outcome::Processed {
                refund_deliveries(txn, event.object, deliveries).await?;
            }
            Ok(outcome)
        }
        "invoice.paid" | "invoice.payment_succeeded" => subscription::invoice_paid(txn, event).await,
        "invoice.payment_failed" => subscription::invoice_failed(txn, event.object).await,
        "customer.subscription.updated" => subscription::changed(txn, event.object, false).await,
        "customer.subscription.deleted" => subscription::changed(txn, event.object, true).await,
        "credit_note.created" => subscription::credit_note(txn, event.object).await,
        other => Ok(Outcome::Ignored(format!("event type {other} is not handled"))),
    }
}
