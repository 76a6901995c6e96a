//! Affiliates through GraphQL: the whole lifecycle, and bad input that changes nothing.

mod support;

use serde_json::{json, Value};
use support::{affiliate_input, create_affiliate, TestApp, CREATE_AFFILIATE};

const UPDATE: &str = "mutation($input: UpdateAffiliateInput!) { updateAffiliate(input: $input) { id name phone status tier commissionConfig { baseRate minimumPayout currency } } }";
const DELETE: &str = "mutation($id: ID!) { deleteAffiliate(id: $id) { id status } }";
const GET: &str = "query($id: ID!) { affiliate(id: $id) { id code name } }";

#[tokio::test]
async fn create_read_update_delete() {
    let app = TestApp::new().await;
    let created = create_affiliate(&app, "María González", "Maria.Gonzalez@Email.com").await;
    assert_eq!(created["code"], "maria-gonzalez");
    assert_eq!(created["email"], "maria.gonzalez@email.com");
    assert_eq!(created["tier"], "PREMIUM");
    assert_eq!(created["status"], "ACTIVE");
    assert_eq!(created["document"], json!({"type": "cedula", "number": "1234567890"}));
    assert_eq!(created["bankDetails"]["accountNumber"], "••••••7890", "bank account masked on read");
    assert_eq!(
        created["commissionConfig"],
        json!({"baseRate": "15", "premiumRate": "20", "minimumPayout": "50000.00", "currency": "COP"})
    );

    // By id and by code.
    let by_code = app.ok(&app.admin(), GET, json!({"id": "maria-gonzalez"})).await;
    assert_eq!(by_code["affiliate"]["id"], created["id"]);

    let updated = app
        .ok(
            &app.admin(),
            UPDATE,
            json!({"input": {"id": created["id"], "phone": "+57 300 999 8888", "status": "SUSPENDED",
                "commissionConfig": {"baseRate": "18", "premiumRate": "25", "minimumPayout": "75000"}}}),
        )
        .await;
    let updated = &updated["updateAffiliate"];
    assert_eq!(updated["phone"], "+57 300 999 8888");
    assert_eq!(updated["status"], "SUSPENDED");
    assert_eq!(updated["commissionConfig"], json!({"baseRate": "18", "minimumPayout": "75000.00", "currency": "COP"}));

    let deleted = app.ok(&app.admin(), DELETE, json!({"id": created["id"]})).await;
    assert_eq!(deleted["deleteAffiliate"]["status"], "DELETED");
    assert_eq!(app.error_code(Some(&app.admin()), GET, json!({"id": created["id"]})).await, "NOT_FOUND");
    let list = app.ok(&app.admin(), "{ affiliates { totalCount } }", json!({})).await;
    assert_eq!(list["affiliates"]["totalCount"], 0);

    // Every change left its event and its audit row.
    let types = event_types(&app).await;
    assert_eq!(types, vec!["afiliado_creado", "afiliado_suspendido", "afiliado_eliminado"]);
    assert_eq!(app.count("audit_log").await, 3);
}

#[tokio::test]
async fn the_event_envelope_is_seed_004() {
    let app = TestApp::new().await;
    let created = create_affiliate(&app, "María González", "maria@example.com").await;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let row = entity::outbox_events::Entity::find()
        .filter(entity::outbox_events::Column::Topic.eq("afiliados.eventos"))
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.topic, "afiliados.eventos");
    let env = row.payload;
    assert_eq!(env["tipo_evento"], "afiliado_creado");
    assert_eq!(env["evento_id"], json!(row.id));
    assert_eq!(env["afiliado_id"], created["id"]);
    assert_eq!(env["datos_afiliado"]["nombre"], "María González");
    assert_eq!(env["datos_afiliado"]["tipo_afiliado"], "premium");
    assert_eq!(env["datos_afiliado"]["configuracion_comisiones"]["comision_base"], json!(15.0));
    assert_eq!(env["metadatos"], json!({"version": "1.0", "origen": "afiliados-service"}));
}

