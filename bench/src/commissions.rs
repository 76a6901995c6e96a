//! `commissions`: the commissions list as the admin UI asks for it,
//! `commissions(first: 100)` with each node's affiliate, campaign and conversion, on a
//! database holding 100 000 commissions. In process (the GraphQL schema of the real
//! service on a real database), so the figure is the query's own cost, without HTTP.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use ::alpes::{
    app::App,
    auth::{Caller, JwtKeys},
    config::Config,
    db, graphql,
};
use chrono::{Duration as Span, Utc};
use entity::{affiliates, campaigns, commissions, conversions};
use rust_decimal::Decimal;
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, IntoActiveModel, TransactionTrait};
use serde_json::json;
use uuid::Uuid;

use crate::{cli::CommissionsArgs, database::BenchDatabase};

const P50_TARGET: Duration = Duration::from_millis(10);
const QUERY: &str = "{ commissions(first: 100) { totalCount edges { node { id status amount currency
    affiliate { id code name } campaign { id code name } conversion { id value currency } } } } }";
/// Rows per INSERT: far below SQLite's and PostgreSQL's parameter limits.
const CHUNK: usize = 500;

pub async fn run(args: CommissionsArgs) -> anyhow::Result<ExitCode> {
    let dir = std::env::temp_dir().join(format!("alpes-bench-commissions-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir)?;
    let database = BenchDatabase::prepare(args.database.as_deref(), &dir, args.keep)?;
    let outcome = measure(&args, &database, &dir).await;
    drop(database);
    if !args.keep {
        let _ = std::fs::remove_dir_all(&dir);
    }
    outcome
}

async fn measure(args: &CommissionsArgs, database: &BenchDatabase, dir: &std::path::Path) -> anyhow::Result<ExitCode> {
    let config = Config::for_database(database.url(), dir.to_path_buf());
    let conn = db::connect(&config).await?;
    db::migrate(&conn).await?;

    let started = Instant::now();
    fill(&conn, args.commissions as usize, args.affiliates as usize).await?;
    let fill_time = started.elapsed();
    eprintln!(
        "{}: {} commissions (with their conversions) over {} affiliates and campaigns, written in {:.1} s",
        database.label(),
        args.commissions,
        args.affiliates,
        fill_time.as_secs_f64()
    );

    let jwt = JwtKeys::from_secret(b"bench-secret-bench-secret-bench-secret");
    let app = App::new(conn, config, jwt);
    let run_once = || async {
        let mut request = async_graphql::Request::new(QUERY);
        request.data = graphql::request_data(&app.state, Some(Caller::system()));
        let started = Instant::now();
        let response = app.schema.execute(request).await;
        (started.elapsed(), response)
    };
    let (_, first) = run_once().await;
    if !first.errors.is_empty() {
        anyhow::bail!("the query failed: {:?}", first.errors);
    }
    let data = first.data.into_json()?;
    let edges = data["commissions"]["edges"].as_array().map_or(0, Vec::len);
    anyhow::ensure!(edges == 100, "expected 100 edges, got {edges}");
    anyhow::ensure!(data["commissions"]["totalCount"] == json!(args.commissions), "wrong totalCount");
    anyhow::ensure!(
        data["commissions"]["edges"][0]["node"]["conversion"]["value"].is_string(),
        "the nested conversion is missing"
    );
    for _ in 0..20 {
        run_once().await;
    }
    let mut times = Vec::with_capacity(args.runs as usize);
    for _ in 0..args.runs {
        let (took, response) = run_once().await;
        anyhow::ensure!(response.errors.is_empty(), "the query failed: {:?}", response.errors);
        times.push(took);
    }
    times.sort();
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    let (p50, p95, max) = (at(0.5), at(0.95), at(1.0));
    let ok = p50 <= P50_TARGET;
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    eprintln!("commissions(first: 100) + affiliate, campaign, conversion — {} runs:", args.runs);
    eprintln!("  p50 {:.2} ms   p95 {:.2} ms   max {:.2} ms", ms(p50), ms(p95), ms(max));
    eprintln!("  target p50 ≤ {} ms  {}", P50_TARGET.as_millis(), if ok { "met" } else { "MISSED" });
    println!(
        "{}",
        json!({
            "mode": "commissions",
            "database": database.kind(),
            "commissions": args.commissions,
            "runs": args.runs,
            "p50_ms": ms(p50),
            "p95_ms": ms(p95),
            "max_ms": ms(max),
            "target_p50_ms": ms(P50_TARGET),
            "met": ok,
        })
    );
    Ok(if args.check && !ok { ExitCode::from(2) } else { ExitCode::SUCCESS })
}

/// Affiliates, campaigns, and `count` conversions each with one commission, spread over
/// the last 90 days and every status.
async fn fill(conn: &sea_orm::DatabaseConnection, count: usize, groups: usize) -> anyhow::Result<()> {
    let now = Utc::now();
    let txn = conn.begin().await?;
    let affiliate_ids: Vec<Uuid> = (0..groups).map(|_| Uuid::now_v7()).collect();
    let campaign_ids: Vec<Uuid> = (0..groups).map(|_| Uuid::now_v7()).collect();
    let affiliates: Vec<affiliates::ActiveModel> = affiliate_ids
        .iter()
        .enumerate()
        .map(|(i, id)| affiliates::ActiveModel {
            id: sea_orm::Set(*id),
            code: sea_orm::Set(format!("bench-af-{i}")),
            name: sea_orm::Set(format!("Bench affiliate {i}")),
            email: sea_orm::Set(format!("af{i}@bench.example")),
            phone: sea_orm::Set(None),
            document_type: sea_orm::Set(None),
            document_number: sea_orm::Set(None),
            tier: sea_orm::Set(affiliates::AffiliateTier::Standard),
            bank_name: sea_orm::Set(None),
            bank_account_type: sea_orm::Set(None),
            bank_account_number: sea_orm::Set(None),
            base_rate: sea_orm::Set(Decimal::new(15, 0)),
            premium_rate: sea_orm::Set(None),
            minimum_payout: sea_orm::Set(Decimal::new(50, 0)),
            payout_currency: sea_orm::Set("USD".into()),
            status: sea_orm::Set(affiliates::AffiliateStatus::Active),
            deleted_at: sea_orm::Set(None),
            created_at: sea_orm::Set(now),
            updated_at: sea_orm::Set(now),
        })
        .collect();
    insert_chunks(&txn, affiliates).await?;
    let campaigns: Vec<campaigns::ActiveModel> =
        campaign_ids.iter().enumerate().map(|(i, id)| campaign(*id, i, now).into_active_model().reset_all()).collect();
    insert_chunks(&txn, campaigns).await?;

    let statuses = [
        commissions::CommissionStatus::Pending,
        commissions::CommissionStatus::Calculated,
        commissions::CommissionStatus::Approved,
        commissions::CommissionStatus::Paid,
        commissions::CommissionStatus::Canceled,
    ];
    let mut start = 0;
    while start < count {
        let end = (start + CHUNK).min(count);
        let mut conversion_rows = Vec::with_capacity(end - start);
        let mut commission_rows = Vec::with_capacity(end - start);
        for n in start..end {
            let at = now - Span::seconds((n as i64 * 7919) % (90 * 24 * 3600));
            let value = Decimal::new(1000 + (n as i64 % 90_000), 2);
            let affiliate = affiliate_ids[n % groups];
            let conversion = Uuid::now_v7();
            conversion_rows.push(conversions::ActiveModel {
                id: sea_orm::Set(conversion),
                external_id: sea_orm::Set(Some(format!("bench-conv-{n}"))),
                order_id: sea_orm::Set(None),
                interaction_id: sea_orm::Set(None),
                conversion_type: sea_orm::Set(conversions::ConversionType::Sale),
                value: sea_orm::Set(value),
                currency: sea_orm::Set("USD".into()),
                channel: sea_orm::Set(Some("affiliate".into())),
                campaign_id: sea_orm::Set(Some(campaign_ids[n % groups])),
                affiliate_id: sea_orm::Set(Some(affiliate)),
                user_id: sea_orm::Set(None),
                anonymous_id: sea_orm::Set(None),
                customer_email_hash: sea_orm::Set(None),
                customer: sea_orm::Set(json!({})),
                products: sea_orm::Set(json!([])),
                metadata: sea_orm::Set(json!({})),
                status: sea_orm::Set(conversions::ConversionStatus::Attributed),
                fraud_score: sea_orm::Set((n % 100) as i32),
                fraud_signals: sea_orm::Set(json!([])),
                occurred_at: sea_orm::Set(at),
                created_at: sea_orm::Set(at),
                updated_at: sea_orm::Set(at),
            });
            let status = statuses[n % statuses.len()];
            let amount =
                (status != commissions::CommissionStatus::Pending).then(|| (value * Decimal::new(15, 2)).round_dp(2));
            commission_rows.push(commissions::ActiveModel {
                id: sea_orm::Set(Uuid::now_v7()),
                conversion_id: sea_orm::Set(Some(conversion)),
                credit_id: sea_orm::Set(None),
                affiliate_id: sea_orm::Set(affiliate),
                campaign_id: sea_orm::Set(Some(campaign_ids[n % groups])),
                payout_id: sea_orm::Set(None),
                adjusts_commission_id: sea_orm::Set(None),
                commission_type: sea_orm::Set(commissions::CommissionType::Percentage),
                base_amount: sea_orm::Set(value),
                rate: sea_orm::Set(amount.map(|_| Decimal::new(15, 0))),
                amount: sea_orm::Set(amount),
                expected_amount: sea_orm::Set(Some((value * Decimal::new(15, 2)).round_dp(2))),
                currency: sea_orm::Set("USD".into()),
                status: sea_orm::Set(status),
                config: sea_orm::Set(json!({})),
                approval_comments: sea_orm::Set(None),
                approval_level: sea_orm::Set(None),
                approval_policy: sea_orm::Set(None),
                approval_metadata: sea_orm::Set(json!({})),
                rejection_reason: sea_orm::Set(None),
                cancel_reason: sea_orm::Set(None),
                calculated_at: sea_orm::Set(amount.map(|_| at)),
                approved_at: sea_orm::Set(None),
                paid_at: sea_orm::Set(None),
                canceled_at: sea_orm::Set(None),
                approved_by: sea_orm::Set(None),
                version: sea_orm::Set(1),
                created_at: sea_orm::Set(at),
                updated_at: sea_orm::Set(at),
            });
        }
        conversions::Entity::insert_many(conversion_rows).exec_without_returning(&txn).await?;
        commissions::Entity::insert_many(commission_rows).exec_without_returning(&txn).await?;
        start = end;
    }
    txn.commit().await?;
    // Planner statistics, and on PostgreSQL the visibility map autovacuum keeps, as a
    // database that has lived a while has them (SQLite's VACUUM would only rewrite the file).
    let maintenance = match conn.get_database_backend() {
        sea_orm::DbBackend::Postgres => "VACUUM ANALYZE",
        _ => "ANALYZE",
    };
    conn.execute_unprepared(maintenance).await?;
    Ok(())
}

fn campaign(id: Uuid, i: usize, now: chrono::DateTime<Utc>) -> campaigns::Model {
    campaigns::Model {
        id,
        code: format!("bench-camp-{i}"),
        name: format!("Bench campaign {i}"),
        description: None,
        starts_at: now - Span::days(365),
        ends_at: None,
        budget: None,
        currency: "USD".into(),
        campaign_type: "promocional".into(),
        channels: json!(["web"]),
        targeting: json!({}),
        allowed_domains: None,
        conversion_rate: Some(Decimal::new(15, 0)),
        sale_rate: Some(Decimal::new(8, 0)),
        bonus_targets: None,
        commission_type: campaigns::CommissionType::Percentage,
        flat_amount: None,
        attribution_model: campaigns::AttributionModel::LastClick,
        lookback_days: 30,
        status: campaigns::CampaignStatus::Active,
        recurring_rate: None,
        recurring_months: None,
        recurring_lifetime: false,
        created_at: now,
        updated_at: now,
    }
}

async fn insert_chunks<A>(txn: &sea_orm::DatabaseTransaction, rows: Vec<A>) -> anyhow::Result<()>
where
    A: ActiveModelTrait + Send,
{
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<A> = rows.by_ref().take(CHUNK).collect();
        <A::Entity as EntityTrait>::insert_many(chunk).exec_without_returning(txn).await?;
    }
    Ok(())
}
