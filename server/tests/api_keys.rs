//! API keys (made, listed, rotated and revoked by admins; accepted wherever a token is) and
//! who may record conversions: ADMIN users and keys with that scope, never affiliates,
//! keyless only under the legacy switch and then always held for review.

mod support;

use alpes::{auth::Role, service::attribution};
use axum::{
    body::Body,
    http::{Request, StatusCode},
};
use chrono::{Duration, Utc};
use sea_orm::{ActiveModelTrait, EntityTrait, Set};
use serde_json::{json, Value};
use support::{create_affiliate, TestApp};

const PEER: [u8; 4] = [10, 9, 9, 9];

const CREATE_KEY: &str = "mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { secret apiKey { id name prefix role scopes status affiliateId } } }";
const ME: &str = "{ me { role affiliateId user { id } } }";

async fn create_key(app: &TestApp, input: Value) -> (String, Value) {
    let made = app.ok(&app.admin(), CREATE_KEY, json!({ "i": input })).await["createApiKey"].clone();
    (made["secret"].as_str().unwrap().to_string(), made["apiKey"].clone())
}

/// A GET with the key in `X-Api-Key`.
async fn get_with_key(app: &TestApp, uri: &str, key: &str) -> (StatusCode, Value) {
    let request = Request::get(uri).header("x-api-key", key).body(Body::empty()).unwrap();
    let (status, _, body) = app.send(request).await;
    (status, body)
}

/// The seed 002 campaign and affiliate the conversions below name.
async fn programme(app: &TestApp) -> Value {
    let campaign =
        json!({"input": {"name": "Shop", "code": "shop", "startsAt": "2024-01-01T00:00:00Z", "currency": "USD"}});
    let c = app
        .ok(&app.admin(), "mutation($input: CreateCampaignInput!) { createCampaign(input: $input) { id } }", campaign)
        .await;
    app.ok(
        &app.admin(),
        "mutation($id: ID!) { activateCampaign(id: $id) { status } }",
        json!({"id": c["createCampaign"]["id"]}),
    )
    .await;
    create_affiliate(app, "Ana", "ana@example.com").await
}

fn seed_conversion(id: &str, affiliate: &str, value: &str) -> String {
    format!(
        r#"{{"id": "{id}", "campaña_id": "shop", "influencer_id": "{affiliate}", "usuario_id": "u-{id}",
            "tipo_conversion": "VENTA", "valor": {value}, "moneda": "USD", "timestamp": "{}"}}"#,
        (Utc::now() - Duration::minutes(1)).to_rfc3339()
    )
}

async fn attribute(app: &TestApp) -> usize {
    attribution::attribute_pending(&app.app.state, &app.app.state.markov).await.unwrap()
}

async fn stored(app: &TestApp, external_id: &str) -> entity::conversions::Model {
    use sea_orm::{ColumnTrait, QueryFilter};
    entity::conversions::Entity::find()
        .filter(entity::conversions::Column::ExternalId.eq(external_id))
        .one(app.db())
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("conversion {external_id} stored"))
}

fn codes(conversion: &entity::conversions::Model) -> Vec<String> {
    let mut codes: Vec<String> =
        conversion.fraud_signals.as_array().unwrap().iter().map(|s| s["code"].as_str().unwrap().to_string()).collect();
    codes.sort();
    codes
}

#[tokio::test]
async fn admins_make_keys_that_are_shown_once_and_stored_hashed() {
    let app = TestApp::new().await;
    let (secret, key) = create_key(
        &app,
        json!({ "name": "shop server", "role": "ANALYST", "scopes": ["RECORD_CONVERSIONS"], "expiresInDays": 365 }),
    )
    .await;
    assert!(secret.starts_with("alpes_sk_") && secret.len() == 49, "{secret}");
    assert!(secret.starts_with(key["prefix"].as_str().unwrap()));
    assert_eq!(key["scopes"], json!(["RECORD_CONVERSIONS"]));
    assert_eq!(key["status"], "ACTIVE");

    // Listed without the secret; the database holds only its hash.
    let list = app.ok(&app.admin(), "{ apiKeys { id name prefix status lastUsedAt } }", json!({})).await;
    assert_eq!(list["apiKeys"].as_array().unwrap().len(), 1);
    assert!(!list.to_string().contains(&secret[15..]));
    let row = entity::api_keys::Entity::find().one(app.db()).await.unwrap().unwrap();
    assert_eq!(row.secret_hash, alpes::domain::api_key::hash(&secret));
    assert!(!format!("{row:?}").contains(&secret[15..]));
    let audit = entity::audit_log::Entity::find().all(app.db()).await.unwrap();
    assert!(audit.iter().any(|a| a.action == "api_key.create"));
    assert!(!format!("{audit:?}").contains(&secret[15..]), "the audit log keeps no secret");

    // Only admins make or see keys; the rules of roles hold.
    let analyst = app.token(Role::Analyst, None);
    let input = json!({ "i": { "name": "x", "role": "ADMIN" } });
    assert_eq!(app.error_code(Some(&analyst), CREATE_KEY, input).await, "FORBIDDEN");
    assert_eq!(app.error_code(Some(&analyst), "{ apiKeys { id } }", json!({})).await, "FORBIDDEN");
    let ana = create_affiliate(&app, "Ana", "ana@example.com").await;
    let bad = [
        json!({ "name": "x", "role": "AFFILIATE", "affiliateId": ana["code"], "scopes": ["RECORD_CONVERSIONS"] }),
        json!({ "name": "x", "role": "AFFILIATE" }),
        json!({ "name": "x", "role": "ANALYST", "affiliateId": ana["code"] }),
        json!({ "name": " ", "role": "ANALYST" }),
        json!({ "name": "x", "role": "ANALYST", "expiresInDays": 0 }),
    ];
    for input in bad {
        assert_eq!(
            app.error_code(Some(&app.admin()), CREATE_KEY, json!({ "i": input })).await,
            "VALIDATION",
            "{input}"
        );
    }
    assert_eq!(app.count("api_keys").await, 1, "nothing made by refused requests");
}

