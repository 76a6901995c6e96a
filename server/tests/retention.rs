//! `ALPES_RETENTION_DAYS`: raw interactions past it are deleted; the rollups keep their
//! history, conversions keep everything but their link to a deleted interaction. On
//! SQLite, and on PostgreSQL in CI.

mod support;

use alpes::{config::Config, service::retention};
use chrono::{Duration, Utc};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;
use support::TestApp;
use tokio_util::sync::CancellationToken;

const CLICK: &str = "mutation($i: RecordClickInput!) { recordClick(input: $i) { id } }";

#[tokio::test]
async fn interactions_past_retention_go_and_the_history_stays() {
    let app = TestApp::with_config(|c| c.retention_days = Some(30)).await;
    let admin = app.admin();
    let campaign = support::create_campaign(&app, "Retained").await;
    let campaign = campaign["id"].as_str().unwrap_or_default().to_string();
    let now = Utc::now();
    let mut ids = Vec::new();
    for (i, age) in [45, 40, 31, 29, 1].into_iter().enumerate() {
        let input = json!({ "id": format!("r-{i}"), "campaignId": campaign, "userId": "u-1",
                            "occurredAt": (now - Duration::days(age)).to_rfc3339() });
        let id = app.ok(&admin, CLICK, json!({ "i": input })).await["recordClick"]["id"].as_str().map(str::to_owned);
        ids.push(id.unwrap_or_default());
    }
    let record = "mutation($i: RecordConversionInput!) { recordConversion(input: $i) { id } }";
    let input = json!({ "id": "r-sale", "value": "10.00", "currency": "USD", "campaignId": campaign, "userId": "u-1",
                        "occurredAt": (now - Duration::days(40)).to_rfc3339() });
    let conversion = app.ok(&admin, record, json!({ "i": input })).await["recordConversion"]["id"].clone();
    let conversion = conversion.as_str().unwrap_or_default().to_string();
    // The conversion came from the oldest click.
    let backend = app.db().get_database_backend();
    let link = match backend {
        sea_orm::DbBackend::Postgres => "UPDATE conversions SET interaction_id = $1 WHERE id = $2",
        _ => "UPDATE conversions SET interaction_id = ? WHERE id = ?",
    };
    let values = [
        uuid::Uuid::parse_str(&ids[0]).unwrap_or_default().into(),
        uuid::Uuid::parse_str(&conversion).unwrap_or_default().into(),
    ];
    app.db()
        .execute_raw(Statement::from_sql_and_values(backend, link, values))
        .await
        .unwrap_or_else(|e| panic!("link: {e}"));

    let clicks = "{ dashboard(period: \"60d\") { clicks conversions } }";
    let before = app.ok(&admin, clicks, json!({})).await;
    assert_eq!(before["dashboard"]["clicks"], 5);

    let deleted = retention::purge(&app.app.state.ctx, now, &CancellationToken::new())
        .await
        .unwrap_or_else(|e| panic!("purge: {e}"));
    assert_eq!(deleted, 3);
    assert_eq!(app.count("interactions").await, 2);
    assert_eq!(app.count("interactions WHERE external_id IN ('r-3', 'r-4')").await, 2);
    // The dashboard still counts the days whose raw rows are gone; the conversion stays,
    // without its link to the deleted click.
    assert_eq!(app.ok(&admin, clicks, json!({})).await, before);
    assert_eq!(app.count("conversions WHERE interaction_id IS NULL").await, 1);
    assert_eq!(app.count("conversions").await, 1);
    // A second pass finds nothing more.
    let again = retention::purge(&app.app.state.ctx, now, &CancellationToken::new())
        .await
        .unwrap_or_else(|e| panic!("purge: {e}"));
    assert_eq!(again, 0);
}

#[tokio::test]
async fn retention_shorter_than_the_attribution_lookback_is_refused() {
    let mut config = Config::for_database("sqlite::memory:", std::env::temp_dir());
    config.retention_days = Some(7);
    let err = config.validate().err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.contains("ALPES_RETENTION_DAYS"), "{err}");
    config.retention_days = Some(90);
    assert!(config.validate().is_ok());
}
