//! Liveness, readiness and metrics.

use axum::{extract::State, response::IntoResponse, routing::get, Json, Router};
use serde_json::json;

use super::HttpState;
use crate::{
    error::{AppError, AppResult},
    state::AppState,
};

pub fn router() -> Router<HttpState> {
    Router::new().route("/health", get(health)).route("/ready", get(ready)).route("/metrics", get(metrics))
}

/// Prometheus counters, text exposition format.
async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], state.metrics.render())
}

/// The process is up.
async fn health() -> impl IntoResponse {
    Json(json!({ "status": "ok", "version": env!("CARGO_PKG_VERSION") }))
}

/// The process can do its work: the database answers.
async fn ready(State(state): State<AppState>) -> AppResult<impl IntoResponse> {
    state.db.ping().await.map_err(|_| AppError::Unavailable("the database is not reachable".into()))?;
    Ok(Json(json!({ "status": "ready", "database": format!("{:?}", state.db.get_database_backend()).to_lowercase() })))
}
