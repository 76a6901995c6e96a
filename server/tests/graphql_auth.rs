//! Sign-in, tokens and roles through the real router.

mod support;

use alpes::auth::Role;
use alpes::service::user_service;
use axum::http::StatusCode;
use serde_json::json;
use support::{create_affiliate, TestApp};

const LOGIN: &str = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token expiresAt user { id email role affiliateId } } }";
const ME: &str = "{ me { role affiliateId user { email } affiliate { code } } }";

#[tokio::test]
async fn admin_logs_in_and_sees_itself() {
    let app = TestApp::new().await;
    user_service::create_or_reset_admin(app.db(), "Boss@Example.com", "a long password").await.unwrap();

    let (status, body) = app.post_graphql(None, LOGIN, json!({"e": "boss@example.com", "p": "a long password"})).await;
    assert_eq!(status, StatusCode::OK);
    let login = &body["data"]["login"];
    assert_eq!(login["user"]["email"], "boss@example.com");
    assert_eq!(login["user"]["role"], "ADMIN");
    let token = login["token"].as_str().unwrap().to_string();

    let me = app.ok(&token, ME, json!({})).await;
    assert_eq!(me["me"]["role"], "ADMIN");
    assert_eq!(me["me"]["user"]["email"], "boss@example.com");
}

#[tokio::test]
async fn wrong_password_and_unknown_email_get_the_same_answer() {
    let app = TestApp::new().await;
    user_service::create_or_reset_admin(app.db(), "boss@example.com", "a long password").await.unwrap();
    for (email, password) in
        [("boss@example.com", "wrong password"), ("nobody@example.com", "a long password"), ("not-an-email", "x")]
    {
        let (_, body) = app.post_graphql(None, LOGIN, json!({"e": email, "p": password})).await;
        assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "{email}");
        assert_eq!(body["errors"][0]["message"], "invalid email or password");
    }
}

#[tokio::test]
async fn bad_tokens_are_unauthenticated() {
    let app = TestApp::new().await;
    let other = alpes::auth::JwtKeys::from_secret(b"some-other-secret-some-other-secret");
    let caller = alpes::auth::Caller::system();
    let wrong_key = other.issue(&caller, chrono::Duration::hours(1)).unwrap().0;
    let expired = app.jwt.issue(&caller, chrono::Duration::hours(-2)).unwrap().0;
    let alg_none = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJjbGkiLCJyb2xlIjoiQURNSU4iLCJpc3MiOiJhbHBlcyIsImlhdCI6MCwiZXhwIjo5OTk5OTk5OTk5fQ.";
    for (name, token) in
        [("wrong key", wrong_key.as_str()), ("expired", expired.as_str()), ("alg none", alg_none), ("garbage", "abc")]
    {
        let (status, body) = app.post_graphql(Some(token), ME, json!({})).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{name}");
        assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "{name}");
    }
    // No token at all: the query runs, and the field that needs a caller says so.
    assert_eq!(app.error_code(None, ME, json!({})).await, "UNAUTHENTICATED");
}

#[tokio::test]
async fn analysts_read_but_cannot_write() {
    let app = TestApp::new().await;
    create_affiliate(&app, "Ana", "ana@example.com").await;
    let analyst = app.token(Role::Analyst, None);
    let list = app.ok(&analyst, "{ affiliates { totalCount } }", json!({})).await;
    assert_eq!(list["affiliates"]["totalCount"], 1);
    let code = app
        .error_code(
            Some(&analyst),
            support::CREATE_AFFILIATE,
            json!({"input": support::affiliate_input("B", "b@example.com")}),
        )
        .await;
    assert_eq!(code, "FORBIDDEN");
    assert_eq!(app.count("affiliates").await, 1);
}

#[tokio::test]
async fn an_affiliate_sees_only_itself() {
    let app = TestApp::new().await;
    let own = create_affiliate(&app, "Own", "own@example.com").await;
    let other = create_affiliate(&app, "Other", "other@example.com").await;
    let own_id: uuid::Uuid = own["id"].as_str().unwrap().parse().unwrap();
    let token = app.token(Role::Affiliate, Some(own_id));

    let mine = app.ok(&token, "query($id: ID!) { affiliate(id: $id) { code } }", json!({"id": own["id"]})).await;
    assert_eq!(mine["affiliate"]["code"], "own");
    let code = app
        .error_code(Some(&token), "query($id: ID!) { affiliate(id: $id) { code } }", json!({"id": other["id"]}))
        .await;
    assert_eq!(code, "NOT_FOUND", "another affiliate answers as a missing one");
    let list = app.ok(&token, "{ affiliates { totalCount edges { node { code } } } }", json!({})).await;
    assert_eq!(list["affiliates"]["totalCount"], 1);
    assert_eq!(list["affiliates"]["edges"][0]["node"]["code"], "own");
    let me = app.ok(&token, ME, json!({})).await;
    assert_eq!(me["me"]["affiliate"]["code"], "own");
}