#[tokio::test]
async fn bad_input_gets_its_code_and_changes_nothing() {
    let app = TestApp::new().await;
    create_affiliate(&app, "Taken", "taken@example.com").await;
    let before = (app.count("affiliates").await, app.count("outbox_events").await, app.count("audit_log").await);

    let with = |patch: Value| {
        let mut input = affiliate_input("Nuevo", "nuevo@example.com");
        for (k, v) in patch.as_object().unwrap() {
            input[k] = v.clone();
        }
        json!({ "input": input })
    };
    let cases: Vec<(&str, Value, &str, Option<&str>)> = vec![
        ("invalid email", with(json!({"email": "not-an-email"})), "VALIDATION", Some("email")),
        ("empty name", with(json!({"name": "  "})), "VALIDATION", Some("name")),
        (
            "rate above 100",
            with(json!({"commissionConfig": {"baseRate": "100.5", "minimumPayout": "1"}})),
            "VALIDATION",
            Some("commissionConfig.baseRate"),
        ),
        (
            "negative rate",
            with(json!({"commissionConfig": {"baseRate": "-1", "minimumPayout": "1"}})),
            "VALIDATION",
            Some("commissionConfig.baseRate"),
        ),
        (
            "premium rate above 100",
            with(json!({"commissionConfig": {"baseRate": "1", "premiumRate": "101", "minimumPayout": "1"}})),
            "VALIDATION",
            Some("commissionConfig.premiumRate"),
        ),
        (
            "unknown currency",
            with(json!({"commissionConfig": {"baseRate": "1", "minimumPayout": "1", "currency": "XYZ"}})),
            "VALIDATION",
            Some("commissionConfig.currency"),
        ),
        (
            "sub-minor amount",
            with(json!({"commissionConfig": {"baseRate": "1", "minimumPayout": "1.5", "currency": "JPY"}})),
            "VALIDATION",
            Some("commissionConfig.minimumPayout"),
        ),
        (
            "negative payout",
            with(json!({"commissionConfig": {"baseRate": "1", "minimumPayout": "-5"}})),
            "VALIDATION",
            Some("commissionConfig.minimumPayout"),
        ),
        ("duplicate email", with(json!({"email": "TAKEN@example.com"})), "CONFLICT", Some("email")),
        ("duplicate code", with(json!({"code": "taken"})), "CONFLICT", Some("code")),
        ("bad code", with(json!({"code": "no spaces allowed"})), "VALIDATION", Some("code")),
        (
            "not a decimal",
            with(json!({"commissionConfig": {"baseRate": "abc", "minimumPayout": "1"}})),
            "VALIDATION",
            None,
        ),
        ("unknown tier", with(json!({"tier": "GOLD"})), "VALIDATION", None),
    ];
    for (name, variables, code, field) in cases {
        let (_, body) = app.post_graphql(Some(&app.admin()), CREATE_AFFILIATE, variables).await;
        let error = &body["errors"][0];
        assert_eq!(error["extensions"]["code"], code, "{name}: {body}");
        if let Some(field) = field {
            assert_eq!(error["extensions"]["field"], field, "{name}: {body}");
        }
    }
    let after = (app.count("affiliates").await, app.count("outbox_events").await, app.count("audit_log").await);
    assert_eq!(before, after, "nothing was written");
}

#[tokio::test]
async fn unknown_and_malformed_ids() {
    let app = TestApp::new().await;
    let missing = uuid::Uuid::new_v4().to_string();
    assert_eq!(app.error_code(Some(&app.admin()), GET, json!({"id": missing})).await, "NOT_FOUND");
    assert_eq!(app.error_code(Some(&app.admin()), DELETE, json!({"id": missing})).await, "NOT_FOUND");
    assert_eq!(
        app.error_code(Some(&app.admin()), UPDATE, json!({"input": {"id": missing, "name": "x"}})).await,
        "NOT_FOUND"
    );
    assert_eq!(
        app.error_code(Some(&app.admin()), DELETE, json!({"id": "not-a-known-code"})).await,
        "NOT_FOUND",
        "an id that is not a UUID is taken as a code"
    );
}

#[tokio::test]
async fn update_conflicts_name_the_field() {
    let app = TestApp::new().await;
    create_affiliate(&app, "Uno", "uno@example.com").await;
    let dos = create_affiliate(&app, "Dos", "dos@example.com").await;
    let (_, body) = app
        .post_graphql(Some(&app.admin()), UPDATE, json!({"input": {"id": dos["id"], "email": "uno@example.com"}}))
        .await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "CONFLICT");
    assert_eq!(body["errors"][0]["extensions"]["field"], "email");
    let (_, body) =
        app.post_graphql(Some(&app.admin()), UPDATE, json!({"input": {"id": dos["id"], "status": "DELETED"}})).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "VALIDATION");
}

#[tokio::test]
async fn lists_page_filter_and_search() {
    let app = TestApp::new().await;
    for i in 0..5 {
        create_affiliate(&app, &format!("Partner {i}"), &format!("p{i}@example.com")).await;
    }
    let query = "query($f: AffiliateFilter, $first: Int, $after: String) { affiliates(filter: $f, first: $first, after: $after) { totalCount pageInfo { hasNextPage hasPreviousPage endCursor } edges { cursor node { code } } } }";
    let first = app.ok(&app.admin(), query, json!({"first": 2})).await;
    let page = &first["affiliates"];
    assert_eq!(page["totalCount"], 5);
    assert_eq!(page["edges"].as_array().unwrap().len(), 2);
    assert_eq!(page["pageInfo"]["hasNextPage"], true);
    assert_eq!(page["edges"][0]["node"]["code"], "partner-4", "newest first");

    let mut seen: Vec<String> = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let data = app.ok(&app.admin(), query, json!({"first": 2, "after": after})).await;
        let page = &data["affiliates"];
        for edge in page["edges"].as_array().unwrap() {
            seen.push(edge["node"]["code"].as_str().unwrap().to_string());
        }
        if page["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = page["pageInfo"]["endCursor"].as_str().map(str::to_owned);
    }
    assert_eq!(seen.len(), 5);
    seen.dedup();
    assert_eq!(seen.len(), 5, "no item twice across pages");

    let found = app.ok(&app.admin(), query, json!({"f": {"search": "P3@EXAMPLE"}})).await;
    assert_eq!(found["affiliates"]["totalCount"], 1);
    let premium = app.ok(&app.admin(), query, json!({"f": {"tier": "STANDARD"}})).await;
    assert_eq!(premium["affiliates"]["totalCount"], 0);
    assert_eq!(app.error_code(Some(&app.admin()), query, json!({"first": 500})).await, "VALIDATION");
    assert_eq!(app.error_code(Some(&app.admin()), query, json!({"after": "garbage"})).await, "VALIDATION");
}

