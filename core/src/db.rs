//! Connecting to the database (SQLite embedded, or PostgreSQL) and migrating it.

use std::{
    sync::{Arc, LazyLock},
    time::Duration,
};

use migration::{Migrator, MigratorTrait};
/// The pool handle the server passes to the services (it does not depend on SeaORM itself).
pub use sea_orm::DatabaseConnection;
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseTransaction, DbBackend, DbErr, SqliteTransactionMode, Statement,
    TransactionOptions, TransactionTrait,
};

use crate::{config::Config, error::AppError};

/// Opens the pool. SQLite runs in WAL mode with foreign keys on; its directory is created.
pub async fn connect(config: &Config) -> anyhow::Result<DatabaseConnection> {
    let url = config.effective_database_url();
    if let Some(path) = sqlite_path(&url) {
        if let Some(parent) = std::path::Path::new(&path).parent() {
            if !parent.as_os_str().is_empty() {
                std::fs::create_dir_all(parent)
                    .map_err(|e| anyhow::anyhow!("cannot create database directory {}: {e}", parent.display()))?;
            }
        }
    }
    let mut options = ConnectOptions::new(url.clone());
    // A request waits at most this long for a connection: when the database is down it
    // gets 503 with Retry-After within seconds rather than hanging.
    options.sqlx_logging(false).acquire_timeout(Duration::from_secs(3)).connect_timeout(Duration::from_secs(3));
    if url.starts_with("sqlite:") {
        options.max_connections(8).min_connections(1).map_sqlx_sqlite_opts(|opts| {
            opts.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .foreign_keys(true)
                // A request waits this long for another writer's lock, then gets 503.
                .busy_timeout(Duration::from_secs(4))
        });
        options.map_sqlx_sqlite_pool_opts(|pool| pool.after_release(|conn, _| Box::pin(still_sound(conn))));
    } else {
        // A statement waits this long for a lock another transaction holds, then gets 503.
        options
            .max_connections(20)
            .min_connections(1)
            .map_sqlx_postgres_opts(|opts| opts.options([("lock_timeout", "4s")]));
    }
    Database::connect(options)
        .await
        .map_err(|e| anyhow::anyhow!("cannot connect to the database ({}): {e}", crate::config::redact(&url)))
}

/// Whether a SQLite connection handed back to the pool may serve again. A write that
/// fails for want of space or on an I/O error makes SQLite roll the transaction back by
/// itself; the driver's ROLLBACK then fails, it still counts the connection as in a
/// transaction, and would start the next one as a savepoint that nothing ever releases,
/// holding the write lock for good (every other writer "database is locked" until a
/// restart). Such a connection is closed instead; the pool opens a fresh one.
async fn still_sound(conn: &mut sea_orm::sqlx::SqliteConnection) -> Result<bool, sea_orm::sqlx::Error> {
    use sea_orm::sqlx::Connection;
    if !conn.is_in_transaction() {
        return Ok(true);
    }
    // A rollback queued when its transaction was dropped runs before this ping.
    conn.ping().await?;
    Ok(!conn.is_in_transaction())
}

/// Applies pending migrations. Replicas starting together take turns: on PostgreSQL a
/// transaction-scoped advisory lock is held while one migrates (the others then find
/// nothing to do); on SQLite this process's writers wait for their turn.
pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    /// Any fixed number: the lock of Alpes' migrations ("alpesmig").
    const MIGRATION_LOCK: i64 = 0x616c_7065_736d_6967;
    let failed = |e: DbErr| anyhow::anyhow!("migration failed: {e}");
    match db.get_database_backend() {
        DbBackend::Postgres => {
            let lock = db.begin().await.map_err(failed)?;
            lock.execute_raw(Statement::from_string(
                DbBackend::Postgres,
                format!("SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"),
            ))
            .await
            .map_err(failed)?;
            let migrated = Migrator::up(db, None).await.map_err(failed);
            lock.commit().await.map_err(failed)?;
            migrated
        }
        _ => {
            let _turn = write_turn(db).await;
            Migrator::up(db, None).await.map_err(failed)
        }
    }
}

/// Copies the SQLite database to `output` (which must not exist) while others read and
/// write: `VACUUM INTO` writes a consistent, compacted snapshot. PostgreSQL is backed up
/// with its own tools (`pg_dump`).
pub async fn backup(db: &DatabaseConnection, output: &std::path::Path) -> anyhow::Result<()> {
    if db.get_database_backend() != DbBackend::Sqlite {
        anyhow::bail!("alpes backup copies the embedded SQLite database; for PostgreSQL use pg_dump");
    }
    let path = output.to_string_lossy().into_owned();
    db.execute_raw(Statement::from_sql_and_values(DbBackend::Sqlite, "VACUUM INTO ?", [path.into()]))
        .await
        .map_err(|e| anyhow::anyhow!("backup to {} failed: {e}", output.display()))?;
    Ok(())
}

