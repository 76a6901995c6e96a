//! Runs every migration up, uses the schema through the `entity` crate, runs
//! every migration down and up again.
//!
//! On SQLite (in memory) by default; on PostgreSQL when `TEST_DATABASE_URL` is
//! set (e.g. `postgres://postgres@127.0.0.1:5432/postgres`): the test then
//! creates a throw-away database `alpes_mig_<random>` there and drops it at
//! the end, so concurrent runs do not collide.

use std::error::Error;

use chrono::{DateTime, Utc};
use entity::{affiliates, conversions, outbox_events};
use migration::{Migrator, MigratorTrait};
use rust_decimal::Decimal;
use sea_orm_migration::sea_orm::{
    ActiveModelTrait, ActiveValue::NotSet, ConnectionTrait, Database, DatabaseConnection, EntityTrait, IntoActiveModel,
    ModelTrait, Set, SqlErr, Statement,
};
use sea_orm_migration::SchemaManager;
use serde_json::json;
use uuid::Uuid;

type TestResult<T = ()> = Result<T, Box<dyn Error>>;

/// Every table of the data model, in creation order.
const TABLES: [&str; 25] = [
    "affiliates",
    "campaigns",
    "users",
    "tracking_links",
    "tracking_sessions",
    "identity_links",
    "interactions",
    "orders",
    "stripe_webhook_events",
    "conversions",
    "journeys",
    "attribution_credits",
    "payouts",
    "commissions",
    "outbox_events",
    "integration_deliveries",
    "integrations_log",
    "audit_log",
    "traffic_daily",
    "conversion_daily",
    "commission_daily",
    "attribution_shares",
    "attribution_daily",
    "revoked_tokens",
    "api_keys",
];

/// Fails the test with `msg` unless `cond` holds (no panic, so the
/// PostgreSQL database is still dropped).
fn ensure(cond: bool, msg: impl Into<String>) -> TestResult {
    if cond {
        Ok(())
    } else {
        Err(msg.into().into())
    }
}

/// A fixed, whole-second instant: round-trips exactly on both backends.
fn instant() -> TestResult<DateTime<Utc>> {
    DateTime::from_timestamp(1_763_900_000, 0).ok_or_else(|| "bad timestamp".into())
}

async fn check_tables(db: &DatabaseConnection, expected: bool) -> TestResult {
    let manager = SchemaManager::new(db);
    for table in TABLES {
        let exists = manager.has_table(table).await?;
        ensure(exists == expected, format!("table {table}: exists = {exists}, expected {expected}"))?;
    }
    Ok(())
}

fn affiliate(code: &str, email: &str, now: DateTime<Utc>) -> affiliates::Model {
    affiliates::Model {
        id: Uuid::new_v4(),
        code: code.to_owned(),
        name: "Partner One".to_owned(),
        email: email.to_owned(),
        phone: None,
        document_type: Some("NIT".to_owned()),
        document_number: Some("900123456".to_owned()),
        tier: affiliates::AffiliateTier::Premium,
        bank_name: None,
        bank_account_type: None,
        bank_account_number: None,
        base_rate: Decimal::new(105, 1),          // 10.5 %
        premium_rate: Some(Decimal::new(125, 1)), // 12.5 %
        minimum_payout: Decimal::new(5_000_000, 2),
        payout_currency: "COP".to_owned(),
        status: affiliates::AffiliateStatus::Active,
        deleted_at: None,
        created_at: now,
        updated_at: now,
    }
}

async fn insert_outbox(db: &DatabaseConnection, now: DateTime<Utc>) -> TestResult<i64> {
    let id = Uuid::new_v4();
    let model = outbox_events::ActiveModel {
        seq: NotSet,
        id: Set(id),
        topic: Set("alpes.affiliates".to_owned()),
        event_type: Set("AFFILIATE_CREATED".to_owned()),
        aggregate_type: Set("affiliate".to_owned()),
        aggregate_id: Set(id.to_string()),
        affiliate_id: Set(None),
        payload: Set(json!({ "evento_id": id.to_string(), "data": { "tier": "PREMIUM" } })),
        created_at: Set(now),
        published_at: Set(None),
        nats_published_at: Set(None),
    }
    .insert(db)
    .await?;
    ensure(model.id == id, "outbox id round-trip")?;
    ensure(model.payload["data"]["tier"] == "PREMIUM", "outbox payload")?;
    Ok(model.seq)
}