#[tokio::test]
async fn a_key_is_accepted_wherever_a_token_is_and_keeps_its_role() {
    let app = TestApp::new().await;
    let ana = create_affiliate(&app, "Ana", "ana@example.com").await;
    let beto = create_affiliate(&app, "Beto", "beto@example.com").await;
    let (analyst, _) = create_key(&app, json!({ "name": "bi", "role": "ANALYST" })).await;
    let (partner, _) =
        create_key(&app, json!({ "name": "ana's", "role": "AFFILIATE", "affiliateId": ana["code"] })).await;

    // As a bearer on GraphQL, and in X-Api-Key on REST.
    let me = app.ok(&analyst, ME, json!({})).await;
    assert_eq!(me["me"], json!({ "role": "ANALYST", "affiliateId": null, "user": null }));
    let (status, listed) = get_with_key(&app, "/api/v1/afiliados", &analyst).await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    let mutation = "mutation($id: ID!) { deleteAffiliate(id: $id) { id } }";
    assert_eq!(app.error_code(Some(&analyst), mutation, json!({ "id": beto["id"] })).await, "FORBIDDEN");

    // An affiliate's key sees that affiliate only.
    let me = app.ok(&partner, ME, json!({})).await;
    assert_eq!(me["me"]["affiliateId"], ana["id"]);
    let other = "query($id: ID!) { affiliate(id: $id) { id } }";
    assert_eq!(app.error_code(Some(&partner), other, json!({ "id": beto["id"] })).await, "NOT_FOUND");
    let (status, _) =
        get_with_key(&app, &format!("/api/v1/afiliados/{}", beto["id"].as_str().unwrap()), &partner).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Not keys: refused as such, never anonymous.
    for bad in ["alpes_sk_short", "alpes_sk_0123456789012345678901234567890123456789", "alpes_sk_ä"] {
        let (status, body) = get_with_key(&app, "/api/v1/afiliados", bad).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("UNAUTHENTICATED")),
            "{bad}"
        );
        assert_eq!(app.error_code(Some(bad), ME, json!({})).await, "UNAUTHENTICATED", "{bad}");
    }

    // A suspended affiliate's key stops working.
    app.ok(&app.admin(), "mutation($id: ID!) { deleteAffiliate(id: $id) { id } }", json!({ "id": ana["id"] })).await;
    assert_eq!(app.error_code(Some(&partner), ME, json!({})).await, "UNAUTHENTICATED");
}

