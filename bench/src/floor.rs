//! The soak's floor: the least a program can do for the soak's writes. An axum server on
//! Alpes' own schema (migrated by Alpes, same indexes and triggers, same connection
//! settings) that, for each impression, inserts its interaction and its outbox event, and
//! for each signed Stripe checkout inserts the Stripe event, the order, the conversion,
//! the three deliveries and seven outbox events, in one transaction each, and answers as
//! Alpes does. No attribution, no commissions, no delivering, no reads: what is left is
//! the cost of durable inserts into tables that grow, so a p99 that drifts here drifts
//! because of the tables, not because of anything Alpes adds.

use std::{net::SocketAddr, path::PathBuf, sync::Arc};

use ::alpes::{config::Config, db};
use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
    routing::{get, post},
    Json, Router,
};
use chrono::Utc;
use entity::{
    conversions::{self, ConversionStatus, ConversionType},
    integration_deliveries::{self, DeliveryEventKind, DeliveryStatus, Integration},
    interactions::{self, InteractionKind},
    orders, outbox_events, stripe_webhook_events,
};
use hmac::{Hmac, Mac};
use rust_decimal::Decimal;
use sea_orm::{
    ActiveModelTrait, ActiveValue::NotSet, DatabaseConnection, DbBackend, EntityTrait, IntoActiveModel,
    TransactionTrait,
};
use serde_json::{json, Value};
use sha2::Sha256;
use tokio::sync::Mutex;
use uuid::Uuid;

use crate::payload::{INGEST_PATH, STRIPE_PATH, STRIPE_SECRET};

/// Outbox events Alpes writes for one checkout in the soak (its subscribers' count).
const EVENTS_PER_CHECKOUT: usize = 7;

struct Floor {
    db: DatabaseConnection,
    /// SQLite takes one writer at a time: the floor queues its transactions here rather
    /// than in the busy handler, as Alpes does.
    writer: Mutex<()>,
}

type Shared = Arc<Floor>;

pub fn serve(addr: SocketAddr, database: String, data_dir: PathBuf) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(async {
        let config = Config::for_database(&database, data_dir);
        let db = db::connect(&config).await?;
        db::migrate(&db).await?;
        let floor = Arc::new(Floor { db, writer: Mutex::new(()) });
        let app = Router::new()
            .route("/health", get(|| async { Json(json!({ "status": "ok" })) }))
            .route(INGEST_PATH, post(impression))
            .route(STRIPE_PATH, post(checkout))
            .with_state(floor);
        let listener = tokio::net::TcpListener::bind(addr).await?;
        axum::serve(listener, app).await?;
        Ok(())
    })
}

type Answer = (StatusCode, Json<Value>);

fn refused(status: StatusCode, message: impl std::fmt::Display) -> Answer {
    (status, Json(json!({ "error": message.to_string() })))
}

async fn impression(State(floor): State<Shared>, body: Bytes) -> Answer {
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return refused(StatusCode::BAD_REQUEST, "not JSON");
    };
    let text = |key: &str| body.get(key).and_then(Value::as_str).map(str::to_string);
    let Some(external_id) = text("id") else { return refused(StatusCode::BAD_REQUEST, "id missing") };
    let now = Utc::now();
    let id = Uuid::now_v7();
    let row = interactions::Model {
        id,
        external_id: external_id.clone(),
        kind: InteractionKind::Impression,
        occurred_at: now,
        received_at: now,
        session_id: None,
        tracking_link_id: None,
        user_id: text("usuario_id"),
        anonymous_id: None,
        campaign_id: None,
        affiliate_id: None,
        campaign_ref: text("campaña_id"),
        affiliate_ref: text("influencer_id"),
        source: None,
        medium: None,
        channel: None,
        gclid: None,
        fbclid: None,
        referrer: text("referrer"),
        user_agent: text("user_agent"),
        ip_hash: Some(hex::encode(<Sha256 as sha2::Digest>::digest(text("ip_address").unwrap_or_default()))),
        value: None,
        currency: None,
        flags: json!([]),
        payload: body.clone(),
    };
    let event = outbox("interacciones.eventos", "interaccion_registrada", "interaction", id.to_string(), &body);
    let written = floor
        .write(|txn| async move {
            interactions::Entity::insert(row.into_active_model().reset_all()).exec_without_returning(&txn).await?;
            outbox_events::Entity::insert(event).exec_without_returning(&txn).await?;
            Ok(txn)
        })
        .await;
    match written {
        Ok(()) => (StatusCode::CREATED, Json(json!({ "id": external_id, "status": "received" }))),
        Err(err) => refused(StatusCode::SERVICE_UNAVAILABLE, err),
    }
}