fn conversion(value: Decimal, status: conversions::ConversionStatus, at: DateTime<Utc>) -> conversions::Model {
    conversions::Model {
        id: Uuid::new_v4(),
        external_id: None,
        order_id: None,
        interaction_id: None,
        conversion_type: conversions::ConversionType::Sale,
        value,
        currency: "USD".to_owned(),
        channel: Some("email".to_owned()),
        campaign_id: None,
        affiliate_id: None,
        user_id: None,
        anonymous_id: None,
        customer_email_hash: None,
        customer: json!({}),
        products: json!([]),
        metadata: json!({}),
        status,
        fraud_score: 0,
        fraud_signals: json!([]),
        occurred_at: at,
        created_at: at,
        updated_at: at,
    }
}

/// Rows of three text columns and two integers, as `sql` selects them.
async fn rollup_rows(db: &DatabaseConnection, sql: &str) -> TestResult<Vec<(String, String, String, i64, i64)>> {
    let rows = db.query_all_raw(Statement::from_string(db.get_database_backend(), sql)).await?;
    let mut out = Vec::new();
    for row in rows {
        out.push((
            row.try_get_by_index(0)?,
            row.try_get_by_index(1)?,
            row.try_get_by_index(2)?,
            row.try_get_by_index(3)?,
            row.try_get_by_index(4)?,
        ));
    }
    Ok(out)
}

/// `conversion_daily` as (day, channel, status, conversions, value in ten-thousandths),
/// rows that count nothing left out.
async fn conversion_rollup(db: &DatabaseConnection) -> TestResult<Vec<(String, String, String, i64, i64)>> {
    rollup_rows(
        db,
        "SELECT day, channel, status, conversions, value FROM conversion_daily \
         WHERE conversions <> 0 OR value <> 0 ORDER BY day, channel, status",
    )
    .await
}

/// The triggers keep `conversion_daily` in step with inserts, updates and deletes, money
/// exactly (19.99 and 0.10 are not binary fractions), and a rebuild gives the same rows.
async fn rollups_follow_every_write(db: &DatabaseConnection, now: DateTime<Utc>) -> TestResult {
    use conversions::ConversionStatus::{Attributed, Refunded, Registered};
    let day = now.format("%Y-%m-%d").to_string();
    let mut rows = Vec::new();
    for value in [Decimal::new(1999, 2), Decimal::new(10, 2), Decimal::new(10, 2)] {
        rows.push(conversion(value, Registered, now).into_active_model().reset_all().insert(db).await?);
    }
    let expected = vec![(day.clone(), "email".to_owned(), "REGISTERED".to_owned(), 3, 201_900)];
    ensure(conversion_rollup(db).await? == expected, format!("after inserts: {:?}", conversion_rollup(db).await?))?;

    let mut attributed = rows[0].clone().into_active_model();
    attributed.status = Set(Attributed);
    attributed.update(db).await?;
    let mut refunded = rows[1].clone().into_active_model();
    refunded.status = Set(Refunded);
    refunded.value = Set(Decimal::new(5, 2));
    refunded.update(db).await?;
    rows[2].clone().delete(db).await?;
    let expected = vec![
        (day.clone(), "email".to_owned(), "ATTRIBUTED".to_owned(), 1, 199_900),
        (day.clone(), "email".to_owned(), "REFUNDED".to_owned(), 1, 500),
    ];
    let incremental = conversion_rollup(db).await?;
    ensure(incremental == expected, format!("after updates and a delete: {incremental:?}"))?;

    migration::rebuild_rollups(db, None).await?;
    let rebuilt = conversion_rollup(db).await?;
    ensure(rebuilt == incremental, format!("rebuilt {rebuilt:?} != incremental {incremental:?}"))?;
    attribution_rollup_follows_shares_and_status(db, &day, &rows).await
}

