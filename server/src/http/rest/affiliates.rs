//! `/api/v1/afiliados` (seed 004, servicio Afiliados): the routes; the bodies and answers
//! are `wire::affiliates`.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::IntoResponse,
    routing::get,
    Json, Router,
};
use serde_json::{json, Value};

use super::{JsonBody, QueryParams};
use crate::{
    error::AppResult,
    http::{auth::Authenticated, HttpState},
    service::affiliate_service as svc,
    state::AppState,
    wire::affiliates as wire,
};

pub fn router() -> Router<HttpState> {
    Router::new()
        .route("/api/v1/afiliados", get(list).post(create))
        .route("/api/v1/afiliados/{id}", get(show).put(update).delete(remove))
}

async fn create(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    JsonBody(body): JsonBody<wire::CrearAfiliado>,
) -> AppResult<impl IntoResponse> {
    let mut input = body.into_input()?;
    // A minimal body pays in the programme's currency.
    input.commission.currency.get_or_insert_with(|| state.config.currency.clone());
    let model = svc::create(&state, &caller, input).await?;
    Ok((StatusCode::CREATED, Json(wire::created_view(&model))))
}

async fn list(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    QueryParams(filter): QueryParams<wire::Filtro>,
) -> AppResult<Json<Value>> {
    let page = super::page(filter.limite, filter.offset, 100)?;
    let result = svc::list(&state.db, &caller, filter.into_filter()?, page).await?;
    Ok(Json(json!({
        "afiliados": result.items.iter().map(wire::view).collect::<Vec<_>>(),
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

async fn update(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<wire::ActualizarAfiliado>,
) -> AppResult<Json<Value>> {
    let current = svc::get(&state.db, &caller, &id).await?;
    Ok(Json(wire::view(&svc::update(&state, &caller, current.id, body.into_patch()?).await?)))
}

async fn remove(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    let current = svc::get(&state.db, &caller, &id).await?;
    let model = svc::delete(&state, &caller, current.id).await?;
    Ok(Json(json!({ "afiliado_id": model.id, "estado": crate::wire::names::affiliate_status(model.status) })))
}
