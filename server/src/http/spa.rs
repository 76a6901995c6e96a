//! The admin SPA (`web/`, built into `web/dist` by `build.rs` and embedded in the binary).
//! Hashed assets are cached for a year; `index.html` is served for every client-side route
//! and never cached, so a new release is picked up on the next load.

use axum::{
    body::Body,
    http::{header, HeaderValue, Method, StatusCode, Uri},
    response::{IntoResponse, Response},
};
use rust_embed::RustEmbed;

use crate::error::{ApiError, AppError};

#[derive(RustEmbed)]
#[folder = "../web/dist"]
struct Assets;

/// Route prefixes that belong to the API: an unknown path there is a JSON 404, not the app.
const API_PREFIXES: [&str; 4] = ["/api/", "/graphql/", "/tracking/", "/r/"];

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const REVALIDATE: &str = "no-cache";

/// Everything no other route took: a built asset, or `index.html` for client routes.
pub async fn serve(method: Method, uri: Uri) -> Response {
    let path = uri.path();
    if API_PREFIXES.iter().any(|prefix| path.starts_with(prefix)) {
        return ApiError(AppError::not_found("route", path)).into_response();
    }
    if method != Method::GET && method != Method::HEAD {
        return ApiError(AppError::not_found("route", path)).into_response();
    }
    let file = path.trim_start_matches('/');
    if !file.is_empty() {
        if let Some(response) = asset(file) {
            return response;
        }
        // A missing file with an extension (a stale hashed bundle) is a real 404, not the app.
        if file.starts_with("assets/") {
            return ApiError(AppError::not_found("asset", path)).into_response();
        }
    }
    index()
}

fn asset(file: &str) -> Option<Response> {
    let content = Assets::get(file)?;
    let cache = if file.starts_with("assets/") { IMMUTABLE } else { REVALIDATE };
    let mime = content.metadata.mimetype().to_owned();
    Some(respond(StatusCode::OK, &mime, cache, content.data.into_owned()))
}

/// The app's entry page (client-side routing takes it from there).
pub fn index() -> Response {
    page("index.html")
}

/// A built page (`index.html`, `graphiql.html`, `docs.html`), never cached: its hashed
/// scripts are, so a new release is picked up on the next load.
pub fn page(file: &str) -> Response {
    match Assets::get(file) {
        Some(content) => respond(StatusCode::OK, "text/html; charset=utf-8", REVALIDATE, content.data.into_owned()),
        None => ApiError(AppError::not_found("asset", file)).into_response(),
    }
}

fn respond(status: StatusCode, mime: &str, cache: &'static str, body: Vec<u8>) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(mime) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(APP_CSP));
    response
}

/// The admin app runs only its own scripts and talks only to this origin (the API and its
/// WebSocket); styles may be inline (Vue binds `style`), images inline SVG or data URLs.
pub const APP_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; \
form-action 'self'; frame-ancestors 'none'";
