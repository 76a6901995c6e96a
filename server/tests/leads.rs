//! Leads: a sign-up or lead recorded first, a sale by the same customer later (no click,
//! no code, no partner named) is credited to the lead's journey; the dashboard counts
//! leads and those that bought.

mod support;

use alpes::{auth::Role, service::attribution};
use axum::http::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{json, Value};
use support::{create_affiliate, TestApp};

const RECORD: &str = "mutation($i: RecordConversionInput!) { recordConversion(input: $i) { id } }";
const FUNNEL: &str = "{ dashboard(period: \"7d\") { leads { leads sales rate } } }";

fn checkout(id: &str, email: &str, metadata: Value) -> Value {
    json!({"id": format!("evt_{id}"), "object": "event", "type": "checkout.session.completed", "livemode": false,
        "created": chrono::Utc::now().timestamp(), "data": {"object": {
            "id": format!("cs_{id}"), "object": "checkout.session", "amount_total": 9_900, "currency": "usd",
            "payment_status": "paid", "payment_intent": format!("pi_{id}"), "customer_details": {"email": email},
            "metadata": metadata }}})
}

async fn sale(app: &TestApp, session: &str) -> entity::conversions::Model {
    entity::conversions::Entity::find()
        .filter(entity::conversions::Column::ExternalId.eq(session))
        .one(app.db())
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no sale {session}"))
}

#[tokio::test]
async fn a_sale_after_a_lead_is_credited_to_the_leads_journey() {
    let app = TestApp::new().await;
    let nora = create_affiliate(&app, "Nora", "nora@example.com").await;
    let campaign =
        app.ok(&app.admin(), support::CREATE_CAMPAIGN, json!({"input": support::campaign_input("Trial")})).await;
    let campaign_id = campaign["createCampaign"]["id"].clone();
    app.ok(&app.admin(), "mutation($id: ID!) { activateCampaign(id: $id) { id } }", json!({"id": campaign_id})).await;

    // The trial sign-up, from Nora's audience, with the customer's email (hashed when stored).
    let lead = json!({"i": {"id": "lead-1", "type": "SIGNUP", "value": "0", "currency": "USD", "campaignId": campaign_id,
        "affiliateId": nora["id"], "userId": "user-42", "customerEmail": "Trial.User@Example.com"}});
    app.ok(&app.admin(), RECORD, lead).await;

    // Weeks later the same customer pays, with no click and no partner in the checkout.
    let (status, _) = app.stripe(&checkout("paid", "trial.user@example.com", json!({}))).await;
    assert_eq!(status, StatusCode::OK);
    let paid = sale(&app, "cs_paid").await;
    assert_eq!(paid.affiliate_id, Some(nora["id"].as_str().unwrap().parse().unwrap()));
    assert_eq!(paid.user_id.as_deref(), Some("user-42"), "the lead's person: one journey");
    assert!(paid.metadata["lead_conversion_id"].is_string());
    attribution::attribute_pending(&app.app.state, &app.app.state.markov).await.unwrap();
    let credits = entity::attribution_credits::Entity::find()
        .filter(entity::attribution_credits::Column::ConversionId.eq(paid.id))
        .filter(entity::attribution_credits::Column::IsCurrent.eq(true))
        .all(app.db())
        .await
        .unwrap();
    assert!(!credits.is_empty() && credits.iter().all(|c| c.affiliate_id == paid.affiliate_id), "{credits:?}");

    // Another customer's sale is nobody's; a second sale of the same customer does not count twice.
    app.stripe(&checkout("other", "someone@example.com", json!({}))).await;
    assert_eq!(sale(&app, "cs_other").await.affiliate_id, None);
    app.stripe(&checkout("again", "trial.user@example.com", json!({}))).await;
    let funnel = app.ok(&app.admin(), FUNNEL, json!({})).await;
    assert_eq!(funnel["dashboard"]["leads"], json!({"leads": 1, "sales": 1, "rate": 100.0}));

    // By user id too (the shop passes it in the checkout's metadata).
    let lead = json!({"i": {"id": "lead-2", "type": "LEAD", "value": "0", "currency": "USD", "campaignId": campaign_id,
        "affiliateId": nora["id"], "userId": "user-77"}});
    app.ok(&app.admin(), RECORD, lead).await;
    app.stripe(&checkout("by_user", "new-address@example.com", json!({"user_id": "user-77"}))).await;
    assert!(sale(&app, "cs_by_user").await.affiliate_id.is_some());
    let funnel = app.ok(&app.admin(), FUNNEL, json!({})).await;
    assert_eq!(funnel["dashboard"]["leads"], json!({"leads": 2, "sales": 2, "rate": 100.0}));

    // Nora sees her own funnel; another affiliate none of it.
    let ivan = create_affiliate(&app, "Ivan", "ivan@example.com").await;
    let ivan_token = app.token(Role::Affiliate, Some(ivan["id"].as_str().unwrap().parse().unwrap()));
    assert_eq!(
        app.ok(&ivan_token, FUNNEL, json!({})).await["dashboard"]["leads"],
        json!({"leads": 0, "sales": 0, "rate": null})
    );
}

#[tokio::test]
async fn a_lead_outside_its_campaign_window_brings_nothing() {
    let app = TestApp::new().await;
    let nora = create_affiliate(&app, "Nora", "nora@example.com").await;
    let mut input = support::campaign_input("Short window");
    input["lookbackDays"] = json!(7);
    let campaign = app.ok(&app.admin(), support::CREATE_CAMPAIGN, json!({"input": input})).await;
    let campaign_id = campaign["createCampaign"]["id"].clone();
    app.ok(&app.admin(), "mutation($id: ID!) { activateCampaign(id: $id) { id } }", json!({"id": campaign_id})).await;
    let old = (chrono::Utc::now() - chrono::Duration::days(10)).to_rfc3339();
    let lead = json!({"i": {"id": "old-lead", "type": "LEAD", "value": "0", "currency": "USD", "campaignId": campaign_id,
        "affiliateId": nora["id"], "customerEmail": "late@example.com", "occurredAt": old}});
    app.ok(&app.admin(), RECORD, lead).await;
    app.stripe(&checkout("late", "late@example.com", json!({}))).await;
    assert_eq!(sale(&app, "cs_late").await.affiliate_id, None);
}
