//! `GET /api/v1/openapi.json` describes the REST routes the server really has.

mod support;

use axum::{
    body::Body,
    http::{Request, StatusCode},
};
use support::TestApp;

#[tokio::test]
async fn the_document_lists_only_routes_that_exist() {
    let app = TestApp::new().await;
    let (status, _, doc) = app.get("/api/v1/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 25, "{}", paths.len());
    for required in ["/api/v1/conversiones", "/api/v1/comisiones/{id}/aprobar", "/tracking/interacciones", "/metrics"] {
        assert!(paths.contains_key(required), "{required} missing");
    }
    let mut checked = 0;
    for (path, methods) in paths {
        if path == "/r/{code}" {
            continue; // an unknown link code is a 404 page by design
        }
        let uri = path.replace("{id}", "x").replace("{campaign}", "x");
        for (method, operation) in methods.as_object().unwrap() {
            let mut request = Request::builder().method(method.to_uppercase().as_str()).uri(&uri);
            let mut body = Body::empty();
            if method == "post" || method == "put" {
                request = request.header("content-type", "application/json");
                body = Body::from("{}");
            }
            let (status, _, answer) = app.send(request.body(body).unwrap()).await;
            assert!(
                status != StatusCode::NOT_FOUND && status != StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path} is documented but answers {status}: {answer}"
            );
            if operation["security"] == serde_json::json!([{ "bearer": [] }]) {
                assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path} needs a token");
            }
            checked += 1;
        }
    }
    assert!(checked >= 30, "{checked}");
}
