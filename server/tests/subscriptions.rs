//! Recurring commissions from Stripe subscriptions, with real-shaped events: the checkout
//! starts the subscription; its first invoice is the checkout's own sale; each renewal is
//! a sale of the first sale's affiliate at the recurring rate, once per invoice, for the
//! campaign's months; failed payments, cancellations, refunds and credit notes follow.

mod support;

use alpes::{auth::Role, service::attribution};
use axum::http::StatusCode;
use chrono::{Duration, Utc};
use rust_decimal::Decimal;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{json, Value};
use support::{create_affiliate, TestApp};

fn event(id: &str, kind: &str, object: Value) -> Value {
    json!({"id": id, "object": "event", "api_version": "2025-03-31.basil", "type": kind, "livemode": false,
           "created": Utc::now().timestamp(), "data": {"object": object}})
}

/// A subscription-mode checkout of `amount` cents, paid `days_ago`.
fn subscription_checkout(n: &str, amount: i64, affiliate: &str, campaign: &str, days_ago: i64) -> Value {
    let created = (Utc::now() - Duration::days(days_ago)).timestamp();
    event(
        &format!("evt_cs_{n}"),
        "checkout.session.completed",
        json!({"id": format!("cs_{n}"), "object": "checkout.session", "mode": "subscription",
               "amount_total": amount, "currency": "usd", "payment_status": "paid", "created": created,
               "customer": format!("cus_{n}"), "subscription": format!("sub_{n}"), "invoice": format!("in_{n}_0"),
               "payment_intent": null, "customer_details": {"email": "saas.buyer@example.com"},
               "metadata": {"affiliate": affiliate, "campaign": campaign}}),
    )
}

/// An invoice of `sub_{n}` in the 2025 shape (`parent.subscription_details`, `payments`).
fn invoice(n: &str, number: u32, reason: &str, amount: i64) -> Value {
    json!({"id": format!("in_{n}_{number}"), "object": "invoice", "billing_reason": reason,
           "customer": format!("cus_{n}"), "customer_email": "saas.buyer@example.com",
           "amount_due": amount, "amount_paid": amount, "amount_remaining": 0, "currency": "usd",
           "created": Utc::now().timestamp(), "status": "paid",
           "status_transitions": {"paid_at": Utc::now().timestamp()},
           "parent": {"type": "subscription_details", "subscription_details": {"subscription": format!("sub_{n}"), "metadata": {}}},
           "payments": {"object": "list", "data": [{"object": "invoice_payment", "payment": {"type": "payment_intent", "payment_intent": format!("pi_{n}_{number}")}}]},
           "lines": {"object": "list", "data": []}})
}

async fn commissions_of(app: &TestApp, external_id: &str) -> Vec<entity::commissions::Model> {
    attribution::attribute_pending(&app.app.state, &app.app.state.markov).await.unwrap();
    let Some(conversion) = entity::conversions::Entity::find()
        .filter(entity::conversions::Column::ExternalId.eq(external_id))
        .one(app.db())
        .await
        .unwrap()
    else {
        return Vec::new();
    };
    entity::commissions::Entity::find()
        .filter(entity::commissions::Column::ConversionId.eq(conversion.id))
        .order_by_asc(entity::commissions::Column::CreatedAt)
        .all(app.db())
        .await
        .unwrap()
}

async fn subscription(app: &TestApp, id: &str) -> entity::subscriptions::Model {
    entity::subscriptions::Entity::find()
        .filter(entity::subscriptions::Column::StripeSubscriptionId.eq(id))
        .one(app.db())
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no subscription {id}"))
}

async fn campaign(app: &TestApp, name: &str, recurring: Value) -> Value {
    let mut input = support::campaign_input(name);
    for (k, v) in recurring.as_object().cloned().unwrap_or_default() {
        input["commissionConfig"][k] = v;
    }
    let made = app
        .ok(
            &app.admin(),
            "mutation($input: CreateCampaignInput!) { createCampaign(input: $input) { id code commissionConfig { recurringRate recurringMonths recurringLifetime } } }",
            json!({"input": input}),
        )
        .await;
    let id = made["createCampaign"]["id"].clone();
    app.ok(&app.admin(), "mutation($id: ID!) { activateCampaign(id: $id) { id } }", json!({"id": id})).await;
    made["createCampaign"].clone()
}

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

