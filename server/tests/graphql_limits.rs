//! Query limits and batching: deep or costly queries are refused; nested
//! relations are loaded in batches, not one query per row.

mod support;

use axum::http::StatusCode;
use serde_json::json;
use support::{create_affiliate, create_campaign, TestApp};

#[tokio::test]
async fn over_deep_queries_are_refused() {
    let app = TestApp::new().await;
    // 14 levels: affiliates > edges > node > trackingLinks > campaign > trackingLinks > affiliate > trackingLinks > ...
    let deep = "{ affiliates { edges { node { trackingLinks { campaign { trackingLinks { affiliate { trackingLinks { campaign { trackingLinks { affiliate { trackingLinks { code } } } } } } } } } } } } }";
    let (_, body) = app.post_graphql(Some(&app.admin()), deep, json!({})).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "VALIDATION", "{body}");
    assert!(body["errors"][0]["message"].as_str().unwrap().to_lowercase().contains("nested"), "{body}");
    assert!(body["data"].is_null());
}

#[tokio::test]
async fn over_complex_queries_are_refused() {
    let app = TestApp::new().await;
    let fields = (0..2100).map(|i| format!("a{i}: me {{ role }}")).collect::<Vec<_>>().join(" ");
    let (_, body) = app.post_graphql(Some(&app.admin()), &format!("{{ {fields} }}"), json!({})).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "VALIDATION", "{body}");
    assert!(body["errors"][0]["message"].as_str().unwrap().to_lowercase().contains("complex"), "{body}");
}

#[tokio::test]
async fn malformed_queries_are_validation_errors() {
    let app = TestApp::new().await;
    for query in ["{ affiliates { ", "{ noSuchField }", "mutation { createAffiliate }"] {
        let (_, body) = app.post_graphql(Some(&app.admin()), query, json!({})).await;
        assert_eq!(body["errors"][0]["extensions"]["code"], "VALIDATION", "{query}: {body}");
    }
}

#[tokio::test]
async fn nested_relations_do_not_query_per_row() {
    let app = TestApp::new().await;
    let query = "{ trackingLinks(first: 100) { totalCount edges { node { code affiliate { code trackingLinks { code } } campaign { code trackingLinks { code } } } } } }";
    let link = "mutation($i: CreateTrackingLinkInput!) { createTrackingLink(input: $i) { id } }";

    let mut counts = Vec::new();
    for round in 0..2 {
        // Round 0: 2 links; round 1: 12 links. The statement count must not grow with them.
        let n = if round == 0 { 2 } else { 10 };
        for i in 0..n {
            let a = create_affiliate(&app, &format!("A{round}-{i}"), &format!("a{round}-{i}@example.com")).await;
            let c = create_campaign(&app, &format!("C{round}-{i}")).await;
            app.ok(&app.admin(), link, json!({"i": {"affiliateId": a["id"], "campaignId": c["id"], "destinationUrl": "https://shop.example.com"}})).await;
        }
        app.reset_statements();
        let data = app.ok(&app.admin(), query, json!({})).await;
        counts.push(app.statement_count());
        let edges = data["trackingLinks"]["edges"].as_array().unwrap();
        assert!(edges.iter().all(|e| e["node"]["affiliate"]["trackingLinks"].as_array().is_some_and(|l| l.len() == 1)));
    }
    assert_eq!(counts[0], counts[1], "statement count grew with the rows: {counts:?}");
    assert!(
        counts[1] <= 6,
        "count + page + affiliates + campaigns + links by affiliate + links by campaign: {counts:?}"
    );
}

#[tokio::test]
async fn oversized_bodies_are_refused_before_they_are_read_whole() {
    use axum::{body::Body, http::Request, http::StatusCode};
    let app = TestApp::new().await;
    // A 2 MiB query (the limit is 1 MiB), without a token and with one.
    let padding = " ".repeat(2 * 1024 * 1024);
    let body = json!({ "query": format!("{{ me {{ role }} {padding}}}") }).to_string();
    for token in [None, Some(app.admin())] {
        let mut request = Request::builder().method("POST").uri("/graphql").header("content-type", "application/json");
        if let Some(token) = &token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let request = request.body(Body::from(body.clone())).unwrap_or_else(|e| panic!("request: {e}"));
        let (status, _, answer) = app.send(request).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{answer}");
        assert_eq!(answer["errors"][0]["extensions"]["code"], "PAYLOAD_TOO_LARGE", "{answer}");
    }
}

