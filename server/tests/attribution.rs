//! Attribution: journeys across clicks and identities, credits under every model to the
//! cent, fraud holds, revert and re-attribution, the models side by side.

mod support;

use alpes::{auth::Role, service::attribution};
use axum::http::StatusCode;
use chrono::{Duration, SecondsFormat, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{json, Value};
use support::{campaign_input, create_affiliate, TestApp};

const CONVERSION: &str = r#"
query($id: ID!) {
  conversion(id: $id) {
    id status fraudScore fraudSignals { code points }
    journey {
      id status model lookbackDays
      touchpoints { position kind channel campaign { code } affiliate { code } }
      credits { id position amount weight currency isCurrent campaign { code } affiliate { code } }
      firstClick: credits(model: FIRST_CLICK) { position amount campaign { code } }
      linear: credits(model: LINEAR) { position amount campaign { code } }
      timeDecay: credits(model: TIME_DECAY) { position amount campaign { code } }
      positionBased: credits(model: POSITION_BASED) { position amount campaign { code } }
      markov: credits(model: MARKOV) { position amount campaign { code } }
    }
  }
}"#;

const REPORT: &str = r#"
query($model: AttributionModel, $from: DateTime!, $to: DateTime!, $groupBy: AttributionGroupBy!) {
  attributionReport(model: $model, from: $from, to: $to, groupBy: $groupBy) {
    models conversions rows { model key name conversions value currency removalEffect }
  }
}"#;

async fn campaign(app: &TestApp, code: &str, model: &str) -> Value {
    let mut input = campaign_input(code);
    input["code"] = json!(code);
    input["currency"] = json!("USD");
    input["attributionModel"] = json!(model);
    let data = app.ok(&app.admin(), support::CREATE_CAMPAIGN, json!({ "input": input })).await;
    data["createCampaign"].clone()
}

async fn link(app: &TestApp, affiliate: &str, campaign: &str) -> String {
    let data = app
        .ok(
            &app.admin(),
            "mutation($i: CreateTrackingLinkInput!) { createTrackingLink(input: $i) { code } }",
            json!({ "i": { "affiliateId": affiliate, "campaignId": campaign, "destinationUrl": "https://shop.example.com/p" } }),
        )
        .await;
    data["createTrackingLink"]["code"].as_str().unwrap().to_string()
}

fn set_cookie(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    headers.get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).find_map(|v| {
        v.strip_prefix(&format!("{name}=")).map(|rest| rest.split(';').next().unwrap_or_default().to_string())
    })
}

fn checkout(session: &str, amount: i64, client_reference: Option<&str>, email: &str) -> Value {
    json!({
        "id": format!("evt_{session}"), "object": "event", "type": "checkout.session.completed", "livemode": false,
        "created": Utc::now().timestamp(),
        "data": { "object": {
            "id": session, "object": "checkout.session", "amount_total": amount, "currency": "usd",
            "payment_status": "paid", "payment_intent": format!("pi_{session}"),
            "client_reference_id": client_reference, "created": Utc::now().timestamp(),
            "customer_details": { "email": email }, "metadata": {}
        }}
    })
}

async fn attribute(app: &TestApp) -> usize {
    attribution::attribute_pending(&app.app.state, &app.app.state.markov).await.unwrap()
}

fn by_campaign(credits: &Value) -> Vec<(String, String)> {
    let mut list: Vec<(String, String)> = credits
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["campaign"]["code"].as_str().unwrap_or("-").to_string(), c["amount"].as_str().unwrap().to_string()))
        .collect();
    list.sort();
    list
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = list.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
    v.sort();
    v
}

async fn outbox(app: &TestApp, topic: &str) -> Vec<Value> {
    entity::outbox_events::Entity::find()
        .filter(entity::outbox_events::Column::Topic.eq(topic))
        .all(app.db())
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.payload)
        .collect()
}

