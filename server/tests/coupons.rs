//! Coupon codes: a checkout that used an affiliate's code credits that affiliate, with or
//! without a click; the programme's rule decides when a click of another affiliate led
//! there too; usage per code in a period.

mod support;

use alpes::{auth::Role, service::attribution};
use axum::http::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{json, Value};
use support::{create_affiliate, TestApp};

const CREATE: &str = "mutation($a: ID!, $c: String!, $p: String, $k: ID) { createCoupon(affiliateId: $a, code: $c, stripePromotionCode: $p, campaignId: $k) { id code active stripePromotionCode } }";
const USAGE: &str = "{ couponUsage(period: \"7d\") { coupon { code } orders revenue { currency amount } } }";

fn checkout(id: &str, amount: i64, extra: Value) -> Value {
    let mut object = json!({
        "id": format!("cs_{id}"), "object": "checkout.session", "amount_total": amount, "currency": "usd",
        "payment_status": "paid", "payment_intent": format!("pi_{id}"), "customer_details": {"email": "buyer@example.com"},
        "metadata": {}
    });
    for (k, v) in extra.as_object().cloned().unwrap_or_default() {
        object[k] = v;
    }
    json!({"id": format!("evt_{id}"), "object": "event", "type": "checkout.session.completed", "livemode": false,
           "created": chrono::Utc::now().timestamp(), "data": {"object": object}})
}

async fn conversion_of(app: &TestApp, session: &str) -> entity::conversions::Model {
    entity::conversions::Entity::find()
        .filter(entity::conversions::Column::ExternalId.eq(session))
        .one(app.db())
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no conversion for {session}"))
}

