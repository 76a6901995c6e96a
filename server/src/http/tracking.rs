//! Public tracking ingest (seeds 002 and 003), its read side, and the click redirect.

use crate::model::interactions::InteractionKind;
use axum::{
    extract::{DefaultBodyLimit, FromRequestParts, Path, State},
    http::{header, request::Parts, HeaderMap, HeaderValue, StatusCode},
    response::{Html, IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{
    auth::{Authenticated, MaybeAuthenticated},
    rate_limit::client_ip,
    rest::{JsonBody, QueryParams},
    HttpState,
};
use crate::{
    error::{ApiError, AppError, AppResult},
    service::{
        tracking::{self as svc, Client, Fields, Recorder, Ref, SessionInput, TouchCommand},
        PageRequest,
    },
    state::AppState,
    wire::tracking as wire,
};

/// Largest tracking body accepted.
pub const MAX_TRACKING_BODY: usize = 64 * 1024;
/// The visitor cookie (first-party, reused across clicks) and the last click's id.
pub const VISITOR_COOKIE: &str = "alpes_aid";
pub const CLICK_COOKIE: &str = "alpes_cid";

pub fn router() -> Router<HttpState> {
    let ingest = Router::new()
        .route("/tracking/impresiones", post(record_impression))
        .route("/tracking/conversiones", post(record_conversion))
        .route("/tracking/interacciones", post(record_interaction))
        .layer(DefaultBodyLimit::max(MAX_TRACKING_BODY));
    let mut read = Router::new()
        .route("/tracking/impresiones/{id}", get(show_impression))
        .route("/tracking/conversiones/{id}", get(show_conversion));
    for segment in super::CAMPANAS {
        read = read
            .route(&format!("/tracking/{segment}/{{campaign}}/impresiones"), get(campaign_impressions))
            .route(&format!("/tracking/{segment}/{{campaign}}/conversiones"), get(campaign_conversions));
    }
    Router::new().merge(ingest).merge(read).route("/r/{code}", get(redirect))
}

/// Who sent a public tracking request: its IP (for the flood limit and the hashed IP)
/// and its first-party cookies. Refuses a client over its rate with 429.
pub struct Visitor(pub Client);

impl FromRequestParts<HttpState> for Visitor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &HttpState) -> Result<Self, Self::Rejection> {
        let ip = client_ip(parts, state.app.config.trust_forwarded_for);
        if let Some(ip) = ip {
            state.app.ingest_limiter.check(ip)?;
        }
        let user_agent = parts.headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(|s| truncate(s, 512));
        Ok(Self(Client {
            ip: ip.map(|ip| ip.to_string()),
            user_agent,
            anonymous_id: cookie(&parts.headers, VISITOR_COOKIE),
            click_id: cookie(&parts.headers, CLICK_COOKIE),
        }))
    }
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
}

fn truncate(value: &str, max: usize) -> String {
    value.chars().take(max).collect()
}

