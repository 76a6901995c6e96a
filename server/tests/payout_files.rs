//! Payment files of a payout batch: SEPA pain.001 (checked against the ISO 20022 schema
//! in CI: `ALPES_PAIN001_OUT` names where this test writes the file it made), PayPal and
//! Wise CSV; IBANs checked where affiliates are saved.

mod support;

use alpes::auth::Role;
use axum::{
    body::{to_bytes, Body},
    http::{Request, StatusCode},
};
use serde_json::{json, Value};
use support::{affiliate_input, TestApp};
use tower::ServiceExt;

const CREATE: &str = "mutation($input: CreateAffiliateInput!) { createAffiliate(input: $input) { id code bankDetails { accountNumber } } }";
const COMMISSION: &str = "mutation($input: CreateCommissionInput!) { createCommission(input: $input) { id } }";
const PAYOUT: &str =
    "mutation($a: ID!, $c: String) { createPayout(affiliateId: $a, currency: $c) { id amount currency } }";

/// An affiliate with these bank details and an approved commission of `base` × 10 % in `currency`, paid out.
async fn paid_out(app: &TestApp, name: &str, email: &str, account: &str, base: &str, currency: &str) -> Value {
    let mut input = affiliate_input(name, email);
    input["tier"] = json!("STANDARD");
    input["commissionConfig"] = json!({"baseRate": "10", "minimumPayout": "0.01", "currency": currency});
    input["bankDetails"] = json!({"bank": "Banco", "accountType": "checking", "accountNumber": account});
    let affiliate = app.ok(&app.admin(), CREATE, json!({ "input": input })).await["createAffiliate"].clone();
    let input = json!({"affiliateId": affiliate["id"], "baseAmount": base, "currency": currency});
    let id = app.ok(&app.admin(), COMMISSION, json!({ "input": input })).await["createCommission"]["id"].clone();
    app.ok(&app.admin(), "mutation($id: ID!) { calculateCommission(id: $id) { id } }", json!({ "id": id })).await;
    app.ok(&app.admin(), "mutation($id: ID!) { approveCommission(id: $id) { id } }", json!({ "id": id })).await;
    app.ok(&app.admin(), PAYOUT, json!({"a": affiliate["id"], "c": currency})).await["createPayout"].clone()
}

async fn file(app: &TestApp, token: &str, query: &str) -> (StatusCode, String, String) {
    let request = Request::builder()
        .uri(format!("/api/v1/pagos/archivo?{query}"))
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let response = app.app.router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let kind = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let bytes = to_bytes(response.into_body(), 1 << 22).await.unwrap();
    (status, kind, String::from_utf8(bytes.to_vec()).unwrap())
}

fn sepa_debtor(config: &mut alpes::config::Config) {
    config.sepa_debtor_name = Some("Alpes Partner Programme GmbH".into());
    config.sepa_debtor_iban = Some("DE89 3704 0044 0532 0130 00".into());
    config.sepa_debtor_bic = Some("COBADEFFXXX".into());
}