/// The affiliates credited for a conversion once attribution ran.
async fn credited(app: &TestApp, conversion: &entity::conversions::Model) -> Vec<uuid::Uuid> {
    attribution::attribute_pending(&app.app.state, &app.app.state.markov).await.unwrap();
    let mut ids: Vec<uuid::Uuid> = entity::attribution_credits::Entity::find()
        .filter(entity::attribution_credits::Column::ConversionId.eq(conversion.id))
        .filter(entity::attribution_credits::Column::IsCurrent.eq(true))
        .all(app.db())
        .await
        .unwrap()
        .into_iter()
        .filter_map(|c| c.affiliate_id)
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

/// A click on a tracking link of `affiliate`, as the shop passes it to Stripe.
async fn click_of(app: &TestApp, affiliate: &Value) -> String {
    let campaign = app
        .ok(
            &app.admin(),
            support::CREATE_CAMPAIGN,
            json!({"input": support::campaign_input(&format!("C {}", affiliate["code"]))}),
        )
        .await;
    let id = campaign["createCampaign"]["id"].clone();
    app.ok(&app.admin(), "mutation($id: ID!) { activateCampaign(id: $id) { id } }", json!({"id": id})).await;
    let link = app
        .ok(
            &app.admin(),
            "mutation($i: CreateTrackingLinkInput!) { createTrackingLink(input: $i) { code } }",
            json!({"i": {"affiliateId": affiliate["id"], "campaignId": campaign["createCampaign"]["id"], "destinationUrl": "https://shop.example.com"}}),
        )
        .await;
    let code = link["createTrackingLink"]["code"].as_str().unwrap();
    let (status, headers, _) = app.get(&format!("/r/{code}"), None, None).await;
    assert_eq!(status, StatusCode::FOUND);
    headers.get("location").unwrap().to_str().unwrap().split("alpes_cid=").nth(1).unwrap().to_string()
}

fn uuid(value: &Value) -> uuid::Uuid {
    value.as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn a_code_credits_its_affiliate_without_a_click_and_over_another_affiliates_click() {
    let app = TestApp::new().await;
    let nora = create_affiliate(&app, "Nora", "nora@example.com").await;
    let ivan = create_affiliate(&app, "Ivan", "ivan@example.com").await;
    let made = app.ok(&app.admin(), CREATE, json!({"a": nora["id"], "c": "nora10", "p": "promo_1NoRa"})).await;
    assert_eq!(made["createCoupon"]["code"], "NORA10");
    assert_eq!(made["createCoupon"]["active"], true);

    // Stripe's promotion code id, no click: Nora's sale.
    let (status, _) = app
        .stripe(&checkout("a", 10_000, json!({"discounts": [{"coupon": "X", "promotion_code": "promo_1NoRa"}]})))
        .await;
    assert_eq!(status, StatusCode::OK);
    let sale = conversion_of(&app, "cs_a").await;
    assert_eq!(sale.affiliate_id, Some(uuid(&nora["id"])));
    assert_eq!(credited(&app, &sale).await, [uuid(&nora["id"])]);

    // The code typed in the checkout's metadata, after a click on Ivan's link: the code wins.
    let click = click_of(&app, &ivan).await;
    app.stripe(&checkout("b", 5_000, json!({"client_reference_id": click, "metadata": {"coupon": "Nora10"}}))).await;
    let sale = conversion_of(&app, "cs_b").await;
    assert_eq!(sale.affiliate_id, Some(uuid(&nora["id"])));
    assert_eq!(sale.interaction_id, None, "the click is kept on the order, not in the credit");
    assert_eq!(credited(&app, &sale).await, [uuid(&nora["id"])]);
    let order = entity::orders::Entity::find()
        .filter(entity::orders::Column::StripeSessionId.eq("cs_b"))
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    assert!(order.click_id.is_some() && order.coupon_id.is_some());
    assert_eq!(order.metadata["attribution"], "coupon");

    // Usage: two paid checkouts, $150.00.
    let usage = app.ok(&app.admin(), USAGE, json!({})).await;
    assert_eq!(
        usage["couponUsage"],
        json!([{ "coupon": { "code": "NORA10" }, "orders": 2, "revenue": [{ "currency": "USD", "amount": "150.00" }] }])
    );
    // Nora sees her own code and its usage; Ivan sees none of it.
    let nora_token = app.token(Role::Affiliate, Some(uuid(&nora["id"])));
    let ivan_token = app.token(Role::Affiliate, Some(uuid(&ivan["id"])));
    let own =
        app.ok(&nora_token, "query($a: ID!) { coupons(affiliateId: $a) { code } }", json!({"a": nora["id"]})).await;
    assert_eq!(own["coupons"], json!([{ "code": "NORA10" }]));
    assert_eq!(
        app.error_code(
            Some(&ivan_token),
            "query($a: ID!) { coupons(affiliateId: $a) { code } }",
            json!({"a": nora["id"]})
        )
        .await,
        "FORBIDDEN"
    );
    assert_eq!(app.ok(&ivan_token, USAGE, json!({})).await["couponUsage"], json!([]));
    assert_eq!(app.ok(&nora_token, USAGE, json!({})).await["couponUsage"][0]["orders"], 2);

    // Deactivated: the next checkout with it credits nobody by code.
    let id = made["createCoupon"]["id"].clone();
    app.ok(&app.admin(), "mutation($id: ID!) { deactivateCoupon(id: $id) { active } }", json!({"id": id})).await;
    app.stripe(&checkout("c", 1_000, json!({"metadata": {"coupon": "NORA10"}}))).await;
    assert_eq!(conversion_of(&app, "cs_c").await.affiliate_id, None);
}

#[tokio::test]
async fn with_clicks_first_a_click_keeps_its_sale_and_a_code_still_counts_alone() {
    let app = TestApp::with_config(|c| c.coupon_priority = "click".into()).await;
    let nora = create_affiliate(&app, "Nora", "nora@example.com").await;
    let ivan = create_affiliate(&app, "Ivan", "ivan@example.com").await;
    app.ok(&app.admin(), CREATE, json!({"a": nora["id"], "c": "NORA10"})).await;
    let click = click_of(&app, &ivan).await;
    app.stripe(&checkout("d", 5_000, json!({"client_reference_id": click, "metadata": {"coupon": "NORA10"}}))).await;
    let sale = conversion_of(&app, "cs_d").await;
    assert_eq!(sale.affiliate_id, Some(uuid(&ivan["id"])));
    assert!(sale.interaction_id.is_some());
    assert_eq!(credited(&app, &sale).await, [uuid(&ivan["id"])]);
    // Without a click the code still credits its affiliate.
    app.stripe(&checkout("e", 5_000, json!({"metadata": {"coupon": "NORA10"}}))).await;
    assert_eq!(conversion_of(&app, "cs_e").await.affiliate_id, Some(uuid(&nora["id"])));
}

#[tokio::test]
async fn codes_are_checked_and_unique() {
    let app = TestApp::new().await;
    let nora = create_affiliate(&app, "Nora", "nora@example.com").await;
    let ivan = create_affiliate(&app, "Ivan", "ivan@example.com").await;
    app.ok(&app.admin(), CREATE, json!({"a": nora["id"], "c": "NORA10", "p": "promo_1"})).await;
    for (vars, code, field) in [
        (json!({"a": ivan["id"], "c": "nora10"}), "CONFLICT", "code"),
        (json!({"a": ivan["id"], "c": "IVAN", "p": "promo_1"}), "CONFLICT", "stripePromotionCode"),
        (json!({"a": ivan["id"], "c": "no spaces"}), "VALIDATION", "code"),
        (json!({"a": ivan["id"], "c": "OK1", "p": "not-a-promo"}), "VALIDATION", "stripePromotionCode"),
        (json!({"a": "nobody", "c": "IVAN5"}), "NOT_FOUND", "affiliateId"),
    ] {
        let (_, body) = app.post_graphql(Some(&app.admin()), CREATE, vars.clone()).await;
        assert_eq!(body["errors"][0]["extensions"]["code"], code, "{vars}: {body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], field, "{vars}: {body}");
    }
    let analyst = app.token(Role::Analyst, None);
    assert_eq!(app.error_code(Some(&analyst), CREATE, json!({"a": ivan["id"], "c": "IVAN5"})).await, "FORBIDDEN");
    assert_eq!(app.count("affiliate_coupons").await, 1);
}