/// SQLite has one writer at a time. Writers of this process wait for their turn here, in
/// order, instead of in SQLite's busy handler, which sleeps in growing steps (up to
/// 100 ms) and made the slowest writes hundreds of times slower than the median.
static SQLITE_WRITER: LazyLock<Arc<tokio::sync::Mutex<()>>> = LazyLock::new(Default::default);

/// A turn to write: held until the write transaction ends (SQLite only).
pub type WriteTurn = Option<tokio::sync::OwnedMutexGuard<()>>;

/// Waits for this process's turn to write (a no-op on PostgreSQL).
pub async fn write_turn(db: &DatabaseConnection) -> WriteTurn {
    if db.get_database_backend() == DbBackend::Sqlite {
        Some(SQLITE_WRITER.clone().lock_owned().await)
    } else {
        None
    }
}

/// How long a request waits in line for this process's turn to write before it is told
/// the database is busy (503, Retry-After): a line that does not move means another
/// process holds the file's lock, and the request should not hang behind it.
const TURN_WAIT: Duration = Duration::from_secs(3);

/// Starts a transaction that will write, with its turn: keep both until commit. On SQLite
/// it also takes the file's write lock at once (`BEGIN IMMEDIATE`), so that another
/// process's writer queues instead of failing on lock upgrade.
pub async fn write_txn(db: &DatabaseConnection) -> Result<(DatabaseTransaction, WriteTurn), AppError> {
    let turn = tokio::time::timeout(TURN_WAIT, write_turn(db))
        .await
        .map_err(|_| AppError::Unavailable("the database is busy; retry in a moment".into()))?;
    let mode = (db.get_database_backend() == DbBackend::Sqlite).then_some(SqliteTransactionMode::Immediate);
    let txn = db.begin_with_options(TransactionOptions { sqlite_transaction_mode: mode, ..Default::default() }).await?;
    Ok((txn, turn))
}

/// A write failed because the disk (or the file size limit) was full, and no readiness
/// probe's write has gone through since.
static DISK_FULL: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// A write failed for want of space: readiness fails until a write goes through again.
pub(crate) fn note_disk_full() {
    DISK_FULL.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// Does the database take writes now? SQLite: the write lock can be had (`BEGIN
/// IMMEDIATE`, waiting up to the busy timeout) and, after a write failed for want of
/// space, a real write commits again; PostgreSQL: not a read-only standby or session.
pub async fn takes_writes(db: &DatabaseConnection) -> Result<bool, AppError> {
    use sea_orm::{ConnectionTrait, Statement};
    match db.get_database_backend() {
        DbBackend::Postgres => {
            let sql = "SELECT (NOT pg_is_in_recovery() AND current_setting('transaction_read_only') = 'off') AS ok";
            let row = db.query_one_raw(Statement::from_string(DbBackend::Postgres, sql)).await?;
            Ok(row.and_then(|r| r.try_get::<bool>("", "ok").ok()).unwrap_or(false))
        }
        _ => {
            let (txn, _turn) = write_txn(db).await?;
            if !DISK_FULL.load(std::sync::atomic::Ordering::Relaxed) {
                txn.rollback().await?;
                return Ok(true);
            }
            // A write that changes nothing but is written all the same (a row rewritten
            // with its own values): space for it means space for the next one.
            let probe = "UPDATE seaql_migrations SET version = version \
                         WHERE version = (SELECT MIN(version) FROM seaql_migrations)";
            txn.execute_raw(Statement::from_string(DbBackend::Sqlite, probe)).await?;
            txn.commit().await?;
            DISK_FULL.store(false, std::sync::atomic::Ordering::Relaxed);
            Ok(true)
        }
    }
}

/// A file size limit (`ulimit -f`) makes a write past it fail with an error the database
/// reports as a full disk, instead of killing the process with `SIGXFSZ`.
pub fn survive_file_size_limit() {
    // SAFETY: setting a signal's disposition to "ignore" touches no memory of this process.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
}

fn sqlite_path(url: &str) -> Option<String> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && path != ":memory:" && !path.starts_with("file:")).then(|| path.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_paths() {
        assert_eq!(sqlite_path("sqlite://./data/alpes.db?mode=rwc").as_deref(), Some("./data/alpes.db"));
        assert_eq!(sqlite_path("sqlite::memory:"), None);
        assert_eq!(sqlite_path("postgres://x"), None);
    }
}