/// `attribution_daily` as (day, model, channel, weight in 10⁻¹², value in ten-thousandths).
async fn attribution_rollup(db: &DatabaseConnection) -> TestResult<Vec<(String, String, String, i64, i64)>> {
    rollup_rows(
        db,
        "SELECT day, model, channel, conversions, value FROM attribution_daily \
         WHERE conversions <> 0 OR value <> 0 ORDER BY day, model, channel",
    )
    .await
}

/// The attribution rollup counts the shares of `ATTRIBUTED` conversions only, whichever
/// comes first (the shares or the status), and a rebuild gives the same rows.
/// `rows[0]` is ATTRIBUTED (19.99), `rows[1]` REFUNDED (0.05).
async fn attribution_rollup_follows_shares_and_status(
    db: &DatabaseConnection,
    day: &str,
    rows: &[conversions::Model],
) -> TestResult {
    use conversions::ConversionStatus::{Attributed, Reverted};
    let backend = db.get_database_backend();
    let nil = Uuid::nil();
    let share = |conversion: Uuid, model: &str, channel: &str, weight: i64, amount: i64| {
        let sql = match backend {
            sea_orm_migration::sea_orm::DbBackend::Postgres => "INSERT INTO attribution_shares \
                (conversion_id, model, campaign_id, affiliate_id, channel, weight, amount) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            _ => "INSERT INTO attribution_shares \
                (conversion_id, model, campaign_id, affiliate_id, channel, weight, amount) VALUES (?, ?, ?, ?, ?, ?, ?)",
        };
        Statement::from_sql_and_values(
            backend,
            sql,
            [conversion.into(), model.into(), nil.into(), nil.into(), channel.into(), weight.into(), amount.into()],
        )
    };
    let whole = 1_000_000_000_000_i64;
    for statement in [
        share(rows[0].id, "LAST_CLICK", "email", whole, 199_900),
        share(rows[0].id, "LINEAR", "email", whole / 2, 99_950),
        share(rows[0].id, "LINEAR", "web", whole / 2, 99_950),
        share(rows[1].id, "LAST_CLICK", "email", whole, 500),
    ] {
        db.execute_raw(statement).await?;
    }
    let attributed = vec![
        (day.to_owned(), "LAST_CLICK".to_owned(), "email".to_owned(), whole, 199_900),
        (day.to_owned(), "LINEAR".to_owned(), "email".to_owned(), whole / 2, 99_950),
        (day.to_owned(), "LINEAR".to_owned(), "web".to_owned(), whole / 2, 99_950),
    ];
    let incremental = attribution_rollup(db).await?;
    ensure(incremental == attributed, format!("shares of an attributed conversion: {incremental:?}"))?;

    // Leaving ATTRIBUTED takes its shares off; coming back puts them on again.
    let mut reverted = rows[0].clone().into_active_model();
    reverted.status = Set(Reverted);
    let reverted = reverted.update(db).await?;
    let after_revert = attribution_rollup(db).await?;
    ensure(after_revert.is_empty(), format!("after a revert: {after_revert:?}"))?;
    let mut back = reverted.into_active_model();
    back.status = Set(Attributed);
    let back = back.update(db).await?;
    ensure(attribution_rollup(db).await? == attributed, "attributed again")?;
    migration::rebuild_rollups(db, None).await?;
    let rebuilt = attribution_rollup(db).await?;
    ensure(rebuilt == attributed, format!("rebuilt {rebuilt:?}"))?;

    // A conversion deleted takes its shares with it.
    back.delete(db).await?;
    let after_delete = attribution_rollup(db).await?;
    ensure(after_delete.is_empty(), format!("after a delete: {after_delete:?}"))?;
    let left: i64 = db
        .query_one_raw(Statement::from_string(backend, "SELECT COUNT(*) AS n FROM attribution_shares"))
        .await?
        .ok_or("no count")?
        .try_get("", "n")?;
    ensure(left == 1, format!("{left} shares left, expected only the refunded conversion's"))
}

