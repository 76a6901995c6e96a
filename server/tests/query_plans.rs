//! Every list the admin app offers (with each filter its pages send, first and next page)
//! and every report reads large tables through an index: each SQL statement they run is
//! explained (`EXPLAIN QUERY PLAN` on SQLite; `EXPLAIN` on PostgreSQL with sequential scans
//! priced out, so a plan still scans only where no index serves) and the test fails on a
//! full scan of a table that grows with traffic. On SQLite, and on PostgreSQL in CI.

mod support;

use alpes::{auth::Role, service::rollup};
use axum::{body::Body, http::Request, http::StatusCode};
use chrono::{Duration, Utc};
use sea_orm::{ConnectionTrait, DbBackend, Statement, TransactionTrait};
use serde_json::{json, Value};
use support::TestApp;
use uuid::Uuid;

/// Tables that grow with traffic, sales or time (and the rollups: `rollup::TABLES`).
const LARGE: [&str; 16] = [
    "interactions",
    "tracking_sessions",
    "identity_links",
    "orders",
    "stripe_webhook_events",
    "conversions",
    "journeys",
    "attribution_credits",
    "attribution_shares",
    "commissions",
    "outbox_events",
    "integration_deliveries",
    "integrations_log",
    "audit_log",
    "subscriptions",
    "subscription_invoices",
];

/// Coarse rollups a programme-wide list's total reads whole when it names no days: their
/// rows are days × channels × currencies × statuses, as many at ten million interactions
/// as at ten thousand. A read of some days must still take their key.
const READ_WHOLE_FOR_TOTALS: [&str; 3] = ["conversions_by_channel", "commissions_by_day", "orders_by_day"];

/// The large tables a plan reads whole, with the plan's lines.
async fn full_scans(app: &TestApp, statement: &Statement) -> Vec<String> {
    let db = app.db();
    let backend = db.get_database_backend();
    let lines: Vec<String> = match backend {
        DbBackend::Postgres => {
            let txn = db.begin().await.unwrap_or_else(|e| panic!("begin: {e}"));
            txn.execute_unprepared("SET LOCAL enable_seqscan = off").await.unwrap_or_else(|e| panic!("set: {e}"));
            let explain = Statement {
                sql: format!("EXPLAIN {}", statement.sql),
                values: statement.values.clone(),
                db_backend: backend,
            };
            let rows = txn.query_all_raw(explain).await.unwrap_or_else(|e| panic!("explain {}: {e}", statement.sql));
            let _ = txn.rollback().await;
            rows.iter().filter_map(|r| r.try_get_by_index::<String>(0).ok()).collect()
        }
        _ => {
            let explain = Statement {
                sql: format!("EXPLAIN QUERY PLAN {}", statement.sql),
                values: statement.values.clone(),
                db_backend: backend,
            };
            let rows = db.query_all_raw(explain).await.unwrap_or_else(|e| panic!("explain {}: {e}", statement.sql));
            rows.iter().filter_map(|r| r.try_get::<String>("", "detail").ok()).collect()
        }
    };
    assert!(!lines.is_empty(), "no plan for {}", statement.sql);
    let mut scans = Vec::new();
    for line in &lines {
        let line = line.trim().trim_start_matches("->").trim();
        // SQLite: `SCAN t` reads the table; `SCAN t USING [COVERING] INDEX i` walks an index
        // in order (a page of a list under LIMIT, or a count over an index) and is allowed.
        // PostgreSQL: `Seq Scan on t`.
        let table = match backend {
            DbBackend::Postgres => line.strip_prefix("Seq Scan on ").map(|rest| rest.split_whitespace().next()),
            _ => line
                .strip_prefix("SCAN ")
                .filter(|rest| !rest.contains(" USING "))
                .map(|rest| rest.split_whitespace().next()),
        };
        if let Some(Some(table)) = table {
            let table = table.trim_matches('"');
            let real = alias_of(&statement.sql, table).unwrap_or(table);
            // On PostgreSQL a coarse rollup is read through a view of its folded rows (which
            // must not be read whole) and its few pending changes (read whole, folded each second).
            let real = real.strip_suffix("_folded").unwrap_or(real);
            if READ_WHOLE_FOR_TOTALS.contains(&real) && !statement.sql.contains("\"day\"") {
                continue;
            }
            if LARGE.contains(&real) || rollup::TABLES.contains(&real) {
                scans.push(format!("{real}: {}", lines.join(" | ")));
            }
        }
    }
    scans
}

