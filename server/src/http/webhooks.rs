//! `POST /api/v1/webhooks/stripe`: authenticated by its signature alone.

use axum::{
    body::Bytes,
    extract::{rejection::BytesRejection, DefaultBodyLimit, State},
    http::HeaderMap,
    routing::post,
    Json, Router,
};
use chrono::Utc;
use serde_json::{json, Value};

use super::HttpState;
use crate::{
    domain::stripe::StripeSignature,
    error::{AppError, AppResult},
    service::stripe_service,
    state::AppState,
};

/// Stripe events are small; checkout sessions with many line items stay well under this.
const MAX_EVENT_BYTES: usize = 512 * 1024;

pub fn router() -> Router<HttpState> {
    Router::new().route("/api/v1/webhooks/stripe", post(stripe)).layer(DefaultBodyLimit::max(MAX_EVENT_BYTES))
}

/// Verifies the raw body's signature before anything reads it, then hands the event
/// to the service. 200 for processed, ignored and repeated events; 4xx for what Stripe
/// sent wrong; 500 when we failed, so that Stripe retries.
async fn stripe(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> AppResult<Json<Value>> {
    let secrets = state.config.stripe_webhook_secrets();
    if secrets.is_empty() {
        return Err(AppError::Unavailable("Stripe webhooks are not configured (STRIPE_WEBHOOK_SECRET)".into()).into());
    }
    let body = body.map_err(|rejection| match rejection {
        BytesRejection::FailedToBufferBody(_) => AppError::PayloadTooLarge,
        other => AppError::Validation { field: None, message: other.body_text() },
    })?;
    let header = headers
        .get("stripe-signature")
        .ok_or_else(|| AppError::validation("Stripe-Signature", "the Stripe-Signature header is missing"))?
        .to_str()
        .map_err(|_| AppError::validation("Stripe-Signature", "the Stripe-Signature header is not text"))?;
    if let Err(err) = StripeSignature::parse(header).and_then(|s| s.verify(&body, &secrets, Utc::now().timestamp())) {
        state.metrics.count_webhook("unverified", "refused");
        return Err(err.into());
    }
    let payload: Value =
        serde_json::from_slice(&body).map_err(|e| AppError::validation("body", format!("not JSON: {e}")))?;
    let event_type = payload.get("type").and_then(Value::as_str).unwrap_or_default().to_string();
    let outcome = stripe_service::receive(&state, payload).await;
    let label = match &outcome {
        Ok(outcome) => outcome.label(),
        Err(err) if crate::error::status(err).is_client_error() => "refused",
        Err(_) => "failed",
    };
    state.metrics.count_webhook(&event_type, label);
    let outcome = outcome?;
    let mut answer = json!({ "received": true, "status": outcome.label() });
    if let stripe_service::Outcome::Ignored(reason) = outcome {
        answer["reason"] = json!(reason);
    }
    Ok(Json(answer))
}
