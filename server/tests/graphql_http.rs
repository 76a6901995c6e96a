//! GraphQL over HTTP: the media type follows `Accept`; request errors answer 400 without
//! `data` under `application/graphql-response+json` and 200 under `application/json`; a
//! POST that is not JSON is refused with 415. (CI also runs the public `graphql-http`
//! audit suite against the binary: tests/graphql-http.)

mod support;

use axum::{
    body::{to_bytes, Body},
    http::{header, Request, StatusCode},
};
use serde_json::{json, Value};
use support::TestApp;
use tower::ServiceExt;

async fn post(
    app: &TestApp,
    accept: Option<&str>,
    content_type: Option<&str>,
    body: &str,
) -> (StatusCode, String, Value) {
    let mut request = Request::post("/graphql");
    if let Some(accept) = accept {
        request = request.header(header::ACCEPT, accept);
    }
    if let Some(content_type) = content_type {
        request = request.header(header::CONTENT_TYPE, content_type);
    }
    let request = request.body(Body::from(body.to_string())).unwrap_or_else(|e| panic!("request: {e}"));
    let response = app.app.router.clone().oneshot(request).await.unwrap_or_else(|e| panic!("router: {e}"));
    let status = response.status();
    let media =
        response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let bytes = to_bytes(response.into_body(), 1 << 20).await.unwrap_or_else(|e| panic!("body: {e}"));
    let body =
        serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("json: {e}: {}", String::from_utf8_lossy(&bytes)));
    (status, media, body)
}

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

#[tokio::test]
async fn the_answer_is_in_the_media_type_the_client_accepts() {
    let app = TestApp::new().await;
    let query = json!({ "query": "{ __typename }" }).to_string();
    for (accept, expected) in [
        (Some("application/json"), "application/json"),
        (Some("*/*"), "application/json"),
        (None, "application/json"),
        (Some(GRAPHQL_RESPONSE), GRAPHQL_RESPONSE),
        (Some("application/graphql-response+json, application/json;q=0.9"), GRAPHQL_RESPONSE),
        (Some("application/graphql-response+json;q=0, application/json"), "application/json"),
    ] {
        let (status, media, body) = post(&app, accept, Some("application/json"), &query).await;
        assert_eq!(status, StatusCode::OK, "{accept:?}");
        assert!(media.starts_with(expected) && media.contains("charset=utf-8"), "{accept:?}: {media}");
        assert_eq!(body["data"]["__typename"], "Query", "{accept:?}: {body}");
    }
}

#[tokio::test]
async fn request_errors_are_400_without_data_only_for_graphql_response_clients() {
    let app = TestApp::new().await;
    let cases = [
        ("parse", json!({ "query": "{" })),
        ("validation", json!({ "query": "{ notAField }" })),
        ("coercion", json!({ "query": "query($id: ID!) { __typename }", "variables": { "id": null } })),
    ];
    for (what, request) in cases {
        let (status, _, body) =
            post(&app, Some(GRAPHQL_RESPONSE), Some("application/json"), &request.to_string()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{what}: {body}");
        assert!(body.get("data").is_none(), "{what}: {body}");
        assert_eq!(body["errors"][0]["extensions"]["code"], "VALIDATION", "{what}: {body}");

        let (status, media, body) =
            post(&app, Some("application/json"), Some("application/json"), &request.to_string()).await;
        assert_eq!(status, StatusCode::OK, "{what}: {body}");
        assert!(media.starts_with("application/json"), "{what}: {media}");
        assert!(body["errors"].as_array().is_some_and(|e| !e.is_empty()), "{what}: {body}");
    }
    // A field error is not a request error: 200, with data, under either type.
    let (status, _, body) = post(
        &app,
        Some(GRAPHQL_RESPONSE),
        Some("application/json"),
        &json!({ "query": "{ me { role } }" }).to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.get("data").is_some(), "{body}");
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "{body}");
}

#[tokio::test]
async fn a_post_that_is_not_json_is_refused_with_415() {
    let app = TestApp::new().await;
    let query = json!({ "query": "{ __typename }" }).to_string();
    for content_type in [None, Some("text/plain"), Some("application/x-www-form-urlencoded")] {
        let (status, _, body) = post(&app, Some("application/json"), content_type, &query).await;
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{content_type:?}");
        assert_eq!(body["errors"][0]["extensions"]["code"], "VALIDATION", "{content_type:?}: {body}");
    }
    let (status, _, body) = post(&app, Some("application/json"), Some("application/json; charset=utf-8"), &query).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}
