//! The daily rollups behind the dashboard and metrics: after a random workload through the
//! real services (ingest, checkouts, refunds, attribution, fraud reverts, approvals,
//! payouts — the demo seeder draws it afresh each run) the rollups kept by the triggers
//! equal the ones rebuilt from the raw tables; and a million amounts that are not binary
//! fractions sum to the cent in every report. On SQLite, and on PostgreSQL in CI.

mod support;

use alpes::{
    db::DatabaseConnection,
    service::{
        attribution,
        rollup::{self, Days},
    },
};
use axum::{
    body::Body,
    http::{Request, StatusCode},
};
use chrono::{Duration, Utc};
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::json;
use support::TestApp;

async fn seed(app: &TestApp, days: u32) -> serde_json::Value {
    let request = Request::builder()
        .method("POST")
        .uri(format!("/api/v1/admin/seed?days={days}"))
        .header("authorization", format!("Bearer {}", app.admin()))
        .body(Body::empty())
        .unwrap_or_else(|e| panic!("request: {e}"));
    let (status, _, body) = app.send(request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn snapshot(db: &DatabaseConnection) -> Vec<String> {
    rollup::snapshot(db).await.unwrap_or_else(|e| panic!("snapshot: {e}"))
}

#[tokio::test]
async fn rollups_kept_by_every_write_equal_the_rebuilt_ones() {
    let app = TestApp::new().await;
    // The seeder draws its workload afresh each run: seed until it has refunded something
    // (refunds move conversions and commissions between rollup rows).
    let mut refunds = seed(&app, 3).await["refunds"].as_u64().unwrap_or(0);
    for _ in 0..20 {
        if refunds > 0 {
            break;
        }
        refunds += seed(&app, 1).await["refunds"].as_u64().unwrap_or(0);
    }
    assert!(refunds > 0, "no refund in 23 seeded days");

    let incremental = snapshot(app.db()).await;
    // The daily rollups, and the coarse ones their triggers keep (the rebuild below sums
    // those again from the daily ones: equal snapshots prove the triggers right).
    for table in rollup::TABLES {
        assert!(incremental.iter().any(|line| line.starts_with(&format!("{table} "))), "{table} is empty");
    }
    // On PostgreSQL the coarse rollups' changes wait in their pending tables until folded:
    // folding them moves every one and changes no figure.
    let waiting = rollup::pending(app.db()).await.unwrap_or_else(|e| panic!("pending: {e}"));
    let folded = rollup::fold(app.db()).await.unwrap_or_else(|e| panic!("fold: {e}"));
    assert_eq!(folded, Some(waiting), "fold moved another count than was pending");
    assert_eq!(rollup::pending(app.db()).await.ok(), Some(0));
    if app.db().get_database_backend() == DbBackend::Postgres {
        assert!(waiting > 0, "no change was pending after seeding");
    }
    assert_eq!(snapshot(app.db()).await, incremental, "folding changed the coarse rollups");
    rollup::rebuild(app.db(), None).await.unwrap_or_else(|e| panic!("rebuild: {e}"));
    let rebuilt = snapshot(app.db()).await;
    assert_eq!(rebuilt, incremental, "rebuilt rollups differ from the incremental ones");

    // Rebuilding a range leaves the other days alone and gives the same rows.
    let today = Utc::now().date_naive();
    let days = Days { first: today - Duration::days(1), last: today };
    rollup::rebuild(app.db(), Some(days)).await.unwrap_or_else(|e| panic!("rebuild a range: {e}"));
    assert_eq!(snapshot(app.db()).await, incremental);

    // The dashboard reads them: its figures are the raw tables' counts.
    let admin = app.admin();
    let d = app.ok(&admin, "{ dashboard(period: \"7d\") { clicks conversions } }", json!({})).await;
    assert_eq!(d["dashboard"]["clicks"].as_i64(), Some(app.count("interactions WHERE kind = 'CLICK'").await));
    let counted = app.count("conversions WHERE status NOT IN ('REVERTED', 'REJECTED', 'REFUNDED')").await;
    assert_eq!(d["dashboard"]["conversions"].as_i64(), Some(counted));

    // Programme-wide lists take their size from the coarse rollups (a status, whole UTC
    // days): the same as counting the rows; any other filter counts the rows.
    let day = match app.db().get_database_backend() {
        DbBackend::Postgres => "to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
        _ => "substr(occurred_at, 1, 10)",
    };
    let (first, last) = (today - Duration::days(4), today);
    let at = |d: chrono::NaiveDate| d.and_time(chrono::NaiveTime::MIN).and_utc();
    let range = json!({ "from": at(first), "to": at(last + Duration::days(1)) });
    let within = format!("{day} >= '{first}' AND {day} <= '{last}'");
    // The seeder's refunds are whole or partial: an order of one of those statuses was refunded.
    let refunded =
        if app.count("orders WHERE status = 'REFUNDED'").await > 0 { "REFUNDED" } else { "PARTIALLY_REFUNDED" };
    for (list, filter, rows) in [
        ("conversions", json!({}), "conversions".to_string()),
        ("conversions", json!({ "status": "ATTRIBUTED" }), "conversions WHERE status = 'ATTRIBUTED'".into()),
        ("conversions", range.clone(), format!("conversions WHERE {within}")),
        ("commissions", json!({}), "commissions".into()),
        ("commissions", json!({ "status": "CALCULATED" }), "commissions WHERE status = 'CALCULATED'".into()),
        ("commissions", range.clone(), format!("commissions WHERE {}", within.replace("occurred_at", "created_at"))),
        ("orders", json!({}), "orders".into()),
        ("orders", json!({ "status": "PAID" }), "orders WHERE status = 'PAID'".into()),
        ("orders", json!({ "status": refunded }), format!("orders WHERE status = '{refunded}'")),
        ("orders", range.clone(), format!("orders WHERE {}", within.replace("occurred_at", "created_at"))),
    ] {
        let kind = match list {
            "conversions" => "ConversionFilter",
            "commissions" => "CommissionFilter",
            _ => "OrderFilter",
        };
        let query = format!("query($f: {kind}) {{ {list}(filter: $f, first: 1) {{ totalCount }} }}");
        let total = app.ok(&admin, &query, json!({ "f": filter })).await[list]["totalCount"].as_i64();
        let expected = app.count(&rows).await;
        assert!(expected > 0, "nothing to count in {rows}");
        assert_eq!(total, Some(expected), "{list} {filter}");
    }

    // The attribution report reads whole days from the rollup and the hours before and after
    // them from each conversion's shares: the same conversions give the same figures either way.
    let query =
        "query($from: DateTime!, $to: DateTime!) { attributionReport(from: $from, to: $to, groupBy: AFFILIATE) \
                 { conversions rows { model key currency conversions value } } }";
    let midnight = |day: chrono::NaiveDate| day.and_time(chrono::NaiveTime::MIN).and_utc();
    let start = midnight(today - Duration::days(30));
    let heuristic = |report: &serde_json::Value| {
        let rows = report["attributionReport"]["rows"].as_array().cloned().unwrap_or_default();
        let rows: Vec<serde_json::Value> = rows.into_iter().filter(|r| r["model"] != "MARKOV").collect();
        (report["attributionReport"]["conversions"].clone(), rows)
    };
    let whole_days = app.ok(&admin, query, json!({ "from": start, "to": midnight(today + Duration::days(1)) })).await;
    let with_edges = app
        .ok(&admin, query, json!({ "from": start - Duration::hours(12), "to": Utc::now() + Duration::minutes(5) }))
        .await;
    let (attributed, rows) = heuristic(&whole_days);
    assert_eq!(attributed.as_i64(), Some(app.count("conversions WHERE status = 'ATTRIBUTED'").await));
    assert!(rows.len() > 5, "{whole_days}");
    assert_eq!(heuristic(&with_edges), (attributed, rows));

    // Journeys stored before their shares existed get them at start-up: the rollup is whole again.
    let before = snapshot(app.db()).await;
    app.db()
        .execute_unprepared("DELETE FROM attribution_shares")
        .await
        .unwrap_or_else(|e| panic!("delete shares: {e}"));
    let emptied = snapshot(app.db()).await;
    assert!(!emptied.iter().any(|line| line.starts_with("attribution_daily")), "{emptied:?}");
    let filled = attribution::backfill_shares(app.db(), &app.app.state.config.attribution)
        .await
        .unwrap_or_else(|e| panic!("backfill: {e}"));
    assert_eq!(filled as i64, app.count("journeys WHERE touchpoints <> '[]'").await);
    assert_eq!(snapshot(app.db()).await, before);
}

/// Inserts `n` attributed USD conversions of today, alternately 0.10 and 19.99, and as many
/// approved commissions of the same amounts, generated by the database itself.
async fn insert_amounts(db: &DatabaseConnection, affiliate: &str, n: i64) {
    let backend = db.get_database_backend();
    let now = Utc::now().to_rfc3339();
    let amount = "CASE WHEN i % 2 = 0 THEN 0.10 ELSE 19.99 END";
    let (numbers, id, json, at, affiliate_id) = match backend {
        DbBackend::Postgres => (
            format!("generate_series(0, {}) AS i", n - 1),
            "gen_random_uuid()".to_string(),
            "'{}'::jsonb",
            format!("'{now}'::timestamptz"),
            format!("'{affiliate}'::uuid"),
        ),
        _ => (
            format!(
                "(WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < {}) SELECT i FROM s)",
                n - 1
            ),
            "randomblob(16)".to_string(),
            "'{}'",
            format!("'{now}'"),
            format!("X'{}'", affiliate.replace('-', "")),
        ),
    };
    let conversions = format!(
        "INSERT INTO conversions (id, conversion_type, value, currency, channel, status, fraud_score, customer, \
         products, metadata, fraud_signals, occurred_at, created_at, updated_at) \
         SELECT {id}, 'SALE', {amount}, 'USD', 'exact', 'ATTRIBUTED', 0, {json}, {json}, {json}, {json}, {at}, {at}, {at} \
         FROM {numbers}"
    );
    let commissions = format!(
        "INSERT INTO commissions (id, affiliate_id, commission_type, base_amount, amount, currency, status, config, \
         approval_metadata, version, created_at, updated_at) \
         SELECT {id}, {affiliate_id}, 'FLAT', {amount}, {amount}, 'USD', 'APPROVED', {json}, {json}, 1, {at}, {at} \
         FROM {numbers}"
    );
    for sql in [conversions, commissions] {
        db.execute_raw(Statement::from_string(backend, sql)).await.unwrap_or_else(|e| panic!("insert: {e}"));
    }
}

#[tokio::test]
async fn a_million_amounts_sum_to_the_cent_in_every_report() {
    let app = TestApp::new().await;
    let admin = app.admin();
    let affiliate = support::create_affiliate(&app, "Exact Partner", "exact@example.com").await;
    let affiliate_id = affiliate["id"].as_str().unwrap_or_default().to_string();
    const N: i64 = 1_000_000;
    insert_amounts(app.db(), &affiliate_id, N).await;
    // 500 000 × 0.10 + 500 000 × 19.99; the average, 10.045, rounds half-even to 10.04.
    let exact = "10045000.00";

    let d = app
        .ok(&admin, "{ dashboard(period: \"1d\", currency: \"USD\") { conversions revenue commissions { status count amount } } }", json!({}))
        .await;
    assert_eq!(d["dashboard"]["conversions"], N);
    assert_eq!(d["dashboard"]["revenue"], exact);
    let approved =
        d["dashboard"]["commissions"].as_array().and_then(|b| b.iter().find(|b| b["status"] == "APPROVED")).cloned();
    assert_eq!(approved, Some(json!({ "status": "APPROVED", "count": N, "amount": exact })));

    let m = app.ok(&admin, "{ conversionMetrics(period: \"1d\", channel: \"exact\") { conversions byCurrency { currency value average } } }", json!({})).await;
    assert_eq!(m["conversionMetrics"]["conversions"], N);
    assert_eq!(
        m["conversionMetrics"]["byCurrency"],
        json!([{ "currency": "USD", "value": exact, "average": "10.04" }])
    );

    let r = app
        .ok(&admin, "{ commissionReport(period: \"1d\", groupBy: AFFILIATE) { rows { count amount approvedAmount } totals { count amount } } }", json!({}))
        .await;
    assert_eq!(r["commissionReport"]["rows"], json!([{ "count": N, "amount": exact, "approvedAmount": exact }]));
    assert_eq!(r["commissionReport"]["totals"], json!([{ "count": N, "amount": exact }]));

    // Rebuilt from the raw rows, the sums are the same.
    let before = snapshot(app.db()).await;
    rollup::rebuild(app.db(), None).await.unwrap_or_else(|e| panic!("rebuild: {e}"));
    assert_eq!(snapshot(app.db()).await, before);
}

/// A sale of `affiliate` (no campaign, channel `web`, USD, now) in `status`, with the last
/// click's share of it stored when it is attributed.
async fn sale<C: ConnectionTrait>(db: &C, affiliate: uuid::Uuid, status: &str) -> uuid::Uuid {
    let backend = db.get_database_backend();
    let id = uuid::Uuid::now_v7();
    let (uuid, affiliate_key, at) = match backend {
        DbBackend::Postgres => (
            format!("'{id}'::uuid"),
            format!("'{affiliate}'::uuid"),
            format!("'{}'::timestamptz", Utc::now().to_rfc3339()),
        ),
        _ => (
            format!("X'{}'", id.simple()),
            format!("X'{}'", affiliate.simple()),
            format!("'{}'", Utc::now().to_rfc3339()),
        ),
    };
    let json = if backend == DbBackend::Postgres { "'{}'::jsonb" } else { "'{}'" };
    let sql = format!(
        "INSERT INTO conversions (id, conversion_type, value, currency, channel, affiliate_id, status, fraud_score, \
         customer, products, metadata, fraud_signals, occurred_at, created_at, updated_at) \
         VALUES ({uuid}, 'SALE', 50.00, 'USD', 'web', {affiliate_key}, '{status}', 0, {json}, {json}, {json}, {json}, \
         {at}, {at}, {at})"
    );
    db.execute_raw(Statement::from_string(backend, sql)).await.unwrap_or_else(|e| panic!("sale: {e}"));
    if status == "ATTRIBUTED" {
        share(db, &uuid, &affiliate_key).await.unwrap_or_else(|e| panic!("share: {e}"));
    }
    id
}

/// The last click's whole share of a sale (`conversion` and `affiliate` as SQL literals).
async fn share<C: ConnectionTrait>(db: &C, conversion: &str, affiliate: &str) -> Result<(), sea_orm::DbErr> {
    let backend = db.get_database_backend();
    let nil = match backend {
        DbBackend::Postgres => "'00000000-0000-0000-0000-000000000000'::uuid".to_string(),
        _ => format!("X'{}'", uuid::Uuid::nil().simple()),
    };
    let sql = format!(
        "INSERT INTO attribution_shares (conversion_id, model, campaign_id, affiliate_id, channel, weight, amount) \
         VALUES ({conversion}, 'LAST_CLICK', {nil}, {affiliate}, 'web', 1000000000000, 500000)"
    );
    db.execute_raw(Statement::from_string(backend, sql)).await.map(|_| ())
}

/// Found by the crash test's load on PostgreSQL (about ten deadlocks a minute): the
/// attribution of a sale claims it (its day's conversion rollup row), then stores its shares
/// (its day's attribution rollup row); a refund of another sale of that day moved the
/// attribution row first, then the conversion row. Each waited for the other. Every writer
/// now takes the conversion row first.
#[tokio::test]
async fn an_attribution_and_a_refund_of_the_same_day_do_not_deadlock() {
    use sea_orm::TransactionTrait;
    let app = TestApp::new().await;
    let db = app.db();
    let affiliate = support::create_affiliate(&app, "A", "a@example.com").await;
    let affiliate: uuid::Uuid = affiliate["id"].as_str().unwrap_or_default().parse().unwrap_or_default();
    let backend = db.get_database_backend();
    let literal = |id: uuid::Uuid| match backend {
        DbBackend::Postgres => format!("'{id}'::uuid"),
        _ => format!("X'{}'", id.simple()),
    };
    let claimed = sale(db, affiliate, "REGISTERED").await;
    let refunded = sale(db, affiliate, "ATTRIBUTED").await;

    let attributing = db.begin().await.unwrap_or_else(|e| panic!("begin: {e}"));
    let claim = format!("UPDATE conversions SET status = 'ATTRIBUTED' WHERE id = {}", literal(claimed));
    attributing.execute_unprepared(&claim).await.unwrap_or_else(|e| panic!("claim: {e}"));
    let refund = async {
        let txn = db.begin().await?;
        let sql = format!("UPDATE conversions SET status = 'REFUNDED' WHERE id = {}", literal(refunded));
        txn.execute_unprepared(&sql).await?;
        txn.commit().await
    };
    let attribution = async {
        // The refund is under way (waiting, or done on SQLite's single writer's turn).
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        share(&attributing, &literal(claimed), &literal(affiliate)).await?;
        attributing.commit().await
    };
    let (refund, attribution) = tokio::join!(refund, attribution);
    assert!(refund.is_ok() && attribution.is_ok(), "refund: {refund:?}, attribution: {attribution:?}");
    let kept = snapshot(db).await;
    rollup::rebuild(db, None).await.unwrap_or_else(|e| panic!("rebuild: {e}"));
    assert_eq!(snapshot(db).await, kept, "kept = rebuilt");
}
