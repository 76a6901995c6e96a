//! The embedded admin app: served at `/`, client routes fall back to `index.html`, hashed
//! assets cached for a year, unknown API paths stay JSON 404s.

mod support;

use axum::http::{header, StatusCode};
use support::TestApp;

fn header_of(headers: &axum::http::HeaderMap, name: header::HeaderName) -> String {
    headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string()
}

#[tokio::test]
async fn index_and_client_routes_are_the_app_and_never_cached() {
    let app = TestApp::new().await;
    for path in ["/", "/login", "/campaigns/abc", "/conversions?status=ATTRIBUTED&page=2"] {
        let (status, headers, _) = app.get(path, None, None).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(header_of(&headers, header::CONTENT_TYPE).starts_with("text/html"), "{path}");
        assert_eq!(header_of(&headers, header::CACHE_CONTROL), "no-cache", "{path}");
    }
}

#[tokio::test]
async fn every_answer_forbids_framing_and_sniffing() {
    let app = TestApp::new().await;
    for path in ["/", "/graphql", "/health", "/api/v1/openapi.json", "/api/v1/afiliados"] {
        let (_, headers, _) = app.get(path, None, None).await;
        assert_eq!(header_of(&headers, header::X_CONTENT_TYPE_OPTIONS), "nosniff", "{path}");
        assert_eq!(header_of(&headers, header::X_FRAME_OPTIONS), "DENY", "{path}");
        assert_eq!(header_of(&headers, header::REFERRER_POLICY), "strict-origin-when-cross-origin", "{path}");
        assert!(header_of(&headers, header::CONTENT_SECURITY_POLICY).contains("frame-ancestors 'none'"), "{path}");
    }
    // The admin app runs only its own scripts (an injected one would not run).
    for path in ["/", "/login", "/affiliates/new"] {
        let (_, headers, _) = app.get(path, None, None).await;
        let csp = header_of(&headers, header::CONTENT_SECURITY_POLICY);
        assert!(csp.contains("script-src 'self';") && csp.contains("object-src 'none'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-eval") && !csp.contains("script-src 'self' 'unsafe-inline'"), "{path}: {csp}");
    }
}

#[tokio::test]
async fn hashed_assets_are_cached_for_a_year_and_missing_ones_are_404() {
    let app = TestApp::new().await;
    let dist = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../web/dist/assets");
    let script = std::fs::read_dir(&dist)
        .unwrap_or_else(|e| panic!("{}: {e}", dist.display()))
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .find(|name| name.starts_with("index-") && name.ends_with(".js"))
        .unwrap_or_else(|| panic!("no index-*.js in web/dist/assets"));
    let (status, headers, _) = app.get(&format!("/assets/{script}"), None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(header_of(&headers, header::CONTENT_TYPE).contains("javascript"));
    assert_eq!(header_of(&headers, header::CACHE_CONTROL), "public, max-age=31536000, immutable");

    let (status, _, body) = app.get("/assets/index-gone.js", None, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "NOT_FOUND");
}

#[tokio::test]
async fn api_prefixes_keep_json_404s_and_routes_stay_untouched() {
    let app = TestApp::new().await;
    for path in ["/api/v1/nothing", "/graphql/nothing", "/tracking/nothing"] {
        let (status, headers, body) = app.get(path, None, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(header_of(&headers, header::CONTENT_TYPE).starts_with("application/json"), "{path}");
        assert_eq!(body["error"]["code"], "NOT_FOUND", "{path}");
    }
    let (status, _, body) = app.get("/health", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ok");
    let (status, _, _) = app.post_json("/some/client/route", "{}", [10, 0, 0, 1], &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn graphiql_and_the_api_docs_are_pages_of_the_binary_with_nothing_from_outside() {
    use tower::ServiceExt;
    let app = TestApp::new().await;
    for (path, title) in [("/graphql", "Alpes GraphiQL"), ("/docs", "Alpes API")] {
        let request = axum::http::Request::get(path).body(axum::body::Body::empty()).unwrap();
        let response = app.app.router.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let csp = header_of(response.headers(), header::CONTENT_SECURITY_POLICY);
        assert!(csp.contains("script-src 'self';") && csp.contains("connect-src 'self'"), "{path}: {csp}");
        let html = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
        let html = String::from_utf8_lossy(&html);
        assert!(html.contains(&format!("<title>{title}</title>")), "{path}: {html}");
        assert!(html.contains("src=\"/assets/"), "{path}: its script is a built asset");
        for outside in ["src=\"http", "src=\"//", "href=\"http", "href=\"//"] {
            assert!(!html.contains(outside), "{path} loads nothing from elsewhere: {html}");
        }
    }
}