/// The table behind `alias` in `sql` (`"table" AS "alias"`, or `table alias` in SQL
/// written by hand), if it is an alias.
fn alias_of<'a>(sql: &'a str, alias: &str) -> Option<&'a str> {
    let needle = format!(" AS \"{alias}\"");
    if let Some(at) = sql.find(&needle) {
        let before = sql[..at].trim_end().trim_end_matches('"');
        let start = before.rfind('"')? + 1;
        return Some(&before[start..]);
    }
    let words: Vec<&str> = sql.split_whitespace().collect();
    words.windows(3).find_map(|w| match w {
        [from, table, name] if matches!(*from, "FROM" | "JOIN") && *name == alias => Some(*table),
        _ => None,
    })
}

async fn seed(app: &TestApp) {
    let request = Request::builder()
        .method("POST")
        .uri("/api/v1/admin/seed?days=3")
        .header("authorization", format!("Bearer {}", app.admin()))
        .body(Body::empty())
        .unwrap_or_else(|e| panic!("request: {e}"));
    let (status, _, body) = app.send(request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// The lists and filters of the admin app's pages (`web/src/pages`), and the reports.
fn operations(campaign: &str, affiliate: &str) -> Vec<(&'static str, Value)> {
    let from = (Utc::now() - Duration::days(7)).to_rfc3339();
    let to = (Utc::now() + Duration::days(1)).to_rfc3339();
    let range = |mut filter: Value| {
        filter["from"] = json!(from);
        filter["to"] = json!(to);
        filter
    };
    let mut ops: Vec<(&'static str, Value)> = Vec::new();
    let conversions =
        "query($filter: ConversionFilter, $after: String) { conversions(filter: $filter, first: 25, after: $after) \
        { totalCount pageInfo { hasNextPage endCursor } nodes { id campaign { id code } affiliate { id code } } } }";
    let orders = "query($filter: OrderFilter, $after: String) { orders(filter: $filter, first: 25, after: $after) \
        { totalCount pageInfo { hasNextPage endCursor } nodes { id campaign { id } affiliate { id } } } }";
    let commissions =
        "query($filter: CommissionFilter, $after: String) { commissions(filter: $filter, first: 25, after: $after) \
        { totalCount pageInfo { hasNextPage endCursor } nodes { id affiliate { id code } campaign { id code } } } }";
    for (query, status) in [(conversions, "ATTRIBUTED"), (orders, "PAID"), (commissions, "PENDING")] {
        for filter in [
            json!({}),
            json!({ "status": status }),
            json!({ "campaignId": campaign }),
            json!({ "affiliateId": affiliate }),
            range(json!({})),
            range(json!({ "status": status })),
            range(json!({ "status": status, "campaignId": campaign, "affiliateId": affiliate })),
        ] {
            ops.push((query, json!({ "filter": filter })));
        }
    }
    ops.push((
        "query($filter: WebhookEventFilter) { webhookEvents(filter: $filter, first: 25) { totalCount nodes { id } } }",
        json!({ "filter": { "status": "PROCESSED" } }),
    ));
    ops.push(("{ webhookEvents(first: 25) { totalCount nodes { id } } }", json!({})));
    ops.push(("{ affiliates(first: 25, filter: { status: ACTIVE }) { totalCount nodes { id } } }", json!({})));
    ops.push(("{ campaigns(first: 25, filter: { search: \"a\" }) { totalCount nodes { id } } }", json!({})));
    ops.push(("{ trackingLinks(first: 25) { totalCount nodes { id } } }", json!({})));
    ops.push(("{ payouts(first: 25) { totalCount nodes { id } } }", json!({})));
    for filter in [json!({}), json!({ "status": "ACTIVE" }), json!({ "affiliateId": affiliate, "status": "ACTIVE" })] {
        ops.push((
            "query($filter: SubscriptionFilter) { customerSubscriptions(filter: $filter, first: 25) { totalCount nodes { id invoices { stripeInvoiceId commission } } } }",
            json!({ "filter": filter }),
        ));
    }
    ops.push(("{ integrationDeliveries(first: 25, filter: { status: DEAD }) { totalCount nodes { id } } }", json!({})));
    ops.push(("{ integrationLog(first: 25) { totalCount nodes { id } } }", json!({})));
    ops.push((
        "{ dashboard(period: \"30d\") { clicks conversions revenue leads { leads sales } byCampaign { key } } }",
        json!({}),
    ));
    ops.push((
        "{ conversionMetrics(period: \"30d\") { conversions byCurrency { value } byStatus { count } } }",
        json!({}),
    ));
    ops.push(("{ couponUsage(period: \"30d\") { orders revenue { amount } } }", json!({})));
    ops.push((
        "query($filter: CommissionFilter) { commissionReport(period: \"30d\", groupBy: AFFILIATE, filter: $filter) { rows { key } } }",
        json!({ "filter": { "status": "PENDING" } }),
    ));
    ops.push((
        "{ reconciliation(period: \"30d\") { violations currencies { currency } checks { code violations } } }",
        json!({}),
    ));
    for model in ["LAST_CLICK", "LINEAR", "MARKOV"] {
        ops.push((
            "query($model: AttributionModel, $from: DateTime!, $to: DateTime!) { attributionReport(model: $model, from: $from, to: $to) { conversions } }",
            json!({ "model": model, "from": from, "to": to }),
        ));
    }
    ops
}

#[tokio::test]
async fn lists_and_reports_read_large_tables_through_indexes() {
    let app = TestApp::new().await;
    seed(&app).await;
    // SQLite plans as for tables of unknown, large size (statistics of a small test
    // database would make it prefer scans a real one would not).
    if app.db().get_database_backend() == DbBackend::Sqlite {
        let _ = app.db().execute_unprepared("DROP TABLE IF EXISTS sqlite_stat1").await;
    }
    let admin = app.admin();
    let ids = app
        .ok(&admin, "{ campaigns(first: 1) { nodes { id } } affiliates(first: 1) { nodes { id } } }", json!({}))
        .await;
    let campaign = ids["campaigns"]["nodes"][0]["id"].as_str().unwrap_or_default().to_string();
    let affiliate = ids["affiliates"]["nodes"][0]["id"].as_str().unwrap_or_default().to_string();
    assert!(!campaign.is_empty() && !affiliate.is_empty(), "{ids}");
    let partner = app.token(Role::Affiliate, Some(Uuid::parse_str(&affiliate).unwrap_or_default()));
    // A code of that affiliate, so that the usage report reads the orders.
    app.ok(
        &admin,
        "mutation($a: ID!) { createCoupon(affiliateId: $a, code: \"PLAN10\") { id } }",
        json!({ "a": affiliate }),
    )
    .await;

    // A subscription of that affiliate with a renewal, so that the list reads invoices.
    let now = Utc::now().timestamp();
    let object = json!({"id": "cs_plan_sub", "object": "checkout.session", "mode": "subscription", "amount_total": 2_000,
        "currency": "usd", "payment_status": "paid", "customer": "cus_plan", "subscription": "sub_plan",
        "metadata": {"affiliate": affiliate}});
    let invoice = json!({"id": "in_plan_1", "object": "invoice", "billing_reason": "subscription_cycle", "subscription": "sub_plan",
        "amount_paid": 2_000, "currency": "usd", "created": now, "payment_intent": "pi_plan_1"});
    for (id, kind, object) in
        [("evt_plan_cs", "checkout.session.completed", object), ("evt_plan_in", "invoice.paid", invoice)]
    {
        let (status, body) = app
            .stripe(&json!({"id": id, "object": "event", "type": kind, "created": now, "data": {"object": object}}))
            .await;
        assert_eq!(body["status"], "processed", "{status} {body}");
    }

    let mut failures = Vec::new();
    let mut explained = 0;
    for (token, who) in [(&admin, "ADMIN"), (&partner, "AFFILIATE")] {
        for (query, variables) in operations(&campaign, &affiliate) {
            // The first page, then the next one when there is one (keyset cursors).
            let mut pages = vec![variables.clone()];
            app.reset_statements();
            let (_, first) = app.post_graphql(Some(token), query, variables.clone()).await;
            // An operation that fails runs no SQL and would prove nothing: an admin's must answer.
            if who == "ADMIN" {
                assert!(first["errors"].is_null(), "{query}: {first}");
            }
            let mut statements = app.statements_with_values();
            if let Some(cursor) = first["data"]
                .as_object()
                .and_then(|d| d.values().next())
                .filter(|list| list["pageInfo"]["hasNextPage"] == json!(true))
                .and_then(|list| list["pageInfo"]["endCursor"].as_str())
            {
                let mut next = variables.clone();
                next["after"] = json!(cursor);
                app.reset_statements();
                app.ok(token, query, next.clone()).await;
                statements.extend(app.statements_with_values());
                pages.push(next);
            }
            for statement in statements.iter().filter(|s| s.sql.trim_start().to_uppercase().starts_with("SELECT")) {
                explained += 1;
                for scan in full_scans(&app, statement).await {
                    failures.push(format!("{who} {query} {pages:?}\n  {}\n  full scan of {scan}", statement.sql));
                }
            }
        }
    }
    assert!(explained > 50, "only {explained} statements explained");
    assert!(failures.is_empty(), "{} full scans:\n{}", failures.len(), failures.join("\n\n"));
}