/// 201 with the stored event; a repeat answers the same body, marked as a replay.
pub(crate) fn created(replayed: bool, body: Value) -> Response {
    let mut response = (StatusCode::CREATED, Json(body)).into_response();
    if replayed {
        response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    response
}

// ---- seed 002: impressions ----

async fn record_impression(
    State(state): State<AppState>,
    visitor: Visitor,
    JsonBody(body): JsonBody<wire::Impresion>,
) -> AppResult<Response> {
    let command = body.into_command(visitor.0)?;
    let recorded = svc::record_impression(&state, &state.ingest, Recorder::Public, command, &wire::SEED_002).await?;
    Ok(created(recorded.replayed, wire::impression_view(&recorded.row)))
}

// ---- seed 002: conversions ----

/// Needs an API key that may record conversions (or an ADMIN token); keyless only under
/// the legacy switch (see [`svc::record_conversion`]).
async fn record_conversion(
    State(state): State<AppState>,
    visitor: Visitor,
    MaybeAuthenticated(caller): MaybeAuthenticated,
    JsonBody(body): JsonBody<wire::Conversion>,
) -> AppResult<Response> {
    let command = body.into_command(visitor.0)?;
    let who = caller.as_ref().map_or(Recorder::Public, Recorder::Caller);
    let recorded = svc::record_conversion(&state, &state.ingest, who, command, &wire::SEED_002).await?;
    Ok(created(recorded.replayed, wire::conversion_view(&recorded.row)))
}

// ---- seed 003: interactions ----

async fn record_interaction(
    State(state): State<AppState>,
    visitor: Visitor,
    JsonBody(body): JsonBody<wire::Interaccion>,
) -> AppResult<Response> {
    let (kind, command) = body.into_command(visitor.0)?;
    let recorded =
        svc::record_interaction(&state, &state.ingest, Recorder::Public, kind, command, &wire::SEED_003).await?;
    Ok(created(recorded.replayed, wire::interaction_view(&recorded.row)))
}

// ---- reads (JWT) ----

async fn show_impression(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    let row = svc::get_touch(&state.db, &caller, &id, Some(InteractionKind::Impression)).await?;
    Ok(Json(wire::impression_view(&row)))
}

async fn show_conversion(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    Ok(Json(wire::conversion_view(&svc::get_conversion(&state.db, &caller, &id).await?)))
}

#[derive(Deserialize)]
struct Pagina {
    limite: Option<u64>,
    offset: Option<u64>,
}

impl Pagina {
    fn page(&self) -> Result<PageRequest, AppError> {
        super::rest::page(self.limite, self.offset, 500)
    }
}

async fn campaign_impressions(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(campaign): Path<String>,
    QueryParams(page): QueryParams<Pagina>,
) -> AppResult<Json<Value>> {
    let page = page.page()?;
    let result = svc::touches_of_campaign(&state.db, &caller, &campaign, InteractionKind::Impression, page).await?;
    Ok(Json(json!({
        "campaña_id": campaign,
        "impresiones": result.items.iter().map(wire::impression_view).collect::<Vec<_>>(),
        "total": result.total,
    })))
}

async fn campaign_conversions(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(campaign): Path<String>,
    QueryParams(page): QueryParams<Pagina>,
) -> AppResult<Json<Value>> {
    let page = page.page()?;
    let result = svc::conversions_of_campaign(&state.db, &caller, &campaign, page).await?;
    Ok(Json(json!({
        "campaña_id": campaign,
        "conversiones": result.items.iter().map(wire::conversion_view).collect::<Vec<_>>(),
        "total": result.total,
    })))
}

// ---- the click redirect ----

#[derive(Deserialize)]
struct ClickParams {
    utm_source: Option<String>,
    utm_medium: Option<String>,
    utm_campaign: Option<String>,
    utm_term: Option<String>,
    utm_content: Option<String>,
    gclid: Option<String>,
    fbclid: Option<String>,
}

/// How the click redirect names what it records: its query parameters and headers.
const REDIRECT: Fields = Fields {
    source: "utm_source",
    medium: "utm_medium",
    referrer: "Referer",
    user_agent: "User-Agent",
    ..Fields::PLAIN
};

/// `GET /r/{code}`: records the click, keeps the visitor cookie, and sends the browser on
/// to the destination with `alpes_cid=<click id>` appended.
async fn redirect(
    State(state): State<AppState>,
    visitor: Visitor,
    headers: HeaderMap,
    Path(code): Path<String>,
    QueryParams(params): QueryParams<ClickParams>,
) -> Response {
    match click(&state, visitor, &headers, &code, params).await {
        Ok(response) => response,
        Err(ApiError(AppError::NotFound { .. })) => (StatusCode::NOT_FOUND, Html(NOT_FOUND_PAGE)).into_response(),
        Err(err) => err.into_response(),
    }
}

async fn click(
    state: &AppState,
    visitor: Visitor,
    headers: &HeaderMap,
    code: &str,
    p: ClickParams,
) -> AppResult<Response> {
    let (link, campaign, affiliate) = svc::link_for_redirect(&state.db, code).await?;
    let anonymous_id = visitor.0.anonymous_id.clone().unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let click_id = uuid::Uuid::now_v7().to_string();
    let referrer = headers.get(header::REFERER).and_then(|v| v.to_str().ok()).map(|s| truncate(s, 2048));
    let blank = |v: &Option<String>| v.as_deref().is_none_or(|v| v.trim().is_empty());
    // Without UTM parameters, the click still says where it came from: the affiliate.
    let source = if blank(&p.utm_source) { Some(affiliate.code.clone()) } else { p.utm_source.clone() };
    let medium = if blank(&p.utm_medium) { Some("affiliate".to_string()) } else { p.utm_medium.clone() };
    let command = TouchCommand {
        id: Some(click_id.clone()),
        campaign: Some(Ref::Known(campaign.id)),
        affiliate: Some(Ref::Known(affiliate.id)),
        tracking_link_id: Some(link.id),
        anonymous_id: Some(anonymous_id.clone()),
        source,
        medium,
        gclid: p.gclid,
        fbclid: p.fbclid,
        referrer,
        user_agent: visitor.0.user_agent,
        ip: visitor.0.ip,
        session: Some(SessionInput {
            utm_source: p.utm_source,
            utm_medium: p.utm_medium,
            utm_campaign: p.utm_campaign,
            utm_term: p.utm_term,
            utm_content: p.utm_content,
            landing_path: url_path(&link.destination_url),
        }),
        ..TouchCommand::default()
    };
    svc::record_click(state, &state.ingest, Recorder::Public, command, &REDIRECT).await?;

    let location = with_query_param(&link.destination_url, CLICK_COOKIE, &click_id);
    let secure = if state.config.public_base_url().starts_with("https://") { "; Secure" } else { "" };
    let mut response = (StatusCode::FOUND, [(header::LOCATION, location)]).into_response();
    let cookies = [
        format!("{VISITOR_COOKIE}={anonymous_id}; Path=/; Max-Age=31536000; SameSite=Lax{secure}"),
        format!("{CLICK_COOKIE}={click_id}; Path=/; Max-Age=2592000; SameSite=Lax{secure}"),
    ];
    for cookie in cookies {
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// The path of an absolute URL (`https://shop.example/p/1?x` → `/p/1`).
fn url_path(url: &str) -> Option<String> {
    let rest = url.split_once("://").map(|(_, r)| r)?;
    let path_start = rest.find('/')?;
    let path = &rest[path_start..];
    Some(path.split(['?', '#']).next().unwrap_or("/").to_string())
}

/// Appends `name=value` to a URL's query, before any fragment.
fn with_query_param(url: &str, name: &str, value: &str) -> String {
    let (base, fragment) = match url.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (url, None),
    };
    let separator = if base.contains('?') {
        if base.ends_with('?') || base.ends_with('&') {
            ""
        } else {
            "&"
        }
    } else {
        "?"
    };
    let mut out = format!("{base}{separator}{name}={value}");
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(fragment);
    }
    out
}

const NOT_FOUND_PAGE: &str = r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Link not found</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#1f2937}</style></head>
<body><h1>This link does not exist</h1><p>The link you followed is unknown or has been removed. Check the address, or contact whoever shared it.</p></body></html>"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_params_are_appended() {
        let cases = [
            ("https://shop.example.com", "https://shop.example.com?alpes_cid=c1"),
            ("https://shop.example.com/p?x=1", "https://shop.example.com/p?x=1&alpes_cid=c1"),
            ("https://shop.example.com/p?#top", "https://shop.example.com/p?alpes_cid=c1#top"),
            ("https://shop.example.com/p#top", "https://shop.example.com/p?alpes_cid=c1#top"),
        ];
        for (url, expected) in cases {
            assert_eq!(with_query_param(url, "alpes_cid", "c1"), expected);
        }
    }

    #[test]
    fn paths() {
        assert_eq!(url_path("https://shop.example.com/p/1?x=2").as_deref(), Some("/p/1"));
        assert_eq!(url_path("https://shop.example.com").as_deref(), None);
    }

    #[test]
    fn cookies_are_read_and_checked() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("a=1; alpes_aid=0d4c-77; alpes_cid=bad value"));
        assert_eq!(cookie(&headers, VISITOR_COOKIE).as_deref(), Some("0d4c-77"));
        assert_eq!(cookie(&headers, CLICK_COOKIE), None);
    }
}