#[tokio::test]
async fn affiliate_users_sign_in_to_their_own_affiliate() {
    let app = TestApp::new().await;
    let affiliate = create_affiliate(&app, "Portal", "portal@example.com").await;
    let create_user = "mutation($i: CreateUserInput!) { createUser(input: $i) { id email role affiliateId } }";
    let user = app
        .ok(&app.admin(), create_user, json!({"i": {"email": "p@example.com", "password": "portal password", "role": "AFFILIATE", "affiliateId": "portal"}}))
        .await;
    assert_eq!(user["createUser"]["affiliateId"], affiliate["id"]);
    // An AFFILIATE user without affiliate, and a duplicate email, are refused.
    let code = app
        .error_code(
            Some(&app.admin()),
            create_user,
            json!({"i": {"email": "q@example.com", "password": "portal password", "role": "AFFILIATE"}}),
        )
        .await;
    assert_eq!(code, "VALIDATION");
    let code = app
        .error_code(
            Some(&app.admin()),
            create_user,
            json!({"i": {"email": "p@example.com", "password": "portal password", "role": "ANALYST"}}),
        )
        .await;
    assert_eq!(code, "CONFLICT");

    let (_, body) = app.post_graphql(None, LOGIN, json!({"e": "p@example.com", "p": "portal password"})).await;
    let token = body["data"]["login"]["token"].as_str().unwrap().to_string();
    let me = app.ok(&token, ME, json!({})).await;
    assert_eq!(me["me"]["role"], "AFFILIATE");
    assert_eq!(me["me"]["affiliate"]["code"], "portal");
}

#[tokio::test]
async fn first_start_creates_one_admin_only() {
    let app = TestApp::new().await;
    let mut config = alpes::config::Config::for_database("sqlite::memory:", std::env::temp_dir());
    config.admin_email = Some("first@example.com".into());
    config.admin_password = Some("first admin password".into());
    let created = user_service::bootstrap_admin(app.db(), &config).await.unwrap();
    assert_eq!(created, Some(("first@example.com".to_string(), None)));
    assert_eq!(user_service::bootstrap_admin(app.db(), &config).await.unwrap(), None);
    assert_eq!(app.count("users").await, 1);
}

/// Aliases do not turn one request into many password guesses: the first `login` is
/// checked, every other one in the request is refused without looking at its password,
/// so a wrong guess followed by the right one gets no token.
#[tokio::test]
async fn one_login_per_request_whatever_the_aliases() {
    let app = TestApp::new().await;
    user_service::create_or_reset_admin(app.db(), "boss@example.com", "a long password").await.unwrap();
    let guesses = "mutation { a: login(email: \"boss@example.com\", password: \"wrong one\") { token } \
                   b: login(email: \"boss@example.com\", password: \"a long password\") { token } \
                   c: login(email: \"boss@example.com\", password: \"another\") { token } }";
    let (status, body) = app.post_graphql(None, guesses, json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body["data"].is_null(), "no token in any alias: {body}");
    let errors = body["errors"].as_array().cloned().unwrap_or_default();
    assert_eq!(errors.len(), 3, "{body}");
    assert_eq!(errors[0]["extensions"]["code"], "UNAUTHENTICATED", "{body}");
    assert_eq!(errors[0]["path"], json!(["a"]));
    assert!(
        errors.iter().skip(1).all(|e| e["extensions"]["code"] == "VALIDATION" && e["extensions"]["field"] == "login"),
        "{body}"
    );
    assert!(!body.to_string().contains("\"token\":\""), "{body}");

    // One login in a request still works.
    let (_, body) = app.post_graphql(None, LOGIN, json!({"e": "boss@example.com", "p": "a long password"})).await;
    assert!(body["data"]["login"]["token"].is_string(), "{body}");
}
