//! `/api/v1/campanas` (seed 004, servicio Marketing): the routes; the bodies and answers
//! are `wire::campaigns`.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::IntoResponse,
    routing::{get, post},
    Json, Router,
};
use serde_json::{json, Value};

use super::{JsonBody, QueryParams};
use crate::{
    error::AppResult,
    http::{auth::Authenticated, HttpState},
    service::campaign_service as svc,
    state::AppState,
    wire::campaigns as wire,
};

/// Under `campanas`, and `campañas` as clients send it (see [`crate::http::CAMPANAS`]).
pub fn router() -> Router<HttpState> {
    let mut router = Router::new();
    for segment in crate::http::CAMPANAS {
        router = router
            .route(&format!("/api/v1/{segment}"), get(list).post(create))
            .route(&format!("/api/v1/{segment}/{{id}}"), get(show))
            .route(&format!("/api/v1/{segment}/{{id}}/activar"), post(activate));
    }
    router
}

async fn create(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    JsonBody(body): JsonBody<wire::CrearCampana>,
) -> AppResult<impl IntoResponse> {
    let model = svc::create(&state, &caller, body.into_input()).await?;
    Ok((StatusCode::CREATED, Json(wire::view(&model))))
}

async fn list(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    QueryParams(filter): QueryParams<wire::Filtro>,
) -> AppResult<Json<Value>> {
    let page = super::page(filter.limite, filter.offset, 100)?;
    let result = svc::list(&state.db, &caller, filter.into_filter()?, page).await?;
    Ok(Json(json!({
        "campanas": result.items.iter().map(wire::view).collect::<Vec<_>>(),
        "total": result.total,
        "limite": page.limit,
        "offset": page.offset,
    })))
}

async fn show(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    Ok(Json(wire::view(&svc::get(&state.db, &caller, &id).await?)))
}

async fn activate(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    let current = svc::get(&state.db, &caller, &id).await?;
    Ok(Json(wire::view(&svc::activate(&state, &caller, current.id).await?)))
}
