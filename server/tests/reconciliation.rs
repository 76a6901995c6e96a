//! Reconciliation (`reconciliation(period)`, `alpes reconcile`): a demo programme made
//! through the real services balances; each invariant, broken by hand in the database,
//! is reported by its own check with the row's id, and by no other.

mod support;

use std::collections::BTreeMap;

use alpes::auth::Role;
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::{json, Value};
use support::TestApp;
use uuid::Uuid;

const RECONCILE: &str = "query($p: String!) { reconciliation(period: $p) {
    from to balanced violations
    currencies { currency orders paid refunded net credits credited clawbacks clawedBack
      conversions { status count amount } commissions { status count amount base } payouts { status count amount } }
    checks { code description subject violations examples } } }";

async fn reconcile(app: &TestApp) -> Value {
    app.ok(&app.admin(), RECONCILE, json!({ "p": "60d" })).await["reconciliation"].clone()
}

/// Each check's violations and example ids.
fn failing(report: &Value) -> BTreeMap<String, (u64, Vec<String>)> {
    let checks = report["checks"].as_array().cloned().unwrap_or_default();
    assert_eq!(checks.len(), 10, "{report}");
    checks
        .iter()
        .filter(|c| c["violations"].as_u64() != Some(0))
        .map(|c| {
            let examples = c["examples"].as_array().cloned().unwrap_or_default();
            let ids = examples.iter().filter_map(|e| e.as_str().map(str::to_owned)).collect();
            (c["code"].as_str().unwrap_or_default().to_string(), (c["violations"].as_u64().unwrap_or(0), ids))
        })
        .collect()
}