async fn exercise(db: &DatabaseConnection) -> TestResult {
    Migrator::up(db, None).await?;
    check_tables(db, true).await?;

    let now = instant()?;

    // affiliates: insert, read back, unique email.
    let first = affiliate("AFF-001", "partner@example.com", now);
    first.clone().into_active_model().reset_all().insert(db).await?;
    let found = affiliates::Entity::find_by_id(first.id).one(db).await?.ok_or("inserted affiliate not found")?;
    ensure(found == first, format!("affiliate round-trip: {found:?}"))?;

    let duplicate = affiliate("AFF-002", "partner@example.com", now);
    match duplicate.into_active_model().reset_all().insert(db).await {
        Ok(_) => return Err("duplicate email accepted (ux_affiliates_email)".into()),
        Err(err) => ensure(
            matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))),
            format!("duplicate email: unexpected error {err}"),
        )?,
    }

    // outbox_events: seq is assigned by the database and increases.
    let seq1 = insert_outbox(db, now).await?;
    let seq2 = insert_outbox(db, now).await?;
    ensure(seq1 > 0 && seq2 > seq1, format!("outbox seq {seq1} then {seq2}"))?;

    rollups_follow_every_write(db, now).await?;
    stored_customers_are_minimised(db, now).await?;

    Migrator::down(db, None).await?;
    check_tables(db, false).await?;

    Migrator::up(db, None).await?;
    check_tables(db, true).await?;
    Ok(())
}

/// A conversion stored with its customer as sent (before customer records were hashed)
/// keeps only hashes once the last migration has run; other keys stay as sent.
async fn stored_customers_are_minimised(db: &DatabaseConnection, now: DateTime<Utc>) -> TestResult {
    let mut old = conversion(Decimal::new(4900, 2), conversions::ConversionStatus::Registered, now);
    old.customer = json!({ "nombre": "Ana Gómez", "telefono": "+57 300 123 4567", "ciudad": "Bogotá" });
    let old = old.into_active_model().reset_all().insert(db).await?;
    // Undo and redo the backfill and the migrations after it (its undo changes nothing).
    let names: Vec<String> = Migrator::migrations().iter().map(|m| m.name().to_string()).collect();
    let backfill =
        names.iter().position(|n| n == "m20261206_000003_minimise_stored_customers").ok_or("the backfill migration")?;
    Migrator::down(db, Some(u32::try_from(names.len() - backfill)?)).await?;
    Migrator::up(db, None).await?;
    let after = conversions::Entity::find_by_id(old.id).one(db).await?.ok_or("conversion kept")?;
    let text = after.customer.to_string();
    ensure(!text.contains("Ana") && !text.contains("300 123"), format!("customer still raw: {text}"))?;
    ensure(after.customer["ciudad"] == "Bogotá", format!("other keys kept: {text}"))?;
    ensure(after.customer["nombre"].as_str().is_some_and(|h| h.len() == 64), format!("name hashed: {text}"))?;
    Ok(())
}

/// `url` with its database name replaced by `name` (query string kept).
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let root = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{root}/{name}?{query}"),
        None => format!("{root}/{name}"),
    }
}

/// Up, down and up again on the backend under test: SQLite (in memory) by default,
/// a fresh PostgreSQL database when `TEST_DATABASE_URL` is set (CI runs both).
#[tokio::test]
async fn up_down_up() -> TestResult {
    let Some(url) = std::env::var("TEST_DATABASE_URL").ok().filter(|u| !u.trim().is_empty()) else {
        let db = Database::connect("sqlite::memory:").await?;
        exercise(&db).await?;
        db.close().await?;
        return Ok(());
    };
    let admin = Database::connect(url.as_str()).await?;
    let name = format!("alpes_mig_{}", Uuid::new_v4().simple());
    admin.execute_unprepared(&format!("CREATE DATABASE \"{name}\"")).await?;

    let result: TestResult = async {
        let db = Database::connect(with_database(&url, &name).as_str()).await?;
        let outcome = exercise(&db).await;
        db.close().await?;
        outcome
    }
    .await;

    let dropped = admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await;
    admin.close().await?;
    result?;
    dropped?;
    Ok(())
}

#[test]
fn with_database_replaces_the_path() {
    assert_eq!(
        with_database("postgres://postgres@127.0.0.1:5432/postgres", "x"),
        "postgres://postgres@127.0.0.1:5432/x"
    );
    assert_eq!(with_database("postgres://u:p@h/db?sslmode=disable", "x"), "postgres://u:p@h/x?sslmode=disable");
    assert_eq!(with_database("postgres://h:5432", "x"), "postgres://h:5432/x");
}
