//! `/graphql` (POST queries, GET GraphiQL) and `/graphql/ws` (subscriptions over
//! graphql-transport-ws and the legacy graphql-ws).

use async_graphql_axum::{GraphQLProtocol, GraphQLRequest, GraphQLWebSocket};
use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    extract::{
        ws::{CloseFrame, Message},
        State, WebSocketUpgrade,
    },
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use futures::{SinkExt, StreamExt};
use serde_json::json;

use super::{auth, auth::Session, HttpState};
use crate::{error::AppError, graphql, state::AppState};

pub fn router() -> Router<HttpState> {
    Router::new().route("/graphql", get(graphiql).post(execute)).route("/graphql/ws", get(websocket))
}

/// GraphiQL, built into the binary with the admin app (`web/graphiql.html`): no CDN, so
/// it works offline; it signs in with the admin app's session.
async fn graphiql(State(state): State<HttpState>) -> Response {
    if !state.app.config.graphiql {
        return crate::error::ApiError(AppError::NotFound { entity: "page", id: "/graphql".into() }).into_response();
    }
    super::spa::page("graphiql.html")
}

/// The media type of an answer, as the GraphQL-over-HTTP specification has the client
/// choose it with `Accept`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Media {
    /// `application/graphql-response+json`: request errors answer 400 without `data`.
    GraphQlResponse,
    /// `application/json` (also for `*/*` or no `Accept`): every result answers 200.
    Json,
}

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";

impl Media {
    fn of(headers: &HeaderMap) -> Self {
        let accepted = |wanted: &str| {
            headers.get_all(header::ACCEPT).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).any(
                |item| {
                    let mut params = item.split(';').map(str::trim);
                    let kind = params.next().unwrap_or_default();
                    let refused = params.any(|p| {
                        p.split_once('=').is_some_and(|(k, v)| k.trim() == "q" && v.trim().parse::<f32>() == Ok(0.0))
                    });
                    kind.eq_ignore_ascii_case(wanted) && !refused
                },
            )
        };
        if accepted(GRAPHQL_RESPONSE_JSON) {
            Media::GraphQlResponse
        } else {
            Media::Json
        }
    }

    fn content_type(self) -> HeaderValue {
        match self {
            Media::GraphQlResponse => HeaderValue::from_static("application/graphql-response+json; charset=utf-8"),
            Media::Json => HeaderValue::from_static("application/json; charset=utf-8"),
        }
    }
}

/// A POST must say its body is JSON; anything else is refused before it is read.
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|kind| kind.trim().eq_ignore_ascii_case("application/json"))
}

async fn execute(State(state): State<HttpState>, request: axum::extract::Request) -> Response {
    let media = Media::of(request.headers());
    if !is_json(request.headers()) {
        let err = AppError::Validation {
            field: None,
            message: "a GraphQL request is a POST with Content-Type: application/json".into(),
        };
        return graphql_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, &err, media);
    }
    // The body is read up to the limit first: the GraphQL extractor streams it whole, past
    // the router's default body limit.
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, super::MAX_BODY_BYTES).await else {
        return graphql_error(StatusCode::PAYLOAD_TOO_LARGE, &AppError::PayloadTooLarge, media);
    };
    let session = match auth::session_from_headers(&parts.headers, &state.app).await {
        Ok(session) => session,
        Err(err) => return graphql_error(StatusCode::UNAUTHORIZED, &err, media),
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
            return graphql_error(crate::error::status(&err), &err, media);
        }
    };
    let mut request = request;
    request.data = graphql::session_data(&state.app, session);
    request.data.insert(client);
    let schema = match &state.introspection {
        Some(introspection) if graphql::introspection::only_introspection(&request.query) => introspection,
        _ => &state.schema,
    };
    let mut response = schema.execute(request).await;
    // Parse, validation, depth and complexity errors come from the library without a
    // code: they are all the client's input, so VALIDATION.
    for error in &mut response.errors {
        let extensions = error.extensions.get_or_insert_with(Default::default);
        if extensions.get("code").is_none() {
            extensions.set("code", "VALIDATION");
        }
    }
    respond(response, media)
}

/// The answer to an executed request. A request error (the document does not parse or
/// validate, a variable does not coerce: errors without a path and no data) answers 400
/// without `data` under `application/graphql-response+json`, and 200 under
/// `application/json`, as the GraphQL-over-HTTP specification says.
fn respond(response: async_graphql::Response, media: Media) -> Response {
    let request_error = response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty());
    let cache_control = response.cache_control.value().filter(|_| response.is_ok());
    let headers = response.http_headers.clone();
    let mut body =
        serde_json::to_value(&response).unwrap_or_else(|e| json!({ "errors": [{ "message": e.to_string() }] }));
    let status = match (media, request_error) {
        (Media::GraphQlResponse, true) => {
            if let Some(object) = body.as_object_mut() {
                object.remove("data");
            }
            StatusCode::BAD_REQUEST
        }
        _ => StatusCode::OK,
    };
    let mut answer = (status, body.to_string()).into_response();
    answer.headers_mut().insert(header::CONTENT_TYPE, media.content_type());
    if let Some(value) = cache_control.and_then(|v| HeaderValue::from_str(&v).ok()) {
        answer.headers_mut().insert(header::CACHE_CONTROL, value);
    }
    answer.headers_mut().extend(headers);
    answer
}

/// A GraphQL-shaped error body for failures before execution (without `data` under
/// `application/graphql-response+json`).
fn graphql_error(status: StatusCode, err: &AppError, media: Media) -> Response {
    let mut body = json!({
        "errors": [{ "message": err.to_string(), "extensions": { "code": err.code() } }],
    });
    if media == Media::Json {
        body["data"] = serde_json::Value::Null;
    }
    let mut answer = (status, body.to_string()).into_response();
    answer.headers_mut().insert(header::CONTENT_TYPE, media.content_type());
    answer
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