#[tokio::test]
async fn revoked_rotated_and_expired_keys() {
    let app = TestApp::new().await;
    let (old, key) = create_key(&app, json!({ "name": "shop", "role": "ANALYST" })).await;
    assert_eq!(app.ok(&old, ME, json!({})).await["me"]["role"], "ANALYST");

    // Rotated: the new secret works, the old one during its grace period.
    let rotate = "mutation($id: ID!, $g: Int) { rotateApiKey(id: $id, graceHours: $g) { secret apiKey { prefix previousSecretExpiresAt } } }";
    let rotated = app.ok(&app.admin(), rotate, json!({ "id": key["id"], "g": 1 })).await["rotateApiKey"].clone();
    let new = rotated["secret"].as_str().unwrap().to_string();
    assert_ne!(new, old);
    assert!(rotated["apiKey"]["previousSecretExpiresAt"].is_string());
    assert_eq!(app.ok(&new, ME, json!({})).await["me"]["role"], "ANALYST");
    assert_eq!(app.ok(&old, ME, json!({})).await["me"]["role"], "ANALYST");
    // Again without grace: the one before stops at once.
    let again =
        app.ok(&app.admin(), rotate, json!({ "id": key["id"], "g": 0 })).await["rotateApiKey"]["secret"].clone();
    let newest = again.as_str().unwrap().to_string();
    assert_eq!(app.error_code(Some(&new), ME, json!({})).await, "UNAUTHENTICATED");
    assert_eq!(app.error_code(Some(&old), ME, json!({})).await, "UNAUTHENTICATED");
    assert_eq!(app.error_code(Some(&app.admin()), rotate, json!({ "id": key["id"], "g": 500 })).await, "VALIDATION");

    // Revoked: refused at once, cannot be rotated back to life.
    let revoke = "mutation($id: ID!) { revokeApiKey(id: $id) { status revokedAt } }";
    let revoked = app.ok(&app.admin(), revoke, json!({ "id": key["id"] })).await;
    assert_eq!(revoked["revokeApiKey"]["status"], "REVOKED");
    assert_eq!(app.error_code(Some(&newest), ME, json!({})).await, "UNAUTHENTICATED");
    assert_eq!(app.error_code(Some(&app.admin()), rotate, json!({ "id": key["id"] })).await, "INVALID_TRANSITION");

    // Expired: a key past its date is refused.
    let (dated, key) = create_key(&app, json!({ "name": "dated", "role": "ANALYST", "expiresInDays": 1 })).await;
    let id: uuid::Uuid = key["id"].as_str().unwrap().parse().unwrap();
    let row = entity::api_keys::Entity::find_by_id(id).one(app.db()).await.unwrap().unwrap();
    let mut active: entity::api_keys::ActiveModel = row.into();
    active.expires_at = Set(Some(Utc::now() - Duration::minutes(1)));
    active.update(app.db()).await.unwrap();
    assert_eq!(app.error_code(Some(&dated), ME, json!({})).await, "UNAUTHENTICATED");
    let list = app.ok(&app.admin(), "{ apiKeys { name status } }", json!({})).await;
    assert!(list["apiKeys"].as_array().unwrap().contains(&json!({ "name": "dated", "status": "EXPIRED" })), "{list}");
}

#[tokio::test]
async fn only_admins_and_keys_with_the_scope_record_conversions() {
    let app = TestApp::new().await;
    let ana = programme(&app).await;
    let code = ana["code"].as_str().unwrap();
    let ana_id: uuid::Uuid = ana["id"].as_str().unwrap().parse().unwrap();

    // The attack: no credentials, any affiliate, a big value.
    let (status, _, body) =
        app.post_json("/tracking/conversiones", &seed_conversion("c-anon", code, "250000"), PEER, &[]).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("UNAUTHENTICATED")), "{body}");

    // An affiliate records nothing, by GraphQL, REST or its own key.
    let affiliate = app.token(Role::Affiliate, Some(ana_id));
    let record = "mutation($i: RecordConversionInput!) { recordConversion(input: $i) { id } }";
    let input = json!({ "i": { "id": "c-self", "value": "1000000.00", "currency": "USD", "campaignId": "shop" } });
    assert_eq!(app.error_code(Some(&affiliate), record, input.clone()).await, "FORBIDDEN");
    let seed_004 =
        json!({ "id": "c-rest", "afiliado_id": code, "campana_id": "shop", "valor_conversion": 100, "moneda": "USD" });
    let (status, _, _) = app
        .post_json(
            "/api/v1/conversiones",
            &seed_004.to_string(),
            PEER,
            &[("authorization", &format!("Bearer {affiliate}"))],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let partner = app.api_key(Role::Affiliate, Some(code), false).await;
    assert_eq!(app.error_code(Some(&partner), record, input.clone()).await, "FORBIDDEN");
    // Nor an analyst, nor a key without the scope.
    assert_eq!(app.error_code(Some(&app.token(Role::Analyst, None)), record, input.clone()).await, "FORBIDDEN");
    let reader = app.api_key(Role::Admin, None, false).await;
    let (status, _, _) = app
        .post_json("/tracking/conversiones", &seed_conversion("c-reader", code, "10"), PEER, &[("x-api-key", &reader)])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(app.count("conversions").await, 0, "nothing recorded by refused callers");

    // The shop's key, and an admin, do.
    let shop = app.shop_key().await;
    let (status, _, body) = app
        .post_json("/tracking/conversiones", &seed_conversion("c-shop", code, "49.00"), PEER, &[("x-api-key", &shop)])
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, _, _) = app
        .post_json(
            "/tracking/conversiones",
            &seed_conversion("c-bearer", code, "49.00"),
            PEER,
            &[("authorization", &format!("Bearer {shop}"))],
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    app.ok(
        &app.admin(),
        record,
        json!({ "i": { "id": "c-admin", "value": "49.00", "currency": "USD", "campaignId": "shop" } }),
    )
    .await;
    assert_eq!(app.count("conversions").await, 3);
}