async fn checkout(State(floor): State<Shared>, headers: HeaderMap, body: Bytes) -> Answer {
    let signature = headers.get("stripe-signature").and_then(|v| v.to_str().ok()).unwrap_or_default();
    if !signed(signature, &body) {
        return refused(StatusCode::BAD_REQUEST, "bad signature");
    }
    let Ok(event) = serde_json::from_slice::<Value>(&body) else {
        return refused(StatusCode::BAD_REQUEST, "not JSON");
    };
    let session = &event["data"]["object"];
    let (Some(event_id), Some(session_id)) = (event["id"].as_str(), session["id"].as_str()) else {
        return refused(StatusCode::BAD_REQUEST, "no event or session id");
    };
    let now = Utc::now();
    let amount = Decimal::new(session["amount_total"].as_i64().unwrap_or_default(), 2);
    let (order_id, conversion_id) = (Uuid::now_v7(), Uuid::now_v7());
    let received = stripe_webhook_events::Model {
        stripe_event_id: event_id.to_string(),
        event_type: "checkout.session.completed".into(),
        livemode: false,
        status: stripe_webhook_events::WebhookEventStatus::Processed,
        error: None,
        attempts: 1,
        payload: event.clone(),
        received_at: now,
        processed_at: Some(now),
        minimised_at: None,
    };
    let order = orders::Model {
        id: order_id,
        event_id: None,
        click_id: None,
        stripe_session_id: session_id.to_string(),
        payment_intent_id: session["payment_intent"].as_str().map(str::to_string),
        amount,
        refunded_amount: Decimal::ZERO,
        currency: "USD".into(),
        status: orders::OrderStatus::Paid,
        customer_email_hash: None,
        customer_phone_hash: None,
        gclid: session["metadata"]["gclid"].as_str().map(str::to_string),
        fbclid: None,
        campaign: session["metadata"]["campaign"].as_str().map(str::to_string),
        source: session["metadata"]["source"].as_str().map(str::to_string),
        product_id: session["metadata"]["product_id"].as_str().map(str::to_string),
        campaign_id: None,
        affiliate_id: None,
        metadata: session["metadata"].clone(),
        pipedrive_deal_id: None,
        created_at: now,
        updated_at: now,
        coupon_id: None,
    };
    let conversion = conversions::Model {
        id: conversion_id,
        external_id: Some(session_id.to_string()),
        order_id: Some(order_id),
        interaction_id: None,
        conversion_type: ConversionType::Sale,
        value: amount,
        currency: "USD".into(),
        channel: None,
        campaign_id: None,
        affiliate_id: None,
        user_id: None,
        anonymous_id: None,
        customer_email_hash: None,
        customer: json!({}),
        products: json!([]),
        metadata: json!({}),
        status: ConversionStatus::Unattributed,
        fraud_score: 0,
        fraud_signals: json!([]),
        occurred_at: now,
        created_at: now,
        updated_at: now,
    };
    let deliveries: Vec<integration_deliveries::ActiveModel> =
        [Integration::GoogleAds, Integration::MetaCapi, Integration::Pipedrive]
            .into_iter()
            .map(|integration| {
                integration_deliveries::Model {
                    id: Uuid::now_v7(),
                    order_id,
                    integration,
                    event_kind: DeliveryEventKind::Purchase,
                    status: DeliveryStatus::Pending,
                    attempts: 0,
                    max_attempts: 8,
                    next_attempt_at: now,
                    locked_until: None,
                    last_error: None,
                    last_http_status: None,
                    created_at: now,
                    updated_at: now,
                }
                .into_active_model()
                .reset_all()
            })
            .collect();
    let events: Vec<outbox_events::ActiveModel> = (0..EVENTS_PER_CHECKOUT)
        .map(|_| {
            outbox("conversiones.eventos", "conversion_registrada", "conversion", conversion_id.to_string(), session)
        })
        .collect();
    let written = floor
        .write(|txn| async move {
            stripe_webhook_events::Entity::insert(received.into_active_model().reset_all())
                .exec_without_returning(&txn)
                .await?;
            orders::Entity::insert(order.into_active_model().reset_all()).exec_without_returning(&txn).await?;
            conversions::Entity::insert(conversion.into_active_model().reset_all())
                .exec_without_returning(&txn)
                .await?;
            integration_deliveries::Entity::insert_many(deliveries).exec_without_returning(&txn).await?;
            outbox_events::Entity::insert_many(events).exec_without_returning(&txn).await?;
            Ok(txn)
        })
        .await;
    match written {
        Ok(()) => (StatusCode::OK, Json(json!({ "received": true, "status": "processed" }))),
        Err(err) => refused(StatusCode::SERVICE_UNAVAILABLE, err),
    }
}