#[tokio::test]
async fn a_sepa_file_pays_each_pending_euro_payout_to_its_iban() {
    let app = TestApp::with_config(sepa_debtor).await;
    let maria =
        paid_out(&app, "María González", "maria@example.com", "FR14 2004 1010 0505 0001 3M02 606", "615.00", "EUR")
            .await;
    let jurgen = paid_out(&app, "Jürgen Groß", "jurgen@example.com", "nl91abna0417164300", "1.00", "EUR").await;
    // Another currency and another kind of account: not in this file.
    paid_out(&app, "Ana", "ana@example.com", "0012345678", "500000", "COP").await;
    assert_eq!((maria["amount"].as_str(), jurgen["amount"].as_str()), (Some("61.50"), Some("0.10")));

    let (status, kind, xml) = file(&app, &app.admin(), "formato=sepa&moneda=EUR&fecha=2099-01-04").await;
    assert_eq!(status, StatusCode::OK, "{xml}");
    assert_eq!(kind, "application/xml; charset=utf-8");
    for part in [
        r#"<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.03""#,
        "<NbOfTxs>2</NbOfTxs><CtrlSum>61.60</CtrlSum>",
        "<ReqdExctnDt>2099-01-04</ReqdExctnDt>",
        "<Dbtr><Nm>Alpes Partner Programme GmbH</Nm></Dbtr><DbtrAcct><Id><IBAN>DE89370400440532013000</IBAN>",
        "<DbtrAgt><FinInstnId><BIC>COBADEFFXXX</BIC></FinInstnId></DbtrAgt><ChrgBr>SLEV</ChrgBr>",
        r#"<InstdAmt Ccy="EUR">61.50</InstdAmt></Amt><Cdtr><Nm>Maria Gonzalez</Nm></Cdtr><CdtrAcct><Id><IBAN>FR1420041010050500013M02606</IBAN>"#,
        r#"<InstdAmt Ccy="EUR">0.10</InstdAmt></Amt><Cdtr><Nm>Jurgen Gross</Nm></Cdtr><CdtrAcct><Id><IBAN>NL91ABNA0417164300</IBAN>"#,
    ] {
        assert!(xml.contains(part), "{part}\n{xml}");
    }
    assert!(!xml.contains("0012345678") && !xml.contains("COP"), "{xml}");
    if let Ok(path) = std::env::var("ALPES_PAIN001_OUT") {
        std::fs::write(&path, &xml).unwrap();
    }

    // Only those chosen, when chosen; nothing changed: both payouts stay PENDING.
    let one = maria["id"].as_str().unwrap();
    let (status, _, xml) = file(&app, &app.admin(), &format!("formato=sepa&moneda=EUR&ids={one}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(xml.contains("<NbOfTxs>1</NbOfTxs><CtrlSum>61.50</CtrlSum>"), "{xml}");
    let payouts = app.ok(&app.admin(), "{ payouts(status: PENDING) { totalCount } }", json!({})).await;
    assert_eq!(payouts["payouts"]["totalCount"], 3);

    // Audited, without any account number.
    let audits: Vec<String> = export_audits(&app).await;
    assert_eq!(audits.len(), 2);
    assert!(
        audits.iter().all(|a| !a.contains("FR14") && !a.contains("NL91") && a.contains("\"format\":\"sepa\"")),
        "{audits:?}"
    );
}

async fn export_audits(app: &TestApp) -> Vec<String> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    entity::audit_log::Entity::find()
        .filter(entity::audit_log::Column::Action.eq("payout.export"))
        .all(app.db())
        .await
        .unwrap()
        .into_iter()
        .map(|row| serde_json::to_string(&row.after).unwrap())
        .collect()
}

#[tokio::test]
async fn paypal_and_wise_files_list_every_pending_payout_of_the_currency() {
    let app = TestApp::new().await;
    let ana = paid_out(&app, "Ana, Gaming", "ana@example.com", "0012345678", "1200.50", "USD").await;
    paid_out(&app, "Bo", "bo@example.com", "GB82 WEST 1234 5698 7654 32", "30", "USD").await;

    let (status, kind, csv) = file(&app, &app.admin(), "formato=paypal&moneda=USD").await;
    assert_eq!((status, kind.as_str()), (StatusCode::OK, "text/csv; charset=utf-8"), "{csv}");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 2, "{csv}");
    let ana_id: String = ana["id"].as_str().unwrap().replace('-', "");
    assert!(lines[0].starts_with(&format!("ana@example.com,120.05,USD,{},", &ana_id[..30])), "{csv}");
    assert!(lines[0].ends_with(",PAYPAL"), "{csv}");
    assert!(lines[1].starts_with("bo@example.com,3.00,USD,"), "{csv}");

    let (status, _, csv) = file(&app, &app.admin(), "formato=wise&moneda=usd").await;
    assert_eq!(status, StatusCode::OK, "{csv}");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "name,recipientEmail,paymentReference,receiverType,amountCurrency,amount,sourceCurrency,targetCurrency,IBAN"
    );
    assert!(lines[1].starts_with("\"Ana, Gaming\",ana@example.com,Commissions ana-gaming payout "), "{csv}");
    assert!(lines[1].ends_with(",PRIVATE,target,120.05,USD,USD,"), "{csv}");
    assert!(lines[2].ends_with(",3.00,USD,USD,GB82WEST12345698765432"), "{csv}");
}