#[tokio::test]
async fn keyless_conversions_under_the_legacy_switch_are_always_held_and_never_auto_approved() {
    let app = TestApp::with_config(|c| {
        c.legacy_keyless_conversions = true;
        c.commission_holding_days = 0;
        c.commission_auto_approve_max_fraud_score = 100;
    })
    .await;
    let ana = programme(&app).await;
    let code = ana["code"].as_str().unwrap();
    let (status, _, body) =
        app.post_json("/tracking/conversiones", &seed_conversion("legacy", code, "20.00"), PEER, &[]).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // An affiliate is still refused: the switch is for keyless seed clients only.
    let affiliate = app.token(Role::Affiliate, Some(ana["id"].as_str().unwrap().parse().unwrap()));
    let record = "mutation($i: RecordConversionInput!) { recordConversion(input: $i) { id } }";
    let input = json!({ "i": { "id": "mine", "value": "5.00", "currency": "USD", "campaignId": "shop" } });
    assert_eq!(app.error_code(Some(&affiliate), record, input).await, "FORBIDDEN");

    assert_eq!(attribute(&app).await, 1);
    let legacy = stored(&app, "legacy").await;
    assert_eq!(legacy.status, entity::conversions::ConversionStatus::HeldForReview);
    assert!(codes(&legacy).contains(&"UNVERIFIED_SOURCE".to_string()), "{:?}", codes(&legacy));
    assert_eq!(app.count("commissions").await, 0, "held: no commission yet");

    // Released by an admin: commissions follow, but are never approved automatically.
    let release = "mutation($id: ID!) { reattributeConversion(id: $id, model: LAST_CLICK) { status } }";
    let released = app.ok(&app.admin(), release, json!({ "id": legacy.id })).await;
    assert_eq!(released["reattributeConversion"]["status"], "ATTRIBUTED");
    let commissions = entity::commissions::Entity::find().all(app.db()).await.unwrap();
    assert_eq!(commissions.len(), 1);
    let calculate = "mutation($id: ID!) { calculateCommission(id: $id) { status } }";
    app.ok(&app.admin(), calculate, json!({ "id": commissions[0].id })).await;
    let run = app.ok(&app.admin(), "mutation { runCommissionAutoApproval { id } }", json!({})).await;
    assert_eq!(run["runCommissionAutoApproval"], json!([]), "a person approves it or nobody");
    let approve = "mutation($id: ID!) { approveCommission(id: $id) { status } }";
    let approved = app.ok(&app.admin(), approve, json!({ "id": commissions[0].id })).await;
    assert_eq!(approved["approveCommission"]["status"], "APPROVED");
}

#[tokio::test]
async fn conversions_without_clicks_or_far_above_the_usual_value_get_fraud_signals() {
    let app = TestApp::new().await;
    let ana = programme(&app).await;
    let code = ana["code"].as_str().unwrap();
    let shop = app.shop_key().await;
    for i in 0..10 {
        let body = seed_conversion(&format!("usual-{i}"), code, "49.00");
        let (status, _, _) = app.post_json("/tracking/conversiones", &body, PEER, &[("x-api-key", &shop)]).await;
        assert_eq!(status, StatusCode::CREATED);
        assert_eq!(attribute(&app).await, 1);
    }
    // Usual orders naming their affiliate, no click seen: flagged, still credited.
    let usual = stored(&app, "usual-9").await;
    assert_eq!(codes(&usual), ["NO_CLICK"]);
    assert_eq!(usual.status, entity::conversions::ConversionStatus::Attributed);
    // Refunded sales still tell the usual value (each status is read on its own): with four
    // of the ten refunded, six attributed ones alone would be too few to call 49 usual.
    {
        use sea_orm::{sea_query::Expr, ColumnTrait, QueryFilter};
        let refunded = entity::conversions::Entity::update_many()
            .col_expr(entity::conversions::Column::Status, Expr::value(entity::conversions::ConversionStatus::Refunded))
            .filter(entity::conversions::Column::ExternalId.is_in(["usual-0", "usual-3", "usual-5", "usual-8"]))
            .exec(app.db())
            .await
            .unwrap();
        assert_eq!(refunded.rows_affected, 4);
    }

    // 250,000 where 49 is usual, and no click: held for review.
    let body = seed_conversion("huge", code, "250000");
    app.post_json("/tracking/conversiones", &body, PEER, &[("x-api-key", &shop)]).await;
    assert_eq!(attribute(&app).await, 1);
    let huge = stored(&app, "huge").await;
    assert_eq!(codes(&huge), ["NO_CLICK", "OUTSIZED_VALUE"]);
    assert_eq!(huge.status, entity::conversions::ConversionStatus::HeldForReview);
    assert_eq!(huge.fraud_score, 70);
}