#[tokio::test]
async fn the_standard_introspection_query_runs_but_deep_data_queries_do_not() {
    let app = TestApp::new().await;
    // graphql-js's getIntrospectionQuery, as GraphiQL and code generators send it: 13 deep.
    let standard = include_str!("fixtures/introspection.graphql");
    let data = app.ok(&app.admin(), standard, json!({})).await;
    let types = data["__schema"]["types"].as_array().map(Vec::len).unwrap_or_default();
    assert!(types > 50, "{types} types");
    // A data query as deep is still refused...
    let mut deep = String::from("{ campaigns { nodes { trackingLinks { campaign { trackingLinks { campaign { trackingLinks { campaign { trackingLinks { campaign { trackingLinks { campaign { id } } } } } } } } } } } }");
    let (_, body) = app.post_graphql(Some(&app.admin()), &deep, json!({})).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "VALIDATION", "{body}");
    // ...and so is data hidden beside introspection, and introspection nested past its own limit.
    deep = format!("{{ __typename {} }}", &deep[1..deep.len() - 1]);
    let (_, body) = app.post_graphql(Some(&app.admin()), &deep, json!({})).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "VALIDATION", "{body}");
    let nested = "{ __type(name: \"Query\") { fields { type { fields { type { fields { type { fields { type { fields { type { fields { type { fields { type { fields { type { fields { name } } } } } } } } } } } } } } } } } }";
    let (_, body) = app.post_graphql(Some(&app.admin()), nested, json!({})).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "VALIDATION", "{body}");
}

#[tokio::test]
async fn introspection_and_graphiql_can_be_turned_off() {
    let on = TestApp::new().await;
    let types = on.ok(&on.admin(), "{ __schema { queryType { name } } }", json!({})).await;
    assert_eq!(types["__schema"]["queryType"]["name"], "Query");
    let (status, _, _) = on.get("/graphql", None, None).await;
    assert_eq!(status, StatusCode::OK);

    let off = TestApp::with_config(|c| {
        c.graphql_introspection = false;
        c.graphiql = false;
    })
    .await;
    let (_, body) = off.post_graphql(Some(&off.admin()), "{ __schema { queryType { name } } }", json!({})).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "VALIDATION", "{body}");
    assert!(body["data"].is_null(), "{body}");
    // Hidden in a fragment, too.
    let query = "query { ...F } fragment F on Query { __type(name: \"Query\") { name } }";
    let (_, body) = off.post_graphql(Some(&off.admin()), query, json!({})).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "VALIDATION", "{body}");
    let typename = off.ok(&off.admin(), "{ __typename }", json!({})).await;
    assert_eq!(typename["__typename"], "Query");
    let (status, _, body) = off.get("/graphql", None, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    // Queries still work.
    off.ok(&off.admin(), "{ affiliates { totalCount } }", json!({})).await;
}

#[tokio::test]
async fn many_costly_reads_in_one_request_are_refused_before_they_run() {
    let app = TestApp::new().await;
    let analyst = app.token(alpes::auth::Role::Analyst, None);
    let aliases = |n: usize| {
        let fields: Vec<String> =
            (0..n).map(|i| format!("m{i}: conversionMetrics(period: \"30d\") {{ conversions }}")).collect();
        format!("{{ {} }}", fields.join(" "))
    };
    let (_, body) = app.post_graphql(Some(&analyst), &aliases(30), json!({})).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "VALIDATION", "{body}");
    assert!(body["errors"][0]["message"].as_str().unwrap_or_default().contains("complex"), "{body}");
    app.reset_statements();
    let (_, body) = app.post_graphql(Some(&analyst), &aliases(30), json!({})).await;
    assert!(body["data"].is_null(), "{body}");
    assert_eq!(app.statement_count(), 0, "refused before any query ran");
    // A few side by side are fine.
    let data = app.ok(&analyst, &aliases(3), json!({})).await;
    assert_eq!(data["m2"]["conversions"], 0);
}