#[tokio::test]
async fn what_cannot_be_paid_is_refused_in_words_and_nothing_is_made() {
    let app = TestApp::with_config(sepa_debtor).await;
    paid_out(&app, "Local Account", "local@example.com", "0012345678", "100", "EUR").await;
    paid_out(&app, "Dollars", "usd@example.com", "0099", "100", "USD").await;
    let cases = [
        ("formato=sepa&moneda=EUR", "payouts", "Local Account (payout "),
        ("formato=sepa&moneda=USD", "moneda", "EUR"),
        ("formato=paypal&moneda=GBP", "moneda", "no PENDING payouts in GBP"),
        ("formato=excel&moneda=EUR", "formato", "sepa, paypal or wise"),
        ("formato=paypal", "moneda", "currency"),
        ("formato=paypal&moneda=USD&ids=nope", "ids", "not a payout id"),
        ("formato=paypal&moneda=USD&ids=0193a1b2-c3d4-7e8f-9a0b-1c2d3e4f5a6b", "ids", "not a PENDING payout"),
        ("formato=sepa&moneda=EUR&fecha=2001-01-01", "fecha", "past"),
        ("formato=sepa&moneda=EUR&fecha=tomorrow", "fecha", "YYYY-MM-DD"),
    ];
    for (query, field, words) in cases {
        let (status, _, body) = file(&app, &app.admin(), query).await;
        let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert_eq!(body["error"]["field"], field, "{query}: {body}");
        assert!(body["error"]["message"].as_str().unwrap_or("").contains(words), "{query}: {body}");
    }
    let analyst = app.token(Role::Analyst, None);
    let (status, _, _) = file(&app, &analyst, "formato=paypal&moneda=USD").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(export_audits(&app).await.len(), 0, "nothing exported, nothing audited");

    // Without the paying account configured, SEPA says which settings are missing.
    let plain = TestApp::new().await;
    paid_out(&plain, "Ibán", "iban@example.com", "DE89370400440532013000", "100", "EUR").await;
    let (status, _, body) = file(&plain, &plain.admin(), "formato=sepa&moneda=EUR").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("ALPES_SEPA_DEBTOR_IBAN"), "{body}");
}

#[tokio::test]
async fn an_iban_is_checked_where_bank_details_are_saved() {
    let app = TestApp::new().await;
    let mut input = affiliate_input("Wrong Digit", "wrong@example.com");
    input["bankDetails"]["accountNumber"] = json!("DE89 3704 0044 0532 0130 01");
    let (_, body) = app.post_graphql(Some(&app.admin()), CREATE, json!({ "input": input })).await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "bankDetails.accountNumber", "{body}");
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("check digits"), "{body}");
    assert_eq!(app.count("affiliates").await, 0);

    // Typed with spaces in lower case: kept compact, shown masked.
    input["bankDetails"]["accountNumber"] = json!("de89 3704 0044 0532 0130 00");
    let created = app.ok(&app.admin(), CREATE, json!({ "input": input })).await;
    let shown = created["createAffiliate"]["bankDetails"]["accountNumber"].as_str().unwrap().to_string();
    assert_eq!(shown, format!("{}3000", "•".repeat(18)), "22 characters kept, the last four shown");
    // A domestic account number is not held to the IBAN rules.
    let mut local = affiliate_input("Local", "local@example.com");
    local["bankDetails"]["accountNumber"] = json!("0012345678");
    app.ok(&app.admin(), CREATE, json!({ "input": local })).await;
}