fn iso(t: chrono::DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

#[tokio::test]
async fn a_redirected_click_a_later_click_and_a_stripe_payment_make_one_journey_right_to_the_cent() {
    let app = TestApp::new().await;
    let admin = app.admin();
    let ana = create_affiliate(&app, "Ana", "ana@example.com").await;
    let beto = create_affiliate(&app, "Beto", "beto@example.com").await;
    campaign(&app, "verano", "LAST_CLICK").await;
    campaign(&app, "invierno", "LAST_CLICK").await;
    let first = link(&app, ana["code"].as_str().unwrap(), "verano").await;
    let second = link(&app, beto["code"].as_str().unwrap(), "invierno").await;

    // One browser: a click through the first link, later one through the second.
    let (status, headers, _) = app.get(&format!("/r/{first}?utm_source=facebook&utm_medium=social"), None, None).await;
    assert_eq!(status, StatusCode::FOUND);
    let visitor = set_cookie(&headers, "alpes_aid").unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let (_, headers, _) = app.get(&format!("/r/{second}"), None, Some(&format!("alpes_aid={visitor}"))).await;
    let click_id = set_cookie(&headers, "alpes_cid").unwrap();

    // The shop passes the click id to Stripe; the payment arrives.
    let (status, _) = app.stripe(&checkout("cs_journey", 9999, Some(&click_id), "buyer@example.com")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(attribute(&app).await, 1);
    assert_eq!(attribute(&app).await, 0, "a conversion is attributed once");

    let conversion = entity::conversions::Entity::find().one(app.db()).await.unwrap().unwrap();
    let data = app.ok(&admin, CONVERSION, json!({ "id": conversion.id })).await;
    let c = &data["conversion"];
    assert_eq!(c["status"], "ATTRIBUTED");
    let journey = &c["journey"];
    assert_eq!(journey["status"], "ATTRIBUTED");
    assert_eq!(journey["model"], "LAST_CLICK");
    assert_eq!(journey["lookbackDays"], 30);
    let touches = journey["touchpoints"].as_array().unwrap();
    assert_eq!(touches.len(), 2);
    assert_eq!(touches[0]["campaign"]["code"], "verano");
    assert_eq!(touches[0]["affiliate"]["code"], ana["code"]);
    assert_eq!(touches[0]["channel"], "social");
    assert_eq!(touches[1]["campaign"]["code"], "invierno");
    assert_eq!(touches[1]["kind"], "CLICK");

    // Stored credits: the last click takes it all.
    let credits = journey["credits"].as_array().unwrap();
    assert_eq!(credits.len(), 1);
    assert_eq!(credits[0]["amount"], "99.99");
    assert_eq!(credits[0]["weight"], "1");
    assert_eq!(credits[0]["currency"], "USD");
    assert_eq!(credits[0]["isCurrent"], true);
    assert_eq!(credits[0]["affiliate"]["code"], beto["code"]);
    // The other models, to the cent (the cent left by halving goes to the earlier touch).
    assert_eq!(by_campaign(&journey["firstClick"]), pairs(&[("verano", "99.99")]));
    assert_eq!(by_campaign(&journey["linear"]), pairs(&[("verano", "50.00"), ("invierno", "49.99")]));
    assert_eq!(by_campaign(&journey["positionBased"]), pairs(&[("verano", "50.00"), ("invierno", "49.99")]));
    assert_eq!(by_campaign(&journey["markov"]), pairs(&[("verano", "50.00"), ("invierno", "49.99")]));
    let decay = by_campaign(&journey["timeDecay"]);
    let cents: Vec<i64> = decay.iter().map(|(_, a)| a.replace('.', "").parse().unwrap()).collect();
    assert_eq!(cents.iter().sum::<i64>(), 9999);
    assert!(cents.iter().all(|c| (4999..=5000).contains(c)), "{decay:?}");

    // seed 003 ConversionAtribuida, field for field.
    let events = outbox(&app, "eventos-atribucion").await;
    assert_eq!(events.len(), 1);
    let event = &events[0];
    let mut keys: Vec<&str> = event.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "id_campania",
            "id_interaccion_atribuida",
            "id_interaccion_original",
            "monto_atribuido",
            "score_fraude",
            "tipo_conversion"
        ]
    );
    assert_eq!(event["id_campania"], "invierno");
    assert_eq!(event["tipo_conversion"], "PURCHASE");
    assert_eq!(event["monto_atribuido"], json!({ "valor": 99.99, "moneda": "USD" }));
    assert_eq!(event["id_interaccion_original"], "cs_journey");
    assert_eq!(event["id_interaccion_atribuida"], journey["id"]);
    assert_eq!(event["score_fraude"], c["fraudScore"]);

    // The models side by side.
    let now = Utc::now();
    let vars =
        json!({ "from": iso(now - Duration::days(1)), "to": iso(now + Duration::days(1)), "groupBy": "CAMPAIGN" });
    let report = app.ok(&admin, REPORT, vars.clone()).await;
    let report = &report["attributionReport"];
    assert_eq!(report["conversions"], 1);
    assert_eq!(report["models"].as_array().unwrap().len(), 6);
    let rows = report["rows"].as_array().unwrap();
    let row = |model: &str, key: &str| {
        rows.iter()
            .find(|r| r["model"] == model && r["key"] == key)
            .map(|r| (r["conversions"].as_str().unwrap().to_string(), r["value"].as_str().unwrap().to_string()))
    };
    assert_eq!(row("LAST_CLICK", "invierno"), Some(("1".into(), "99.99".into())));
    assert_eq!(row("LAST_CLICK", "verano"), None);
    assert_eq!(row("FIRST_CLICK", "verano"), Some(("1".into(), "99.99".into())));
    assert_eq!(row("LINEAR", "verano"), Some(("0.5".into(), "50.00".into())));
    assert_eq!(row("LINEAR", "invierno"), Some(("0.5".into(), "49.99".into())));
    // Equal removal effects: half each, the odd cent to one of them.
    let mut markov = [row("MARKOV", "verano").unwrap().1, row("MARKOV", "invierno").unwrap().1];
    markov.sort();
    assert_eq!(markov, ["49.99", "50.00"]);
    assert!(rows.iter().all(|r| r["currency"] == "USD"));
    // One model only, by affiliate.
    let mut vars = vars;
    vars["model"] = json!("LINEAR");
    vars["groupBy"] = json!("AFFILIATE");
    let linear = app.ok(&admin, REPORT, vars).await;
    assert_eq!(linear["attributionReport"]["conversions"], 1, "{linear}");
    let linear = linear["attributionReport"]["rows"].as_array().unwrap().clone();
    assert_eq!(linear.len(), 2);
    assert!(linear.iter().all(|r| r["model"] == "LINEAR"));
    assert!(linear.iter().any(|r| r["key"] == ana["code"] && r["value"] == "50.00" && r["name"] == "Ana"));

    // Switching the campaign's model applies to the next conversions.
    app.ok(
        &admin,
        "mutation { updateCampaign(input: {id: \"invierno\", attributionModel: LINEAR}) { attributionModel } }",
        json!({}),
    )
    .await;
    let (_, headers, _) = app.get(&format!("/r/{second}"), None, Some(&format!("alpes_aid={visitor}"))).await;
    let click_id = set_cookie(&headers, "alpes_cid").unwrap();
    app.stripe(&checkout("cs_second", 1000, Some(&click_id), "buyer@example.com")).await;
    assert_eq!(attribute(&app).await, 1);
    let second_conversion = entity::conversions::Entity::find()
        .filter(entity::conversions::Column::ExternalId.eq("cs_second"))
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    let data = app.ok(&admin, CONVERSION, json!({ "id": second_conversion.id })).await;
    assert_eq!(data["conversion"]["journey"]["model"], "LINEAR");
    assert_eq!(data["conversion"]["journey"]["credits"].as_array().unwrap().len(), 3);

    // Revert: the seed 003 event, the journey and conversion marked, the credits retired.
    let revert = "mutation($id: ID!) { revertAttribution(journeyId: $id) { status revertedAt } }";
    let reverted = app.ok(&admin, revert, json!({ "id": journey["id"] })).await;
    assert_eq!(reverted["revertAttribution"]["status"], "REVERTED_FRAUD");
    assert!(reverted["revertAttribution"]["revertedAt"].is_string());
    let events = outbox(&app, "atribucion-revertida").await;
    assert_eq!(
        events,
        vec![json!({
            "journey_id_revertido": journey["id"],
            "interacciones": ["orden:1,campania:verano", "orden:2,campania:invierno"]
        })]
    );
    let data = app.ok(&admin, CONVERSION, json!({ "id": conversion.id })).await;
    assert_eq!(data["conversion"]["status"], "REVERTED");
    assert_eq!(data["conversion"]["journey"]["credits"][0]["isCurrent"], false);
    assert_eq!(app.error_code(Some(&admin), revert, json!({ "id": journey["id"] })).await, "INVALID_TRANSITION");
    assert_eq!(outbox(&app, "atribucion-revertida").await.len(), 1, "a second revert publishes nothing");
    let audits = entity::audit_log::Entity::find()
        .filter(entity::audit_log::Column::Action.eq("attribution.revert"))
        .all(app.db())
        .await
        .unwrap();
    assert_eq!(audits.len(), 1);
}