/// `sql` with `?` placeholders, run with `ids` on either backend.
async fn exec(app: &TestApp, sql: &str, ids: &[Uuid]) {
    let backend = app.db().get_database_backend();
    let mut text = String::new();
    for (n, part) in sql.split('?').enumerate() {
        if n > 0 {
            text.push_str(&match backend {
                DbBackend::Postgres => format!("${n}"),
                _ => "?".to_string(),
            });
        }
        text.push_str(part);
    }
    let values: Vec<sea_orm::Value> = ids.iter().map(|id| (*id).into()).collect();
    app.db()
        .execute_raw(Statement::from_sql_and_values(backend, text, values))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// The ids (columns `a` and `b`) of the first row of `sql`.
async fn pick(app: &TestApp, sql: &str) -> (Uuid, Uuid) {
    let backend = app.db().get_database_backend();
    let row = app
        .db()
        .query_one_raw(Statement::from_string(backend, format!("{sql} ORDER BY 1 LIMIT 1")))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .unwrap_or_else(|| panic!("no row for {sql}"));
    let get = |column: &str| row.try_get::<Uuid>("", column).unwrap_or_else(|e| panic!("{column}: {e}"));
    (get("a"), get("b"))
}

/// After `break_it`, only `code` fails, once, naming `id`; after `mend`, nothing fails.
async fn only(app: &TestApp, code: &str, id: Uuid) {
    let report = reconcile(app).await;
    let failing = failing(&report);
    let expected = BTreeMap::from([(code.to_string(), (1, vec![id.to_string()]))]);
    assert_eq!(failing, expected, "{report}");
    assert_eq!(report["balanced"], false);
    assert_eq!(report["violations"], 1);
}

async fn balanced(app: &TestApp) {
    let report = reconcile(app).await;
    assert_eq!(failing(&report), BTreeMap::new(), "{report}");
    assert_eq!(report["balanced"], true);
}

/// A commission of a paid, unrefunded sale that is calculated and in no payout, with a
/// rate and no bonus: (commission, conversion).
const OPEN_COMMISSION: &str = "SELECT c.id AS a, v.id AS b FROM commissions c \
    JOIN conversions v ON v.id = c.conversion_id JOIN orders o ON o.id = v.order_id \
    WHERE o.status = 'PAID' AND c.status IN ('CALCULATED', 'APPROVED') AND c.payout_id IS NULL \
    AND c.rate IS NOT NULL AND c.credit_id IS NOT NULL AND c.adjusts_commission_id IS NULL \
    AND CAST(c.config AS TEXT) NOT LIKE '%objetivo_cumplido%'";

#[tokio::test]
async fn a_demo_programme_balances_and_each_broken_invariant_is_named() {
    let app = TestApp::new().await;
    let admin = app.admin();
    app.ok(&admin, "mutation { seedDemoData(days: 30) { days } }", json!({})).await;

    let report = reconcile(&app).await;
    assert_eq!(failing(&report), BTreeMap::new(), "{report}");
    assert_eq!(report["balanced"], true);
    // The books agree with the raw tables, per currency, and never mix currencies.
    let currencies = report["currencies"].as_array().cloned().unwrap_or_default();
    assert!(!currencies.is_empty(), "{report}");
    for books in &currencies {
        let currency = books["currency"].as_str().unwrap_or_default();
        let paid = app
            .count(&format!(
                "orders WHERE currency = '{currency}' AND status IN ('PAID', 'PARTIALLY_REFUNDED', 'REFUNDED')"
            ))
            .await;
        assert_eq!(books["orders"].as_i64(), Some(paid), "{books}");
        let money = |field: &str| books[field].as_str().unwrap_or_default().parse::<rust_decimal::Decimal>().ok();
        let (Some(p), Some(r), Some(n)) = (money("paid"), money("refunded"), money("net")) else {
            panic!("money as decimals: {books}");
        };
        assert_eq!(p - r, n, "{books}");
        assert_eq!(p.scale(), 2, "amounts in the currency's minor unit: {books}");
        let conversions: i64 = books["conversions"]
            .as_array()
            .map(|t| t.iter().filter_map(|t| t["count"].as_i64()).sum())
            .unwrap_or_default();
        assert_eq!(conversions, app.count(&format!("conversions WHERE currency = '{currency}'")).await);
        let commissions: i64 = books["commissions"]
            .as_array()
            .map(|t| t.iter().filter_map(|t| t["count"].as_i64()).sum())
            .unwrap_or_default();
        let made = format!("commissions WHERE currency = '{currency}' AND adjusts_commission_id IS NULL");
        assert_eq!(commissions, app.count(&made).await);
    }

    // Credits: a weight off by 10^-12.
    let (credit, conversion) = pick(
        &app,
        "SELECT k.id AS a, k.conversion_id AS b FROM attribution_credits k WHERE k.is_current = TRUE AND k.weight < 1",
    )
    .await;
    exec(&app, "UPDATE attribution_credits SET weight = weight + 0.000000000001 WHERE id = ?", &[credit]).await;
    only(&app, "CREDITS_MATCH_CONVERSION", conversion).await;
    exec(&app, "UPDATE attribution_credits SET weight = weight - 0.000000000001 WHERE id = ?", &[credit]).await;
    balanced(&app).await;

    // A credit in another currency than its conversion.
    let (credit, conversion) = pick(
        &app,
        "SELECT k.id AS a, k.conversion_id AS b FROM attribution_credits k WHERE k.is_current = TRUE AND k.currency = 'USD'",
    )
    .await;
    exec(&app, "UPDATE attribution_credits SET currency = 'EUR' WHERE id = ?", &[credit]).await;
    only(&app, "CURRENCIES_AGREE", conversion).await;
    exec(&app, "UPDATE attribution_credits SET currency = 'USD' WHERE id = ?", &[credit]).await;

    // A base 100.00 above its credit, its amount moved with it (so the rate still holds).
    let (commission, _) = pick(&app, OPEN_COMMISSION).await;
    exec(
        &app,
        "UPDATE commissions SET base_amount = base_amount + 100, amount = amount + rate WHERE id = ?",
        &[commission],
    )
    .await;
    only(&app, "COMMISSION_BASE_FOLLOWS_CREDIT", commission).await;
    exec(
        &app,
        "UPDATE commissions SET base_amount = base_amount - 100, amount = amount - rate WHERE id = ?",
        &[commission],
    )
    .await;

    // An amount one cent off its base × rate.
    exec(&app, "UPDATE commissions SET amount = amount + 0.01 WHERE id = ?", &[commission]).await;
    only(&app, "COMMISSION_AMOUNT_FOLLOWS_RATE", commission).await;
    exec(&app, "UPDATE commissions SET amount = amount - 0.01 WHERE id = ?", &[commission]).await;
    balanced(&app).await;

    // A partial refund the commissions did not follow.
    let order_of = "SELECT o.id AS a, v.id AS b FROM orders o JOIN conversions v ON v.order_id = o.id WHERE v.id IN \
                    (SELECT v.id FROM commissions c JOIN conversions v ON v.id = c.conversion_id JOIN orders o ON o.id = v.order_id \
                     WHERE o.status = 'PAID' AND o.amount > 2 AND c.status IN ('CALCULATED', 'APPROVED') AND c.payout_id IS NULL \
                     AND c.adjusts_commission_id IS NULL)";
    let (order, conversion) = pick(&app, order_of).await;
    exec(&app, "UPDATE orders SET refunded_amount = 1, status = 'PARTIALLY_REFUNDED' WHERE id = ?", &[order]).await;
    only(&app, "PARTIAL_REFUND_FOLLOWED", conversion).await;
    exec(&app, "UPDATE orders SET refunded_amount = 0, status = 'PAID' WHERE id = ?", &[order]).await;

    // A reverted sale whose commission is still payable.
    exec(&app, "UPDATE conversions SET status = 'REVERTED' WHERE id = ?", &[conversion]).await;
    only(&app, "NOTHING_PAYABLE_AFTER_REVERSAL", conversion).await;
    exec(&app, "UPDATE conversions SET status = 'ATTRIBUTED' WHERE id = ?", &[conversion]).await;

    // A paid order without its conversion.
    exec(&app, "UPDATE conversions SET order_id = NULL WHERE id = ?", &[conversion]).await;
    only(&app, "PAID_ORDER_HAS_ONE_CONVERSION", order).await;
    exec(&app, "UPDATE conversions SET order_id = ? WHERE id = ?", &[order, conversion]).await;
    balanced(&app).await;

    // A payout a cent above its commissions.
    let (payout, _) = pick(&app, "SELECT id AS a, affiliate_id AS b FROM payouts").await;
    exec(&app, "UPDATE payouts SET amount = amount + 0.01 WHERE id = ?", &[payout]).await;
    only(&app, "PAYOUT_MATCHES_COMMISSIONS", payout).await;
    exec(&app, "UPDATE payouts SET amount = amount - 0.01 WHERE id = ?", &[payout]).await;
    balanced(&app).await;

    // State changes without their audit rows.
    let text = |id: Uuid| id.to_string();
    let (commission, _) = pick(&app, OPEN_COMMISSION).await;
    let audit = format!("audit_log WHERE entity_type = 'commission' AND entity_id = '{}'", text(commission));
    assert!(app.count(&audit).await >= 2, "created and calculated");
    app.db().execute_unprepared(&format!("DELETE FROM {audit}")).await.unwrap_or_else(|e| panic!("delete audit: {e}"));
    only(&app, "COMMISSION_CHANGES_AUDITED", commission).await;
    let audit = format!("audit_log WHERE entity_type = 'payout' AND entity_id = '{}'", text(payout));
    app.db().execute_unprepared(&format!("DELETE FROM {audit}")).await.unwrap_or_else(|e| panic!("delete audit: {e}"));
    let report = reconcile(&app).await;
    let failing = failing(&report);
    assert_eq!(failing.get("PAYOUT_CHANGES_AUDITED"), Some(&(1, vec![payout.to_string()])), "{report}");
    assert_eq!(report["violations"], 2);
}

#[tokio::test]
async fn the_books_are_for_staff_over_a_valid_period() {
    let app = TestApp::new().await;
    let analyst = app.token(Role::Analyst, None);
    let empty = app.ok(&analyst, RECONCILE, json!({ "p": "2026-01" })).await;
    assert_eq!(empty["reconciliation"]["balanced"], true, "{empty}");
    assert_eq!(empty["reconciliation"]["currencies"], json!([]), "{empty}");
    let from = empty["reconciliation"]["from"].as_str().unwrap_or_default();
    assert!(from.starts_with("2026-01-01T00:00:00"), "{empty}");

    let affiliate = app.token(Role::Affiliate, Some(Uuid::now_v7()));
    assert_eq!(app.error_code(Some(&affiliate), RECONCILE, json!({ "p": "30d" })).await, "FORBIDDEN");
    assert_eq!(app.error_code(None, RECONCILE, json!({ "p": "30d" })).await, "UNAUTHENTICATED");
    for bad in ["800d", "2026-13", "soon", "2026-02-01..2026-01-01"] {
        let (_, body) = app.post_graphql(Some(&app.admin()), RECONCILE, json!({ "p": bad })).await;
        assert_eq!(body["errors"][0]["extensions"]["code"], "VALIDATION", "{bad}: {body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], "period", "{bad}: {body}");
    }
}
