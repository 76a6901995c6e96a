//! `dashboard(period)`: KPIs, series and breakdowns from what was recorded, scoped for
//! affiliates, with bad periods refused.

mod support;

use alpes::auth::Role;
use serde_json::json;
use support::{create_affiliate, create_campaign, TestApp};
use uuid::Uuid;

const DASHBOARD: &str = r#"query($period: String!, $currency: String) {
  dashboard(period: $period, currency: $currency) {
    currency currencies clicks conversions revenue conversionRate
    commissions { status count amount }
    series { day clicks conversions revenue }
    byCampaign { key name id clicks conversions revenue }
    byChannel { key clicks conversions }
    byAffiliate { key name clicks conversions revenue }
  }
}"#;

#[tokio::test]
async fn figures_match_what_was_recorded_and_affiliates_see_only_theirs() {
    let app = TestApp::new().await;
    let admin = app.admin();
    let campaign = create_campaign(&app, "Dash Campaign").await;
    let code = campaign["code"].as_str().unwrap_or_default().to_string();
    app.ok(&admin, "mutation($id: ID!) { activateCampaign(id: $id) { status } }", json!({"id": campaign["id"]})).await;
    let mine = create_affiliate(&app, "Dash One", "one@dash.test").await;
    let other = create_affiliate(&app, "Dash Two", "two@dash.test").await;

    let click = "mutation($i: RecordClickInput!) { recordClick(input: $i) { id } }";
    for (i, (affiliate, source)) in
        [(&mine, "google"), (&mine, "google"), (&mine, "facebook"), (&other, "google")].iter().enumerate()
    {
        app.ok(&admin, click, json!({"i": {"id": format!("dash-click-{i}"), "campaignId": code, "affiliateId": affiliate["code"], "utmSource": source, "utmMedium": "cpc"}}))
            .await;
    }
    let conversion = "mutation($i: RecordConversionInput!) { recordConversion(input: $i) { id } }";
    for (i, (affiliate, value)) in [(&mine, "100000"), (&other, "50000.50")].iter().enumerate() {
        app.ok(&admin, conversion, json!({"i": {"id": format!("dash-conv-{i}"), "value": value, "currency": "COP", "campaignId": code, "affiliateId": affiliate["code"]}}))
            .await;
    }

    let d = app.ok(&admin, DASHBOARD, json!({"period": "7d"})).await["dashboard"].clone();
    assert_eq!(d["currency"], "COP");
    assert_eq!(d["currencies"], json!(["COP"]));
    assert_eq!(d["clicks"], 4);
    assert_eq!(d["conversions"], 2);
    assert_eq!(d["revenue"], "150000.50");
    assert_eq!(d["conversionRate"], 50.0);
    // Seven days back from now touch eight calendar days.
    assert_eq!(d["series"].as_array().map(Vec::len), Some(8));
    let today = d["series"][7].clone();
    assert_eq!((today["clicks"].as_u64(), today["conversions"].as_u64()), (Some(4), Some(2)));
    assert_eq!(d["byCampaign"][0]["key"], code.as_str());
    assert_eq!(d["byCampaign"][0]["name"], "Dash Campaign");
    assert_eq!(d["byAffiliate"][0]["key"], mine["code"]);
    assert_eq!(d["byAffiliate"][0]["revenue"], "100000.00");
    let channel_clicks: u64 =
        d["byChannel"].as_array().into_iter().flatten().filter_map(|r| r["clicks"].as_u64()).sum();
    assert_eq!(channel_clicks, 4);
    assert_eq!(d["commissions"].as_array().map(Vec::len), Some(6));

    // Another currency has no revenue here, but the conversions still count.
    let usd = app.ok(&admin, DASHBOARD, json!({"period": "30d", "currency": "usd"})).await["dashboard"].clone();
    assert_eq!(
        (usd["currency"].as_str(), usd["revenue"].as_str(), usd["conversions"].as_u64()),
        (Some("USD"), Some("0.00"), Some(2))
    );

    let mine_id = Uuid::parse_str(mine["id"].as_str().unwrap_or_default()).ok();
    let token = app.token(Role::Affiliate, mine_id);
    let own = app.ok(&token, DASHBOARD, json!({"period": "30d"})).await["dashboard"].clone();
    assert_eq!((own["clicks"].as_u64(), own["conversions"].as_u64()), (Some(3), Some(1)));
    assert_eq!(own["revenue"], "100000.00");
    assert_eq!(own["byAffiliate"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn bad_periods_and_anonymous_callers_are_refused() {
    let app = TestApp::new().await;
    for period in ["", "0d", "400d", "30x", "abc", "-7d"] {
        let (_, body) = app.post_graphql(Some(&app.admin()), DASHBOARD, json!({"period": period})).await;
        assert_eq!(body["errors"][0]["extensions"]["code"], "VALIDATION", "{period}");
        assert_eq!(body["errors"][0]["extensions"]["field"], "period", "{period}");
    }
    assert_eq!(app.error_code(None, DASHBOARD, json!({"period": "7d"})).await, "UNAUTHENTICATED");
    // Metrics and reports read at most two years, and say so before any query runs.
    let admin = app.admin();
    for query in [
        "{ conversionMetrics(period: \"2020-01-01..2022-12-31\") { clicks } }",
        "{ commissionReport(period: \"800d\", groupBy: STATUS) { rows { count } } }",
    ] {
        let (_, body) = app.post_graphql(Some(&admin), query, json!({})).await;
        assert_eq!(body["errors"][0]["extensions"]["code"], "VALIDATION", "{query}: {body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], "period", "{query}: {body}");
    }
    let (_, body) = app
        .post_graphql(
            Some(&admin),
            "{ attributionReport(from: \"2020-01-01T00:00:00Z\", to: \"2026-01-01T00:00:00Z\") { conversions } }",
            json!({}),
        )
        .await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "VALIDATION", "{body}");
    assert_eq!(body["errors"][0]["extensions"]["field"], "to", "{body}");
    let empty = app.ok(&app.token(Role::Analyst, None), DASHBOARD, json!({"period": "24h"})).await;
    assert_eq!(empty["dashboard"]["clicks"], 0);
    assert_eq!(empty["dashboard"]["conversionRate"], serde_json::Value::Null);
}

#[tokio::test]
async fn the_programme_currency_comes_first_and_held_conversions_are_not_revenue() {
    use sea_orm::{sea_query::Expr, ColumnTrait, EntityTrait, QueryFilter};
    let app = TestApp::with_config(|c| c.currency = "USD".into()).await;
    let admin = app.admin();
    let campaign = create_campaign(&app, "Held Campaign").await;
    let code = campaign["code"].as_str().unwrap_or_default().to_string();
    app.ok(&admin, "mutation($id: ID!) { activateCampaign(id: $id) { status } }", json!({"id": campaign["id"]})).await;
    let affiliate = create_affiliate(&app, "Held One", "held@dash.test").await;
    let conversion = "mutation($i: RecordConversionInput!) { recordConversion(input: $i) { id } }";
    for (id, value, currency) in
        [("usd-sale", "100", "USD"), ("cop-held", "250000", "COP"), ("cop-sale", "9000", "COP")]
    {
        app.ok(&admin, conversion, json!({"i": {"id": id, "value": value, "currency": currency, "campaignId": code, "affiliateId": affiliate["code"]}}))
            .await;
    }
    // The big COP sale is held for fraud review.
    entity::conversions::Entity::update_many()
        .col_expr(entity::conversions::Column::Status, Expr::value("HELD_FOR_REVIEW"))
        .filter(entity::conversions::Column::ExternalId.eq("cop-held"))
        .exec(app.db())
        .await
        .unwrap();

    let d = app.ok(&admin, DASHBOARD, json!({"period": "7d"})).await["dashboard"].clone();
    // USD first though COP's raw figures are larger, and the held sale is no revenue.
    assert_eq!(d["currency"], "USD", "{d}");
    assert_eq!(d["currencies"], json!(["USD", "COP"]));
    assert_eq!((d["revenue"].as_str(), d["conversions"].as_u64()), (Some("100.00"), Some(2)));
    let cop = app.ok(&admin, DASHBOARD, json!({"period": "7d", "currency": "COP"})).await["dashboard"].clone();
    assert_eq!(cop["revenue"], "9000.00", "only the sale that counts");
}
