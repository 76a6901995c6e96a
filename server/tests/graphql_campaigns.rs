//! Campaigns and tracking links through GraphQL.

mod support;

use alpes::auth::Role;
use axum::http::StatusCode;
use serde_json::{json, Value};
use support::{campaign_input, create_affiliate, create_campaign, TestApp, CREATE_CAMPAIGN};

const ACTIVATE: &str = "mutation($id: ID!) { activateCampaign(id: $id) { status } }";
const PAUSE: &str = "mutation($id: ID!) { pauseCampaign(id: $id) { status } }";
const UPDATE: &str = "mutation($input: UpdateCampaignInput!) { updateCampaign(input: $input) { name endsAt lookbackDays attributionModel budget } }";
const CREATE_LINK: &str = "mutation($input: CreateTrackingLinkInput!) { createTrackingLink(input: $input) { id code url destinationUrl affiliate { code } campaign { code } } }";

#[tokio::test]
async fn create_with_the_seed_fields() {
    let app = TestApp::new().await;
    let c = create_campaign(&app, "Campaña Black Friday 2023").await;
    assert_eq!(c["code"], "campana-black-friday-2023");
    assert_eq!(c["status"], "DRAFT");
    assert_eq!(c["budget"], "500000.00");
    assert_eq!(c["currency"], "COP");
    assert_eq!(c["type"], "promocional");
    assert_eq!(c["channels"], json!(["web", "email", "social"]));
    assert_eq!(c["targeting"]["edad_minima"], 18);
    assert_eq!(c["attributionModel"], "LAST_CLICK");
    assert_eq!(c["lookbackDays"], 30);
    assert_eq!(
        c["commissionConfig"],
        json!({"conversionRate": "15", "saleRate": "8", "bonusTargets": "25", "commissionType": "PERCENTAGE", "flatAmount": null})
    );
}

#[tokio::test]
async fn lifecycle_moves_and_illegal_ones() {
    let app = TestApp::new().await;
    let c = create_campaign(&app, "Verano").await;
    let admin = app.admin();
    let id = json!({"id": c["id"]});
    assert_eq!(app.error_code(Some(&admin), PAUSE, id.clone()).await, "INVALID_TRANSITION", "a draft cannot be paused");
    assert_eq!(app.ok(&admin, ACTIVATE, id.clone()).await["activateCampaign"]["status"], "ACTIVE");
    assert_eq!(app.error_code(Some(&admin), ACTIVATE, id.clone()).await, "INVALID_TRANSITION", "never a silent no-op");
    assert_eq!(app.ok(&admin, PAUSE, id.clone()).await["pauseCampaign"]["status"], "PAUSED");
    assert_eq!(app.ok(&admin, ACTIVATE, id.clone()).await["activateCampaign"]["status"], "ACTIVE");
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
    let types: Vec<String> = entity::outbox_events::Entity::find()
        .filter(entity::outbox_events::Column::Topic.eq("marketing.eventos"))
        .order_by_asc(entity::outbox_events::Column::Seq)
        .all(app.db())
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event_type)
        .collect();
    assert_eq!(types, ["campana_creada", "campana_activada", "campana_pausada", "campana_activada"]);
    let analyst = app.token(Role::Analyst, None);
    assert_eq!(app.error_code(Some(&analyst), PAUSE, id).await, "FORBIDDEN");
}

#[tokio::test]
async fn bad_input_gets_its_code_and_changes_nothing() {
    let app = TestApp::new().await;
    create_campaign(&app, "Existing").await;
    let before = (app.count("campaigns").await, app.count("outbox_events").await);
    let with = |patch: Value| {
        let mut input = campaign_input("Nueva");
        for (k, v) in patch.as_object().unwrap() {
            input[k] = v.clone();
        }
        json!({ "input": input })
    };
    let cases: Vec<(&str, Value, &str, Option<&str>)> = vec![
        ("end before start", with(json!({"endsAt": "2026-11-01T00:00:00Z"})), "VALIDATION", Some("endsAt")),
        ("unknown currency", with(json!({"currency": "ABC"})), "VALIDATION", Some("currency")),
        (
            "rate above 100",
            with(json!({"commissionConfig": {"saleRate": "120"}})),
            "VALIDATION",
            Some("commissionConfig.saleRate"),
        ),
        (
            "flat without amount",
            with(json!({"commissionConfig": {"commissionType": "FLAT"}})),
            "VALIDATION",
            Some("commissionConfig.flatAmount"),
        ),
        ("lookback 0", with(json!({"lookbackDays": 0})), "VALIDATION", Some("lookbackDays")),
        (
            "budget finer than the currency",
            with(json!({"currency": "JPY", "budget": "10.5"})),
            "VALIDATION",
            Some("budget"),
        ),
        ("targeting not an object", with(json!({"targeting": [1, 2]})), "VALIDATION", Some("targeting")),
        ("bad channel", with(json!({"channels": ["we b"]})), "VALIDATION", Some("channels")),
        ("duplicate code", with(json!({"code": "existing"})), "CONFLICT", Some("code")),
        ("bad date", with(json!({"startsAt": "yesterday"})), "VALIDATION", None),
    ];
    for (name, variables, code, field) in cases {
        let (_, body) = app.post_graphql(Some(&app.admin()), CREATE_CAMPAIGN, variables).await;
        assert_eq!(body["errors"][0]["extensions"]["code"], code, "{name}: {body}");
        if let Some(field) = field {
            assert_eq!(body["errors"][0]["extensions"]["field"], field, "{name}: {body}");
        }
    }
    assert_eq!(before, (app.count("campaigns").await, app.count("outbox_events").await));
}

