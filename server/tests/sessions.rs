//! Sessions follow their user: logout, "sign out everywhere", disabled users, suspended and
//! deleted affiliates, tokens of users that do not exist, and subscriptions that end with
//! their token.

mod support;

use std::time::Duration;

use alpes::auth::{Caller, Role};
use alpes::service::user_service;
use axum::http::StatusCode;
use futures::{SinkExt, StreamExt};
use sea_orm::EntityTrait;
use serde_json::{json, Value};
use support::{create_affiliate, TestApp};
use tokio_tungstenite::tungstenite::{client::IntoClientRequest, http::HeaderValue, Message};

const LOGIN: &str = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token user { id } } }";
const ME: &str = "{ me { role user { email } } }";
const PASSWORD: &str = "a long enough password";

async fn login(app: &TestApp, email: &str) -> (String, String) {
    let (_, body) = app.post_graphql(None, LOGIN, json!({"e": email, "p": PASSWORD})).await;
    let token = body["data"]["login"]["token"].as_str().unwrap_or_else(|| panic!("login: {body}")).to_string();
    (token, body["data"]["login"]["user"]["id"].as_str().unwrap_or_default().to_string())
}

async fn refused(app: &TestApp, token: &str) -> bool {
    let (status, body) = app.post_graphql(Some(token), ME, json!({})).await;
    status == StatusCode::UNAUTHORIZED && body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
}

async fn affiliate_user(app: &TestApp, code: &str) -> Value {
    let affiliate = create_affiliate(app, code, &format!("{code}@example.com")).await;
    let create_user = "mutation($i: CreateUserInput!) { createUser(input: $i) { id } }";
    let input = json!({"i": {"email": format!("user-{code}@example.com"), "password": PASSWORD, "role": "AFFILIATE", "affiliateId": affiliate["id"]}});
    app.ok(&app.admin(), create_user, input).await;
    affiliate
}

#[tokio::test]
async fn logout_ends_that_session_only() {
    let app = TestApp::new().await;
    user_service::create_or_reset_admin(app.db(), "boss@example.com", PASSWORD).await.unwrap();
    let (first, _) = login(&app, "boss@example.com").await;
    let (second, _) = login(&app, "boss@example.com").await;
    assert!(!refused(&app, &first).await);

    let out = app.ok(&first, "mutation { logout }", json!({})).await;
    assert_eq!(out["logout"], true);
    assert!(refused(&app, &first).await, "the signed-out token is refused");
    assert!(!refused(&app, &second).await, "the other session stays open");
    // On REST too.
    let (status, _, _) = app.get("/api/v1/afiliados", Some(&first), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, _) = app.get("/api/v1/afiliados", Some(&second), None).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn sign_out_everywhere_ends_every_session_and_a_new_login_works() {
    let app = TestApp::new().await;
    user_service::create_or_reset_admin(app.db(), "boss@example.com", PASSWORD).await.unwrap();
    let (first, _) = login(&app, "boss@example.com").await;
    let (second, _) = login(&app, "boss@example.com").await;
    app.ok(&first, "mutation { signOutEverywhere { id } }", json!({})).await;
    assert!(refused(&app, &first).await);
    assert!(refused(&app, &second).await);
    let (third, _) = login(&app, "boss@example.com").await;
    assert!(!refused(&app, &third).await, "a session opened afterwards works");
}

#[tokio::test]
async fn an_admin_signs_out_or_disables_another_user_and_others_cannot() {
    let app = TestApp::new().await;
    affiliate_user(&app, "ana").await;
    affiliate_user(&app, "bea").await;
    let (ana, ana_id) = login(&app, "user-ana@example.com").await;
    let (bea, _) = login(&app, "user-bea@example.com").await;

    // An affiliate cannot sign out or disable someone else.
    let code = app
        .error_code(Some(&bea), "mutation($u: ID) { signOutEverywhere(userId: $u) { id } }", json!({"u": ana_id}))
        .await;
    assert_eq!(code, "FORBIDDEN");
    let set_active = "mutation($u: ID!, $a: Boolean!) { setUserActive(id: $u, active: $a) { isActive } }";
    assert_eq!(app.error_code(Some(&bea), set_active, json!({"u": ana_id, "a": false})).await, "FORBIDDEN");
    assert!(!refused(&app, &ana).await);

    let disabled = app.ok(&app.admin(), set_active, json!({"u": ana_id, "a": false})).await;
    assert_eq!(disabled["setUserActive"]["isActive"], false);
    assert!(refused(&app, &ana).await, "a disabled user's token is refused");
    let (_, body) = app.post_graphql(None, LOGIN, json!({"e": "user-ana@example.com", "p": PASSWORD})).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "and it cannot sign in");

    app.ok(&app.admin(), set_active, json!({"u": ana_id, "a": true})).await;
    assert!(!refused(&app, &ana).await, "enabled again: its session is back");
    app.ok(&app.admin(), "mutation($u: ID) { signOutEverywhere(userId: $u) { id } }", json!({"u": ana_id})).await;
    assert!(refused(&app, &ana).await);
    assert!(!refused(&app, &bea).await);
}

