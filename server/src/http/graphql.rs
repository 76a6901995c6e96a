//! `/graphql` (POST queries, GET GraphiQL) and `/graphql/ws` (subscriptions over
//! graphql-transport-ws and the legacy graphql-ws).

use async_graphql::http::GraphiQLSource;
use async_graphql_axum::{GraphQLProtocol, GraphQLRequest, GraphQLResponse, GraphQLWebSocket};
use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    extract::{
        ws::{CloseFrame, Message},
        State, WebSocketUpgrade,
    },
    http::{HeaderMap, StatusCode},
    response::{Html, IntoResponse, Response},
    routing::get,
    Json, Router,
};
use futures::{SinkExt, StreamExt};
use serde_json::json;

use super::{auth, auth::Session, HttpState};
use crate::{error::AppError, graphql, state::AppState};

pub fn router() -> Router<HttpState> {
    Router::new().route("/graphql", get(graphiql).post(execute)).route("/graphql/ws", get(websocket))
}

async fn graphiql(State(state): State<HttpState>) -> Response {
    if !state.app.config.graphiql {
        return crate::error::ApiError(AppError::NotFound { entity: "page", id: "/graphql".into() }).into_response();
    }
    Html(
        GraphiQLSource::build()
            .endpoint("/graphql")
            .subscription_endpoint("/graphql/ws")
            .title("Alpes GraphiQL")
            .finish(),
    )
    .into_response()
}

async fn execute(State(state): State<HttpState>, request: axum::extract::Request) -> Response {
    // The body is read up to the limit first: the GraphQL extractor streams it whole, past
    // the router's default body limit.
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, super::MAX_BODY_BYTES).await else {
        return graphql_error(StatusCode::PAYLOAD_TOO_LARGE, &AppError::PayloadTooLarge);
    };
    let session = match auth::session_from_headers(&parts.headers, &state.app).await {
        Ok(session) => session,
        Err(err) => return graphql_error(StatusCode::UNAUTHORIZED, &err),
    };
    let client = graphql::ClientIp(super::rate_limit::client_ip(&parts, state.app.config.trust_forwarded_for));
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
    request.data = graphql::session_data(&state.app, session);
    request.data.insert(client);
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
/// (`{ "authorization": "Bearer …" }`), or in the upgrade request's header. The socket
/// closes with 4401 when the token expires or its session ends (sign-out, suspension), and
/// with 1001 when the server shuts down.
async fn websocket(
    State(state): State<HttpState>,
    headers: HeaderMap,
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
) -> Response {
    let header_session = auth::session_from_headers(&headers, &state.app).await.ok().flatten();
    upgrade.protocols(async_graphql::http::ALL_WEBSOCKET_PROTOCOLS).on_upgrade(move |socket| async move {
        let app = state.app.clone();
        let session: Arc<Mutex<Option<Session>>> = Arc::default();
        let (mut sink, stream) = socket.split();
        let (to_client, mut outgoing) = futures::channel::mpsc::channel::<Message>(16);
        let init_session = session.clone();
        let init_app = app.clone();
        let serve = GraphQLWebSocket::new_with_pair(to_client, stream, state.schema.clone(), protocol)
            .on_connection_init(move |payload| async move {
                let token = payload
                    .get("authorization")
                    .or_else(|| payload.get("Authorization"))
                    .and_then(|v| v.as_str())
                    .map(str::to_owned);
                let signed_in = match token {
                    Some(value) => Some(
                        auth::session_from_authorization(&value, &init_app)
                            .await
                            .map_err(|e| crate::graphql::extend(&e))?,
                    ),
                    None => header_session,
                };
                *init_session.lock().unwrap_or_else(|p| p.into_inner()) = signed_in.clone();
                Ok(graphql::session_data(&init_app, signed_in))
            })
            .serve();
        let ended = {
            let forward = async {
                while let Some(message) = outgoing.next().await {
                    if sink.send(message).await.is_err() {
                        break;
                    }
                }
            };
            tokio::select! {
                _ = futures::future::join(serve, forward) => None,
                why = session_end(&app, &session) => Some((4401, why)),
                () = app.shutdown.cancelled() => Some((1001, "the server is shutting down")),
            }
        };
        if let Some((code, why)) = ended {
            let close = CloseFrame { code, reason: why.into() };
            let _ = sink.send(Message::Close(Some(close))).await;
        }
    })
}

/// Resolves when the socket's session ends: its token expires, or it is signed out or
/// disabled (checked each second; see [`crate::auth::Sessions`] for how fresh that is).
async fn session_end(app: &AppState, session: &Mutex<Option<Session>>) -> &'static str {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        let Some(current) = session.lock().unwrap_or_else(|p| p.into_inner()).clone() else {
            continue;
        };
        if let Some(why) = current.ended(app).await {
            return why;
        }
    }
}
