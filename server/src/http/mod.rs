//! The HTTP surface: one router per resource, merged here, with the shared layers.

pub mod admin;
pub mod auth;
pub mod graphql;
pub mod health;
pub mod openapi;
pub mod rate_limit;
pub mod rest;
pub mod spa;
pub mod tracking;
pub mod webhooks;

use std::time::Duration;

use axum::{extract::DefaultBodyLimit, response::IntoResponse, Router};
use tower_http::{
    catch_panic::CatchPanicLayer,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    trace::TraceLayer,
};

use crate::{
    error::{ApiError, AppError},
    graphql::AlpesSchema,
    state::AppState,
};

/// Largest request body accepted anywhere (GraphQL, REST).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

#[derive(Clone)]
pub struct HttpState {
    pub app: AppState,
    pub schema: AlpesSchema,
    /// The same schema with the depth an introspection-only request needs (when
    /// introspection is on): GraphiQL and code generators read the schema with it.
    pub introspection: Option<AlpesSchema>,
}

impl axum::extract::FromRef<HttpState> for AppState {
    fn from_ref(state: &HttpState) -> Self {
        state.app.clone()
    }
}

pub fn router(app: AppState, schema: AlpesSchema) -> Router {
    let metrics = app.metrics.clone();
    let request_timeout = app.config.request_timeout();
    let introspection = app.config.graphql_introspection.then(|| {
        crate::graphql::build_schema(
            Some(app.clone()),
            app.config.graphql_max_depth.max(crate::graphql::introspection::INTROSPECTION_MAX_DEPTH),
            app.config.graphql_max_complexity,
        )
    });
    let state = HttpState { app, schema, introspection };
    let routes = Router::new()
        .merge(admin::router())
        .merge(graphql::router())
        .merge(health::router())
        .merge(openapi::router())
        .merge(rest::router())
        .merge(tracking::router())
        .merge(webhooks::router())
        .fallback(spa::serve)
        .with_state(state)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        // Body upload included: a client sending slowly cannot hold its connection.
        .layer(axum::middleware::from_fn(
            move |request: axum::extract::Request, next: axum::middleware::Next| async move {
                match tokio::time::timeout(request_timeout, next.run(request)).await {
                    Ok(response) => response,
                    Err(_) => ApiError(AppError::Timeout(format!(
                        "the request took longer than {} ms",
                        request_timeout.as_millis()
                    )))
                    .into_response(),
                }
            },
        ))
        .layer(axum::middleware::from_fn(move |request: axum::extract::Request, next: axum::middleware::Next| {
            let metrics = metrics.clone();
            async move {
                let started = std::time::Instant::now();
                let method = request.method().clone();
                // The route's template (`/api/v1/afiliados/{id}`), never the path a client sent.
                let route = request.extensions().get::<axum::extract::MatchedPath>().map(|p| p.as_str().to_string());
                let response = next.run(request).await;
                metrics.observe_request(
                    method.as_str(),
                    response.status().as_u16(),
                    route.as_deref(),
                    started.elapsed(),
                );
                response
            }
        }))
        .layer(axum::middleware::map_response(security_headers))
        .layer(CatchPanicLayer::custom(|_| {
            ApiError(AppError::internal(anyhow::anyhow!("a request handler panicked"))).into_response()
        }))
        .layer(PropagateRequestIdLayer::x_request_id())
        // Every line logged while a request is served carries its id (the client's
        // `X-Request-Id`, or one made here and sent back).
        .layer(TraceLayer::new_for_http().make_span_with(|request: &axum::http::Request<axum::body::Body>| {
            // A client's id is logged only when it looks like one (no huge ids in logs).
            let id = request
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .map(|id| if id.len() <= 128 { id } else { "(too long)" })
                .unwrap_or_default();
            tracing::info_span!("request", request_id = %id, method = %request.method(), path = %request.uri().path())
        }))
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid));
    // Before routing: a path is matched as its normal form.
    Router::new().fallback_service(routes).layer(axum::middleware::map_request(normal_path))
}

/// `campañas` in a path as clients send it: percent-encoded (either case, as curl and
/// browsers send it), raw, or without the ñ. Routes with the word are registered under each.
pub const CAMPANAS: [&str; 3] = ["campanas", "campa%C3%B1as", "campañas"];

/// The request with its path in normal form: percent-escapes in upper-case hex (RFC 3986
/// §6.2.2.1), so that `%c3%b1` and `%C3%B1` reach the same route. The query is untouched.
async fn normal_path(mut request: axum::extract::Request) -> axum::extract::Request {
    let uri = request.uri();
    let path = uri.path();
    let bytes = path.as_bytes();
    let lower_escape = |i: usize| bytes[i] == b'%' && bytes[i + 1..].iter().take(2).any(u8::is_ascii_lowercase);
    if !(0..bytes.len()).any(lower_escape) {
        return request;
    }
    let mut normal = String::with_capacity(path.len());
    let mut chars = path.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        normal.push(c);
        if c == '%' && bytes.get(at + 1..at + 3).is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit)) {
            for _ in 0..2 {
                if let Some((_, digit)) = chars.next() {
                    normal.push(digit.to_ascii_uppercase());
                }
            }
        }
    }
    let path_and_query = match uri.query() {
        Some(query) => format!("{normal}?{query}"),
        None => normal,
    };
    let mut parts = uri.clone().into_parts();
    if let Ok(value) = path_and_query.parse() {
        parts.path_and_query = Some(value);
        if let Ok(uri) = axum::http::Uri::from_parts(parts) {
            *request.uri_mut() = uri;
        }
    }
    request
}

/// Headers every answer carries: no MIME sniffing, no referrer sent to other sites, and
/// the admin app never framed by another site (clickjacking).
async fn security_headers(mut response: axum::response::Response) -> axum::response::Response {
    use axum::http::{header, HeaderValue};
    let headers = response.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("strict-origin-when-cross-origin"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("frame-ancestors 'none'"));
    }
    response
}

/// After SIGTERM, how long connections just accepted get to send their request before idle
/// ones are closed.
pub const SHUTDOWN_SETTLE: Duration = Duration::from_secs(1);

/// How long in-flight requests get to finish after SIGTERM.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// How long a client may take to send a request's headers before its connection is closed.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