/// Touches at conversion − 40 d (outside the window), − 14 d, − 7 d and at the conversion:
/// an anonymous visitor who later signs in, so the journey joins both identities.
#[tokio::test]
async fn time_decay_and_position_based_across_linked_identities() {
    let app = TestApp::new().await;
    let admin = app.admin();
    campaign(&app, "alfa", "TIME_DECAY").await;
    campaign(&app, "beta", "LAST_CLICK").await;
    let at = Utc::now() - Duration::hours(1);
    let click = "mutation($i: RecordClickInput!) { recordClick(input: $i) { id } }";
    for (id, campaign, days, user, anon) in [
        ("k0", "beta", 40, None, Some("anon-7")),
        ("k1", "alfa", 14, None, Some("anon-7")),
        ("k2", "beta", 7, Some("user-7"), Some("anon-7")),
        ("k3", "alfa", 0, Some("user-7"), None),
        ("other", "beta", 1, Some("someone-else"), None),
    ] {
        let input = json!({ "id": id, "campaignId": campaign, "userId": user, "anonymousId": anon,
                            "utmSource": "newsletter", "utmMedium": "email", "occurredAt": iso(at - Duration::days(days)) });
        app.ok(&admin, click, json!({ "i": input })).await;
    }
    let record = "mutation($i: RecordConversionInput!) { recordConversion(input: $i) { id } }";
    let input = json!({ "id": "order-7", "value": "100.00", "currency": "USD", "campaignId": "alfa", "userId": "user-7", "occurredAt": iso(at) });
    let id = app.ok(&admin, record, json!({ "i": input })).await["recordConversion"]["id"].clone();
    assert_eq!(attribute(&app).await, 1);

    let data = app.ok(&admin, CONVERSION, json!({ "id": id })).await;
    let journey = &data["conversion"]["journey"];
    assert_eq!(journey["model"], "TIME_DECAY");
    let positions: Vec<i64> =
        journey["touchpoints"].as_array().unwrap().iter().map(|t| t["position"].as_i64().unwrap()).collect();
    assert_eq!(positions, [1, 2, 3], "the touch 40 days back and another person's are not in it");
    // Weights 2^-2 : 2^-1 : 1 = 1/7, 2/7, 4/7 of 100.00; the left-over cent to the largest remainder.
    let amounts: Vec<&str> =
        journey["credits"].as_array().unwrap().iter().map(|c| c["amount"].as_str().unwrap()).collect();
    assert_eq!(amounts, ["14.29", "28.57", "57.14"]);
    let weights: Vec<rust_decimal::Decimal> =
        journey["credits"].as_array().unwrap().iter().map(|c| c["weight"].as_str().unwrap().parse().unwrap()).collect();
    assert_eq!(weights.iter().sum::<rust_decimal::Decimal>(), rust_decimal::Decimal::ONE);
    let positional: Vec<&str> =
        journey["positionBased"].as_array().unwrap().iter().map(|c| c["amount"].as_str().unwrap()).collect();
    assert_eq!(positional, ["40.00", "20.00", "40.00"]);
    let linear: Vec<&str> =
        journey["linear"].as_array().unwrap().iter().map(|c| c["amount"].as_str().unwrap()).collect();
    assert_eq!(linear, ["33.34", "33.33", "33.33"]);
    assert_eq!(by_campaign(&journey["firstClick"]), pairs(&[("alfa", "100.00")]));
    // Two events: one per credited campaign, amounts summing to the value.
    let events = outbox(&app, "eventos-atribucion").await;
    let mut sums: Vec<(String, String)> = events
        .iter()
        .map(|e| (e["id_campania"].as_str().unwrap().to_string(), e["monto_atribuido"]["valor"].to_string()))
        .collect();
    sums.sort();
    assert_eq!(sums, pairs(&[("alfa", "71.43"), ("beta", "28.57")]));
    assert!(events.iter().all(|e| e["tipo_conversion"] == "PURCHASE" && e["id_interaccion_original"] == "order-7"));
}

