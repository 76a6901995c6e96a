//! Replicas starting together on a fresh database migrate it once, whichever comes first.

mod support;

use alpes::{config::Config, db};
use sea_orm::{ConnectionTrait, Statement};

#[tokio::test]
async fn replicas_starting_together_migrate_once() {
    let url = support::fresh_database_url().await;
    let config = Config::for_database(&url, std::env::temp_dir());
    let mut replicas = Vec::new();
    for _ in 0..3 {
        replicas.push(db::connect(&config).await.unwrap_or_else(|e| panic!("connect: {e}")));
    }
    let migrated = futures::future::join_all(replicas.iter().map(db::migrate)).await;
    for result in migrated {
        result.unwrap_or_else(|e| panic!("a replica failed to migrate: {e}"));
    }
    let conn = &replicas[0];
    let rows = conn
        .query_all_raw(Statement::from_string(
            conn.get_database_backend(),
            "SELECT version, COUNT(*) AS n FROM seaql_migrations GROUP BY version HAVING COUNT(*) > 1",
        ))
        .await
        .unwrap();
    assert!(rows.is_empty(), "a migration recorded twice");
    let applied = conn
        .query_one_raw(Statement::from_string(
            conn.get_database_backend(),
            "SELECT COUNT(*) AS n FROM seaql_migrations",
        ))
        .await
        .unwrap()
        .and_then(|row| row.try_get::<i64>("", "n").ok())
        .unwrap_or_default();
    let files = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../migration/src"))
        .unwrap()
        .filter_map(Result::ok)
        .filter(|f| f.file_name().to_string_lossy().starts_with("m20"))
        .count();
    assert_eq!(applied as usize, files, "every migration applied once");
}
