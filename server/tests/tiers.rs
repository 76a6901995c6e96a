//! Programme tiers: an affiliate's credited sales in a calendar month reach thresholds; a
//! tier's rate lifts the month's later sales, its bonus is paid once the month has ended,
//! once; the partner sees where its month stands.

mod support;

use alpes::{auth::Role, service::attribution};
use chrono::{DateTime, Datelike, Duration, TimeZone, Utc};
use rust_decimal::Decimal;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{json, Value};
use support::{create_affiliate, TestApp};

const CREATE: &str =
    "mutation($i: CommissionTierInput!) { createCommissionTier(input: $i) { id name currency minSales rate bonus } }";
const PROGRESS: &str =
    "query($a: ID) { tierProgress(affiliateId: $a) { currency period sales tier { name } nextTier { name } toNext } }";
const AWARD: &str =
    "mutation($p: String!) { awardTierBonuses(period: $p) { period amount currency sales affiliate { name } } }";

fn sale(id: &str, cents: i64, affiliate: &str, at: DateTime<Utc>) -> Value {
    json!({"id": format!("evt_{id}"), "object": "event", "type": "checkout.session.completed", "created": at.timestamp(),
           "data": {"object": {"id": format!("cs_{id}"), "object": "checkout.session", "amount_total": cents,
           "currency": "usd", "payment_status": "paid", "created": at.timestamp(), "payment_intent": format!("pi_{id}"),
           "customer_details": {"email": format!("{id}@buyers.example.com")}, "metadata": {"affiliate": affiliate}}}})
}

async fn expected(app: &TestApp, session: &str) -> Option<Decimal> {
    attribution::attribute_pending(&app.app.state, &app.app.state.markov).await.unwrap();
    let sale = entity::conversions::Entity::find()
        .filter(entity::conversions::Column::ExternalId.eq(session))
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    entity::commissions::Entity::find()
        .filter(entity::commissions::Column::ConversionId.eq(sale.id))
        .one(app.db())
        .await
        .unwrap()
        .and_then(|c| c.expected_amount)
}

fn dec(s: &str) -> Option<Decimal> {
    Some(s.parse().unwrap())
}