#[tokio::test]
async fn update_checks_the_merged_dates() {
    let app = TestApp::new().await;
    let c = create_campaign(&app, "Otoño").await;
    let admin = app.admin();
    let moved = app
        .ok(&admin, UPDATE, json!({"input": {"id": c["id"], "name": "Otoño 2027", "lookbackDays": 14, "attributionModel": "LINEAR", "budget": "1000"}}))
        .await;
    assert_eq!(moved["updateCampaign"]["lookbackDays"], 14);
    assert_eq!(moved["updateCampaign"]["attributionModel"], "LINEAR");
    assert_eq!(moved["updateCampaign"]["budget"], "1000.00");
    let (_, body) = app
        .post_graphql(Some(&admin), UPDATE, json!({"input": {"id": c["id"], "startsAt": "2030-01-01T00:00:00Z"}}))
        .await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "endsAt", "new start after the stored end");
    let missing = json!({"input": {"id": uuid::Uuid::new_v4().to_string(), "name": "x"}});
    assert_eq!(app.error_code(Some(&admin), UPDATE, missing).await, "NOT_FOUND");
}

#[tokio::test]
async fn tracking_links_for_admins_and_for_affiliates_themselves() {
    let app = TestApp::new().await;
    let own = create_affiliate(&app, "Own", "own@example.com").await;
    let other = create_affiliate(&app, "Other", "other@example.com").await;
    let campaign = create_campaign(&app, "Links").await;
    let domains = "mutation($i: UpdateCampaignInput!) { updateCampaign(input: $i) { allowedDomains } }";
    app.ok(
        &app.admin(),
        domains,
        json!({"i": {"id": campaign["id"], "allowedDomains": ["shop.example.com", "x.com"]}}),
    )
    .await;

    let link = app
        .ok(&app.admin(), CREATE_LINK, json!({"input": {"affiliateId": "own", "campaignId": campaign["code"], "destinationUrl": "https://shop.example.com/p?x=1"}}))
        .await;
    let link = &link["createTrackingLink"];
    assert_eq!(link["affiliate"]["code"], "own");
    assert_eq!(link["campaign"]["code"], "links");
    assert_eq!(link["url"], format!("http://alpes.test/r/{}", link["code"].as_str().unwrap()));

    let own_id: uuid::Uuid = own["id"].as_str().unwrap().parse().unwrap();
    let token = app.token(Role::Affiliate, Some(own_id));
    let mine = app
        .ok(&token, CREATE_LINK, json!({"input": {"affiliateId": own["id"], "campaignId": campaign["id"], "destinationUrl": "https://shop.example.com/b", "code": "own-black"}}))
        .await;
    assert_eq!(mine["createTrackingLink"]["code"], "own-black");
    let code = app
        .error_code(Some(&token), CREATE_LINK, json!({"input": {"affiliateId": other["id"], "campaignId": campaign["id"], "destinationUrl": "https://shop.example.com/"}}))
        .await;
    assert_eq!(code, "FORBIDDEN");
    let code = app
        .error_code(
            Some(&app.admin()),
            CREATE_LINK,
            json!({"input": {"affiliateId": "own", "campaignId": "links", "destinationUrl": "javascript:alert(1)"}}),
        )
        .await;
    assert_eq!(code, "VALIDATION");
    let code = app
        .error_code(Some(&app.admin()), CREATE_LINK, json!({"input": {"affiliateId": "own", "campaignId": "links", "destinationUrl": "https://x.com", "code": "own-black"}}))
        .await;
    assert_eq!(code, "CONFLICT");
    let code = app
        .error_code(
            Some(&app.admin()),
            CREATE_LINK,
            json!({"input": {"affiliateId": "nobody", "campaignId": "links", "destinationUrl": "https://x.com"}}),
        )
        .await;
    assert_eq!(code, "NOT_FOUND");

    // The affiliate sees its own links only, through every path.
    let seen = app
        .ok(&token, "{ trackingLinks { totalCount } campaign(id: \"links\") { trackingLinks { code } } }", json!({}))
        .await;
    assert_eq!(seen["trackingLinks"]["totalCount"], 2);
    let all = app.ok(&app.admin(), "{ trackingLinks { totalCount } }", json!({})).await;
    assert_eq!(all["trackingLinks"]["totalCount"], 2);
    assert_eq!(seen["campaign"]["trackingLinks"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn links_go_only_where_their_campaign_allows() {
    let app = TestApp::new().await;
    let own = create_affiliate(&app, "Own", "own@example.com").await;
    let campaign = create_campaign(&app, "Shop").await;
    let token = app.token(Role::Affiliate, Some(own["id"].as_str().unwrap().parse().unwrap()));
    let link = |destination: &str, code: Option<&str>| json!({"input": {"affiliateId": own["id"], "campaignId": "shop", "destinationUrl": destination, "code": code}});
    // No domains yet: affiliates cannot make links for it; admins can.
    let (_, body) = app.post_graphql(Some(&token), CREATE_LINK, link("https://shop.example.com/a", None)).await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "campaignId", "{body}");
    app.ok(&app.admin(), CREATE_LINK, link("https://elsewhere.example.org/", Some("early"))).await;

    let update = "mutation($i: UpdateCampaignInput!) { updateCampaign(input: $i) { allowedDomains } }";
    let (_, body) = app
        .post_graphql(
            Some(&app.admin()),
            update,
            json!({"i": {"id": campaign["id"], "allowedDomains": ["https://x.com/path"]}}),
        )
        .await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "allowedDomains", "{body}");
    let set = app
        .ok(&app.admin(), update, json!({"i": {"id": campaign["id"], "allowedDomains": ["Example.com", "shop.test"]}}))
        .await;
    assert_eq!(set["updateCampaign"]["allowedDomains"], json!(["example.com", "shop.test"]));

    // Its hosts and their subdomains pass; anything else is refused, for admins too.
    for ok in ["https://example.com/", "https://shop.example.com/p?x=1", "http://shop.test:8080/a"] {
        app.ok(&token, CREATE_LINK, link(ok, None)).await;
    }
    for (who, bad) in [
        (&token, "https://evil.com/"),
        (&token, "https://example.com.evil.com/"),
        (&token, "https://notexample.com/"),
        (&token, "https://example.com@evil.com/"),
        (&app.admin(), "https://evil.com/"),
    ] {
        let (_, body) = app.post_graphql(Some(who), CREATE_LINK, link(bad, None)).await;
        assert_eq!(body["errors"][0]["extensions"]["field"], "destinationUrl", "{bad}: {body}");
    }
    // Reserved words in chosen codes.
    let (_, body) =
        app.post_graphql(Some(&token), CREATE_LINK, link("https://example.com/", Some("account-login"))).await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "code", "{body}");
    // The link made before the domains were set no longer redirects elsewhere.
    let (status, _, _) = app.get("/r/early", None, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// Every wrong field of a campaign is named at once; nothing is written.
#[tokio::test]
async fn every_wrong_campaign_field_is_named_at_once() {
    let app = TestApp::new().await;
    let mut input = campaign_input("");
    input["endsAt"] = json!("2020-01-01T00:00:00Z");
    input["channels"] = json!(["web", "not a channel"]);
    input["lookbackDays"] = json!(0);
    input["commissionConfig"] = json!({"saleRate": "150", "bonusTargets": "-1"});
    let before = app.count("campaigns").await;
    let (_, body) = app.post_graphql(Some(&app.admin()), CREATE_CAMPAIGN, json!({ "input": input })).await;
    let ext = &body["errors"][0]["extensions"];
    assert_eq!(ext["code"], "VALIDATION", "{body}");
    let fields: Vec<&str> = ext["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(
        fields,
        ["name", "endsAt", "channels", "commissionConfig.saleRate", "commissionConfig.bonusTargets", "lookbackDays"],
        "{body}"
    );
    assert_eq!(app.count("campaigns").await, before);
}
