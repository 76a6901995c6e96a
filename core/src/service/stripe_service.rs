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
    interactions,
    orders::{self, OrderStatus},
    stripe_webhook_events::{self, WebhookEventStatus},
};
use rust_decimal::Decimal;
use sea_orm::{
    sea_query::OnConflict, ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection,
    DatabaseTransaction, EntityTrait, QueryFilter, Set,
};
use serde_json::{json, Value};
use uuid::Uuid;

use super::{commission, integration_service, outbox, tracking, Page, PageRequest};
use crate::{
    auth::Caller,
    context::Ctx,
    db,
    domain::{
        envelope::{Envelope, Topic},
        money::json_number,
        pii, stripe,
        tracking::{self as rules, ConversionKind},
    },
    error::{AppError, AppResult},
    integrations::DeliveryPlan,
};

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
}

fn parse(payload: &Value) -> AppResult<Event<'_>> {
    let id = payload["id"].as_str().filter(|s| !s.is_empty() && s.len() <= 255);
    let kind = payload["type"].as_str().filter(|s| !s.is_empty() && s.len() <= 128);
    let object = &payload["data"]["object"];
    match (id, kind, object.is_object()) {
        (Some(id), Some(kind), true) => {
            Ok(Event { id, kind, livemode: payload["livemode"].as_bool().unwrap_or(false), object })
        }
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
pub async fn replay(ctx: &Ctx, caller: &Caller, id: &str) -> AppResult<stripe_webhook_events::Model> {
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
    match process(&txn, event, &ctx.delivery_plan).await {
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
            txn.rollback().await?;
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

async fn process(txn: &DatabaseTransaction, event: &Event<'_>, deliveries: &DeliveryPlan) -> AppResult<Outcome> {
    match event.kind {
        "checkout.session.completed" | "checkout.session.async_payment_succeeded" => {
            checkout(txn, event, deliveries).await
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
        other => Ok(Outcome::Ignored(format!("event type {other} is not handled"))),
    }
}

/// The refunded order's deliveries to the platforms that take refunds back.
async fn refund_deliveries(txn: &DatabaseTransaction, charge: &Value, deliveries: &DeliveryPlan) -> AppResult<()> {
    let Some(intent) = text(charge, "payment_intent") else { return Ok(()) };
    if let Some(order) = orders::Entity::find().filter(orders::Column::PaymentIntentId.eq(&intent)).one(txn).await? {
        integration_service::enqueue(txn, deliveries, order.id, DeliveryEventKind::Refund).await?;
    }
    Ok(())
}

fn text(object: &Value, key: &str) -> Option<String> {
    object[key].as_str().map(str::trim).filter(|s| !s.is_empty()).map(|s| s.chars().take(255).collect())
}

/// A checkout session that completed: an order, and when it is paid, a sale conversion.
async fn checkout(txn: &DatabaseTransaction, event: &Event<'_>, deliveries: &DeliveryPlan) -> AppResult<Outcome> {
    let session = event.object;
    let session_id =
        text(session, "id").ok_or_else(|| AppError::validation("data.object.id", "checkout session id missing"))?;
    let minor = session["amount_total"]
        .as_i64()
        .ok_or_else(|| AppError::validation("amount_total", "checkout session without amount_total"))?;
    let currency = text(session, "currency")
        .ok_or_else(|| AppError::validation("currency", "checkout session without currency"))?;
    let (amount, currency) = stripe::amount(minor, &currency, "amount_total")?;
    let paid = matches!(session["payment_status"].as_str(), Some("paid") | Some("no_payment_required"));
    let now = Utc::now().trunc_subsecs(6);

    if let Some(order) = orders::Entity::find().filter(orders::Column::StripeSessionId.eq(&session_id)).one(txn).await?
    {
        if order.status != OrderStatus::Pending || !paid {
            return Ok(Outcome::Ignored(format!("order for {session_id} is already {:?}", order.status)));
        }
        let mut active: orders::ActiveModel = order.into();
        active.status = Set(OrderStatus::Paid);
        active.updated_at = Set(now);
        let order = active.update(txn).await?;
        record_sale(txn, &order, session, deliveries).await?;
        return Ok(Outcome::Processed);
    }

    let metadata = &session["metadata"];
    let click_ref = text(session, "client_reference_id")
        .or_else(|| text(metadata, "click_id"))
        .or_else(|| text(metadata, "event_id"));
    let click = match &click_ref {
        Some(reference) => find_click(txn, reference).await?,
        None => None,
    };
    let campaign = match text(metadata, "campaign") {
        Some(code) => find_campaign(txn, &code).await?,
        None => None,
    };
    let affiliate = match text(metadata, "affiliate").or_else(|| text(metadata, "affiliate_id")) {
        Some(code) => find_affiliate(txn, &code).await?,
        None => None,
    };
    let campaign_id = campaign.map(|c| c.id).or(click.as_ref().and_then(|c| c.campaign_id));
    let affiliate_id = affiliate.map(|a| a.id).or(click.as_ref().and_then(|c| c.affiliate_id));
    let email = session["customer_details"]["email"].as_str().or(session["customer_email"].as_str());
    let phone = session["customer_details"]["phone"].as_str();
    let attribution = if click.is_some() {
        "click"
    } else if campaign_id.is_some() || affiliate_id.is_some() {
        "metadata"
    } else {
        "unattributed"
    };
    let order = orders::ActiveModel {
        id: Set(Uuid::now_v7()),
        event_id: Set(click.as_ref().and_then(|c| c.session_id)),
        click_id: Set(click.as_ref().map(|c| c.id)),
        stripe_session_id: Set(session_id.clone()),
        payment_intent_id: Set(text(session, "payment_intent")),
        amount: Set(amount),
        refunded_amount: Set(Decimal::ZERO),
        currency: Set(currency.code().to_string()),
        status: Set(if paid { OrderStatus::Paid } else { OrderStatus::Pending }),
        customer_email_hash: Set(email.map(pii::hash_email)),
        customer_phone_hash: Set(phone.and_then(pii::hash_phone)),
        gclid: Set(text(metadata, "gclid").or(click.as_ref().and_then(|c| c.gclid.clone()))),
        fbclid: Set(text(metadata, "fbclid").or(click.as_ref().and_then(|c| c.fbclid.clone()))),
        campaign: Set(text(metadata, "campaign")),
        source: Set(text(metadata, "source")),
        product_id: Set(text(metadata, "product_id")),
        campaign_id: Set(campaign_id),
        affiliate_id: Set(affiliate_id),
        metadata: Set(json!({
            "stripe_event_id": event.id,
            "click_reference": click_ref,
            "attribution": attribution,
            "livemode": event.livemode,
            "metadata": metadata,
        })),
        pipedrive_deal_id: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(txn)
    .await
    .map_err(|e| AppError::from_db_unique(e, &["stripe_session_id"]))?;
    if paid {
        record_sale(txn, &order, session, deliveries).await?;
    } else {
        outbox::record(txn, order_event(&order, "pedido_pendiente")).await?;
    }
    Ok(Outcome::Processed)
}

/// The sale conversion of a paid order, its events, and its outbound deliveries.
async fn record_sale(
    txn: &DatabaseTransaction,
    order: &orders::Model,
    session: &Value,
    deliveries: &DeliveryPlan,
) -> AppResult<()> {
    let click = match order.click_id {
        Some(id) => interactions::Entity::find_by_id(id).one(txn).await?,
        None => None,
    };
    let channel = click.as_ref().and_then(|c| c.channel.clone()).unwrap_or_else(|| {
        rules::channel(order.source.as_deref(), None, order.gclid.is_some(), order.fbclid.is_some())
    });
    let now = Utc::now().trunc_subsecs(6);
    let occurred_at = session["created"]
        .as_i64()
        .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
        .filter(|t| *t <= now)
        .unwrap_or(now);
    let conversion = conversions::ActiveModel {
        id: Set(Uuid::now_v7()),
        external_id: Set(Some(order.stripe_session_id.clone())),
        order_id: Set(Some(order.id)),
        interaction_id: Set(order.click_id),
        conversion_type: Set(ConversionType::Sale),
        value: Set(order.amount),
        currency: Set(order.currency.clone()),
        channel: Set(Some(channel)),
        campaign_id: Set(order.campaign_id),
        affiliate_id: Set(order.affiliate_id),
        user_id: Set(click.as_ref().and_then(|c| c.user_id.clone())),
        anonymous_id: Set(click.as_ref().and_then(|c| c.anonymous_id.clone())),
        customer_email_hash: Set(order.customer_email_hash.clone()),
        customer: Set(json!({})),
        products: Set(match &order.product_id {
            Some(id) => json!([{ "id": id, "precio": json_number(order.amount), "cantidad": 1 }]),
            None => json!([]),
        }),
        metadata: Set(
            json!({ "stripe_session_id": order.stripe_session_id, "source": order.source, "gclid": order.gclid }),
        ),
        status: Set(ConversionStatus::Registered),
        fraud_score: Set(0),
        fraud_signals: Set(json!([])),
        occurred_at: Set(occurred_at.trunc_subsecs(6)),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(txn)
    .await
    .map_err(|e| AppError::from_db_unique(e, &["order_id", "external_id"]))?;
    outbox::record(txn, tracking::conversion_event(&conversion, ConversionKind::Sale)).await?;
    outbox::record(txn, order_event(order, "pedido_pagado")).await?;
    integration_service::enqueue(txn, deliveries, order.id, DeliveryEventKind::Purchase).await?;
    Ok(())
}

/// `async_payment_failed` / `expired`: a pending order is closed; one we never saw is
/// recorded closed, so the abandoned checkout is visible.
async fn close_pending(
    txn: &DatabaseTransaction,
    session: &Value,
    to: OrderStatus,
    event_type: &'static str,
) -> AppResult<Outcome> {
    let session_id =
        text(session, "id").ok_or_else(|| AppError::validation("data.object.id", "checkout session id missing"))?;
    let now = Utc::now().trunc_subsecs(6);
    let order = match orders::Entity::find().filter(orders::Column::StripeSessionId.eq(&session_id)).one(txn).await? {
        Some(order) if order.status == OrderStatus::Pending => {
            let mut active: orders::ActiveModel = order.into();
            active.status = Set(to);
            active.updated_at = Set(now);
            active.update(txn).await?
        }
        Some(order) => return Ok(Outcome::Ignored(format!("order for {session_id} is already {:?}", order.status))),
        None => {
            let (Some(minor), Some(currency)) = (session["amount_total"].as_i64(), text(session, "currency")) else {
                return Ok(Outcome::Ignored(format!("no order for {session_id} and no amount to record one")));
            };
            let (amount, currency) = stripe::amount(minor, &currency, "amount_total")?;
            let metadata = &session["metadata"];
            orders::ActiveModel {
                id: Set(Uuid::now_v7()),
                event_id: Set(None),
                click_id: Set(None),
                stripe_session_id: Set(session_id.clone()),
                payment_intent_id: Set(text(session, "payment_intent")),
                amount: Set(amount),
                refunded_amount: Set(Decimal::ZERO),
                currency: Set(currency.code().to_string()),
                status: Set(to),
                customer_email_hash: Set(None),
                customer_phone_hash: Set(None),
                gclid: Set(text(metadata, "gclid")),
                fbclid: Set(text(metadata, "fbclid")),
                campaign: Set(text(metadata, "campaign")),
                source: Set(text(metadata, "source")),
                product_id: Set(text(metadata, "product_id")),
                campaign_id: Set(None),
                affiliate_id: Set(None),
                metadata: Set(json!({ "metadata": metadata })),
                pipedrive_deal_id: Set(None),
                created_at: Set(now),
                updated_at: Set(now),
            }
            .insert(txn)
            .await?
        }
    };
    outbox::record(txn, order_event(&order, event_type)).await?;
    Ok(Outcome::Processed)
}

/// `charge.refunded`: full or partial; the order and its conversion say so, and an event
/// tells the commissions side.
async fn refund(txn: &DatabaseTransaction, charge: &Value) -> AppResult<Outcome> {
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
            commission::reverse_for_conversion(txn, conversion.id, "reembolso total (Stripe)").await?;
        } else {
            let kept = order.amount - refunded;
            commission::adjust_for_refund(txn, conversion.id, kept, "reembolso parcial (Stripe)").await?;
        }
    }
    outbox::record(txn, order_event(&order, "pedido_reembolsado")).await?;
    Ok(Outcome::Processed)
}

async fn find_click(txn: &DatabaseTransaction, reference: &str) -> AppResult<Option<interactions::Model>> {
    let mut condition = Condition::any().add(interactions::Column::ExternalId.eq(reference));
    if let Ok(id) = Uuid::parse_str(reference) {
        condition = condition.add(interactions::Column::Id.eq(id));
    }
    Ok(interactions::Entity::find().filter(condition).one(txn).await?)
}

async fn find_campaign(txn: &DatabaseTransaction, reference: &str) -> AppResult<Option<campaigns::Model>> {
    let mut condition = Condition::any().add(campaigns::Column::Code.eq(reference.to_lowercase()));
    if let Ok(id) = Uuid::parse_str(reference) {
        condition = condition.add(campaigns::Column::Id.eq(id));
    }
    Ok(campaigns::Entity::find().filter(condition).one(txn).await?)
}

async fn find_affiliate(txn: &DatabaseTransaction, reference: &str) -> AppResult<Option<affiliates::Model>> {
    let mut condition = Condition::any().add(affiliates::Column::Code.eq(reference.to_lowercase()));
    if let Ok(id) = Uuid::parse_str(reference) {
        condition = condition.add(affiliates::Column::Id.eq(id));
    }
    Ok(affiliates::Entity::find()
        .filter(affiliates::Column::Status.ne(AffiliateStatus::Deleted))
        .filter(condition)
        .one(txn)
        .await?)
}

fn order_status_name(status: OrderStatus) -> &'static str {
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
fn order_event(order: &orders::Model, event_type: &'static str) -> Envelope {
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

#[derive(Debug, Clone, Default)]
pub struct OrderFilter {
    pub status: Option<OrderStatus>,
    pub campaign_id: Option<Uuid>,
    pub affiliate_id: Option<Uuid>,
    pub from: Option<chrono::DateTime<Utc>>,
    pub to: Option<chrono::DateTime<Utc>>,
}

/// Orders, newest first; an AFFILIATE caller sees only its own.
pub async fn list_orders(
    db: &DatabaseConnection,
    caller: &Caller,
    filter: OrderFilter,
    page: PageRequest,
) -> AppResult<Page<orders::Model>> {
    let mut condition = Condition::all();
    if let Some(status) = filter.status {
        condition = condition.add(orders::Column::Status.eq(status));
    }
    if let Some(id) = filter.campaign_id {
        condition = condition.add(orders::Column::CampaignId.eq(id));
    }
    if let Some(id) = filter.affiliate_id {
        condition = condition.add(orders::Column::AffiliateId.eq(id));
    }
    if let Some(from) = filter.from {
        condition = condition.add(orders::Column::CreatedAt.gte(from));
    }
    if let Some(to) = filter.to {
        condition = condition.add(orders::Column::CreatedAt.lt(to));
    }
    if let Some(own) = caller.affiliate_scope() {
        condition = condition.add(orders::Column::AffiliateId.eq(own));
    }
    let query = orders::Entity::find().filter(condition);
    super::newest_first(db, query, orders::Column::CreatedAt, orders::Column::Id, page).await
}

pub async fn get_order(db: &DatabaseConnection, caller: &Caller, id: &str) -> AppResult<orders::Model> {
    let mut condition = Condition::any().add(orders::Column::StripeSessionId.eq(id.trim()));
    if let Ok(uuid) = Uuid::parse_str(id.trim()) {
        condition = condition.add(orders::Column::Id.eq(uuid));
    }
    let order =
        orders::Entity::find().filter(condition).one(db).await?.ok_or_else(|| AppError::not_found("order", id))?;
    if let Some(own) = caller.affiliate_scope() {
        if order.affiliate_id != Some(own) {
            return Err(AppError::Forbidden("affiliates can only see their own data".into()));
        }
    }
    Ok(order)
}

/// Stored webhook events, newest first (staff only).
pub async fn list_events(
    db: &DatabaseConnection,
    caller: &Caller,
    status: Option<WebhookEventStatus>,
    page: PageRequest,
) -> AppResult<Page<stripe_webhook_events::Model>> {
    caller.require_staff()?;
    let mut query = stripe_webhook_events::Entity::find();
    if let Some(status) = status {
        query = query.filter(stripe_webhook_events::Column::Status.eq(status));
    }
    super::newest_first(
        db,
        query,
        stripe_webhook_events::Column::ReceivedAt,
        stripe_webhook_events::Column::StripeEventId,
        page,
    )
    .await
}
