//! Commissions and payouts: rules, audited lifecycle, optimistic concurrency, reversals
//! and clawbacks, payouts, reports, events, and the affiliate-only view.

mod support;

use std::time::Duration;

use alpes::{
    auth::{Caller, Role},
    graphql,
    service::{attribution, commission},
};
use axum::{
    body::Body,
    http::{Request, StatusCode},
};
use chrono::Utc;
use entity::{attribution_credits, commissions, conversions, journeys, outbox_events};
use futures::StreamExt;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set, TransactionTrait};
use serde_json::{json, Value};
use support::{create_affiliate, create_campaign, TestApp};
use uuid::Uuid;

const COMMISSION_FIELDS: &str = "id status type baseAmount rate amount currency rateSource version affiliateId \
    campaignId conversionId payoutId adjustsCommissionId approvalLevel approvalPolicy approvalComments cancelReason";

fn create_q() -> String {
    format!("mutation($input: CreateCommissionInput!) {{ createCommission(input: $input) {{ {COMMISSION_FIELDS} }} }}")
}

async fn new_commission(app: &TestApp, input: Value) -> Value {
    app.ok(&app.admin(), &create_q(), json!({ "input": input })).await["createCommission"].clone()
}

async fn calculate(app: &TestApp, id: &Value) -> Value {
    let q = format!("mutation($id: ID!) {{ calculateCommission(id: $id) {{ {COMMISSION_FIELDS} }} }}");
    app.ok(&app.admin(), &q, json!({ "id": id })).await["calculateCommission"].clone()
}

async fn approve(app: &TestApp, id: &Value) -> Value {
    let q = format!("mutation($id: ID!) {{ approveCommission(id: $id) {{ {COMMISSION_FIELDS} }} }}");
    app.ok(&app.admin(), &q, json!({ "id": id })).await["approveCommission"].clone()
}

fn uuid(value: &Value) -> Uuid {
    value.as_str().and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("not an id: {value}"))
}

