//! Joining the programme: public applications, invite links, approval and rejection.

mod support;

use alpes::auth::Role;
use serde_json::{json, Value};
use support::TestApp;

const APPLY: &str =
    "mutation($input: AffiliateApplicationInput!) { applyAsAffiliate(input: $input) { approved code } }";
const LOGIN: &str =
    "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token user { role affiliateId } } }";
const APPROVE: &str = "mutation($id: ID!) { approveAffiliateApplication(id: $id) { id status } }";
const REJECT: &str =
    "mutation($id: ID!, $r: String!) { rejectAffiliateApplication(id: $id, reason: $r) { id status } }";
const INVITE: &str = "mutation($email: String, $days: Int) { createAffiliateInvite(email: $email, days: $days) { url invite { id status email } } }";
const INVITE_INFO: &str = "query($t: String!) { affiliateInvite(token: $t) { email expiresAt } }";
const APPLICATION: &str =
    "query($id: ID!) { affiliateApplication(affiliateId: $id) { website message invited reviewedAt rejectionReason } }";
const PASSWORD: &str = "a long partner password";

fn application(name: &str, email: &str) -> Value {
    json!({ "input": { "name": name, "email": email, "password": PASSWORD, "website": "https://blog.example.com",
        "message": "Cycling reviews, 40k readers a month" } })
}

async fn affiliate_id_of(app: &TestApp, email: &str) -> (String, String) {
    let data = app
        .ok(
            &app.admin(),
            "query($q: String) { affiliates(filter: { search: $q }) { nodes { id status } } }",
            json!({ "q": email }),
        )
        .await;
    let node = &data["affiliates"]["nodes"][0];
    (node["id"].as_str().unwrap().to_string(), node["status"].as_str().unwrap().to_string())
}

async fn login_code(app: &TestApp, email: &str) -> Option<String> {
    let (_, body) = app.post_graphql(None, LOGIN, json!({ "e": email, "p": PASSWORD })).await;
    body["errors"][0]["extensions"]["code"].as_str().map(str::to_owned)
}

#[tokio::test]
async fn an_application_waits_for_an_admin_then_signs_in() {
    let app = TestApp::new().await;
    let (_, body) = app.post_graphql(None, APPLY, application("Lucía Pérez", "lucia@example.com")).await;
    assert_eq!(body["data"]["applyAsAffiliate"], json!({ "approved": false, "code": "lucia-perez" }), "{body}");
    let (id, status) = affiliate_id_of(&app, "lucia@example.com").await;
    assert_eq!(status, "APPLIED");
    assert_eq!(login_code(&app, "lucia@example.com").await.as_deref(), Some("UNAUTHENTICATED"), "not before approval");

    // What they told us, for admins; an analyst may read but not review.
    let told = app.ok(&app.admin(), APPLICATION, json!({ "id": id })).await;
    assert_eq!(
        told["affiliateApplication"],
        json!({ "website": "https://blog.example.com", "message": "Cycling reviews, 40k readers a month", "invited": false,
            "reviewedAt": null, "rejectionReason": null })
    );
    let analyst = app.token(Role::Analyst, None);
    assert_eq!(app.error_code(Some(&analyst), APPROVE, json!({ "id": id })).await, "FORBIDDEN");
    // Not changed by a plain update either.
    let update = "mutation($id: ID!) { updateAffiliate(input: { id: $id, status: ACTIVE }) { id } }";
    assert_eq!(app.error_code(Some(&app.admin()), update, json!({ "id": id })).await, "VALIDATION");

    let approved = app.ok(&app.admin(), APPROVE, json!({ "id": id })).await;
    assert_eq!(approved["approveAffiliateApplication"]["status"], "ACTIVE");
    assert_eq!(login_code(&app, "lucia@example.com").await, None, "signs in with the password they chose");
    assert_eq!(app.error_code(Some(&app.admin()), APPROVE, json!({ "id": id })).await, "INVALID_TRANSITION");
    let told = app.ok(&app.admin(), APPLICATION, json!({ "id": id })).await;
    assert!(told["affiliateApplication"]["reviewedAt"].is_string());
    let events = support::event_types(&app, Some(&id)).await;
    assert_eq!(events, ["afiliado_solicitado", "afiliado_aprobado"]);

    // The same email again: said, nothing made.
    let before = app.count("affiliates").await;
    let (_, body) = app.post_graphql(None, APPLY, application("Lucía Again", "LUCIA@example.com")).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "CONFLICT", "{body}");
    assert_eq!(body["errors"][0]["extensions"]["field"], "email");
    assert_eq!(app.count("affiliates").await, before);
}

