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

/// The process can do its work: the database answers and takes writes (SQLite: the write
/// lock can be had; PostgreSQL: not a read-only standby), within a few seconds.
async fn ready(State(state): State<AppState>) -> AppResult<impl IntoResponse> {
    state.db.ping().await.map_err(|_| AppError::Unavailable("the database is not reachable".into()))?;
    let writable = tokio::time::timeout(std::time::Duration::from_secs(5), crate::db::takes_writes(&state.db)).await;
    if !matches!(writable, Ok(Ok(true))) {
        return Err(AppError::Unavailable("the database does not take writes now".into()).into());
    }
    Ok(Json(json!({ "status": "ready", "database": format!("{:?}", state.db.get_database_backend()).to_lowercase() })))
}