#[tokio::test]
async fn a_suspended_or_deleted_affiliate_is_signed_out_and_cannot_sign_in() {
    let app = TestApp::new().await;
    let affiliate = affiliate_user(&app, "ana").await;
    let (token, _) = login(&app, "user-ana@example.com").await;
    let commissions = "{ commissions(first: 5) { totalCount } }";
    app.ok(&token, commissions, json!({})).await;

    let suspend = "mutation($id: ID!) { updateAffiliate(input: {id: $id, status: SUSPENDED}) { status } }";
    app.ok(&app.admin(), suspend, json!({"id": affiliate["id"]})).await;
    assert!(refused(&app, &token).await, "suspended: the old token is refused");
    let (_, body) = app.post_graphql(None, LOGIN, json!({"e": "user-ana@example.com", "p": PASSWORD})).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");

    let activate = "mutation($id: ID!) { updateAffiliate(input: {id: $id, status: ACTIVE}) { status } }";
    app.ok(&app.admin(), activate, json!({"id": affiliate["id"]})).await;
    let (token, _) = login(&app, "user-ana@example.com").await;
    app.ok(&token, commissions, json!({})).await;

    app.ok(&app.admin(), "mutation($id: ID!) { deleteAffiliate(id: $id) { id } }", json!({"id": affiliate["id"]}))
        .await;
    assert!(refused(&app, &token).await, "deleted: the token is refused");
    let (_, body) = app.post_graphql(None, LOGIN, json!({"e": "user-ana@example.com", "p": PASSWORD})).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
}

#[tokio::test]
async fn a_token_of_a_user_that_does_not_exist_is_refused() {
    let app = TestApp::new().await;
    let ghost = Caller::person(Some(uuid::Uuid::new_v4()), Role::Admin, None);
    let (token, _) = app.jwt.issue(&ghost, chrono::Duration::hours(1)).unwrap();
    assert!(refused(&app, &token).await);
}