#[tokio::test]
async fn a_rejected_applicant_never_signs_in_and_the_reason_is_kept() {
    let app = TestApp::new().await;
    app.post_graphql(None, APPLY, application("Spam Co", "spam@example.com")).await;
    let (id, _) = affiliate_id_of(&app, "spam@example.com").await;
    assert_eq!(app.error_code(Some(&app.admin()), REJECT, json!({ "id": id, "r": "  " })).await, "VALIDATION");
    let rejected = app.ok(&app.admin(), REJECT, json!({ "id": id, "r": "coupon site" })).await;
    assert_eq!(rejected["rejectAffiliateApplication"]["status"], "REJECTED");
    assert_eq!(login_code(&app, "spam@example.com").await.as_deref(), Some("UNAUTHENTICATED"));
    let told = app.ok(&app.admin(), APPLICATION, json!({ "id": id })).await;
    assert_eq!(told["affiliateApplication"]["rejectionReason"], "coupon site");
    assert_eq!(app.error_code(Some(&app.admin()), APPROVE, json!({ "id": id })).await, "INVALID_TRANSITION");
}

#[tokio::test]
async fn an_invite_approves_at_once_once_for_its_email() {
    let app = TestApp::new().await;
    let made = app.ok(&app.admin(), INVITE, json!({ "email": "Invited@Example.com", "days": 7 })).await;
    let url = made["createAffiliateInvite"]["url"].as_str().unwrap().to_string();
    assert!(url.starts_with("http://alpes.test/apply?invite=inv_"), "{url}");
    let token = url.split("invite=").nth(1).unwrap().to_string();
    assert_eq!(made["createAffiliateInvite"]["invite"]["status"], "OPEN");

    // The page may read it without signing in: for whom.
    let (_, body) = app.post_graphql(None, INVITE_INFO, json!({ "t": token })).await;
    assert_eq!(body["data"]["affiliateInvite"]["email"], "invited@example.com", "{body}");

    let with = |email: &str| {
        let mut a = application("Invited One", email);
        a["input"]["invite"] = json!(token);
        a
    };
    let (_, body) = app.post_graphql(None, APPLY, with("someone-else@example.com")).await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "email", "{body}");
    let (_, body) = app.post_graphql(None, APPLY, with("invited@example.com")).await;
    assert_eq!(body["data"]["applyAsAffiliate"]["approved"], true, "{body}");
    assert_eq!(login_code(&app, "invited@example.com").await, None, "signs in at once");
    let (id, status) = affiliate_id_of(&app, "invited@example.com").await;
    assert_eq!(status, "ACTIVE");
    assert_eq!(app.ok(&app.admin(), APPLICATION, json!({ "id": id })).await["affiliateApplication"]["invited"], true);

    // Used: neither readable nor usable again.
    let (_, body) = app.post_graphql(None, INVITE_INFO, json!({ "t": token })).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "NOT_FOUND");
    let (_, body) = app.post_graphql(None, APPLY, with("invited@example.com")).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "VALIDATION", "{body}");
    let list = app.ok(&app.admin(), "{ affiliateInvites { status affiliateId } }", json!({})).await;
    assert_eq!(list["affiliateInvites"], json!([{ "status": "USED", "affiliateId": id }]));

    // Revoked: the link stops working.
    let open = app.ok(&app.admin(), INVITE, json!({})).await;
    let token = open["createAffiliateInvite"]["url"].as_str().unwrap().split("invite=").nth(1).unwrap().to_string();
    let revoke = "mutation($id: ID!) { revokeAffiliateInvite(id: $id) { status } }";
    let revoked = app.ok(&app.admin(), revoke, json!({ "id": open["createAffiliateInvite"]["invite"]["id"] })).await;
    assert_eq!(revoked["revokeAffiliateInvite"]["status"], "REVOKED");
    let (_, body) = app.post_graphql(None, INVITE_INFO, json!({ "t": token })).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "NOT_FOUND");
    // Invites are for admins.
    let affiliate = app.token(Role::Affiliate, Some(uuid::Uuid::parse_str(&id).unwrap()));
    assert_eq!(app.error_code(Some(&affiliate), INVITE, json!({})).await, "FORBIDDEN");
    assert_eq!(app.error_code(Some(&affiliate), "{ affiliateInvites { id } }", json!({})).await, "FORBIDDEN");
    assert_eq!(app.error_code(Some(&app.admin()), INVITE, json!({ "days": 91 })).await, "VALIDATION");
}

#[tokio::test]
async fn a_bad_application_names_every_field_and_a_flood_waits() {
    let app = TestApp::new().await;
    let users = app.count("users").await;
    let input = json!({ "input": { "name": " ", "email": "nope", "password": "short", "website": "ftp://x" } });
    let (_, body) = app.post_graphql(None, APPLY, input.clone()).await;
    let fields: Vec<&str> = body["errors"][0]["extensions"]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["website", "password", "name", "email"], "{body}");
    assert_eq!(app.count("affiliates").await, 0);
    assert_eq!(app.count("users").await, users);

    // Applications count like sign-in failures: a flood from one sender waits.
    let mut codes = Vec::new();
    for _ in 0..8 {
        let (_, body) = app.post_graphql(None, APPLY, input.clone()).await;
        codes.push(body["errors"][0]["extensions"]["code"].as_str().unwrap_or("").to_string());
    }
    assert!(codes.iter().any(|c| c == "RATE_LIMITED"), "{codes:?}");
}