/// A conversion stored as tracking would store it.
async fn conversion(app: &TestApp, value: Decimal, currency: &str, affiliate: Option<Uuid>) -> conversions::Model {
    let now = Utc::now();
    conversions::ActiveModel {
        id: Set(Uuid::now_v7()),
        external_id: Set(Some(format!("conv-{}", Uuid::new_v4().simple()))),
        order_id: Set(None),
        interaction_id: Set(None),
        conversion_type: Set(conversions::ConversionType::Sale),
        value: Set(value),
        currency: Set(currency.into()),
        channel: Set(Some("web".into())),
        campaign_id: Set(None),
        affiliate_id: Set(affiliate),
        user_id: Set(None),
        anonymous_id: Set(None),
        customer_email_hash: Set(None),
        customer: Set(json!({})),
        products: Set(json!([])),
        metadata: Set(json!({})),
        status: Set(conversions::ConversionStatus::Attributed),
        fraud_score: Set(10),
        fraud_signals: Set(json!([])),
        occurred_at: Set(now),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(app.db())
    .await
    .unwrap()
}

async fn events_of(app: &TestApp, aggregate: &Value) -> Vec<String> {
    support::event_types(app, aggregate.as_str()).await
}

async fn audit_actions(app: &TestApp, id: &Value) -> Vec<(String, Value, Value)> {
    entity::audit_log::Entity::find()
        .filter(entity::audit_log::Column::EntityId.eq(id.as_str().unwrap()))
        .order_by_asc(entity::audit_log::Column::CreatedAt)
        .all(app.db())
        .await
        .unwrap()
        .into_iter()
        .map(|a| {
            (
                a.action,
                a.before.map(|b| b["status"].clone()).unwrap_or(Value::Null),
                a.after.map(|b| b["status"].clone()).unwrap_or(Value::Null),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_seed_case_create_calculate_approve_over_rest_with_events_and_audit() {
    let app = TestApp::new().await;
    let affiliate = create_affiliate(&app, "María González", "maria@example.com").await;
    let campaign = create_campaign(&app, "Black Friday").await;
    let conv = conversion(&app, dec!(250000), "COP", Some(uuid(&affiliate["id"]))).await;
    let token = app.admin();
    let auth = [("authorization", format!("Bearer {token}"))];
    let headers: Vec<(&str, &str)> = auth.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let body = json!({
        // The conversion by the id its client sent, as the seed does (`conv_98765`).
        "afiliado_id": affiliate["code"], "campana_id": campaign["id"], "conversion_id": conv.external_id,
        "monto_base": { "valor": 250000.0, "moneda": "COP" }, "tipo_comision": "porcentual", "porcentaje": 15.0,
        "configuracion": { "aplicar_descuentos": true, "incluir_iva": false }
    });
    let (status, _, created) = app.post_json("/api/v1/comisiones", &body.to_string(), [10, 0, 0, 1], &headers).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["estado"], "reservada");
    assert_eq!(created["monto_base"], json!({ "valor": 250000.0, "moneda": "COP" }));
    assert_eq!(created["afiliado_id"], affiliate["id"]);
    let id = created["comision_id"].as_str().unwrap().to_string();
    assert_eq!(created["conversion_id"], json!(conv.id));
    for reference in [conv.external_id.clone().unwrap(), conv.id.to_string()] {
        let (status, _, listed) =
            app.get(&format!("/api/v1/comisiones?conversion_id={reference}"), Some(&token), None).await;
        assert_eq!(status, StatusCode::OK, "{listed}");
        assert_eq!(listed["comisiones"][0]["comision_id"], json!(id), "by {reference}");
    }
    let (status, _, unknown) = app.get("/api/v1/comisiones?conversion_id=conv_nadie", Some(&token), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{unknown}");

    let calc = format!("/api/v1/comisiones/{id}/calcular");
    let (status, _, calculated) =
        app.post_json(&calc, &json!({ "forzar_recalculo": false }).to_string(), [10, 0, 0, 1], &headers).await;
    assert_eq!(status, StatusCode::OK, "{calculated}");
    assert_eq!(calculated["estado"], "calculada");
    assert_eq!(calculated["monto_calculado"], json!(37500.0), "15 % of 250 000 COP");

    let approval = json!({
        "comentarios": "Comisión aprobada automáticamente",
        "metadatos_aprobacion": { "nivel_aprobacion": "automatico", "politica_aplicada": "estandar" }
    });
    let (status, _, approved) = app
        .post_json(&format!("/api/v1/comisiones/{id}/aprobar"), &approval.to_string(), [10, 0, 0, 1], &headers)
        .await;
    assert_eq!(status, StatusCode::OK, "{approved}");
    assert_eq!(approved["estado"], "aprobada");
    assert_eq!(approved["metadatos_aprobacion"]["nivel_aprobacion"], "automatico");
    assert_eq!(approved["metadatos_aprobacion"]["politica_aplicada"], "estandar");
    assert_eq!(approved["comentarios"], "Comisión aprobada automáticamente");

    // Approving twice is an illegal move, not a silent no-op.
    let (status, _, again) =
        app.post_json(&format!("/api/v1/comisiones/{id}/aprobar"), "", [10, 0, 0, 1], &headers).await;
    assert_eq!((status, again["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("INVALID_TRANSITION")));

    let idv = json!(id);
    assert_eq!(events_of(&app, &idv).await, ["comision_creada", "comision_calculada", "comision_aprobada"]);
    let envelope = outbox_events::Entity::find()
        .filter(outbox_events::Column::EventType.eq("comision_aprobada"))
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(envelope.topic, "comisiones.eventos");
    let p = &envelope.payload;
    assert_eq!(p["tipo_evento"], "comision_aprobada");
    assert_eq!(p["comision_id"], idv);
    assert_eq!(p["afiliado_id"], affiliate["id"]);
    assert_eq!(p["campana_id"], campaign["id"]);
    assert_eq!(p["conversion_id"], json!(conv.id));
    // Beside our ids, the names the seed systems knew them by.
    assert_eq!(p["afiliado_codigo"], affiliate["code"]);
    assert_eq!(p["campana_codigo"], campaign["code"]);
    assert_eq!(p["conversion_id_externo"], json!(conv.external_id));
    assert!(conv.external_id.is_some());
    assert_eq!(p["datos_comision"]["monto_calculado"], json!(37500.0));
    assert_eq!(p["datos_comision"]["moneda"], "COP");
    assert_eq!(p["datos_comision"]["estado"], "aprobada");
    assert_eq!(p["datos_comision"]["tipo_comision"], "porcentual");
    assert_eq!(p["metadatos"], json!({ "version": "1.0", "origen": "marketing-service", "modulo": "comisiones" }));
    assert!(p["evento_id"].is_string() && p["fecha_evento"].is_string());

    let audit = audit_actions(&app, &idv).await;
    assert_eq!(
        audit,
        vec![
            ("commission.create".into(), Value::Null, json!("PENDING")),
            ("commission.calculate".into(), json!("PENDING"), json!("CALCULATED")),
            ("commission.approve".into(), json!("CALCULATED"), json!("APPROVED")),
        ]
    );
}

#[tokio::test]
async fn rates_follow_the_documented_order() {
    let app = TestApp::new().await;
    // Premium affiliate (15 % base, 20 % premium) on a campaign with 8 % on sales, 15 % per conversion.
    let premium = create_affiliate(&app, "Premium", "premium@example.com").await;
    let campaign = create_campaign(&app, "Campaña").await;
    let c = new_commission(
        &app,
        json!({ "affiliateId": premium["id"], "campaignId": campaign["id"], "baseAmount": "250000", "currency": "COP" }),
    )
    .await;
    let c = calculate(&app, &c["id"]).await;
    assert_eq!((c["amount"].as_str(), c["rateSource"].as_str()), (Some("50000.00"), Some("comision_premium")));

    // A standard affiliate on the same campaign: the campaign's sale rate.
    app.ok(
        &app.admin(),
        "mutation($i: UpdateAffiliateInput!) { updateAffiliate(input: $i) { id } }",
        json!({ "i": { "id": premium["id"], "tier": "STANDARD" } }),
    )
    .await;
    let c = new_commission(
        &app,
        json!({ "affiliateId": premium["id"], "campaignId": campaign["id"], "baseAmount": "250000", "currency": "COP",
                "config": { "objetivo_cumplido": true } }),
    )
    .await;
    let c = calculate(&app, &c["id"]).await;
    // 8 % of 250 000 = 20 000, plus the 25 % target bonus = 25 000.
    assert_eq!((c["amount"].as_str(), c["rateSource"].as_str()), (Some("25000.00"), Some("comision_venta")));
    assert_eq!(c["rate"], "8");

    // No campaign: the affiliate's base rate. Rounded once, half-even: 15 % of 0.30 = 0.045 → 0.04.
    let c =
        new_commission(&app, json!({ "affiliateId": premium["code"], "baseAmount": "0.30", "currency": "USD" })).await;
    let c = calculate(&app, &c["id"]).await;
    assert_eq!((c["amount"].as_str(), c["rateSource"].as_str()), (Some("0.04"), Some("comision_base")));

    // Force recalculates with the rules in force now; without force nothing changes.
    let before = calculate(&app, &c["id"]).await;
    assert_eq!(before["version"], c["version"], "calculating twice without force changes nothing");
    app.ok(
        &app.admin(),
        "mutation($i: UpdateAffiliateInput!) { updateAffiliate(input: $i) { id } }",
        json!({ "i": { "id": premium["id"], "commissionConfig": { "baseRate": "50", "minimumPayout": "0" } } }),
    )
    .await;
    let forced = app
        .ok(
            &app.admin(),
            "mutation($id: ID!) { calculateCommission(id: $id, force: true) { amount version } }",
            json!({ "id": c["id"] }),
        )
        .await;
    assert_eq!(forced["calculateCommission"]["amount"], "0.15");
    assert_eq!(forced["calculateCommission"]["version"], json!(c["version"].as_i64().unwrap() + 1));
}

#[tokio::test]
async fn bad_input_is_refused_and_changes_nothing() {
    let app = TestApp::new().await;
    let affiliate = create_affiliate(&app, "A", "a@example.com").await;
    let q = create_q();
    let base = json!({ "affiliateId": affiliate["id"], "baseAmount": "100", "currency": "USD" });
    let with = |patch: Value| {
        let mut input = base.clone();
        for (k, v) in patch.as_object().unwrap() {
            input[k] = v.clone();
        }
        json!({ "input": input })
    };
    let cases = [
        (with(json!({ "rate": "-1" })), "VALIDATION"),
        (with(json!({ "rate": "100.01" })), "VALIDATION"),
        (with(json!({ "rate": "1000000" })), "VALIDATION"),
        (with(json!({ "type": "FLAT" })), "VALIDATION"),
        (with(json!({ "baseAmount": "-5" })), "VALIDATION"),
        (with(json!({ "baseAmount": "1.001" })), "VALIDATION"),
        (with(json!({ "currency": "XXX" })), "VALIDATION"),
        (with(json!({ "affiliateId": "nobody" })), "NOT_FOUND"),
        (with(json!({ "campaignId": Uuid::new_v4() })), "NOT_FOUND"),
        (with(json!({ "conversionId": Uuid::new_v4() })), "NOT_FOUND"),
        // By the id its client sent: none sent this one.
        (with(json!({ "conversionId": "conv_nadie" })), "NOT_FOUND"),
        (with(json!({ "config": [1, 2] })), "VALIDATION"),
    ];
    for (vars, code) in cases {
        assert_eq!(app.error_code(Some(&app.admin()), &q, vars.clone()).await, code, "{vars}");
    }
    assert_eq!(app.count("commissions").await, 0);
    assert_eq!(app.count("audit_log").await, 1, "only the affiliate's creation");

    // Moves: unknown ids, illegal transitions, an empty reason.
    let c = new_commission(&app, base.clone()).await;
    let admin = app.admin();
    let approve_q = "mutation($id: ID!) { approveCommission(id: $id) { id } }";
    assert_eq!(app.error_code(Some(&admin), approve_q, json!({ "id": Uuid::new_v4() })).await, "NOT_FOUND");
    assert_eq!(app.error_code(Some(&admin), approve_q, json!({ "id": "x" })).await, "VALIDATION");
    assert_eq!(app.error_code(Some(&admin), approve_q, json!({ "id": c["id"] })).await, "INVALID_TRANSITION");
    let reject_q =
        "mutation($id: ID!, $r: String!) { rejectCommission(id: $id, reason: $r) { status rejectionReason } }";
    assert_eq!(app.error_code(Some(&admin), reject_q, json!({ "id": c["id"], "r": "  " })).await, "VALIDATION");
    let rejected = app.ok(&admin, reject_q, json!({ "id": c["id"], "r": "duplicada" })).await;
    assert_eq!(rejected["rejectCommission"]["status"], "REJECTED");
    let calc_q = "mutation($id: ID!) { calculateCommission(id: $id, force: true) { id } }";
    assert_eq!(app.error_code(Some(&admin), calc_q, json!({ "id": c["id"] })).await, "INVALID_TRANSITION");
    let approve_meta = "mutation($id: ID!, $m: JSON) { approveCommission(id: $id, approvalMetadata: $m) { id } }";
    let c2 = calculate(&app, &new_commission(&app, base.clone()).await["id"]).await;
    assert_eq!(
        app.error_code(Some(&admin), approve_meta, json!({ "id": c2["id"], "m": "automatico" })).await,
        "VALIDATION"
    );
    let bulk = "mutation($ids: [ID!]!) { approveCommissions(ids: $ids) { id status } }";
    // One bad id in a bulk approval: none is approved.
    assert_eq!(app.error_code(Some(&admin), bulk, json!({ "ids": [c2["id"], c["id"]] })).await, "INVALID_TRANSITION");
    assert_eq!(app.error_code(Some(&admin), bulk, json!({ "ids": [] })).await, "VALIDATION");
    assert_eq!(app.error_code(Some(&admin), bulk, json!({ "ids": [c2["id"], c2["id"]] })).await, "VALIDATION");
    let still =
        app.ok(&admin, "query($id: ID!) { commission(id: $id) { status version } }", json!({ "id": c2["id"] })).await;
    assert_eq!(still["commission"]["status"], "CALCULATED");
    let done = app.ok(&admin, bulk, json!({ "ids": [c2["id"]] })).await;
    assert_eq!(done["approveCommissions"][0]["status"], "APPROVED");

    // Analysts read, never write.
    let analyst = app.token(Role::Analyst, None);
    assert_eq!(app.error_code(Some(&analyst), &q, with(json!({}))).await, "FORBIDDEN");

    // Reports with a period that does not parse.
    let report = "query($p: String!) { commissionReport(period: $p, groupBy: STATUS) { totals { currency } } }";
    assert_eq!(app.error_code(Some(&admin), report, json!({ "p": "last month" })).await, "VALIDATION");
    let (status, _, body) = app.get("/api/v1/comisiones?periodo=ayer", Some(&admin), None).await;
    assert_eq!((status, body["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("periodo")));
    let (status, _, _) = app.get("/api/v1/comisiones?formato=xml", Some(&admin), None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_commission_of_a_canceled_conversion_cannot_be_approved() {
    let app = TestApp::new().await;
    let affiliate = create_affiliate(&app, "A", "a@example.com").await;
    let conv = conversion(&app, dec!(100), "COP", None).await;
    let c = new_commission(&app, json!({ "affiliateId": affiliate["id"], "conversionId": conv.id })).await;
    assert_eq!(c["baseAmount"], "100.00", "the conversion's value is the base");
    // A conversion has one commission per affiliate: asking again is answered with it,
    // asking for other terms is a conflict that says what it earns.
    let again = new_commission(&app, json!({ "affiliateId": affiliate["id"], "conversionId": conv.id })).await;
    assert_eq!(again["id"], c["id"]);
    let other = app
        .post_graphql(
            Some(&app.admin()),
            &create_q(),
            json!({ "input": { "affiliateId": affiliate["id"], "conversionId": conv.id, "rate": "25" } }),
        )
        .await
        .1;
    assert_eq!(other["errors"][0]["extensions"]["code"], "CONFLICT", "{other}");
    let message = other["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("earns 20 %, not 25 %") && message.contains(c["id"].as_str().unwrap_or("?")), "{message}");
    let c = calculate(&app, &c["id"]).await;
    let mut active: conversions::ActiveModel = conv.into();
    active.status = Set(conversions::ConversionStatus::Reverted);
    active.update(app.db()).await.unwrap();
    let q = "mutation($id: ID!) { approveCommission(id: $id) { id } }";
    assert_eq!(app.error_code(Some(&app.admin()), q, json!({ "id": c["id"] })).await, "CONFLICT");
    let now =
        app.ok(&app.admin(), "query($id: ID!) { commission(id: $id) { status } }", json!({ "id": c["id"] })).await;
    assert_eq!(now["commission"]["status"], "CALCULATED");
}

#[tokio::test]
async fn two_concurrent_approvals_one_wins_the_other_conflicts() {
    let app = TestApp::new().await;
    let affiliate = create_affiliate(&app, "A", "a@example.com").await;
    let c =
        new_commission(&app, json!({ "affiliateId": affiliate["id"], "baseAmount": "100", "currency": "USD" })).await;
    let c = calculate(&app, &c["id"]).await;
    let q = "mutation($id: ID!, $v: Int) { approveCommission(id: $id, expectedVersion: $v) { status version } }";
    let vars = json!({ "id": c["id"], "v": c["version"] });
    let admin = app.admin();
    let (first, second) =
        tokio::join!(app.post_graphql(Some(&admin), q, vars.clone()), app.post_graphql(Some(&admin), q, vars.clone()));
    let codes: Vec<Option<String>> = [&first.1, &second.1]
        .iter()
        .map(|b| b["errors"][0]["extensions"]["code"].as_str().map(str::to_owned))
        .collect();
    let wins = codes.iter().filter(|c| c.is_none()).count();
    assert_eq!(wins, 1, "exactly one approval wins: {first:?} {second:?}");
    assert!(codes.contains(&Some("CONFLICT".into())), "the other is a CONFLICT: {codes:?}");
    assert_eq!(events_of(&app, &c["id"]).await.iter().filter(|e| *e == "comision_aprobada").count(), 1);
    let audit = audit_actions(&app, &c["id"]).await;
    assert_eq!(audit.iter().filter(|a| a.0 == "commission.approve").count(), 1);

    // The same race without a version: the service's own read decides; never two approvals.
    let c = calculate(
        &app,
        &new_commission(&app, json!({ "affiliateId": affiliate["id"], "baseAmount": "5", "currency": "USD" })).await
            ["id"],
    )
    .await;
    let q = "mutation($id: ID!) { approveCommission(id: $id) { status } }";
    let vars = json!({ "id": c["id"] });
    let (a, b) =
        tokio::join!(app.post_graphql(Some(&admin), q, vars.clone()), app.post_graphql(Some(&admin), q, vars.clone()));
    let oks = [&a.1, &b.1].iter().filter(|r| r.get("errors").is_none()).count();
    assert_eq!(oks, 1, "{a:?} {b:?}");
    for r in [&a.1, &b.1] {
        if let Some(code) = r["errors"][0]["extensions"]["code"].as_str() {
            assert!(code == "CONFLICT" || code == "INVALID_TRANSITION", "{r}");
        }
    }
}

#[tokio::test]
async fn payouts_respect_the_minimum_and_never_pay_a_commission_twice() {
    let app = TestApp::new().await;
    // Minimum payout 50 000 COP.
    let affiliate = create_affiliate(&app, "A", "a@example.com").await;
    let admin = app.admin();
    let payout_q = "mutation($a: ID!) { createPayout(affiliateId: $a) { id amount currency status commissionCount commissions { id } } }";
    assert_eq!(app.error_code(Some(&admin), payout_q, json!({ "a": affiliate["id"] })).await, "VALIDATION");

    let mut ids = Vec::new();
    for base in ["100000", "99999.99"] {
        let c = new_commission(
            &app,
            json!({ "affiliateId": affiliate["id"], "baseAmount": base, "currency": "COP", "rate": "20" }),
        )
        .await;
        calculate(&app, &c["id"]).await;
        ids.push(c["id"].clone());
    }
    approve(&app, &ids[0]).await;
    // 20 000.00 approved: below the minimum. Nothing is written.
    assert_eq!(app.error_code(Some(&admin), payout_q, json!({ "a": affiliate["id"] })).await, "VALIDATION");
    assert_eq!(app.count("payouts").await, 0);
    approve(&app, &ids[1]).await;
    // 20 000.00 + 19 999.998 → 20 000.00 = 40 000.00: still below.
    assert_eq!(app.error_code(Some(&admin), payout_q, json!({ "a": affiliate["id"] })).await, "VALIDATION");
    let c = new_commission(
        &app,
        json!({ "affiliateId": affiliate["id"], "baseAmount": "50000.05", "currency": "COP", "rate": "20" }),
    )
    .await;
    calculate(&app, &c["id"]).await;
    approve(&app, &c["id"]).await;
    let payout = app.ok(&admin, payout_q, json!({ "a": affiliate["code"] })).await["createPayout"].clone();
    assert_eq!(payout["amount"], "50000.01", "20 000.00 + 20 000.00 + 10 000.01");
    assert_eq!((payout["status"].as_str(), payout["commissionCount"].as_i64()), (Some("PENDING"), Some(3)));
    assert_eq!(payout["currency"], "COP");
    // Nothing left to pay: a second payout is refused.
    assert_eq!(app.error_code(Some(&admin), payout_q, json!({ "a": affiliate["id"] })).await, "VALIDATION");

    // Canceled (the bank refused it, say): its commissions are approved and unpaid again.
    let cancel_q = "mutation($id: ID!, $r: String) { cancelPayout(id: $id, reason: $r) { status commissions { id } } }";
    let analyst = app.token(Role::Analyst, None);
    assert_eq!(app.error_code(Some(&analyst), cancel_q, json!({ "id": payout["id"] })).await, "FORBIDDEN");
    let canceled = app.ok(&admin, cancel_q, json!({ "id": payout["id"], "r": "IBAN refused" })).await;
    assert_eq!(canceled["cancelPayout"]["status"], "CANCELED");
    assert_eq!(canceled["cancelPayout"]["commissions"], json!([]), "none is in it any more");
    for id in &ids {
        let c = commissions::Entity::find_by_id(uuid(id)).one(app.db()).await.unwrap().unwrap();
        assert_eq!((c.status, c.payout_id), (commissions::CommissionStatus::Approved, None));
    }
    assert_eq!(app.error_code(Some(&admin), cancel_q, json!({ "id": payout["id"] })).await, "INVALID_TRANSITION");
    let audit = entity::audit_log::Entity::find()
        .filter(entity::audit_log::Column::Action.eq("payout.cancel"))
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(audit.after.as_ref().map(|a| a["reason"].clone()), Some(json!("IBAN refused")));
    // They go in the next payout, for the same amount.
    let payout = app.ok(&admin, payout_q, json!({ "a": affiliate["id"] })).await["createPayout"].clone();
    assert_eq!((payout["amount"].as_str(), payout["commissionCount"].as_i64()), (Some("50000.01"), Some(3)));

    let paid_q =
        "mutation($id: ID!) { markPayoutPaid(id: $id) { status paidAt commissions { status paidAt payoutId } } }";
    let paid = app.ok(&admin, paid_q, json!({ "id": payout["id"] })).await["markPayoutPaid"].clone();
    assert_eq!(paid["status"], "PAID");
    for c in paid["commissions"].as_array().unwrap() {
        assert_eq!((c["status"].as_str(), c["payoutId"].as_str()), (Some("PAID"), payout["id"].as_str()));
    }
    assert_eq!(app.error_code(Some(&admin), paid_q, json!({ "id": payout["id"] })).await, "INVALID_TRANSITION");
    assert_eq!(app.error_code(Some(&admin), paid_q, json!({ "id": Uuid::new_v4() })).await, "NOT_FOUND");
    // Paid, it cannot be canceled: the money left.
    assert_eq!(app.error_code(Some(&admin), cancel_q, json!({ "id": payout["id"] })).await, "INVALID_TRANSITION");
    let period = alpes::domain::commission::Period {
        from: Utc::now() - chrono::Duration::days(1),
        to: Utc::now() + chrono::Duration::days(1),
    };
    let books = alpes::service::reconciliation::reconcile(app.db(), &Caller::system(), period).await.unwrap();
    let broken: Vec<_> = books.checks.iter().filter(|c| c.violations > 0).map(|c| c.code).collect();
    assert!(books.balanced(), "the books balance after a canceled payout: {broken:?}");
    let pagadas = outbox_events::Entity::find()
        .filter(outbox_events::Column::EventType.eq("comision_pagada"))
        .all(app.db())
        .await
        .unwrap();
    assert_eq!(pagadas.len(), 3);
    let paid_audit = entity::audit_log::Entity::find()
        .filter(entity::audit_log::Column::Action.eq("commission.pay"))
        .all(app.db())
        .await
        .unwrap();
    assert_eq!(paid_audit.len(), 3);
}

/// Journey and credits as attribution writes them.
async fn attribute(
    app: &TestApp,
    conv: &conversions::Model,
    split: &[(Option<Uuid>, Decimal)],
) -> Vec<attribution_credits::Model> {
    let now = Utc::now();
    let journey = journeys::ActiveModel {
        id: Set(Uuid::now_v7()),
        conversion_id: Set(conv.id),
        user_id: Set(None),
        anonymous_id: Set(Some("anon".into())),
        model: Set(journeys::AttributionModel::Linear),
        lookback_days: Set(30),
        status: Set(journeys::JourneyStatus::Attributed),
        touchpoints: Set(json!([])),
        created_at: Set(now),
        updated_at: Set(now),
        reverted_at: Set(None),
    }
    .insert(app.db())
    .await
    .unwrap();
    let mut credits = Vec::new();
    for (i, (affiliate, amount)) in split.iter().enumerate() {
        let credit = attribution_credits::ActiveModel {
            id: Set(Uuid::now_v7()),
            journey_id: Set(journey.id),
            conversion_id: Set(conv.id),
            interaction_id: Set(None),
            position: Set(i as i32),
            campaign_id: Set(None),
            affiliate_id: Set(*affiliate),
            channel: Set(Some("affiliate".into())),
            model: Set(journeys::AttributionModel::Linear),
            weight: Set(*amount / conv.value),
            amount: Set(*amount),
            currency: Set(conv.currency.clone()),
            is_current: Set(true),
            created_at: Set(now),
        }
        .insert(app.db())
        .await
        .unwrap();
        credits.push(credit);
    }
    credits
}

const DASHBOARD_COMMISSIONS: &str =
    r#"query($c: String) { dashboard(period: "7d", currency: $c) { commissions { status count amount } } }"#;

/// The dashboard's (count, amount) of commissions in `status`.
async fn dashboard_bucket(app: &TestApp, status: &str) -> (u64, String) {
    let d = app.ok(&app.admin(), DASHBOARD_COMMISSIONS, json!({ "c": "USD" })).await;
    let bucket = d["dashboard"]["commissions"]
        .as_array()
        .and_then(|b| b.iter().find(|b| b["status"] == status).cloned())
        .unwrap_or_else(|| panic!("no {status} bucket: {d}"));
    (bucket["count"].as_u64().unwrap_or_default(), bucket["amount"].as_str().unwrap_or_default().to_string())
}

#[tokio::test]
async fn a_pending_commission_counts_what_it_is_expected_to_pay_never_the_sale() {
    let app = TestApp::new().await;
    let a = create_affiliate(&app, "A", "a@example.com").await;
    let a_id = uuid(&a["id"]);
    let conv = conversion(&app, dec!(1200.00), "USD", Some(a_id)).await;
    let credits = attribute(&app, &conv, &[(Some(a_id), dec!(1200.00))]).await;
    let made = commission::reserve_for_credits(app.db(), &conv, &credits).await.unwrap();
    let id = json!(made[0].id);
    let q = "query($id: ID!) { commission(id: $id) { status amount expectedAmount baseAmount } }";
    let c = app.ok(&app.admin(), q, json!({ "id": id })).await["commission"].clone();
    assert_eq!(c, json!({ "status": "PENDING", "amount": null, "expectedAmount": "240.00", "baseAmount": "1200.00" }));
    assert_eq!(dashboard_bucket(&app, "PENDING").await, (1, "240.00".into()), "20 % of the sale, not the sale");

    // A partial refund leaves 900 of the sale: the expected amount follows the base.
    commission::adjust_for_refund(app.db(), conv.id, dec!(900.00), "reembolso parcial").await.unwrap();
    let c = app.ok(&app.admin(), q, json!({ "id": id })).await["commission"].clone();
    assert_eq!((c["baseAmount"].as_str(), c["expectedAmount"].as_str()), (Some("900.00"), Some("180.00")));
    assert_eq!(dashboard_bucket(&app, "PENDING").await, (1, "180.00".into()));

    // Calculated, it pays what was expected.
    let calc = calculate(&app, &id).await;
    assert_eq!(calc["amount"], "180.00");
    assert_eq!(dashboard_bucket(&app, "PENDING").await, (0, "0.00".into()));
    assert_eq!(dashboard_bucket(&app, "CALCULATED").await, (1, "180.00".into()));

    // One reserved before expected amounts existed is priced when the service starts.
    let manual =
        new_commission(&app, json!({ "affiliateId": a["id"], "baseAmount": "50.00", "currency": "USD" })).await;
    commissions::Entity::update_many()
        .col_expr(commissions::Column::ExpectedAmount, sea_orm::sea_query::Expr::value(Option::<Decimal>::None))
        .filter(commissions::Column::Id.eq(uuid(&manual["id"])))
        .exec(app.db())
        .await
        .unwrap();
    assert_eq!(dashboard_bucket(&app, "PENDING").await, (1, "0.00".into()));
    assert_eq!(commission::price_unpriced(&app.app.state.ctx).await.unwrap(), 1);
    assert_eq!(commission::price_unpriced(&app.app.state.ctx).await.unwrap(), 0, "priced once");
    assert_eq!(dashboard_bucket(&app, "PENDING").await, (1, "10.00".into()));
}

#[tokio::test]
async fn credits_reserve_once_and_reversals_cancel_or_claw_back() {
    let app = TestApp::new().await;
    let a = create_affiliate(&app, "A", "a@example.com").await;
    let b = create_affiliate(&app, "B", "b@example.com").await;
    let (a_id, b_id) = (uuid(&a["id"]), uuid(&b["id"]));
    let conv = conversion(&app, dec!(300.00), "USD", Some(a_id)).await;
    let credits =
        attribute(&app, &conv, &[(Some(a_id), dec!(200.00)), (Some(b_id), dec!(100.00)), (None, dec!(0))]).await;

    let made = commission::reserve_for_credits(app.db(), &conv, &credits).await.unwrap();
    assert_eq!(made.len(), 2, "one per credit naming an affiliate");
    assert!(made.iter().all(|m| m.status == commissions::CommissionStatus::Pending && m.amount.is_none()));
    let mut expected: Vec<Decimal> = made.iter().filter_map(|m| m.expected_amount.map(|a| a.normalize())).collect();
    expected.sort();
    assert_eq!(expected, vec![dec!(20), dec!(40)], "premium 20 % of each credit, before any calculation");
    let again = commission::reserve_for_credits(app.db(), &conv, &credits).await.unwrap();
    assert!(again.is_empty(), "a credit already reserved is skipped");
    assert_eq!(app.count("commissions").await, 2);

    // A's commission goes all the way to paid; B's stays calculated.
    let a_comm = made.iter().find(|m| m.affiliate_id == a_id).unwrap();
    let b_comm = made.iter().find(|m| m.affiliate_id == b_id).unwrap();
    let a_json = json!(a_comm.id);
    let calc = calculate(&app, &a_json).await;
    assert_eq!(calc["amount"], "40.00", "premium 20 % of the 200.00 credit");
    calculate(&app, &json!(b_comm.id)).await;
    approve(&app, &a_json).await;
    app.ok(
        &app.admin(),
        "mutation($i: UpdateAffiliateInput!) { updateAffiliate(input: $i) { id } }",
        json!({ "i": { "id": a["id"], "commissionConfig": { "baseRate": "15", "premiumRate": "20", "minimumPayout": "10", "currency": "USD" } } }),
    )
    .await;
    let payout = app
        .ok(&app.admin(), "mutation($a: ID!) { createPayout(affiliateId: $a) { id amount } }", json!({ "a": a["id"] }))
        .await["createPayout"]
        .clone();
    app.ok(&app.admin(), "mutation($id: ID!) { markPayoutPaid(id: $id) { id } }", json!({ "id": payout["id"] })).await;

    // A partial refund: a third of the sale is returned (100 of 300 kept... 200 kept).
    commission::adjust_for_refund(app.db(), conv.id, dec!(200.00), "reembolso parcial").await.unwrap();
    let all =
        commissions::Entity::find().filter(commissions::Column::ConversionId.eq(conv.id)).all(app.db()).await.unwrap();
    let b_now = all.iter().find(|m| m.id == b_comm.id).unwrap();
    assert_eq!((b_now.base_amount.normalize(), b_now.amount.map(|a| a.normalize())), (dec!(66.67), Some(dec!(13.33))));
    let claw: Vec<_> = all.iter().filter(|m| m.adjusts_commission_id == Some(a_comm.id)).collect();
    assert_eq!(claw.len(), 1);
    assert_eq!(claw[0].amount.map(|a| a.normalize()), Some(dec!(-13.33)), "40.00 → 26.67 once the refund is kept");
    assert_eq!(claw[0].status, commissions::CommissionStatus::Approved);

    // The same refund again changes nothing.
    commission::adjust_for_refund(app.db(), conv.id, dec!(200.00), "reembolso parcial").await.unwrap();
    assert_eq!(app.count("commissions").await, 3);

    // Attribution reverted: the unpaid one is canceled, the paid one clawed back to zero.
    commission::reverse_for_conversion(app.db(), conv.id, "atribución revertida").await.unwrap();
    let all =
        commissions::Entity::find().filter(commissions::Column::ConversionId.eq(conv.id)).all(app.db()).await.unwrap();
    let b_now = all.iter().find(|m| m.id == b_comm.id).unwrap();
    assert_eq!(b_now.status, commissions::CommissionStatus::Canceled);
    assert_eq!(b_now.cancel_reason.as_deref(), Some("atribución revertida"));
    let clawed: Decimal =
        all.iter().filter(|m| m.adjusts_commission_id == Some(a_comm.id)).filter_map(|m| m.amount).sum();
    assert_eq!(clawed.normalize(), dec!(-40), "the whole paid 40.00 is taken back, in two steps");
    // Reverting twice adds nothing.
    commission::reverse_for_conversion(app.db(), conv.id, "atribución revertida").await.unwrap();
    assert_eq!(app.count("commissions").await, 4);
    let canceled = outbox_events::Entity::find()
        .filter(outbox_events::Column::EventType.eq("comision_cancelada"))
        .all(app.db())
        .await
        .unwrap();
    assert_eq!(canceled.len(), 1);
    assert_eq!(canceled[0].payload["datos_comision"]["motivo"], "atribución revertida");

    // The clawbacks are netted against the next payout: a new 100.00 commission → 60.00 paid.
    let c = new_commission(&app, json!({ "affiliateId": a["id"], "baseAmount": "500", "currency": "USD" })).await;
    calculate(&app, &c["id"]).await;
    approve(&app, &c["id"]).await;
    let next = app
        .ok(
            &app.admin(),
            "mutation($a: ID!) { createPayout(affiliateId: $a) { amount commissionCount } }",
            json!({ "a": a["id"] }),
        )
        .await;
    assert_eq!(next["createPayout"]["amount"], "60.00");
    assert_eq!(next["createPayout"]["commissionCount"], 3);
}

async fn stripe(app: &TestApp, payload: Value) {
    let (status, body) = app.stripe(&payload).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

fn stripe_event(id: &str, kind: &str, object: Value) -> Value {
    json!({ "id": id, "object": "event", "type": kind, "livemode": false, "created": Utc::now().timestamp(),
            "data": { "object": object } })
}

#[tokio::test]
async fn from_a_stripe_payment_to_a_paid_payout_and_a_refund_that_claws_back() {
    let app = TestApp::new().await;
    let affiliate = create_affiliate(&app, "A", "a@example.com").await;
    app.ok(
        &app.admin(),
        "mutation($i: UpdateAffiliateInput!) { updateAffiliate(input: $i) { id } }",
        json!({ "i": { "id": affiliate["id"], "commissionConfig": { "baseRate": "15", "premiumRate": "12.5", "minimumPayout": "10", "currency": "USD" } } }),
    )
    .await;
    stripe(
        &app,
        stripe_event(
            "evt_pay",
            "checkout.session.completed",
            json!({ "id": "cs_9", "object": "checkout.session", "amount_total": 15075, "currency": "usd",
                    "payment_status": "paid", "payment_intent": "pi_9", "metadata": { "affiliate": affiliate["code"] } }),
        ),
    )
    .await;
    let conv = conversions::Entity::find().one(app.db()).await.unwrap().expect("the sale conversion");
    assert_eq!(conv.value.normalize(), dec!(150.75));
    let c = new_commission(&app, json!({ "affiliateId": affiliate["id"], "conversionId": conv.id })).await;
    let c = calculate(&app, &c["id"]).await;
    assert_eq!(c["amount"], "18.84", "12.5 % of 150.75 = 18.84375 → 18.84");
    approve(&app, &c["id"]).await;
    let payout = app
        .ok(
            &app.admin(),
            "mutation($a: ID!) { createPayout(affiliateId: $a) { id amount } }",
            json!({ "a": affiliate["id"] }),
        )
        .await["createPayout"]
        .clone();
    assert_eq!(payout["amount"], "18.84");
    app.ok(&app.admin(), "mutation($id: ID!) { markPayoutPaid(id: $id) { id } }", json!({ "id": payout["id"] })).await;

    let charge = |refunded: i64| {
        json!({ "id": "ch_9", "object": "charge", "payment_intent": "pi_9", "amount": 15075,
                "amount_refunded": refunded, "currency": "usd" })
    };
    // 50.25 of 150.75 refunded: 100.50 kept → 12.5 % = 12.5625 → 12.56; 18.84 − 12.56 = 6.28 back.
    stripe(&app, stripe_event("evt_r1", "charge.refunded", charge(5025))).await;
    let claws = || async {
        commissions::Entity::find()
            .filter(commissions::Column::AdjustsCommissionId.is_not_null())
            .order_by_asc(commissions::Column::CreatedAt)
            .all(app.db())
            .await
            .unwrap()
    };
    let first = claws().await;
    assert_eq!(first.iter().map(|m| m.amount.unwrap().normalize()).collect::<Vec<_>>(), vec![dec!(-6.28)]);
    // The same Stripe event again: processed once.
    stripe(&app, stripe_event("evt_r1", "charge.refunded", charge(5025))).await;
    assert_eq!(claws().await.len(), 1);
    // Then the rest: everything still kept (12.56) comes back.
    stripe(&app, stripe_event("evt_r2", "charge.refunded", charge(15075))).await;
    let all = claws().await;
    let total: Decimal = all.iter().filter_map(|m| m.amount).sum();
    assert_eq!(total.normalize(), dec!(-18.84));
    assert!(all.iter().all(|m| m.status == commissions::CommissionStatus::Approved && m.payout_id.is_none()));
    let created = outbox_events::Entity::find()
        .filter(outbox_events::Column::EventType.eq("comision_creada"))
        .filter(outbox_events::Column::AggregateId.eq(all[1].id.to_string()))
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(created.payload["datos_comision"]["ajusta_comision_id"], c["id"]);
    assert_eq!(created.payload["datos_comision"]["monto_calculado"], json!(-12.56));
}

/// Found by the crash test's load: a commission shrunk by a refund before it was
/// calculated, then paid, then refunded further, was clawed back as if its post-refund
/// amount had been its original one (too much came back).
#[tokio::test]
async fn a_second_refund_after_payment_claws_back_only_what_the_sale_lost() {
    let app = TestApp::new().await;
    let affiliate = create_affiliate(&app, "A", "a@example.com").await;
    app.ok(
        &app.admin(),
        "mutation($i: UpdateAffiliateInput!) { updateAffiliate(input: $i) { id } }",
        json!({ "i": { "id": affiliate["id"], "tier": "STANDARD", "commissionConfig": { "baseRate": "10", "minimumPayout": "1", "currency": "USD" } } }),
    )
    .await;
    let paid = json!({ "id": "cs_2r", "object": "checkout.session", "amount_total": 16623, "currency": "usd",
        "payment_status": "paid", "payment_intent": "pi_2r", "metadata": { "affiliate": affiliate["code"] } });
    stripe(&app, stripe_event("evt_2r_pay", "checkout.session.completed", paid)).await;
    let charge = |refunded: i64| {
        json!({ "id": "ch_2r", "object": "charge", "payment_intent": "pi_2r", "amount": 16623,
                "amount_refunded": refunded, "currency": "usd" })
    };
    // 48.33 back before the commission is calculated: it is on the 117.90 kept → 11.79.
    attribution::attribute_pending(&app.app.state, &app.app.state.markov).await.unwrap();
    stripe(&app, stripe_event("evt_2r_r1", "charge.refunded", charge(4833))).await;
    let c = commissions::Entity::find().one(app.db()).await.unwrap().expect("reserved");
    let c = calculate(&app, &json!(c.id)).await;
    assert_eq!(c["amount"], "11.79");
    approve(&app, &c["id"]).await;
    let payout = app
        .ok(&app.admin(), "mutation($a: ID!) { createPayout(affiliateId: $a) { id } }", json!({ "a": affiliate["id"] }))
        .await["createPayout"]["id"]
        .clone();
    app.ok(&app.admin(), "mutation($id: ID!) { markPayoutPaid(id: $id) { id } }", json!({ "id": payout })).await;
    // Then 121.76 refunded in all: 44.47 kept → 4.447 → 4.45 owed; 11.79 − 4.45 = 7.34 back.
    stripe(&app, stripe_event("evt_2r_r2", "charge.refunded", charge(12176))).await;
    let back: Vec<Decimal> = commissions::Entity::find()
        .filter(commissions::Column::AdjustsCommissionId.is_not_null())
        .all(app.db())
        .await
        .unwrap()
        .into_iter()
        .filter_map(|m| m.amount.map(|a| a.normalize()))
        .collect();
    assert_eq!(back, vec![dec!(-7.34)]);
}

/// "My conversions" is read from `affiliate_conversions`, which triggers keep: an affiliate
/// sees the sales it owns and those a current credit gives it a share of, newest first, in
/// every list and look-up; a credit no longer current or deleted, a sale given to another
/// affiliate, leaves it. After each step the kept table equals one rebuilt from the raw rows.
#[tokio::test]
async fn an_affiliate_sees_its_own_and_credited_sales_while_the_credit_stands() {
    let app = TestApp::new().await;
    let (a, b) =
        (create_affiliate(&app, "A", "a@example.com").await, create_affiliate(&app, "B", "b@example.com").await);
    let (a_id, b_id) = (uuid(&a["id"]), uuid(&b["id"]));
    async fn seen(app: &TestApp, who: Uuid) -> Vec<String> {
        let token = app.token(Role::Affiliate, Some(who));
        let list = app.ok(&token, "{ conversions(first: 10) { totalCount nodes { id } } }", json!({})).await;
        let ids: Vec<String> =
            list["conversions"]["nodes"].as_array().unwrap().iter().map(|n| n["id"].as_str().unwrap().into()).collect();
        assert_eq!(list["conversions"]["totalCount"], ids.len(), "{list}");
        ids
    }
    async fn set_current(app: &TestApp, conversion: Uuid, current: bool) {
        attribution_credits::Entity::update_many()
            .col_expr(attribution_credits::Column::IsCurrent, sea_orm::sea_query::Expr::value(current))
            .filter(attribution_credits::Column::ConversionId.eq(conversion))
            .exec(app.db())
            .await
            .unwrap();
    }
    async fn kept_as_rebuilt(app: &TestApp) {
        let kept = alpes::service::rollup::snapshot(app.db()).await.unwrap();
        alpes::service::rollup::rebuild(app.db(), None).await.unwrap();
        assert_eq!(alpes::service::rollup::snapshot(app.db()).await.unwrap(), kept, "kept = rebuilt");
    }
    let own = conversion(&app, dec!(50.00), "USD", Some(a_id)).await;
    let shared = conversion(&app, dec!(90.00), "USD", Some(a_id)).await;
    let credits = attribute(&app, &shared, &[(Some(a_id), dec!(30.00)), (Some(b_id), dec!(60.00))]).await;
    let (own_id, shared_id) = (own.id.to_string(), shared.id.to_string());
    assert_eq!(seen(&app, a_id).await, vec![shared_id.clone(), own_id.clone()], "own, newest first");
    assert_eq!(seen(&app, b_id).await, vec![shared_id.clone()], "credited");
    let b_token = app.token(Role::Affiliate, Some(b_id));
    let one = "query($id: ID!) { conversion(id: $id) { id } }";
    assert_eq!(app.ok(&b_token, one, json!({ "id": shared_id })).await["conversion"]["id"], shared_id.as_str());
    kept_as_rebuilt(&app).await;

    // The attribution reverted: B's credit no longer current; A still owns the sale.
    set_current(&app, shared.id, false).await;
    assert!(seen(&app, b_id).await.is_empty(), "a credit no longer current shows nothing");
    assert_eq!(seen(&app, a_id).await.len(), 2);
    kept_as_rebuilt(&app).await;

    // The first sale given to B, then deleted.
    let mut moved: conversions::ActiveModel = own.into();
    moved.affiliate_id = Set(Some(b_id));
    moved.update(app.db()).await.unwrap();
    assert_eq!((seen(&app, a_id).await, seen(&app, b_id).await), (vec![shared_id.clone()], vec![own_id.clone()]));
    kept_as_rebuilt(&app).await;
    // The attribution current again, then its credits deleted.
    set_current(&app, shared.id, true).await;
    assert_eq!(seen(&app, b_id).await, vec![shared_id.clone(), own_id.clone()]);
    kept_as_rebuilt(&app).await;
    attribution_credits::Entity::delete_many()
        .filter(attribution_credits::Column::Id.is_in(credits.iter().map(|c| c.id)))
        .exec(app.db())
        .await
        .unwrap();
    assert_eq!((seen(&app, a_id).await, seen(&app, b_id).await), (vec![shared_id.clone()], vec![own_id.clone()]));
    kept_as_rebuilt(&app).await;
}

/// Found by the crash test's load on PostgreSQL: a transaction that moves several
/// commissions (a bulk approval, a payout paid, a reversal) locks each one's
/// `commission_daily` rows in turn, and took them in the order it met the commissions;
/// another taking the same rows in the other order deadlocked with it. Every such
/// transaction now moves its commissions in their rollup rows' order.
#[tokio::test]
async fn moves_of_several_commissions_take_their_rollup_rows_in_one_order() {
    let app = TestApp::new().await;
    let mut affiliates = Vec::new();
    for (name, email) in [("A", "a@example.com"), ("B", "b@example.com")] {
        affiliates.push(uuid(&create_affiliate(&app, name, email).await["id"]));
    }
    // Rollup rows are in affiliate order on one day, campaign and currency.
    affiliates.sort();
    let mut calculated = Vec::new();
    for affiliate in &affiliates {
        let mut two = Vec::new();
        for _ in 0..2 {
            let c =
                new_commission(&app, json!({ "affiliateId": affiliate, "baseAmount": "100", "currency": "USD" })).await;
            two.push(uuid(&calculate(&app, &c["id"]).await["id"]));
        }
        calculated.push(two);
    }
    let (first, second) = (&calculated[0], &calculated[1]);
    let db = app.db();
    let literal = |id: Uuid| match db.get_database_backend() {
        sea_orm::DbBackend::Postgres => format!("'{id}'::uuid"),
        _ => format!("X'{}'", id.simple()),
    };
    let approve = |id: Uuid| format!("UPDATE commissions SET status = 'APPROVED' WHERE id = {}", literal(id));

    // Another writer holds the first affiliate's rows and will want the second's.
    let other = db.begin().await.unwrap();
    sea_orm::ConnectionTrait::execute_unprepared(&other, &approve(first[0])).await.unwrap();
    let q = "mutation($ids: [ID!]!) { approveCommissions(ids: $ids) { id status } }";
    // Asked second affiliate first: approved in rollup order, answered in the order asked.
    let asked = json!({ "ids": [second[1], first[1]] });
    let admin = app.admin();
    let (bulk, other) = tokio::join!(app.post_graphql(Some(&admin), q, asked), async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        sea_orm::ConnectionTrait::execute_unprepared(&other, &approve(second[0])).await?;
        other.commit().await
    });
    assert!(other.is_ok(), "the other writer: {other:?}");
    assert!(bulk.1.get("errors").is_none(), "the bulk approval: {:?}", bulk.1);
    let answered: Vec<Uuid> =
        bulk.1["data"]["approveCommissions"].as_array().unwrap().iter().map(|c| uuid(&c["id"])).collect();
    assert_eq!(answered, [second[1], first[1]]);
    for id in first.iter().chain(second) {
        let stored = commissions::Entity::find_by_id(*id).one(db).await.unwrap().unwrap();
        assert_eq!(stored.status, commissions::CommissionStatus::Approved);
    }
    let kept = alpes::service::rollup::snapshot(db).await.unwrap();
    alpes::service::rollup::rebuild(db, None).await.unwrap();
    assert_eq!(alpes::service::rollup::snapshot(db).await.unwrap(), kept, "kept = rebuilt");
}

/// Found by the crash test's load on PostgreSQL: a partial refund that arrived while the
/// attribution was reserving the sale's commissions saw none of them (not yet committed),
/// and the reservation had read the order before the refund: the commission stayed on the
/// whole sale. The refund now waits for the reservation and shrinks what it made.
#[tokio::test]
async fn a_partial_refund_during_the_reservation_shrinks_what_it_reserves() {
    let app = TestApp::new().await;
    let affiliate = create_affiliate(&app, "A", "a@example.com").await;
    let paid = json!({ "id": "cs_race", "object": "checkout.session", "amount_total": 10000, "currency": "usd",
        "payment_status": "paid", "payment_intent": "pi_race", "metadata": { "affiliate": affiliate["code"] } });
    stripe(&app, stripe_event("evt_race_pay", "checkout.session.completed", paid)).await;
    let conv = conversions::Entity::find().one(app.db()).await.unwrap().expect("the sale conversion");
    let credits = attribute(&app, &conv, &[(Some(uuid(&affiliate["id"])), conv.value)]).await;

    let reserving = app.db().begin().await.unwrap();
    let made = commission::reserve_for_credits(&reserving, &conv, &credits).await.unwrap();
    assert_eq!(made.len(), 1);
    let refund = json!({ "id": "ch_race", "object": "charge", "payment_intent": "pi_race", "amount": 10000,
        "amount_refunded": 2500, "currency": "usd" });
    let refund = stripe_event("evt_race_r1", "charge.refunded", refund);
    let ((status, body), ()) = tokio::join!(app.stripe(&refund), async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        reserving.commit().await.unwrap();
    });
    assert_eq!(status, StatusCode::OK, "{body}");
    let reserved = commissions::Entity::find_by_id(made[0].id).one(app.db()).await.unwrap().unwrap();
    assert_eq!(reserved.base_amount.normalize(), dec!(75), "on the 75.00 the sale kept");
}

#[tokio::test]
async fn reports_total_per_currency_and_export_csv() {
    let app = TestApp::new().await;
    let a = create_affiliate(&app, "A", "a@example.com").await;
    let b = create_affiliate(&app, "B", "b@example.com").await;
    let campaign = create_campaign(&app, "Verano").await;
    for (aff, base, currency) in [(&a, "100", "USD"), (&a, "200", "USD"), (&b, "1000", "COP"), (&b, "50", "USD")] {
        let c = new_commission(
            &app,
            json!({ "affiliateId": aff["id"], "campaignId": campaign["id"], "baseAmount": base, "currency": currency, "rate": "10" }),
        )
        .await;
        calculate(&app, &c["id"]).await;
    }
    let first = app.ok(&app.admin(), "{ commissions(first: 1) { edges { node { id } } } }", json!({})).await;
    approve(&app, &first["commissions"]["edges"][0]["node"]["id"]).await;

    let q = "query($g: CommissionGroupBy!) { commissionReport(period: \"30d\", groupBy: $g) {
        rows { key name currency count amount approvedAmount } totals { currency count amount approvedAmount } } }";
    let by_aff = app.ok(&app.admin(), q, json!({ "g": "AFFILIATE" })).await["commissionReport"].clone();
    assert_eq!(
        by_aff["totals"],
        json!([
            { "currency": "COP", "count": 1, "amount": "100.00", "approvedAmount": "0.00" },
            { "currency": "USD", "count": 3, "amount": "35.00", "approvedAmount": "5.00" }
        ]),
        "never summed across currencies"
    );
    let rows = by_aff["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3, "B has a COP row and a USD row: {rows:?}");
    assert!(rows.iter().any(|r| r["key"] == a["code"] && r["currency"] == "USD" && r["amount"] == "30.00"));
    let by_status = app.ok(&app.admin(), q, json!({ "g": "STATUS" })).await["commissionReport"].clone();
    let keys: Vec<&str> = by_status["rows"].as_array().unwrap().iter().map(|r| r["key"].as_str().unwrap()).collect();
    assert!(keys.contains(&"APPROVED") && keys.contains(&"CALCULATED"), "{keys:?}");
    let by_campaign = app.ok(&app.admin(), q, json!({ "g": "CAMPAIGN" })).await["commissionReport"].clone();
    assert!(by_campaign["rows"].as_array().unwrap().iter().all(|r| r["key"] == campaign["code"]));

    let admin = app.admin();
    let (status, headers, _) = app.get("/api/v1/comisiones?formato=csv", Some(&admin), None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers["content-type"].to_str().unwrap().starts_with("text/csv"));
    let csv = csv_text(&app, "/api/v1/comisiones?formato=csv", &admin).await;
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some(alpes::http::rest::commission_csv::CSV_HEADER));
    assert_eq!(
        alpes::http::rest::commission_csv::CSV_HEADER,
        "comision_id,afiliado_id,campana_id,conversion_id,pago_id,ajusta_comision_id,tipo_comision,monto_base,porcentaje,monto_calculado,moneda,estado,fecha_creacion,fecha_aprobacion,fecha_pago",
        "the header is a contract"
    );
    assert_eq!(lines.count(), 4);
    let csv = csv_text(
        &app,
        &format!("/api/v1/comisiones?afiliado_id={}&formato=csv&estado=calculada", a["code"].as_str().unwrap()),
        &admin,
    )
    .await;
    assert!(csv.lines().skip(1).all(|l| l.contains(a["id"].as_str().unwrap()) && l.contains(",calculada,")), "{csv}");

    let (status, _, json_report) =
        app.get("/api/v1/comisiones/reportes?periodo=30d&formato=json", Some(&admin), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        json_report["totales"][0],
        json!({ "moneda": "COP", "cantidad": 1, "monto": 100.0, "monto_aprobado": 0.0, "monto_pagado": 0.0 })
    );
    let report_csv =
        csv_text(&app, "/api/v1/comisiones/reportes?periodo=30d&formato=csv&agrupar_por=estado", &admin).await;
    assert_eq!(report_csv.lines().next(), Some(alpes::http::rest::commission_csv::REPORT_CSV_HEADER));
    assert!(report_csv.contains("TOTAL,,USD,3,35.00,5.00,0.00"), "{report_csv}");
}

async fn csv_text(app: &TestApp, uri: &str, token: &str) -> String {
    let request = Request::get(uri).header("authorization", format!("Bearer {token}")).body(Body::empty()).unwrap();
    let response = tower::ServiceExt::oneshot(app.app.router.clone(), request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 24).await.unwrap();
    String::from_utf8(bytes.to_vec()).unwrap()
}

#[tokio::test]
async fn an_affiliate_sees_only_its_own_commissions_everywhere() {
    let app = TestApp::new().await;
    let a = create_affiliate(&app, "A", "a@example.com").await;
    let b = create_affiliate(&app, "B", "b@example.com").await;
    let mut own = Vec::new();
    for (aff, base) in [(&a, "100"), (&b, "900"), (&b, "800")] {
        let c = new_commission(
            &app,
            json!({ "affiliateId": aff["id"], "baseAmount": base, "currency": "USD", "rate": "10" }),
        )
        .await;
        calculate(&app, &c["id"]).await;
        if aff["id"] == a["id"] {
            own.push(c);
        }
    }
    let theirs = app
        .ok(
            &app.admin(),
            "query($b: ID!) { commissions(filter: { affiliateId: $b }) { edges { node { id } } } }",
            json!({ "b": b["id"] }),
        )
        .await["commissions"]["edges"][0]["node"]["id"]
        .clone();
    let token = app.token(Role::Affiliate, Some(uuid(&a["id"])));

    // Lists: own only, and another affiliate's id is refused.
    let mine = app.ok(&token, "{ commissions { totalCount edges { node { id affiliateId } } } }", json!({})).await;
    assert_eq!(mine["commissions"]["totalCount"], 1);
    assert_eq!(mine["commissions"]["edges"][0]["node"]["affiliateId"], a["id"]);
    let q = "query($b: ID!) { commissions(filter: { affiliateId: $b }) { totalCount } }";
    assert_eq!(app.error_code(Some(&token), q, json!({ "b": b["id"] })).await, "FORBIDDEN");
    // One commission: another's is unknown to it.
    let one = "query($id: ID!) { commission(id: $id) { id } }";
    assert_eq!(app.error_code(Some(&token), one, json!({ "id": theirs })).await, "NOT_FOUND");
    assert_eq!(app.ok(&token, one, json!({ "id": own[0]["id"] })).await["commission"]["id"], own[0]["id"]);
    // Reports: own totals only; another's filter refused.
    let report = app
        .ok(
            &token,
            "{ commissionReport(period: \"7d\", groupBy: AFFILIATE) { rows { key } totals { amount count } } }",
            json!({}),
        )
        .await;
    assert_eq!(report["commissionReport"]["totals"], json!([{ "amount": "10.00", "count": 1 }]));
    assert_eq!(report["commissionReport"]["rows"][0]["key"], a["code"]);
    let rq = "query($b: ID!) { commissionReport(period: \"7d\", groupBy: STATUS, filter: { affiliateId: $b }) { rows { key } } }";
    assert_eq!(app.error_code(Some(&token), rq, json!({ "b": b["id"] })).await, "FORBIDDEN");
    // Payouts.
    let pq = "query($b: ID) { payouts(affiliateId: $b) { totalCount } }";
    assert_eq!(app.error_code(Some(&token), pq, json!({ "b": b["id"] })).await, "FORBIDDEN");
    assert_eq!(app.ok(&token, pq, json!({ "b": null })).await["payouts"]["totalCount"], 0);
    // Writes are for admins.
    let aq = "mutation($id: ID!) { approveCommission(id: $id) { id } }";
    assert_eq!(app.error_code(Some(&token), aq, json!({ "id": own[0]["id"] })).await, "FORBIDDEN");
    // REST: list, export and report.
    let (status, _, body) =
        app.get(&format!("/api/v1/comisiones?afiliado_id={}", b["id"].as_str().unwrap()), Some(&token), None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("FORBIDDEN")));
    let (_, _, body) =
        app.get(&format!("/api/v1/comisiones?afiliado_id={}", b["code"].as_str().unwrap()), Some(&token), None).await;
    assert_eq!(body["error"]["code"], "FORBIDDEN");
    let (_, _, body) = app.get("/api/v1/comisiones", Some(&token), None).await;
    assert_eq!(body["total"], 1);
    let csv = csv_text(&app, "/api/v1/comisiones?formato=csv", &token).await;
    assert_eq!(csv.lines().count(), 2, "header and its own row: {csv}");
    assert!(!csv.contains(b["id"].as_str().unwrap()));
    let (_, _, body) = app.get(&format!("/api/v1/comisiones/{}", theirs.as_str().unwrap()), Some(&token), None).await;
    assert_eq!(body["error"]["code"], "NOT_FOUND");
    let (_, _, body) = app.get("/api/v1/comisiones/reportes?periodo=7d", Some(&token), None).await;
    assert_eq!(
        body["totales"],
        json!([{ "moneda": "USD", "cantidad": 1, "monto": 10.0, "monto_aprobado": 0.0, "monto_pagado": 0.0 }])
    );
    let (_, _, body) = app
        .get(
            &format!("/api/v1/comisiones/reportes?periodo=7d&afiliado_id={}", b["id"].as_str().unwrap()),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(body["error"]["code"], "FORBIDDEN");

    // Subscription: another affiliate's id is refused; its own stream carries only its own events.
    let state = app.app.state.clone();
    alpes::events::relay::relay_once(&state, &state.hub).await.unwrap();
    let caller = Caller::person(None, Role::Affiliate, Some(uuid(&a["id"])));
    let subscribe = |query: String| {
        let mut request = async_graphql::Request::new(query);
        request.data = graphql::request_data(&state, Some(caller.clone()));
        app.app.schema.execute_stream(request)
    };
    let mut refused = subscribe(format!(
        "subscription {{ commissionUpdated(affiliateId: \"{}\") {{ id }} }}",
        b["id"].as_str().unwrap()
    ));
    let response = refused.next().await.unwrap();
    assert_eq!(
        response.errors[0].extensions.as_ref().and_then(|e| e.get("code")).map(|v| v.to_string()),
        Some("\"FORBIDDEN\"".into())
    );
    let mut stream = subscribe("subscription { commissionUpdated { eventType envelope } }".into());
    assert!(tokio::time::timeout(Duration::from_millis(100), stream.next()).await.is_err(), "nothing yet");
    approve(&app, &theirs).await;
    approve(&app, &own[0]["id"]).await;
    alpes::events::relay::relay_once(&state, &state.hub).await.unwrap();
    let got = tokio::time::timeout(Duration::from_secs(2), stream.next()).await.unwrap().unwrap();
    let data = got.data.into_json().unwrap();
    assert_eq!(data["commissionUpdated"]["eventType"], "comision_aprobada");
    assert_eq!(data["commissionUpdated"]["envelope"]["afiliado_id"], a["id"]);
    assert!(tokio::time::timeout(Duration::from_millis(100), stream.next()).await.is_err(), "not B's event");
}

#[tokio::test]
async fn automatic_approval_follows_the_policy() {
    let app = TestApp::with_config(|c| {
        c.commission_holding_days = 0;
        c.commission_auto_approve_max_fraud_score = 30;
    })
    .await;
    let a = create_affiliate(&app, "A", "a@example.com").await;
    let clean = conversion(&app, dec!(100), "USD", None).await;
    let mut risky = conversion(&app, dec!(100), "USD", None).await;
    let mut active: conversions::ActiveModel = risky.clone().into();
    active.fraud_score = Set(80);
    risky = active.update(app.db()).await.unwrap();
    let mut ids = Vec::new();
    for conv in [&clean, &risky] {
        let c = new_commission(&app, json!({ "affiliateId": a["id"], "conversionId": conv.id })).await;
        calculate(&app, &c["id"]).await;
        ids.push(c["id"].clone());
    }
    let pending = new_commission(&app, json!({ "affiliateId": a["id"], "baseAmount": "5", "currency": "USD" })).await;
    let run = app
        .ok(
            &app.admin(),
            "mutation { runCommissionAutoApproval { id status approvalLevel approvalPolicy } }",
            json!({}),
        )
        .await["runCommissionAutoApproval"]
        .clone();
    let approved = run.as_array().unwrap();
    assert_eq!(approved.len(), 1, "{run}");
    assert_eq!(approved[0]["id"], ids[0], "only the low fraud score");
    assert_eq!(approved[0]["approvalLevel"], "automatico");
    assert_eq!(approved[0]["approvalPolicy"], "auto:fraude<30,retencion=0h");
    let state = app
        .ok(&app.admin(), "query($id: ID!) { commission(id: $id) { status } }", json!({ "id": pending["id"] }))
        .await;
    assert_eq!(state["commission"]["status"], "PENDING");

    // With a holding period, nothing is due yet.
    let held = TestApp::new().await;
    let a = create_affiliate(&held, "A", "a@example.com").await;
    let conv = conversion(&held, dec!(100), "USD", None).await;
    let c = new_commission(&held, json!({ "affiliateId": a["id"], "conversionId": conv.id })).await;
    calculate(&held, &c["id"]).await;
    let run = held.ok(&held.admin(), "mutation { runCommissionAutoApproval { id } }", json!({})).await;
    assert_eq!(run["runCommissionAutoApproval"], json!([]));
}

#[tokio::test]
async fn a_page_of_100_with_its_relations_takes_at_most_5_statements() {
    let app = TestApp::new().await;
    let mut affiliates = Vec::new();
    for i in 0..3 {
        affiliates.push(uuid(&create_affiliate(&app, &format!("Af {i}"), &format!("a{i}@example.com")).await["id"]));
    }
    let mut campaigns = Vec::new();
    for i in 0..2 {
        campaigns.push(uuid(&create_campaign(&app, &format!("Camp {i}")).await["id"]));
    }
    let now = Utc::now();
    for i in 0..120 {
        let conv = conversion(&app, dec!(10), "USD", Some(affiliates[i % 3])).await;
        commissions::ActiveModel {
            id: Set(Uuid::now_v7()),
            conversion_id: Set(Some(conv.id)),
            credit_id: Set(None),
            affiliate_id: Set(affiliates[i % 3]),
            campaign_id: Set(Some(campaigns[i % 2])),
            payout_id: Set(None),
            adjusts_commission_id: Set(None),
            commission_type: Set(commissions::CommissionType::Percentage),
            base_amount: Set(dec!(10)),
            rate: Set(Some(dec!(10))),
            amount: Set(Some(dec!(1))),
            expected_amount: Set(None),
            currency: Set("USD".into()),
            status: Set(commissions::CommissionStatus::Calculated),
            config: Set(json!({})),
            approval_comments: Set(None),
            approval_level: Set(None),
            approval_policy: Set(None),
            approval_metadata: Set(json!({})),
            rejection_reason: Set(None),
            cancel_reason: Set(None),
            calculated_at: Set(Some(now)),
            approved_at: Set(None),
            paid_at: Set(None),
            canceled_at: Set(None),
            approved_by: Set(None),
            version: Set(2),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(app.db())
        .await
        .unwrap();
    }
    let q = "{ commissions(first: 100) { totalCount edges { node { id amount
        affiliate { id code name } campaign { id code name } conversion { id value currency } } } } }";
    app.reset_statements();
    let data = app.ok(&app.admin(), q, json!({})).await;
    let statements = app.statement_count();
    let edges = data["commissions"]["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 100);
    assert_eq!(data["commissions"]["totalCount"], 120);
    assert!(edges.iter().all(|e| e["node"]["affiliate"]["id"].is_string()
        && e["node"]["campaign"]["id"].is_string()
        && e["node"]["conversion"]["value"] == "10.00"));
    assert!(statements <= 5, "{statements} statements for one page with its relations: {:#?}", app.statements_run());
}

#[tokio::test]
async fn stripe_payment_attributed_commission_calculated_approved_paid_then_refund_claws_back() {
    let app = TestApp::new().await;
    let admin = app.admin();
    // A standard affiliate (10 % base, no premium) on a USD campaign paying 8 % on sales.
    let affiliate = create_affiliate(&app, "Ana", "ana@example.com").await;
    app.ok(
        &admin,
        "mutation($i: UpdateAffiliateInput!) { updateAffiliate(input: $i) { id } }",
        json!({ "i": { "id": affiliate["id"], "tier": "STANDARD",
                       "commissionConfig": { "baseRate": "10", "minimumPayout": "5", "currency": "USD" } } }),
    )
    .await;
    let mut input = support::campaign_input("verano");
    input["code"] = json!("verano");
    input["currency"] = json!("USD");
    app.ok(&admin, support::CREATE_CAMPAIGN, json!({ "input": input })).await;
    let link = app
        .ok(
            &admin,
            "mutation($i: CreateTrackingLinkInput!) { createTrackingLink(input: $i) { code } }",
            json!({ "i": { "affiliateId": affiliate["id"], "campaignId": "verano", "destinationUrl": "https://shop.example.com/p" } }),
        )
        .await["createTrackingLink"]["code"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, headers, _) = app.get(&format!("/r/{link}"), None, None).await;
    assert_eq!(status, StatusCode::FOUND);
    let click = headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("alpes_cid=").map(|r| r.split(';').next().unwrap_or_default().to_string()))
        .expect("click cookie");

    // The payment: 150.75 USD through the click.
    stripe(
        &app,
        json!({ "id": "evt_pay", "object": "event", "type": "checkout.session.completed", "livemode": false,
                "created": Utc::now().timestamp(),
                "data": { "object": { "id": "cs_e2e", "object": "checkout.session", "amount_total": 15075, "currency": "usd",
                    "payment_status": "paid", "payment_intent": "pi_e2e", "client_reference_id": click,
                    "created": Utc::now().timestamp(), "customer_details": { "email": "buyer@example.com" }, "metadata": {} } } }),
    )
    .await;
    // Attribution reserves the commission in its own transaction.
    assert_eq!(attribution::attribute_pending(&app.app.state, &app.app.state.markov).await.unwrap(), 1);
    let list = app
        .ok(
            &admin,
            "{ commissions { totalCount edges { node { id status baseAmount amount creditId campaign { code } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(list["commissions"]["totalCount"], 1);
    let node = &list["commissions"]["edges"][0]["node"];
    assert_eq!((node["status"].as_str(), node["baseAmount"].as_str()), (Some("PENDING"), Some("150.75")));
    assert!(node["creditId"].is_string(), "reserved for the attribution credit");
    assert_eq!(node["campaign"]["code"], "verano");
    let id = node["id"].clone();

    // Calculated: 8 % of 150.75 = 12.06; approved; paid in a payout.
    let c = calculate(&app, &id).await;
    assert_eq!((c["amount"].as_str(), c["rateSource"].as_str()), (Some("12.06"), Some("comision_venta")));
    approve(&app, &id).await;
    let payout = app
        .ok(
            &admin,
            "mutation($a: ID!) { createPayout(affiliateId: $a) { id amount } }",
            json!({ "a": affiliate["id"] }),
        )
        .await["createPayout"]
        .clone();
    assert_eq!(payout["amount"], "12.06");
    let paid = app
        .ok(
            &admin,
            "mutation($id: ID!) { markPayoutPaid(id: $id) { status commissions { status } } }",
            json!({ "id": payout["id"] }),
        )
        .await;
    assert_eq!(paid["markPayoutPaid"]["commissions"][0]["status"], "PAID");

    // The refund: the whole 12.06 comes back as a clawback for the next payout.
    stripe(
        &app,
        json!({ "id": "evt_refund", "object": "event", "type": "charge.refunded", "livemode": false,
                "created": Utc::now().timestamp(),
                "data": { "object": { "id": "ch_e2e", "object": "charge", "payment_intent": "pi_e2e",
                    "amount": 15075, "amount_refunded": 15075, "currency": "usd" } } }),
    )
    .await;
    let all =
        app.ok(&admin, "{ commissions { edges { node { id status amount adjustsCommissionId } } } }", json!({})).await;
    let claw: Vec<&Value> = all["commissions"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["node"])
        .filter(|n| n["adjustsCommissionId"] == id)
        .collect();
    assert_eq!(claw.len(), 1);
    assert_eq!((claw[0]["status"].as_str(), claw[0]["amount"].as_str()), (Some("APPROVED"), Some("-12.06")));

    // Every step was an event and an audit row.
    assert_eq!(
        events_of(&app, &id).await,
        ["comision_creada", "comision_calculada", "comision_aprobada", "comision_pagada"]
    );
    assert_eq!(events_of(&app, &claw[0]["id"]).await, ["comision_creada"]);
    let steps: Vec<String> = audit_actions(&app, &id).await.into_iter().map(|a| a.0).collect();
    assert_eq!(steps, ["commission.create", "commission.calculate", "commission.approve", "commission.pay"]);
    assert_eq!(audit_actions(&app, &claw[0]["id"]).await.len(), 1);

    // Reverting the attribution afterwards takes back nothing more: it is all clawed back.
    let journey = journeys::Entity::find().one(app.db()).await.unwrap().unwrap();
    app.ok(&admin, "mutation($id: ID!) { revertAttribution(journeyId: $id) { status } }", json!({ "id": journey.id }))
        .await;
    assert_eq!(app.count("commissions").await, 2);
}

#[tokio::test]
async fn a_refund_while_the_payout_is_on_its_way_claws_back_and_the_payout_still_pays() {
    let app = TestApp::new().await;
    let affiliate = create_affiliate(&app, "A", "a@example.com").await;
    app.ok(
        &app.admin(),
        "mutation($i: UpdateAffiliateInput!) { updateAffiliate(input: $i) { id } }",
        json!({ "i": { "id": affiliate["id"], "commissionConfig": { "baseRate": "10", "premiumRate": "10", "minimumPayout": "1", "currency": "USD" } } }),
    )
    .await;
    let conv = conversion(&app, dec!(200.00), "USD", Some(uuid(&affiliate["id"]))).await;
    let c = new_commission(&app, json!({ "affiliateId": affiliate["id"], "conversionId": conv.id })).await;
    assert_eq!(calculate(&app, &c["id"]).await["amount"], "20.00");
    approve(&app, &c["id"]).await;
    let payout = app
        .ok(
            &app.admin(),
            "mutation($a: ID!) { createPayout(affiliateId: $a) { id amount } }",
            json!({ "a": affiliate["id"] }),
        )
        .await["createPayout"]
        .clone();
    commission::reverse_for_conversion(app.db(), conv.id, "reembolso total").await.unwrap();
    let paid = app
        .ok(
            &app.admin(),
            "mutation($id: ID!) { markPayoutPaid(id: $id) { status amount commissions { status } } }",
            json!({ "id": payout["id"] }),
        )
        .await["markPayoutPaid"]
        .clone();
    assert_eq!((paid["status"].as_str(), paid["amount"].as_str()), (Some("PAID"), Some("20.00")));
    assert_eq!(paid["commissions"], json!([{ "status": "PAID" }]));
    let claw = commissions::Entity::find()
        .filter(commissions::Column::AdjustsCommissionId.is_not_null())
        .all(app.db())
        .await
        .unwrap();
    assert_eq!(claw.len(), 1);
    assert_eq!(claw[0].amount.map(|a| a.normalize()), Some(dec!(-20)));
    assert!(claw[0].payout_id.is_none(), "netted in the next payout");
}

#[tokio::test]
async fn many_pending_commissions_are_calculated_at_once_or_none_is() {
    let app = TestApp::new().await;
    let a = create_affiliate(&app, "A", "a@example.com").await;
    let make = |base: &str| json!({ "affiliateId": a["id"], "baseAmount": base, "currency": "USD" });
    let first = new_commission(&app, make("100.00")).await;
    let second = new_commission(&app, make("50.00")).await;
    let done = new_commission(&app, make("10.00")).await;
    calculate(&app, &done["id"]).await;
    let bulk = "mutation($ids: [ID!]!) { calculateCommissions(ids: $ids) { id status amount } }";

    // One already calculated among them: refused, and the others stay pending.
    let ids = json!({ "ids": [first["id"], second["id"], done["id"]] });
    assert_eq!(app.error_code(Some(&app.admin()), bulk, ids).await, "INVALID_TRANSITION");
    let twice = json!({ "ids": [first["id"], first["id"]] });
    assert_eq!(app.error_code(Some(&app.admin()), bulk, twice).await, "VALIDATION");
    let missing = json!({ "ids": [first["id"], Uuid::now_v7().to_string()] });
    assert_eq!(app.error_code(Some(&app.admin()), bulk, missing).await, "NOT_FOUND");
    let analyst = app.token(Role::Analyst, None);
    assert_eq!(app.error_code(Some(&analyst), bulk, json!({ "ids": [first["id"]] })).await, "FORBIDDEN");
    let pending = commissions::Entity::find()
        .filter(commissions::Column::Status.eq(commissions::CommissionStatus::Pending))
        .all(app.db())
        .await
        .unwrap();
    assert_eq!(pending.len(), 2, "nothing was calculated");

    // The pending ones: both calculated (premium 20 %), each audited.
    let data = app.ok(&app.admin(), bulk, json!({ "ids": [first["id"], second["id"]] })).await;
    let got: Vec<(String, String)> = data["calculateCommissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["status"].as_str().unwrap().to_string(), c["amount"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(got, [("CALCULATED".to_string(), "20.00".to_string()), ("CALCULATED".to_string(), "10.00".to_string())]);
    for id in [&first["id"], &second["id"]] {
        let actions: Vec<String> = audit_actions(&app, id).await.into_iter().map(|(action, _, _)| action).collect();
        assert!(actions.contains(&"commission.calculate".to_string()), "{actions:?}");
    }
}

#[tokio::test]
async fn every_pending_commission_under_a_filter_is_calculated_not_one_page() {
    let app = TestApp::new().await;
    let a = create_affiliate(&app, "A", "a@example.com").await;
    let b = create_affiliate(&app, "B", "b@example.com").await;
    let make = |who: &Value| json!({ "affiliateId": who["id"], "baseAmount": "10.00", "currency": "USD" });
    // More than a page of the list (25) for A; two for B.
    for _ in 0..30 {
        new_commission(&app, make(&a)).await;
    }
    let b_ids =
        [new_commission(&app, make(&b)).await["id"].clone(), new_commission(&app, make(&b)).await["id"].clone()];
    let q = "mutation($filter: CommissionFilter) { calculatePendingCommissions(filter: $filter) \
             { calculated remaining skippedCount skipped { commissionId reason } } }";
    let analyst = app.token(Role::Analyst, None);
    assert_eq!(app.error_code(Some(&analyst), q, json!({ "filter": { "affiliateId": a["id"] } })).await, "FORBIDDEN");

    let data = app.ok(&app.admin(), q, json!({ "filter": { "affiliateId": a["id"] } })).await;
    assert_eq!(
        data["calculatePendingCommissions"],
        json!({ "calculated": 30, "remaining": 0, "skippedCount": 0, "skipped": [] })
    );
    let status_of = |affiliate: &Value| {
        let affiliate = uuid(affiliate);
        let db = app.db().clone();
        async move {
            commissions::Entity::find()
                .filter(commissions::Column::AffiliateId.eq(affiliate))
                .all(&db)
                .await
                .unwrap()
                .into_iter()
                .map(|c| c.status)
                .collect::<Vec<_>>()
        }
    };
    assert!(status_of(&a["id"]).await.iter().all(|s| *s == commissions::CommissionStatus::Calculated));
    assert!(
        status_of(&b["id"]).await.iter().all(|s| *s == commissions::CommissionStatus::Pending),
        "outside the filter: untouched"
    );
    for id in &b_ids {
        assert!(audit_actions(&app, id).await.iter().all(|(action, _, _)| action != "commission.calculate"));
    }
    // Asked again: nothing left, nothing done.
    let again = app.ok(&app.admin(), q, json!({ "filter": { "affiliateId": a["id"] } })).await;
    assert_eq!(again["calculatePendingCommissions"]["calculated"], 0);
    // Without a filter: the rest.
    let rest = app.ok(&app.admin(), q, json!({})).await;
    assert_eq!(rest["calculatePendingCommissions"]["calculated"], 2);
    assert_eq!(rest["calculatePendingCommissions"]["remaining"], 0);
}

/// Seed 004's use case 2: a conversion is registered, then its commission asked for by
/// hand before the attribution is done. The attribution makes no second commission: the
/// one asked for becomes its credit's, and asking again is answered with it.
#[tokio::test]
async fn a_commission_asked_for_before_the_attribution_becomes_the_credits() {
    let app = TestApp::new().await;
    let campaign = create_campaign(&app, "Black Friday").await;
    let affiliate = create_affiliate(&app, "María", "maria@example.com").await;
    let body = json!({
        "id": "conv_98765", "afiliado_id": affiliate["code"], "campana_id": campaign["code"],
        "valor_conversion": 250000.0, "moneda": "COP"
    });
    let admin = format!("Bearer {}", app.admin());
    let (status, _, registered) =
        app.post_json("/api/v1/conversiones", &body.to_string(), [10, 0, 0, 1], &[("authorization", &admin)]).await;
    assert_eq!(status, StatusCode::CREATED, "{registered}");
    assert_eq!(
        (&registered["afiliado_codigo"], &registered["campana_codigo"]),
        (&affiliate["code"], &campaign["code"])
    );

    let ask = json!({ "conversion_id": "conv_98765", "porcentaje": 20.0 }).to_string();
    let (status, _, asked) =
        app.post_json("/api/v1/comisiones", &ask, [10, 0, 0, 1], &[("authorization", &admin)]).await;
    assert_eq!(status, StatusCode::CREATED, "{asked}");
    assert_eq!(asked["afiliado_id"], affiliate["id"], "no afiliado_id: the conversion's");
    assert_eq!(asked["conversion_id_externo"], "conv_98765");
    assert_eq!(attribution::attribute_pending(&app.app.state, &app.app.state.markov).await.unwrap_or_default(), 1);

    let stored = commissions::Entity::find()
        .filter(
            commissions::Column::ConversionId.eq(Uuid::parse_str(asked["conversion_id"].as_str().unwrap_or("")).ok()),
        )
        .all(app.db())
        .await
        .unwrap_or_default();
    assert_eq!(stored.len(), 1, "{stored:?}");
    let credit = attribution_credits::Entity::find()
        .filter(attribution_credits::Column::ConversionId.eq(stored[0].conversion_id))
        .one(app.db())
        .await
        .unwrap_or_default();
    let credit = credit.map(|c| c.id);
    assert!(credit.is_some(), "the conversion is credited to the affiliate");
    assert_eq!(stored[0].credit_id, credit, "the credit's commission");
    assert_eq!(stored[0].id.to_string(), asked["comision_id"].as_str().unwrap_or_default());

    let (status, _, again) =
        app.post_json("/api/v1/comisiones", &ask, [10, 0, 0, 1], &[("authorization", &admin)]).await;
    assert_eq!((status, &again["comision_id"]), (StatusCode::OK, &asked["comision_id"]), "{again}");
    let other = json!({ "conversion_id": "conv_98765", "porcentaje": 12.5 }).to_string();
    let (status, _, refused) =
        app.post_json("/api/v1/comisiones", &other, [10, 0, 0, 1], &[("authorization", &admin)]).await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert_eq!(refused["error"]["code"], "CONFLICT");
}
