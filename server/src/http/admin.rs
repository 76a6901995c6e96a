//! Seed 000's admin tools: `GET|POST /api/v1/admin/seed?days=30` fills demo data (ADMIN).

use std::collections::HashMap;

use axum::{
    extract::{Query, State},
    routing::get,
    Json, Router,
};

use super::{auth::Authenticated, HttpState};
use crate::{
    error::{AppError, AppResult},
    service::seed_service::{self, SeedReport},
    state::AppState,
};

pub fn router() -> Router<HttpState> {
    Router::new().route("/api/v1/admin/seed", get(seed).post(seed))
}

/// Days default to 30, as in the seed's example.
async fn seed(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Query(params): Query<HashMap<String, String>>,
) -> AppResult<Json<SeedReport>> {
    let days = match params.get("days").map(|d| d.trim()) {
        None | Some("") => 30,
        Some(value) => value.parse::<i64>().map_err(|_| AppError::validation("days", "days must be a whole number"))?,
    };
    Ok(Json(seed_service::seed(&state, &state.ingest, &state.markov, &caller, days).await?))
}
