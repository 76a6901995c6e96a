//! Liveness, readiness and metrics.

use axum::{extract::State, response::IntoResponse, routing::get, Json, Router};
use serde_json::json;

use super::HttpState;
use crate::{
    error::{AppError, AppResult},
    service::scrape,
    state::AppState,
};

pub fn router() -> Router<HttpState> {
    Router::new().route("/health", get(health)).route("/ready", get(ready)).route("/metrics", get(metrics))
}

/// Prometheus metrics, text exposition format: this replica's counters and histograms,
/// and the database's backlogs read now. Should the database not answer, the in-process
/// figures are still served (and the gauges left out), so a scrape tells what it can.
async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let gauges = match tokio::time::timeout(std::time::Duration::from_secs(5), scrape::gauges(&state)).await {
        Ok(Ok(gauges)) => gauges,
        Ok(Err(err)) => {
            tracing::warn!(error = %err, "metrics: reading the database's gauges failed");
            Vec::new()
        }
        Err(_) => {
            tracing::warn!("metrics: reading the database's gauges took over 5 s");
            Vec::new()
        }
    };
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], state.metrics.render(&gauges))
}

/// The process is up.
async fn health() -> impl IntoResponse {
    Json(json!({ "status": "ok", "version": env!("CARGO_PKG_VERSION"), "revision": env!("ALPES_GIT_REVISION") }))
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