/// A backfill of two years ago: touches and a conversion at their own times are accepted,
/// and the conversion is attributed to the journey as it was then: the touch of its own
/// window, not a later one or one outside its lookback. With a maximum age set, the same
/// events are refused, naming the field.
#[tokio::test]
async fn a_back_dated_conversion_is_attributed_to_the_journey_of_its_time() {
    let app = TestApp::new().await;
    let admin = app.admin();
    campaign(&app, "alfa", "LAST_CLICK").await;
    campaign(&app, "beta", "LAST_CLICK").await;
    let then = Utc::now() - Duration::days(730);
    let click = "mutation($i: RecordClickInput!) { recordClick(input: $i) { id } }";
    for (id, campaign, at) in [
        ("old-0", "beta", then - Duration::days(60)),
        ("old-1", "alfa", then - Duration::days(3)),
        ("old-2", "beta", then + Duration::days(2)),
        ("now", "beta", Utc::now() - Duration::hours(1)),
    ] {
        let input = json!({ "id": id, "campaignId": campaign, "userId": "user-h", "occurredAt": iso(at) });
        app.ok(&admin, click, json!({ "i": input })).await;
    }
    let record = "mutation($i: RecordConversionInput!) { recordConversion(input: $i) { id occurredAt } }";
    let input = json!({ "id": "order-h", "value": "80.00", "currency": "USD", "campaignId": "alfa", "userId": "user-h", "occurredAt": iso(then) });
    let recorded = app.ok(&admin, record, json!({ "i": input })).await;
    let id = recorded["recordConversion"]["id"].clone();
    assert_eq!(attribute(&app).await, 1);
    let data = app.ok(&admin, CONVERSION, json!({ "id": id })).await;
    let journey = &data["conversion"]["journey"];
    assert_eq!(data["conversion"]["status"], "ATTRIBUTED", "{data}");
    let campaigns: Vec<&str> = journey["touchpoints"]
        .as_array()
        .map(|t| t.iter().filter_map(|t| t["campaign"]["code"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(campaigns, ["alfa"], "only the touch inside its window and before it: {journey}");
    assert_eq!(by_campaign(&journey["credits"]), pairs(&[("alfa", "80.00")]));

    let strict = TestApp::with_config(|c| c.max_event_age_days = Some(365)).await;
    let admin = strict.admin();
    campaign(&strict, "alfa", "LAST_CLICK").await;
    let input = json!({ "id": "order-h", "value": "80.00", "currency": "USD", "campaignId": "alfa", "userId": "user-h", "occurredAt": iso(then) });
    let (_, body) = strict.post_graphql(Some(&admin), record, json!({ "i": input })).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "VALIDATION", "{body}");
    assert_eq!(body["errors"][0]["extensions"]["field"], "occurredAt", "{body}");
    assert_eq!(strict.count("conversions").await, 0);
}

/// Seed 003 asks for the Markov removal effects of the classic example: C1 > C2 > C3
/// converts; C1 alone and C2 > C3 do not. Credits: C1 0.2, C2 0.4, C3 0.4.
#[tokio::test]
async fn markov_report_over_converting_and_non_converting_journeys() {
    let app = TestApp::new().await;
    let admin = app.admin();
    for code in ["c1", "c2", "c3"] {
        campaign(&app, code, "MARKOV").await;
    }
    let at = Utc::now() - Duration::hours(2);
    let click = "mutation($i: RecordClickInput!) { recordClick(input: $i) { id } }";
    let paths: [(&str, &[&str]); 3] = [("p1", &["c1", "c2", "c3"]), ("p2", &["c1"]), ("p3", &["c2", "c3"])];
    for (person, path) in paths {
        for (i, code) in path.iter().enumerate() {
            let input =
                json!({ "campaignId": code, "userId": person, "occurredAt": iso(at + Duration::minutes(i as i64)) });
            app.ok(&admin, click, json!({ "i": input })).await;
        }
    }
    let record = "mutation($i: RecordConversionInput!) { recordConversion(input: $i) { id } }";
    let input = json!({ "id": "m-1", "value": "10.00", "currency": "USD", "campaignId": "c3", "userId": "p1",
                        "occurredAt": iso(at + Duration::minutes(30)) });
    let id = app.ok(&admin, record, json!({ "i": input })).await["recordConversion"]["id"].clone();
    assert_eq!(attribute(&app).await, 1);

    let vars =
        json!({ "model": "MARKOV", "from": iso(at - Duration::days(1)), "to": iso(Utc::now()), "groupBy": "CAMPAIGN" });
    let report = app.ok(&admin, REPORT, vars.clone()).await;
    // The same period again is served from the path counts just taken: no touch is read.
    app.reset_statements();
    assert_eq!(app.ok(&admin, REPORT, vars).await, report);
    let again = app.statements_run();
    assert!(!again.iter().any(|sql| sql.contains("\"interactions\"")), "{again:#?}");
    let mut rows: Vec<(String, String, String)> = report["attributionReport"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["key"].as_str().unwrap().to_string(),
                r["conversions"].as_str().unwrap().to_string(),
                r["value"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    rows.sort();
    assert_eq!(
        rows,
        [
            ("c1".to_string(), "0.2".to_string(), "2.00".to_string()),
            ("c2".to_string(), "0.4".to_string(), "4.00".to_string()),
            ("c3".to_string(), "0.4".to_string(), "4.00".to_string()),
        ]
    );
    // The conversion itself is credited under the campaign's MARKOV model with the same shares.
    let data = app.ok(&admin, CONVERSION, json!({ "id": id })).await;
    let journey = &data["conversion"]["journey"];
    assert_eq!(journey["model"], "MARKOV");
    assert_eq!(by_campaign(&journey["credits"]), pairs(&[("c1", "2.00"), ("c2", "4.00"), ("c3", "4.00")]));
}

#[tokio::test]
async fn suspicious_conversions_are_held_then_released_by_an_admin() {
    let app = TestApp::new().await;
    let admin = app.admin();
    campaign(&app, "gamma", "LAST_CLICK").await;
    let at = Utc::now() - Duration::minutes(5);
    let click = json!({ "i": { "id": "bot-click", "campaignId": "gamma", "anonymousId": "anon-bot",
                               "userAgent": "Mozilla/5.0 HeadlessChrome/120.0", "occurredAt": iso(at) } });
    app.ok(&admin, "mutation($i: RecordClickInput!) { recordClick(input: $i) { id } }", click).await;
    let input = json!({ "i": { "id": "fast", "value": "30.00", "currency": "USD", "campaignId": "gamma",
                               "anonymousId": "anon-bot", "occurredAt": iso(at + Duration::seconds(2)) } });
    let id = app.ok(&admin, "mutation($i: RecordConversionInput!) { recordConversion(input: $i) { id } }", input).await
        ["recordConversion"]["id"]
        .clone();
    assert_eq!(attribute(&app).await, 1);

    let data = app.ok(&admin, CONVERSION, json!({ "id": id })).await;
    let c = &data["conversion"];
    assert_eq!(c["status"], "HELD_FOR_REVIEW");
    assert_eq!(c["fraudScore"], 75);
    let mut codes: Vec<&str> =
        c["fraudSignals"].as_array().unwrap().iter().map(|s| s["code"].as_str().unwrap()).collect();
    codes.sort();
    assert_eq!(codes, ["BOT_USER_AGENT", "FAST_CONVERSION"]);
    assert_eq!(c["journey"]["status"], "HELD_FOR_REVIEW");
    assert_eq!(c["journey"]["credits"][0]["isCurrent"], false, "held: nothing is credited, only shown");
    assert_eq!(app.count("attribution_credits").await, 0);
    assert!(outbox(&app, "eventos-atribucion").await.is_empty());

    let reattribute = "mutation($id: ID!, $model: AttributionModel, $affiliate: ID) { reattributeConversion(id: $id, model: $model, affiliateId: $affiliate) { status journey { status model credits { amount isCurrent } } } }";
    let analyst = app.token(Role::Analyst, None);
    assert_eq!(app.error_code(Some(&analyst), reattribute, json!({ "id": id, "model": "LINEAR" })).await, "FORBIDDEN");
    let released = app.ok(&admin, reattribute, json!({ "id": id, "model": "LINEAR" })).await;
    let r = &released["reattributeConversion"];
    assert_eq!(r["status"], "ATTRIBUTED");
    assert_eq!(r["journey"]["status"], "ATTRIBUTED");
    assert_eq!(r["journey"]["model"], "LINEAR");
    assert_eq!(r["journey"]["credits"], json!([{ "amount": "30.00", "isCurrent": true }]));
    assert_eq!(outbox(&app, "eventos-atribucion").await.len(), 1);
    let audit = entity::audit_log::Entity::find()
        .filter(entity::audit_log::Column::Action.eq("attribution.reattribute"))
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(audit.before.unwrap()["status"], "HELD_FOR_REVIEW");
}

#[tokio::test]
async fn an_affiliate_buying_through_their_own_link_is_held_as_self_referral() {
    let app = TestApp::new().await;
    let ana = create_affiliate(&app, "Ana", "ana@example.com").await;
    campaign(&app, "delta", "LAST_CLICK").await;
    let code = link(&app, ana["code"].as_str().unwrap(), "delta").await;
    let (_, headers, _) = app.get(&format!("/r/{code}"), None, None).await;
    let click_id = set_cookie(&headers, "alpes_cid").unwrap();
    // Seconds later would also be FAST_CONVERSION; the self-referral alone is enough to hold.
    app.stripe(&checkout("cs_self", 5000, Some(&click_id), " ANA@example.com ")).await;
    assert_eq!(attribute(&app).await, 1);
    let conversion = entity::conversions::Entity::find().one(app.db()).await.unwrap().unwrap();
    assert_eq!(conversion.status, entity::conversions::ConversionStatus::HeldForReview);
    let signals: Vec<String> =
        conversion.fraud_signals.as_array().unwrap().iter().map(|s| s["code"].as_str().unwrap().to_string()).collect();
    assert!(signals.contains(&"SELF_REFERRAL".to_string()), "{signals:?}");

    // Given to another affiliate by hand instead.
    let beto = create_affiliate(&app, "Beto", "beto@example.com").await;
    let reattribute = "mutation($id: ID!, $affiliate: ID) { reattributeConversion(id: $id, affiliateId: $affiliate) { journey { credits { amount affiliate { code } channel } } } }";
    let data = app.ok(&app.admin(), reattribute, json!({ "id": conversion.id, "affiliate": beto["code"] })).await;
    assert_eq!(
        data["reattributeConversion"]["journey"]["credits"],
        json!([{ "amount": "50.00", "affiliate": { "code": beto["code"] }, "channel": "manual" }])
    );
}

#[tokio::test]
async fn workers_racing_attribute_each_conversion_once() {
    let app = TestApp::new().await;
    let admin = app.admin();
    campaign(&app, "eps", "LINEAR").await;
    let record = "mutation($i: RecordConversionInput!) { recordConversion(input: $i) { id } }";
    for i in 0..10 {
        let input = json!({ "id": format!("race-{i}"), "value": "1.00", "currency": "USD", "campaignId": "eps" });
        app.ok(&admin, record, json!({ "i": input })).await;
    }
    let state = &app.app.state;
    let (a, b, c) = tokio::join!(
        attribution::attribute_pending(state, &state.markov),
        attribution::attribute_pending(state, &state.markov),
        attribution::attribute_pending(state, &state.markov)
    );
    assert_eq!(a.unwrap() + b.unwrap() + c.unwrap(), 10);
    assert_eq!(app.count("journeys").await, 10);
    assert_eq!(app.count("attribution_credits").await, 10);
    assert_eq!(outbox(&app, "eventos-atribucion").await.len(), 10);
}

#[tokio::test]
async fn bad_requests_change_nothing() {
    let app = TestApp::new().await;
    let admin = app.admin();
    campaign(&app, "zeta", "LAST_CLICK").await;
    let record = "mutation($i: RecordConversionInput!) { recordConversion(input: $i) { id } }";
    let input = json!({ "id": "bad-1", "value": "5.00", "currency": "USD", "campaignId": "zeta" });
    let id = app.ok(&admin, record, json!({ "i": input })).await["recordConversion"]["id"].clone();

    let reattribute = "mutation($id: ID!, $model: AttributionModel, $affiliate: ID) { reattributeConversion(id: $id, model: $model, affiliateId: $affiliate) { status } }";
    // Not attributed yet.
    assert_eq!(
        app.error_code(Some(&admin), reattribute, json!({ "id": id, "model": "LINEAR" })).await,
        "INVALID_TRANSITION"
    );
    assert_eq!(attribute(&app).await, 1);
    let journeys = app.count("journeys").await;
    let credits = app.count("attribution_credits").await;
    let cases = [
        (json!({ "id": id, "model": "LINEAR", "affiliate": "x" }), "VALIDATION"),
        (json!({ "id": id }), "VALIDATION"),
        (json!({ "id": id, "affiliate": "nobody" }), "NOT_FOUND"),
        (json!({ "id": "00000000-0000-0000-0000-000000000000", "model": "LINEAR" }), "NOT_FOUND"),
        (json!({ "id": "not-an-id", "model": "LINEAR" }), "NOT_FOUND"),
    ];
    for (vars, code) in cases {
        assert_eq!(app.error_code(Some(&admin), reattribute, vars.clone()).await, code, "{vars}");
    }
    let revert = "mutation($id: ID!) { revertAttribution(journeyId: $id) { status } }";
    assert_eq!(app.error_code(Some(&admin), revert, json!({ "id": "nope" })).await, "NOT_FOUND");
    let affiliate = app.token(Role::Affiliate, Some(uuid::Uuid::new_v4()));
    let journey_id = entity::journeys::Entity::find().one(app.db()).await.unwrap().unwrap().id;
    assert_eq!(app.error_code(Some(&affiliate), revert, json!({ "id": journey_id })).await, "FORBIDDEN");
    assert_eq!(app.count("journeys").await, journeys);
    assert_eq!(app.count("attribution_credits").await, credits);

    let now = Utc::now();
    let backwards = json!({ "from": iso(now), "to": iso(now - Duration::days(1)), "groupBy": "CHANNEL" });
    assert_eq!(app.error_code(Some(&admin), REPORT, backwards).await, "VALIDATION");
    let fine = json!({ "from": iso(now - Duration::days(1)), "to": iso(now), "groupBy": "CHANNEL" });
    assert_eq!(app.error_code(Some(&affiliate), REPORT, fine).await, "FORBIDDEN");
    // An affiliate cannot read another affiliate's journey.
    let query = "query($id: ID!) { journey(id: $id) { id } }";
    assert_eq!(app.error_code(Some(&affiliate), query, json!({ "id": journey_id })).await, "NOT_FOUND");
}

#[tokio::test]
async fn affiliates_see_the_conversions_they_are_credited_for_without_other_partners_details() {
    let app = TestApp::new().await;
    let ana = create_affiliate(&app, "Ana", "ana@example.com").await;
    let beto = create_affiliate(&app, "Beto", "beto@example.com").await;
    let carla = create_affiliate(&app, "Carla", "carla@example.com").await;
    campaign(&app, "verano", "LINEAR").await;
    campaign(&app, "invierno", "LINEAR").await;
    let first = link(&app, ana["code"].as_str().unwrap(), "verano").await;
    let second = link(&app, beto["code"].as_str().unwrap(), "invierno").await;
    let (_, headers, _) = app.get(&format!("/r/{first}?utm_source=facebook&utm_medium=social"), None, None).await;
    let visitor = set_cookie(&headers, "alpes_aid").unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let (_, headers, _) = app.get(&format!("/r/{second}"), None, Some(&format!("alpes_aid={visitor}"))).await;
    let click_id = set_cookie(&headers, "alpes_cid").unwrap();
    app.stripe(&checkout("cs_shared", 10000, Some(&click_id), "buyer@example.com")).await;
    assert_eq!(attribute(&app).await, 1);
    let conversion = entity::conversions::Entity::find().one(app.db()).await.unwrap().unwrap();
    assert_eq!(conversion.affiliate_id.map(|id| id.to_string()), beto["id"].as_str().map(str::to_string));

    let token =
        |affiliate: &Value| app.token(Role::Affiliate, Some(affiliate["id"].as_str().unwrap().parse().unwrap()));
    const SEEN: &str = r#"query($id: ID!) { conversion(id: $id) { id journey { id
        touchpoints { position source medium interactionId campaignId affiliateId affiliate { code } campaign { code } }
        credits { amount affiliate { code } } linear: credits(model: LINEAR) { amount affiliate { code } } } } }"#;
    // Ana was credited half though the conversion is Beto's: she sees it, her touch whole,
    // Beto's without ids, campaign or source, and only her own credit.
    let seen = app.ok(&token(&ana), SEEN, json!({ "id": conversion.id })).await;
    let journey = &seen["conversion"]["journey"];
    let touches = journey["touchpoints"].as_array().unwrap();
    assert_eq!(touches[0]["affiliate"]["code"], ana["code"]);
    assert_eq!(touches[0]["source"], "facebook");
    assert_eq!(touches[0]["campaign"]["code"], "verano");
    for field in ["interactionId", "campaignId", "affiliateId", "affiliate", "campaign", "source", "medium"] {
        assert!(touches[1][field].is_null(), "Beto's touch shows {field}: {}", touches[1]);
    }
    assert_eq!(journey["credits"], json!([{ "amount": "50.00", "affiliate": { "code": ana["code"] } }]));
    assert_eq!(journey["linear"], json!([{ "amount": "50.00", "affiliate": { "code": ana["code"] } }]));
    let list = app.ok(&token(&ana), "{ conversions { totalCount } }", json!({})).await;
    assert_eq!(list["conversions"]["totalCount"], 1, "her list has it too");
    let journey_id = journey["id"].clone();

    // Beto sees his side the same way.
    let seen = app.ok(&token(&beto), SEEN, json!({ "id": conversion.id })).await;
    let journey = &seen["conversion"]["journey"];
    assert!(journey["touchpoints"][0]["affiliate"].is_null());
    assert!(journey["touchpoints"][0]["source"].is_null());
    assert_eq!(journey["credits"], json!([{ "amount": "50.00", "affiliate": { "code": beto["code"] } }]));

    // Carla has no part in it: the conversion and its journey do not exist for her, as a
    // made-up id does not.
    let carla = token(&carla);
    for id in [conversion.id.to_string(), uuid::Uuid::new_v4().to_string()] {
        assert_eq!(app.error_code(Some(&carla), SEEN, json!({ "id": id })).await, "NOT_FOUND");
    }
    let journey_q = "query($id: ID!) { journey(id: $id) { id } }";
    assert_eq!(app.error_code(Some(&carla), journey_q, json!({ "id": journey_id })).await, "NOT_FOUND");
    assert_eq!(app.ok(&carla, "{ conversions { totalCount } }", json!({})).await["conversions"]["totalCount"], 0);
    let other = "query($id: ID!) { affiliate(id: $id) { code } }";
    assert_eq!(app.error_code(Some(&carla), other, json!({ "id": ana["id"] })).await, "NOT_FOUND");
    assert_eq!(app.error_code(Some(&carla), other, json!({ "id": uuid::Uuid::new_v4() })).await, "NOT_FOUND");
}

/// A partial refund that arrives before the conversion is attributed (a worker backlog, a
/// conversion held for review and released later) still counts: the commissions are on the
/// net sale, as when the refund comes after.
#[tokio::test]
async fn a_partial_refund_before_attribution_leaves_commissions_on_the_net_sale() {
    let app = TestApp::new().await;
    let ana = create_affiliate(&app, "Ana", "ana@example.com").await;
    campaign(&app, "net", "LAST_CLICK").await;
    let code = link(&app, ana["code"].as_str().unwrap(), "net").await;
    let mut bases = Vec::new();
    for (session, hold) in [("cs_net_a", false), ("cs_net_b", true)] {
        let (_, headers, _) = app.get(&format!("/r/{code}"), None, None).await;
        let click_id = set_cookie(&headers, "alpes_cid").unwrap();
        app.stripe(&checkout(session, 4900, Some(&click_id), "buyer@example.com")).await;
        let refund = json!({
            "id": format!("evt_refund_{session}"), "object": "event", "type": "charge.refunded", "livemode": false,
            "created": Utc::now().timestamp(),
            "data": { "object": { "id": format!("ch_{session}"), "object": "charge", "payment_intent": format!("pi_{session}"),
                                  "amount": 4900, "amount_refunded": 2450, "currency": "usd" } }
        });
        let (status, _) = app.stripe(&refund).await;
        assert_eq!(status, StatusCode::OK);
        let conversion = entity::conversions::Entity::find()
            .filter(entity::conversions::Column::ExternalId.eq(session))
            .one(app.db())
            .await
            .unwrap()
            .unwrap();
        if hold {
            // Held for review first, released by an admin after the refund.
            let mut active: entity::conversions::ActiveModel = conversion.clone().into();
            active.fraud_signals = sea_orm::Set(json!([alpes::domain::fraud::unverified_source()]));
            sea_orm::ActiveModelTrait::update(active, app.db()).await.unwrap();
        }
        assert_eq!(attribute(&app).await, 1);
        if hold {
            let release = "mutation($id: ID!) { reattributeConversion(id: $id, model: LAST_CLICK) { status } }";
            app.ok(&app.admin(), release, json!({ "id": conversion.id })).await;
        }
        let commissions = entity::commissions::Entity::find()
            .filter(entity::commissions::Column::ConversionId.eq(conversion.id))
            .filter(entity::commissions::Column::Status.ne(entity::commissions::CommissionStatus::Canceled))
            .all(app.db())
            .await
            .unwrap();
        assert_eq!(commissions.len(), 1, "{session}");
        bases.push(commissions[0].base_amount.normalize().to_string());
    }
    assert_eq!(bases, ["24.5", "24.5"], "attributed after the refund, and released after it");

    // A commission made by hand on that sale starts from what is left of it too.
    let beto = create_affiliate(&app, "Beto", "beto@example.com").await;
    let conversion = entity::conversions::Entity::find()
        .filter(entity::conversions::Column::ExternalId.eq("cs_net_a"))
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    let create = "mutation($i: CreateCommissionInput!) { createCommission(input: $i) { baseAmount } }";
    let made = app
        .ok(&app.admin(), create, json!({ "i": { "affiliateId": beto["id"], "conversionId": conversion.id } }))
        .await;
    assert_eq!(made["createCommission"]["baseAmount"], "24.50");
}