#[tokio::test]
async fn a_tier_lifts_the_months_later_sales_and_pays_its_bonus_once_the_month_is_over() {
    let app = TestApp::new().await;
    let admin = app.admin();
    let nora = create_affiliate(&app, "Nora", "nora@example.com").await;
    let ivan = create_affiliate(&app, "Ivan", "ivan@example.com").await;
    let silver = app
        .ok(&admin, CREATE, json!({"i": {"name": "Silver", "currency": "usd", "minSales": "100", "rate": "25"}}))
        .await;
    assert_eq!(
        silver["createCommissionTier"],
        json!({"id": silver["createCommissionTier"]["id"], "name": "Silver", "currency": "USD", "minSales": "100.00", "rate": "25", "bonus": null})
    );
    app.ok(&admin, CREATE, json!({"i": {"name": "Gold", "currency": "USD", "minSales": "300", "bonus": "50"}})).await;

    // Bad terms are all named; a partner cannot add tiers; two tiers cannot start together.
    let fields = app
        .error_fields(&admin, CREATE, json!({"i": {"name": "", "currency": "USD", "minSales": "0", "rate": "150"}}))
        .await;
    assert_eq!(fields, ["name", "minSales", "rate"]);
    let nora_token = app.token(Role::Affiliate, Some(nora["id"].as_str().unwrap().parse().unwrap()));
    let tier = json!({"i": {"name": "Mine", "currency": "USD", "minSales": "1", "rate": "90"}});
    assert_eq!(app.error_code(Some(&nora_token), CREATE, tier).await, "FORBIDDEN");
    let twin = json!({"i": {"name": "Twin", "currency": "USD", "minSales": "100.00", "bonus": "1"}});
    assert_eq!(app.error_code(Some(&admin), CREATE, twin).await, "CONFLICT");
    assert_eq!(app.count("commission_tiers").await, 2);

    // Nora (premium: 20 %) sells $60, $60, $200 this month: from the second sale her
    // month has passed $100 and earns Silver's 25 %.
    let now = Utc::now();
    let month = Utc.with_ymd_and_hms(now.year(), now.month(), 1, 0, 0, 0).unwrap();
    let start = if now - month < Duration::minutes(2) { month } else { now - Duration::seconds(60) };
    let code = nora["code"].as_str().unwrap();
    app.stripe(&sale("n1", 6_000, code, start)).await;
    assert_eq!(expected(&app, "cs_n1").await, dec("12"));
    app.stripe(&sale("n2", 6_000, code, start + Duration::seconds(10))).await;
    assert_eq!(expected(&app, "cs_n2").await, dec("15"));
    app.stripe(&sale("n3", 20_000, code, start + Duration::seconds(20))).await;
    assert_eq!(expected(&app, "cs_n3").await, dec("50"));

    // Her month: $320, Gold reached; Ivan has $100 to go to Silver.
    let period = now.format("%Y-%m").to_string();
    let mine = app.ok(&nora_token, PROGRESS, json!({})).await;
    assert_eq!(
        mine["tierProgress"],
        json!([{"currency": "USD", "period": period, "sales": "320.00", "tier": {"name": "Gold"}, "nextTier": null, "toNext": null}])
    );
    let his = app.ok(&admin, PROGRESS, json!({"a": ivan["id"]})).await;
    assert_eq!(his["tierProgress"][0]["sales"], "0.00");
    assert_eq!(his["tierProgress"][0]["nextTier"], json!({"name": "Silver"}));
    assert_eq!(his["tierProgress"][0]["toNext"], "100.00");
    assert_eq!(app.error_code(Some(&nora_token), PROGRESS, json!({"a": ivan["id"]})).await, "FORBIDDEN");

    // This month has not ended: no bonus yet.
    assert_eq!(app.error_code(Some(&admin), AWARD, json!({"p": period})).await, "VALIDATION");

    // Last month Ivan sold $400: Gold's bonus, once.
    let last = month - Duration::days(3);
    app.stripe(&sale("i1", 40_000, ivan["code"].as_str().unwrap(), last)).await;
    assert_eq!(expected(&app, "cs_i1").await, dec("100"), "25 % once past Silver");
    let last_period = last.format("%Y-%m").to_string();
    let awarded = app.ok(&admin, AWARD, json!({"p": last_period})).await;
    assert_eq!(
        awarded["awardTierBonuses"],
        json!([{"period": last_period, "amount": "50.00", "currency": "USD", "sales": "400.00", "affiliate": {"name": "Ivan"}}])
    );
    assert_eq!(app.ok(&admin, AWARD, json!({"p": last_period})).await["awardTierBonuses"], json!([]));
    let bonus = entity::commissions::Entity::find()
        .filter(
            entity::commissions::Column::AffiliateId.eq(ivan["id"].as_str().unwrap().parse::<uuid::Uuid>().unwrap()),
        )
        .filter(entity::commissions::Column::ConversionId.is_null())
        .all(app.db())
        .await
        .unwrap();
    assert_eq!(bonus.len(), 1);
    assert_eq!(bonus[0].expected_amount, dec("50"));
    assert_eq!(bonus[0].config["origen"], "bono_nivel");
    assert_eq!(bonus[0].config["periodo"], last_period);

    // Each partner sees its own bonuses.
    let ivan_token = app.token(Role::Affiliate, Some(ivan["id"].as_str().unwrap().parse().unwrap()));
    let awards = "{ tierAwards { period amount } }";
    assert_eq!(
        app.ok(&ivan_token, awards, json!({})).await["tierAwards"],
        json!([{"period": last_period, "amount": "50.00"}])
    );
    assert_eq!(app.ok(&nora_token, awards, json!({})).await["tierAwards"], json!([]));
    // Partners see the programme's tiers, to know what to aim for.
    let listed = app.ok(&nora_token, "{ commissionTiers { name minSales } }", json!({})).await;
    assert_eq!(
        listed["commissionTiers"],
        json!([{"name": "Silver", "minSales": "100.00"}, {"name": "Gold", "minSales": "300.00"}])
    );
}