#[tokio::test]
async fn an_admin_changes_a_users_role_or_resets_its_password_and_its_sessions_end() {
    let app = TestApp::new().await;
    let affiliate = affiliate_user(&app, "roles").await;
    let email = "user-roles@example.com";
    let (token, id) = login(&app, email).await;
    assert_eq!(app.ok(&token, ME, json!({})).await["me"]["role"], "AFFILIATE");
    let set_role = "mutation($id: ID!, $r: UserRole!, $a: ID) { setUserRole(id: $id, role: $r, affiliateId: $a) { role affiliateId } }";

    // Bad requests change nothing.
    let analyst_with_affiliate = json!({"id": id, "r": "ANALYST", "a": affiliate["id"]});
    assert_eq!(app.error_code(Some(&app.admin()), set_role, analyst_with_affiliate).await, "VALIDATION");
    assert_eq!(app.error_code(Some(&app.admin()), set_role, json!({"id": id, "r": "AFFILIATE"})).await, "VALIDATION");
    assert_eq!(app.error_code(Some(&token), set_role, json!({"id": id, "r": "ADMIN"})).await, "FORBIDDEN");
    assert!(!refused(&app, &token).await, "still signed in as before");

    // ANALYST now: the old token (it said AFFILIATE) is refused; a new sign-in reads as analyst.
    let changed = app.ok(&app.admin(), set_role, json!({"id": id, "r": "ANALYST"})).await;
    assert_eq!(changed["setUserRole"], json!({"role": "ANALYST", "affiliateId": null}));
    assert!(refused(&app, &token).await);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (token, _) = login(&app, email).await;
    assert_eq!(app.ok(&token, ME, json!({})).await["me"]["role"], "ANALYST");

    // A new password: shown once, the old one no longer signs in, the sessions end.
    let reset = "mutation($id: ID!) { resetUserPassword(id: $id) { password user { email } } }";
    let answer = app.ok(&app.admin(), reset, json!({"id": id})).await;
    let password = answer["resetUserPassword"]["password"].as_str().unwrap_or_default().to_string();
    assert!(password.len() >= 16, "{answer}");
    assert!(refused(&app, &token).await);
    let (_, old) = app.post_graphql(None, LOGIN, json!({"e": email, "p": PASSWORD})).await;
    assert_eq!(old["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "{old}");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (_, new) = app.post_graphql(None, LOGIN, json!({"e": email, "p": password})).await;
    let token = new["data"]["login"]["token"].as_str().unwrap_or_else(|| panic!("{new}")).to_string();
    assert!(!refused(&app, &token).await);
    // Neither the password nor its hash is in the audit trail.
    let audit = entity::audit_log::Entity::find().all(app.db()).await.unwrap();
    let trail = serde_json::to_string(&audit.iter().map(|a| (&a.before, &a.after)).collect::<Vec<_>>()).unwrap();
    assert!(!trail.contains(&password) && !trail.contains("argon2"), "{trail}");
    assert!(audit.iter().any(|a| a.action == "user.reset_password"));
    // Admins do neither to themselves.
    let me = app.ok(&app.admin(), "{ me { user { id } } }", json!({})).await;
    let own = me["me"]["user"]["id"].clone();
    if !own.is_null() {
        assert_eq!(app.error_code(Some(&app.admin()), reset, json!({"id": own})).await, "VALIDATION");
    }
}

#[tokio::test]
async fn the_role_comes_from_the_user_not_the_token() {
    let app = TestApp::new().await;
    user_service::create_or_reset_admin(app.db(), "boss@example.com", PASSWORD).await.unwrap();
    let (_, id) = login(&app, "boss@example.com").await;
    // A token claiming ANALYST for an admin user reads as the admin it is now; one claiming
    // ADMIN for an analyst would read as the analyst.
    let claimed = Caller::person(Some(id.parse().unwrap()), Role::Analyst, None);
    let (token, _) = app.jwt.issue(&claimed, chrono::Duration::hours(1)).unwrap();
    let me = app.ok(&token, ME, json!({})).await;
    assert_eq!(me["me"]["role"], "ADMIN");
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Serves the app on a local port and opens a graphql-transport-ws socket signed in with
/// `token`, subscribed to live events.
async fn subscribed(app: &TestApp, token: &str) -> Ws {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = app.app.router.clone();
    tokio::spawn(async move {
        let service = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
        let _ = axum::serve(listener, service).await;
    });
    let mut request = format!("ws://{addr}/graphql/ws").into_client_request().unwrap();
    request.headers_mut().insert("Sec-WebSocket-Protocol", HeaderValue::from_static("graphql-transport-ws"));
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let init = json!({"type": "connection_init", "payload": {"authorization": format!("Bearer {token}")}});
    ws.send(Message::Text(init.to_string().into())).await.unwrap();
    let ack = next_text(&mut ws).await;
    assert_eq!(ack["type"], "connection_ack", "{ack}");
    let subscribe = json!({"id": "1", "type": "subscribe", "payload": {"query": "subscription { events { id } }"}});
    ws.send(Message::Text(subscribe.to_string().into())).await.unwrap();
    ws
}

async fn next_text(ws: &mut Ws) -> Value {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => return serde_json::from_str(&text).unwrap(),
            Ok(Some(Ok(_))) => continue,
            other => panic!("no message: {other:?}"),
        }
    }
}

/// Waits (up to 10 s) for the server to close the socket; its close code.
async fn closed_with(ws: &mut Ws) -> u16 {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Ok(Some(Ok(Message::Close(Some(frame))))) => return frame.code.into(),
            Ok(Some(Ok(_))) => continue,
            other => panic!("not closed: {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_subscription_closes_when_its_token_expires() {
    let app = TestApp::new().await;
    let (token, _) = app.jwt.issue(&Caller::system(), chrono::Duration::seconds(2)).unwrap();
    let mut ws = subscribed(&app, &token).await;
    assert_eq!(closed_with(&mut ws).await, 4401);
}

#[tokio::test]
async fn a_subscription_closes_when_its_session_is_signed_out() {
    let app = TestApp::new().await;
    user_service::create_or_reset_admin(app.db(), "boss@example.com", PASSWORD).await.unwrap();
    let (token, _) = login(&app, "boss@example.com").await;
    let mut ws = subscribed(&app, &token).await;
    app.ok(&token, "mutation { logout }", json!({})).await;
    assert_eq!(closed_with(&mut ws).await, 4401);
}

#[tokio::test]
async fn guessing_a_password_is_slowed_down_per_account_and_ip() {
    let app = TestApp::new().await;
    user_service::create_or_reset_admin(app.db(), "boss@example.com", PASSWORD).await.unwrap();
    // A flood of parallel guesses: a handful get a password check, the rest wait.
    let guesses = (0..200).map(|n| {
        let app = &app;
        async move {
            let (_, body) =
                app.post_graphql(None, LOGIN, json!({"e": "boss@example.com", "p": format!("guess {n}")})).await;
            body["errors"][0]["extensions"].clone()
        }
    });
    let answers = futures::future::join_all(guesses).await;
    let checked = answers.iter().filter(|e| e["code"] == "UNAUTHENTICATED").count();
    let limited = answers.iter().filter(|e| e["code"] == "RATE_LIMITED" && e["retryAfter"].as_u64() >= Some(1)).count();
    // Five free failures; on a slow machine a wait (1 s, 2 s, 4 s, … doubling) may run out
    // while the flood is still arriving and let one more through each time.
    assert!(checked <= 12, "{checked} guesses were checked");
    assert_eq!(checked + limited, 200, "{answers:?}");
    // Other accounts are not locked by it.
    user_service::create_or_reset_admin(app.db(), "other@example.com", PASSWORD).await.unwrap();
    login(&app, "other@example.com").await;
}

#[tokio::test]
async fn weak_passwords_are_refused() {
    let app = TestApp::new().await;
    let create_user = "mutation($i: CreateUserInput!) { createUser(input: $i) { id } }";
    for weak in ["aaaaaaaaaaaa", "short pass", "administrator", "Password2024!", "qwertyuiop123"] {
        let input = json!({"i": {"email": "weak@example.com", "password": weak, "role": "ADMIN"}});
        let (_, body) = app.post_graphql(Some(&app.admin()), create_user, input).await;
        assert_eq!(body["errors"][0]["extensions"]["code"], "VALIDATION", "{weak}");
        assert_eq!(body["errors"][0]["extensions"]["field"], "password", "{weak}");
    }
    assert_eq!(app.count("users").await, 0);
    let input = json!({"i": {"email": "strong@example.com", "password": "violet kettle under snow", "role": "ADMIN"}});
    app.ok(&app.admin(), create_user, input).await;
}

#[tokio::test]
async fn subscriptions_close_with_1001_when_the_server_shuts_down() {
    let app = TestApp::new().await;
    let mut ws = subscribed(&app, &app.admin()).await;
    app.app.state.shutdown.cancel();
    assert_eq!(closed_with(&mut ws).await, 1001);
}
