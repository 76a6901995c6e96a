//! Demo data (seed 000): `GET|POST /api/v1/admin/seed?days=N` and `seedDemoData(days)`
//! fill a programme through the real services; a second run adds; bad input writes nothing.

mod support;

use alpes::auth::Role;
use axum::{
    body::Body,
    http::{Request, StatusCode},
};
use serde_json::json;
use support::TestApp;

async fn seed_rest(app: &TestApp, method: &str, query: &str, token: Option<&str>) -> (StatusCode, serde_json::Value) {
    let mut request = Request::builder().method(method).uri(format!("/api/v1/admin/seed{query}"));
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let (status, _, body) = app.send(request.body(Body::empty()).unwrap()).await;
    (status, body)
}

#[tokio::test]
async fn seeding_goes_through_the_services_and_a_second_run_adds() {
    let app = TestApp::new().await;
    let admin = app.admin();
    let (status, first) = seed_rest(&app, "GET", "?days=2", Some(&admin)).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(first["days"], 2);
    assert_eq!(first["affiliates"], 50);
    assert_eq!(first["campaigns"], 10);
    assert!(first["clicks"].as_u64().unwrap_or(0) > 100, "{first}");
    assert!(first["checkouts"].as_u64().unwrap_or(0) > 0, "{first}");

    assert_eq!(app.count("affiliates").await, 50);
    assert_eq!(app.count("campaigns").await, 10);
    assert_eq!(app.count("tracking_links").await, first["tracking_links"].as_i64().unwrap_or(-1));
    assert_eq!(app.count("interactions").await, first["clicks"].as_i64().unwrap_or(-1));
    assert_eq!(app.count("orders").await, first["checkouts"].as_i64().unwrap_or(-1));
    // One sale conversion per paid checkout, made by the Stripe webhook handling.
    assert_eq!(app.count("conversions").await, first["paid_orders"].as_i64().unwrap_or(-1));
    // The attribution credited the sales and reserved their commissions; the lifecycle moved them on.
    let attributed = first["attributed"].as_i64().unwrap_or(0);
    assert!(attributed > 0, "{first}");
    assert_eq!(app.count("journeys").await, attributed);
    assert_eq!(app.count("journeys WHERE status = 'REVERTED_FRAUD'").await, first["reverted"].as_i64().unwrap_or(-1));
    assert!(app.count("commissions").await >= attributed - first["reverted"].as_i64().unwrap_or(0), "{first}");
    let approved_or_paid = app.count("commissions WHERE status IN ('APPROVED', 'PAID')").await;
    assert_eq!(approved_or_paid, first["commissions_approved"].as_i64().unwrap_or(-1));
    assert_eq!(app.count("payouts").await, first["payouts"].as_i64().unwrap_or(-1));
    // Every change wrote its domain event.
    assert!(app.count("outbox_events").await > first["clicks"].as_i64().unwrap_or(0));

    // The dashboard agrees with what was made.
    let d = app.ok(&admin, "{ dashboard(period: \"7d\") { clicks conversions byAffiliate { key } } }", json!({})).await;
    assert_eq!(d["dashboard"]["clicks"], first["clicks"]);
    let counted = app.count("conversions WHERE status NOT IN ('REVERTED', 'REJECTED', 'REFUNDED')").await;
    assert_eq!(d["dashboard"]["conversions"].as_i64(), Some(counted));
    assert_eq!(d["dashboard"]["byAffiliate"].as_array().map(Vec::len), Some(10));

    let (status, second) = seed_rest(&app, "POST", "?days=1", Some(&admin)).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    assert_eq!(app.count("affiliates").await, 100);
    assert_eq!(app.count("campaigns").await, 20);
    assert_eq!(
        app.count("interactions").await,
        first["clicks"].as_i64().unwrap_or(0) + second["clicks"].as_i64().unwrap_or(0)
    );

    let gql = app
        .ok(&admin, "mutation { seedDemoData(days: 1) { days affiliates campaigns clicks paidOrders } }", json!({}))
        .await;
    assert_eq!(gql["seedDemoData"]["affiliates"], 50);
    assert_eq!(app.count("affiliates").await, 150);
}

#[tokio::test]
async fn only_admins_seed_and_bad_days_are_refused() {
    let app = TestApp::new().await;
    let analyst = app.token(Role::Analyst, None);
    let (status, body) = seed_rest(&app, "GET", "?days=1", Some(&analyst)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("FORBIDDEN")));
    let (status, body) = seed_rest(&app, "GET", "?days=1", None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("UNAUTHENTICATED")));
    for days in ["0", "-3", "366", "abc", "1.5"] {
        let (status, body) = seed_rest(&app, "POST", &format!("?days={days}"), Some(&app.admin())).await;
        assert_eq!(body["error"]["code"], "VALIDATION", "{days}");
        assert_eq!(body["error"]["field"], "days", "{days}");
        assert!(status.is_client_error(), "{days}");
    }
    assert_eq!(
        app.error_code(Some(&analyst), "mutation { seedDemoData(days: 1) { days } }", json!({})).await,
        "FORBIDDEN"
    );
    assert_eq!(
        app.error_code(Some(&app.admin()), "mutation { seedDemoData(days: 0) { days } }", json!({})).await,
        "VALIDATION"
    );
    assert_eq!(app.count("affiliates").await, 0);
    assert_eq!(app.count("campaigns").await, 0);
}

/// Stages and steps as a progress bar would see them.
#[derive(Default)]
struct Recorded(std::sync::Mutex<Vec<(&'static str, u64, u64)>>);

impl alpes::service::Progress for Recorded {
    fn stage(&self, name: &'static str, total: u64) {
        self.0.lock().unwrap().push((name, total, 0));
    }
    fn advance(&self, steps: u64) {
        if let Some(last) = self.0.lock().unwrap().last_mut() {
            last.2 += steps;
        }
    }
}

#[tokio::test]
async fn seeding_reports_its_progress_stage_by_stage() {
    let app = TestApp::new().await;
    let state = &app.app.state;
    let progress = Recorded::default();
    let report = alpes::service::seed_service::seed_with_progress(
        state,
        &state.ingest,
        &state.markov,
        &alpes::auth::Caller::system(),
        2,
        &progress,
    )
    .await
    .unwrap();
    let stages = progress.0.into_inner().unwrap();
    let names: Vec<&str> = stages.iter().map(|(name, _, _)| *name).collect();
    assert_eq!(names, ["clicks", "checkouts", "attribution", "commissions", "payouts"]);
    // Every stage ends where it said it would; attribution counts what it attributed.
    for (name, total, done) in &stages {
        if *name == "attribution" {
            assert_eq!(*done as usize, report.attributed);
        } else {
            assert_eq!(done, total, "{name}");
        }
    }
    assert_eq!(stages[0].1 as usize, report.clicks);
}