#[tokio::test]
async fn renewals_earn_for_the_first_sales_affiliate_once_per_invoice() {
    let app = TestApp::new().await;
    let nora = create_affiliate(&app, "Nora", "nora@example.com").await;
    let code = nora["code"].as_str().unwrap();
    // A campaign that says nothing of renewals: the first sale's rate, 12 months.
    let plain = campaign(&app, "SaaS plain", json!({})).await;
    assert_eq!(
        plain["commissionConfig"],
        json!({"recurringRate": null, "recurringMonths": 12, "recurringLifetime": false})
    );
    let plain_code = plain["code"].as_str().unwrap();

    let (status, body) = app.stripe(&subscription_checkout("a", 5_000, code, plain_code, 3)).await;
    assert_eq!((status, body["status"].as_str()), (StatusCode::OK, Some("processed")));
    let first = commissions_of(&app, "cs_a").await;
    assert_eq!(first.len(), 1);
    // Nora is premium: 20 % of $50.00.
    assert_eq!(first[0].expected_amount, Some(dec("10")));
    let sub = subscription(&app, "sub_a").await;
    assert_eq!(sub.affiliate_id, Some(nora["id"].as_str().unwrap().parse().unwrap()));
    assert_eq!(sub.stripe_customer_id.as_deref(), Some("cus_a"));
    assert!(sub.earns_until.is_some_and(|t| t > Utc::now() + Duration::days(300)));

    // The first invoice is the checkout's own sale: no second sale.
    let (_, body) =
        app.stripe(&event("evt_in_a_0", "invoice.paid", invoice("a", 0, "subscription_create", 5_000))).await;
    assert_eq!(body["status"], "processed");
    assert!(commissions_of(&app, "in_a_0").await.is_empty());

    // A month later the renewal: a sale of Nora's at the first sale's rate.
    let (_, body) =
        app.stripe(&event("evt_in_a_1", "invoice.paid", invoice("a", 1, "subscription_cycle", 5_000))).await;
    assert_eq!(body["status"], "processed");
    let renewal = commissions_of(&app, "in_a_1").await;
    assert_eq!(renewal.len(), 1);
    assert_eq!(renewal[0].affiliate_id, first[0].affiliate_id);
    assert_eq!(renewal[0].expected_amount, Some(dec("10")));
    assert_eq!(renewal[0].config["origen"], "renovacion");
    assert_eq!(renewal[0].config["renovacion"]["numero"], 1);

    // Stripe sends invoice.payment_succeeded for the same invoice, and may repeat either.
    let (_, body) = app
        .stripe(&event("evt_in_a_1_ok", "invoice.payment_succeeded", invoice("a", 1, "subscription_cycle", 5_000)))
        .await;
    assert_eq!(body["status"], "ignored");
    let (_, body) =
        app.stripe(&event("evt_in_a_1", "invoice.paid", invoice("a", 1, "subscription_cycle", 5_000))).await;
    assert_eq!(body["status"], "duplicate");
    assert_eq!(commissions_of(&app, "in_a_1").await.len(), 1);
    assert_eq!(subscription(&app, "sub_a").await.renewals, 1);

    // A failed payment: past due, nothing earned; paid on retry: a renewal.
    let (_, body) = app
        .stripe(&event("evt_in_a_2_fail", "invoice.payment_failed", invoice("a", 2, "subscription_cycle", 5_000)))
        .await;
    assert_eq!(body["status"], "processed");
    assert_eq!(subscription(&app, "sub_a").await.status, entity::subscriptions::SubscriptionStatus::PastDue);
    assert!(commissions_of(&app, "in_a_2").await.is_empty());
    let (_, body) =
        app.stripe(&event("evt_in_a_2", "invoice.paid", invoice("a", 2, "subscription_cycle", 5_000))).await;
    assert_eq!(body["status"], "processed", "{body}");
    let second = commissions_of(&app, "in_a_2").await;
    assert_eq!(second.len(), 1);
    let sub = subscription(&app, "sub_a").await;
    assert_eq!((sub.status, sub.renewals), (entity::subscriptions::SubscriptionStatus::Active, 2));

    // The second renewal refunded in full (its payment intent): its commission is canceled.
    let refund = json!({"id": "ch_a_2", "object": "charge", "payment_intent": "pi_a_2", "amount": 5_000,
                        "amount_refunded": 5_000, "currency": "usd", "refunded": true});
    let (_, body) = app.stripe(&event("evt_ch_a_2", "charge.refunded", refund)).await;
    assert_eq!(body["status"], "processed");
    let second = commissions_of(&app, "in_a_2").await;
    assert_eq!(second[0].status, entity::commissions::CommissionStatus::Canceled);
    // The first renewal credited $20.00 to the customer's balance: its commission shrinks.
    let note = json!({"id": "cn_1", "object": "credit_note", "invoice": "in_a_1", "type": "post_payment",
                      "amount": 2_000, "total": 2_000, "currency": "usd", "refunds": [], "out_of_band_amount": null});
    let (_, body) = app.stripe(&event("evt_cn_1", "credit_note.created", note)).await;
    assert_eq!(body["status"], "processed");
    let renewal = commissions_of(&app, "in_a_1").await;
    assert_eq!(renewal[0].expected_amount, Some(dec("6")), "20 % of the $30.00 kept");
    // A credit note that is a Stripe refund waits for the refund's own event.
    let refunded_note = json!({"id": "cn_2", "object": "credit_note", "invoice": "in_a_1", "type": "post_payment",
        "amount": 1_000, "total": 1_000, "currency": "usd", "refunds": [{"refund": "re_1", "amount_refunded": 1_000}]});
    let (_, body) = app.stripe(&event("evt_cn_2", "credit_note.created", refunded_note)).await;
    assert_eq!(body["status"], "ignored");

    // Canceled: later events of it change nothing; what was earned stays.
    let canceled = json!({"id": "sub_a", "object": "subscription", "status": "canceled", "customer": "cus_a",
                          "canceled_at": Utc::now().timestamp()});
    let (_, body) = app.stripe(&event("evt_sub_a_del", "customer.subscription.deleted", canceled)).await;
    assert_eq!(body["status"], "processed");
    let sub = subscription(&app, "sub_a").await;
    assert_eq!(sub.status, entity::subscriptions::SubscriptionStatus::Canceled);
    assert!(sub.canceled_at.is_some());
    let revived = json!({"id": "sub_a", "object": "subscription", "status": "active", "customer": "cus_a"});
    let (_, body) = app.stripe(&event("evt_sub_a_upd", "customer.subscription.updated", revived)).await;
    assert_eq!(body["status"], "ignored");

    // A subscription that did not begin with a checkout we saw earns nobody anything.
    let (_, body) =
        app.stripe(&event("evt_in_z_1", "invoice.paid", invoice("z", 1, "subscription_cycle", 5_000))).await;
    assert_eq!(body["status"], "ignored");
    assert_eq!(app.count("subscription_invoices").await, 3);
}

