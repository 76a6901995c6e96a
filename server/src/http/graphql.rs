//! `/graphql` (POST queries, GET GraphiQL) and `/graphql/ws` (subscriptions over
//! graphql-transport-ws and the legacy graphql-ws).

use async_graphql::{http::GraphiQLSource, Data};
use async_graphql_axum::{GraphQLProtocol, GraphQLRequest, GraphQLResponse, GraphQLWebSocket};
use axum::{
    extract::{State, WebSocketUpgrade},
    http::{HeaderMap, StatusCode},
    response::{Html, IntoResponse, Response},
    routing::get,
    Json, Router,
};
use serde_json::json;

use super::{auth, HttpState};
use crate::{error::AppError, graphql};

pub fn router() -> Router<HttpState> {
    Router::new().route("/graphql", get(graphiql).post(execute)).route("/graphql/ws", get(websocket))
}

async fn graphiql() -> impl IntoResponse {
    Html(
        GraphiQLSource::build()
            .endpoint("/graphql")
            .subscription_endpoint("/graphql/ws")
            .title("Alpes GraphiQL")
            .finish(),
    )
}

async fn execute(State(state): State<HttpState>, request: axum::extract::Request) -> Response {
    // The body is read up to the limit first: the GraphQL extractor streams it whole, past
    // the router's default body limit.
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, super::MAX_BODY_BYTES).await else {
        return graphql_error(StatusCode::PAYLOAD_TOO_LARGE, &AppError::PayloadTooLarge);
    };
    let caller = match auth::caller_from_headers(&parts.headers, &state.app.jwt) {
        Ok(caller) => caller,
        Err(err) => return graphql_error(StatusCode::UNAUTHORIZED, &err),
    };
    let request = axum::extract::Request::from_parts(parts, axum::body::Body::from(bytes));
    let request = <GraphQLRequest as axum::extract::FromRequest<HttpState>>::from_request(request, &state).await;
    let request = match request {
        Ok(request) => request.into_inner(),
        Err(rejection) => {
            let err = if rejection.0.to_string().to_lowercase().contains("length limit") {
                AppError::PayloadTooLarge
            } else {
                AppError::Validation { field: None, message: format!("not a GraphQL request: {}", rejection.0) }
            };
            return graphql_error(crate::error::status(&err), &err);
        }
    };
    let mut request = request;
    request.data = graphql::request_data(&state.app, caller);
    let mut response = state.schema.execute(request).await;
    // Parse, validation, depth and complexity errors come from the library without a
    // code: they are all the client's input, so VALIDATION.
    for error in &mut response.errors {
        let extensions = error.extensions.get_or_insert_with(Default::default);
        if extensions.get("code").is_none() {
            extensions.set("code", "VALIDATION");
        }
    }
    GraphQLResponse::from(response).into_response()
}

/// A GraphQL-shaped error body for failures before execution.
fn graphql_error(status: StatusCode, err: &AppError) -> Response {
    let body = json!({
        "data": null,
        "errors": [{ "message": err.to_string(), "extensions": { "code": err.code() } }],
    });
    (status, Json(body)).into_response()
}

/// Subscriptions. The token comes in the `connection_init` payload
/// (`{ "authorization": "Bearer …" }`), or in the upgrade request's header.
async fn websocket(
    State(state): State<HttpState>,
    headers: HeaderMap,
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
) -> Response {
    let header_caller = auth::caller_from_headers(&headers, &state.app.jwt).ok().flatten();
    upgrade.protocols(async_graphql::http::ALL_WEBSOCKET_PROTOCOLS).on_upgrade(move |socket| {
        let app = state.app.clone();
        GraphQLWebSocket::new(socket, state.schema.clone(), protocol)
            .on_connection_init(move |payload| async move {
                let token = payload
                    .get("authorization")
                    .or_else(|| payload.get("Authorization"))
                    .and_then(|v| v.as_str())
                    .map(str::to_owned);
                let caller = match token {
                    Some(value) => Some(
                        auth::caller_from_authorization(&value, &app.jwt).map_err(|e| crate::graphql::extend(&e))?,
                    ),
                    None => header_caller,
                };
                let data: Data = graphql::request_data(&app, caller);
                Ok(data)
            })
            .serve()
    })
}
