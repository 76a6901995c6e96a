//! The baseline: a bare axum 0.8 route that does the least an ingest endpoint must do
//! (parse the JSON body, answer 201 with a small JSON body), on tokio's multi-thread
//! runtime, in its own process like Alpes.

use std::net::SocketAddr;

use axum::{
    http::StatusCode,
    routing::{get, post},
    Json, Router,
};
use serde_json::{json, Value};

use crate::payload::INGEST_PATH;

pub fn serve(addr: SocketAddr) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(async {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        axum::serve(listener, app()).await?;
        Ok(())
    })
}

pub(crate) fn app() -> Router {
    Router::new().route("/health", get(|| async { Json(json!({ "status": "ok" })) })).route(INGEST_PATH, post(ingest))
}

async fn ingest(Json(body): Json<Value>) -> (StatusCode, Json<Value>) {
    let id = body.get("id").cloned().unwrap_or(Value::Null);
    (StatusCode::CREATED, Json(json!({ "id": id, "status": "received" })))
}