#[tokio::test]
async fn the_campaign_sets_the_renewal_rate_and_how_long_renewals_earn() {
    let app = TestApp::new().await;
    let nora = create_affiliate(&app, "Nora", "nora@example.com").await;
    let code = nora["code"].as_str().unwrap();
    let five = campaign(&app, "SaaS five", json!({"recurringRate": "5", "recurringLifetime": true})).await;
    assert_eq!(
        five["commissionConfig"],
        json!({"recurringRate": "5", "recurringMonths": null, "recurringLifetime": true})
    );
    let short = campaign(&app, "SaaS short", json!({"recurringMonths": 1})).await;

    app.stripe(&subscription_checkout("b", 10_000, code, five["code"].as_str().unwrap(), 800)).await;
    app.stripe(&event("evt_in_b_30", "invoice.paid", invoice("b", 30, "subscription_cycle", 10_000))).await;
    let renewal = commissions_of(&app, "in_b_30").await;
    assert_eq!(renewal.len(), 1, "lifetime: still earning after two years");
    assert_eq!(renewal[0].expected_amount, Some(dec("5")), "5 % of $100.00");

    // One month of renewals, first sale 40 days ago: this renewal earns nothing, and says why.
    app.stripe(&subscription_checkout("c", 10_000, code, short["code"].as_str().unwrap(), 40)).await;
    let (_, body) =
        app.stripe(&event("evt_in_c_1", "invoice.paid", invoice("c", 1, "subscription_cycle", 10_000))).await;
    assert_eq!(body["status"], "processed");
    assert!(commissions_of(&app, "in_c_1").await.is_empty());
    let row =
        entity::subscription_invoices::Entity::find_by_id("in_c_1".to_string()).one(app.db()).await.unwrap().unwrap();
    assert_eq!(row.outcome, entity::subscription_invoices::InvoiceOutcome::Skipped);
    assert!(row.reason.unwrap().contains("months"));

    // Bad rules are named, and nothing is stored.
    let mut input = support::campaign_input("Bad");
    input["commissionConfig"]["recurringMonths"] = json!(500);
    input["commissionConfig"]["recurringRate"] = json!("150");
    let fields = app
        .error_fields(
            &app.admin(),
            "mutation($input: CreateCampaignInput!) { createCampaign(input: $input) { id } }",
            json!({"input": input}),
        )
        .await;
    assert_eq!(fields, ["commissionConfig.recurringRate", "commissionConfig.recurringMonths"]);

    // Nora sees her subscriptions and what each invoice earned; Ivan sees none of them.
    let nora_token = app.token(Role::Affiliate, Some(nora["id"].as_str().unwrap().parse().unwrap()));
    let mine = app.ok(&nora_token, LIST, json!({})).await;
    let list = &mine["customerSubscriptions"];
    assert_eq!(list["totalCount"], 2);
    assert_eq!(list["nodes"][0]["stripeSubscriptionId"], "sub_c", "newest first sale first");
    assert_eq!(list["nodes"][0]["stripeCustomerId"], Value::Null, "the shop's customer id is staff's");
    assert_eq!(
        list["nodes"][0]["invoices"],
        json!([{"stripeInvoiceId": "in_c_1", "outcome": "SKIPPED", "amount": "100.00", "commission": null, "commissionStatus": null}])
    );
    assert_eq!(
        list["nodes"][1]["invoices"],
        json!([{"stripeInvoiceId": "in_b_30", "outcome": "RENEWAL", "amount": "100.00", "commission": "5.00", "commissionStatus": "PENDING"}])
    );
    let staff = app.ok(&app.admin(), LIST, json!({})).await;
    assert_eq!(staff["customerSubscriptions"]["nodes"][1]["stripeCustomerId"], "cus_b");
    let ivan = create_affiliate(&app, "Ivan", "ivan@example.com").await;
    let ivan_token = app.token(Role::Affiliate, Some(ivan["id"].as_str().unwrap().parse().unwrap()));
    assert_eq!(app.ok(&ivan_token, LIST, json!({})).await["customerSubscriptions"]["totalCount"], 0);
    assert_eq!(
        app.error_code(
            Some(&ivan_token),
            "query($f: SubscriptionFilter) { customerSubscriptions(filter: $f) { totalCount } }",
            json!({"f": {"affiliateId": nora["id"]}})
        )
        .await,
        "FORBIDDEN"
    );
}

const LIST: &str =
    "{ customerSubscriptions(first: 10) { totalCount nodes { stripeSubscriptionId stripeCustomerId status renewals
    invoices { stripeInvoiceId outcome amount commission commissionStatus } } } }";