impl Floor {
    /// Runs `work` in a transaction of its own and commits it (one writer at a time on SQLite).
    async fn write<F, Fut>(&self, work: F) -> Result<(), sea_orm::DbErr>
    where
        F: FnOnce(sea_orm::DatabaseTransaction) -> Fut,
        Fut: std::future::Future<Output = Result<sea_orm::DatabaseTransaction, sea_orm::DbErr>>,
    {
        let _turn = match self.db.get_database_backend() {
            DbBackend::Sqlite => Some(self.writer.lock().await),
            _ => None,
        };
        let txn = self.db.begin().await?;
        work(txn).await?.commit().await
    }
}

fn outbox(topic: &str, event_type: &str, aggregate: &str, id: String, payload: &Value) -> outbox_events::ActiveModel {
    let mut event = outbox_events::Model {
        seq: 0,
        id: Uuid::now_v7(),
        topic: topic.into(),
        event_type: event_type.into(),
        aggregate_type: aggregate.into(),
        aggregate_id: id,
        affiliate_id: None,
        payload: payload.clone(),
        created_at: Utc::now(),
        published_at: None,
        nats_published_at: None,
    }
    .into_active_model()
    .reset_all();
    event.seq = NotSet;
    event
}

/// Stripe's signature check: `t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.
fn signed(header: &str, body: &[u8]) -> bool {
    let part = |name: &str| header.split(',').find_map(|p| p.strip_prefix(name));
    let (Some(t), Some(v1)) = (part("t="), part("v1=")) else { return false };
    let Ok(expected) = hex::decode(v1) else { return false };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(STRIPE_SECRET.as_bytes()) else { return false };
    mac.update(t.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::sign;

    #[test]
    fn the_floor_checks_stripe_signatures_as_stripe_signs() {
        let body = br#"{"id":"evt_1"}"#;
        assert!(signed(&sign(body, STRIPE_SECRET, 1_700_000_000), body));
        assert!(!signed(&sign(body, "another", 1_700_000_000), body));
        assert!(!signed(&sign(body, STRIPE_SECRET, 1_700_000_000), br#"{"id":"evt_2"}"#));
        assert!(!signed("t=1,v1=zz", body));
        assert!(!signed("", body));
    }
}