async fn event_types(app: &TestApp) -> Vec<String> {
    support::event_types(app, None).await
}

/// The bank or account type can be changed alone: the account number, never shown back
/// in full, is kept when left out. A new affiliate's bank details still need the number.
#[tokio::test]
async fn the_bank_changes_without_retyping_the_account_number() {
    let app = TestApp::new().await;
    let created = create_affiliate(&app, "Ana", "ana@example.com").await;
    let bank = "mutation($input: UpdateAffiliateInput!) { updateAffiliate(input: $input) { bankDetails { bank accountType accountNumber } } }";
    let input = json!({ "id": created["id"], "bankDetails": { "bank": "Banco Nuevo", "accountType": "corriente" } });
    let updated = app.ok(&app.admin(), bank, json!({ "input": input })).await;
    let details = &updated["updateAffiliate"]["bankDetails"];
    assert_eq!(details["bank"], "Banco Nuevo", "{updated}");
    assert_eq!(details["accountType"], "corriente", "{updated}");
    assert!(
        details["accountNumber"].as_str().is_some_and(|n| n.ends_with("7890") && !n.contains("123456")),
        "{updated}"
    );
    // A new number replaces it.
    let input = json!({ "id": created["id"], "bankDetails": { "bank": "Banco Nuevo", "accountType": "corriente", "accountNumber": "9999000011" } });
    let updated = app.ok(&app.admin(), bank, json!({ "input": input })).await;
    assert!(
        updated["updateAffiliate"]["bankDetails"]["accountNumber"].as_str().is_some_and(|n| n.ends_with("0011")),
        "{updated}"
    );

    let mut input = support::affiliate_input("Beto", "beto@example.com");
    input["bankDetails"] = json!({ "bank": "Banco Nacional", "accountType": "ahorros" });
    let (_, body) = app.post_graphql(Some(&app.admin()), support::CREATE_AFFILIATE, json!({ "input": input })).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "VALIDATION", "{body}");
    assert_eq!(body["errors"][0]["extensions"]["field"], "bankDetails.accountNumber", "{body}");
}

/// A form hears of every wrong field at once, each named with what is wrong, in
/// `extensions.errors`; the first is also `extensions.field`. Nothing is written.
#[tokio::test]
async fn every_wrong_field_is_named_at_once() {
    let app = TestApp::new().await;
    let mut input = affiliate_input("", "not-an-email");
    input["commissionConfig"] = json!({"baseRate": "101", "minimumPayout": "-1", "currency": "USD"});
    input["bankDetails"] = json!({"bank": "Banco Alpino", "accountType": "", "accountNumber": "12/34"});
    let before = app.count("affiliates").await;
    let (_, body) = app.post_graphql(Some(&app.admin()), CREATE_AFFILIATE, json!({ "input": input })).await;
    let ext = &body["errors"][0]["extensions"];
    assert_eq!(ext["code"], "VALIDATION", "{body}");
    let fields: Vec<&str> = ext["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(
        fields,
        [
            "name",
            "email",
            "commissionConfig.baseRate",
            "commissionConfig.minimumPayout",
            "bankDetails.accountNumber",
            "bankDetails.accountType"
        ],
        "{body}"
    );
    assert!(ext["errors"].as_array().unwrap().iter().all(|e| !e["message"].as_str().unwrap().is_empty()));
    assert_eq!(ext["field"], "name");
    assert_eq!(app.count("affiliates").await, before, "nothing was written");

    // An update checks every field it is given before applying any.
    let created = create_affiliate(&app, "Tres", "tres@example.com").await;
    let (_, body) = app
        .post_graphql(
            Some(&app.admin()),
            UPDATE,
            json!({"input": {"id": created["id"], "name": "Kept?", "email": "bad", "phone": "x".repeat(41),
                "commissionConfig": {"baseRate": "-2", "minimumPayout": "1"}}}),
        )
        .await;
    let fields: Vec<&str> = body["errors"][0]["extensions"]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["email", "phone", "commissionConfig.baseRate"], "{body}");
    let read = app.ok(&app.admin(), GET, json!({"id": created["id"]})).await;
    assert_eq!(read["affiliate"]["name"], "Tres", "the good field was not applied either");

    // A single wrong field is one problem, named the same way.
    let (_, body) =
        app.post_graphql(Some(&app.admin()), UPDATE, json!({"input": {"id": created["id"], "email": "bad"}})).await;
    assert_eq!(
        body["errors"][0]["extensions"]["errors"],
        json!([{"field": "email", "message": body["errors"][0]["message"]}])
    );
}
