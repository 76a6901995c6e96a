//! The tracking ingest's SQLite writer: one OS thread that owns one connection and runs
//! each group-commit batch start to finish (check, inserts, commit) without leaving it.
//!
//! Through the async driver every statement of a batch is a message to the driver's own
//! thread and a wake-up back; under load each of those waits for a core, and a batch of a
//! dozen statements spent more time in those hand-overs than in SQLite. Here a batch is
//! one hand-over there and one back, the statements are prepared once and reused, and the
//! page cache stays warm (a SQLite connection drops it whenever another connection wrote).
//!
//! Values are written exactly as the ORM's driver writes them (UUIDs as 16-byte blobs,
//! times as RFC 3339 text, JSON and decimals as text), so every other reader sees the same
//! rows as before. PostgreSQL and in-memory databases keep the ORM path.

use std::{
    collections::{HashMap, HashSet},
    sync::{mpsc, Arc, LazyLock, Mutex},
};

use chrono::SecondsFormat;
use rusqlite::types::Value as Sql;
use sea_orm::{ActiveModelTrait, DatabaseConnection, DbBackend, EntityName, EntityTrait, IdenStatic, Iterable, Value};
use tokio::sync::oneshot;

use crate::{
    db::WriteTurn,
    error::{AppError, AppResult},
};

/// Prepared statements kept by the writer's connection.
const STATEMENT_CACHE: usize = 64;

/// The idempotency key of a unit: an interaction's or a conversion's external id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    Interaction(String),
    Conversion(String),
}

/// One row to insert: its statement's text and its values in column order.
pub struct Row {
    sql: Arc<str>,
    values: Vec<Sql>,
}

/// The rows of one ingested item, written all or none: skipped when its key is stored.
pub struct Unit {
    pub key: Option<Key>,
    pub rows: Vec<Row>,
}

struct Batch {
    units: Vec<Unit>,
    /// This process's turn to write, given back as soon as the transaction ends.
    turn: WriteTurn,
    reply: oneshot::Sender<Result<Vec<bool>, rusqlite::Error>>,
}

/// A batch handed to the writer; [`Pending::wait`] gives its answer.
pub struct Pending(oneshot::Receiver<Result<Vec<bool>, rusqlite::Error>>);

impl Pending {
    /// For each unit, whether its key was already stored (then nothing of it was written).
    pub async fn wait(self) -> AppResult<Vec<bool>> {
        self.0
            .await
            .map_err(|_| AppError::Unavailable("tracking ingest writer stopped".into()))?
            .map_err(|err| AppError::internal(anyhow::anyhow!("tracking ingest write failed: {err}")))
    }
}

/// Handle on the writer thread; the thread ends when the last handle is dropped.
pub struct SqliteWriter {
    sender: Mutex<mpsc::Sender<Batch>>,
}

impl SqliteWriter {
    /// Starts the writer on `db`'s file. `None` for PostgreSQL and in-memory databases.
    pub fn start(db: &DatabaseConnection) -> AppResult<Option<Self>> {
        if db.get_database_backend() != DbBackend::Sqlite {
            return Ok(None);
        }
        let options = db.get_sqlite_connection_pool().connect_options();
        let file = options.get_filename().to_path_buf();
        if file.as_os_str().is_empty() || file == std::path::Path::new(":memory:") {
            return Ok(None);
        }
        let connection = open(&file).map_err(AppError::internal)?;
        let wal = WalWriteOut::open(&file);
        let (sender, receiver) = mpsc::channel::<Batch>();
        std::thread::Builder::new()
            .name("alpes-ingest".into())
            .spawn(move || {
                let mut connection = connection;
                while let Ok(Batch { units, turn, reply }) = receiver.recv() {
                    let written = write(&mut connection, &units);
                    drop(turn);
                    let _ = reply.send(written);
                    let _ = wal.start();
                }
            })
            .map_err(AppError::internal)?;
        Ok(Some(Self { sender: Mutex::new(sender) }))
    }

    /// Hands `units` to the writer, to be written in one transaction while `turn` is held;
    /// returns at once. The caller may prepare its next batch meanwhile.
    pub fn submit(&self, units: Vec<Unit>, turn: WriteTurn) -> AppResult<Pending> {
        let (reply, answer) = oneshot::channel();
        self.sender
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .send(Batch { units, turn, reply })
            .map_err(|_| AppError::Unavailable("tracking ingest writer stopped".into()))?;
        Ok(Pending(answer))
    }
}

fn open(file: &std::path::Path) -> rusqlite::Result<rusqlite::Connection> {
    let connection = rusqlite::Connection::open(file)?;
    // As the pool's connections (db.rs), plus a cache for the writer's hot index pages.
    // The WAL is checkpointed by whichever connection commits past 1000 pages, in the
    // writer that is this one: a few milliseconds every few thousand events (its sync of
    // the WAL is short because the WAL is written out as it grows: `WalWriteOut`). Done by a
    // connection of its own in parallel it was 20 % faster at the maximum rate, but its
    // fsyncs stalled this connection's commits by 10-30 ms and tripled p99 latency.
    connection.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;
         PRAGMA busy_timeout = 10000; PRAGMA cache_size = -65536;",
    )?;
    connection.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(connection)
}

/// Starts the kernel writing the WAL's new pages to disk, without waiting for it (Linux).
///
/// With `synchronous = NORMAL` a commit only copies its pages into the OS's cache; they go
/// to disk when the WAL is checkpointed, whose first step syncs the whole WAL with the
/// writer stopped: on a VM disk 15-25 ms every few thousand events, the ingest's slowest
/// answers. Started after every commit, the write-out runs while the writer works and the
/// checkpoint's sync finds little left to do. It changes nothing of what is durable when.
struct WalWriteOut(Option<std::fs::File>);

impl WalWriteOut {
    /// The WAL of the database `file`; without it (not there yet, no permission) nothing
    /// is started and the checkpoints sync everything as before.
    fn open(file: &std::path::Path) -> Self {
        let mut wal = file.as_os_str().to_owned();
        wal.push("-wal");
        let wal = std::fs::File::open(&wal)
            .inspect_err(|err| tracing::warn!(error = %err, "no WAL file to write out; checkpoints sync it all"))
            .ok();
        Self(wal)
    }

    /// A failure only leaves the work to the checkpoint's sync: the writer ignores it.
    #[cfg(target_os = "linux")]
    fn start(&self) -> std::io::Result<()> {
        use std::os::fd::AsRawFd;
        let Some(wal) = &self.0 else { return Ok(()) };
        // SAFETY: a valid open descriptor, a whole-file range, a flag the call defines;
        // no memory is passed.
        match unsafe { libc::sync_file_range(wal.as_raw_fd(), 0, 0, libc::SYNC_FILE_RANGE_WRITE) } {
            0 => Ok(()),
            _ => Err(std::io::Error::last_os_error()),
        }
    }

    #[cfg(not(target_os = "linux"))]
    fn start(&self) -> std::io::Result<()> {
        let _ = &self.0;
        Ok(())
    }
}

fn write(connection: &mut rusqlite::Connection, units: &[Unit]) -> Result<Vec<bool>, rusqlite::Error> {
    let txn = connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let stored = stored_keys(&txn, units)?;
    let mut replayed = Vec::with_capacity(units.len());
    for unit in units {
        if unit.key.as_ref().is_some_and(|key| stored.contains(key)) {
            replayed.push(true);
            continue;
        }
        for row in &unit.rows {
            txn.prepare_cached(&row.sql)?.execute(rusqlite::params_from_iter(row.values.iter()))?;
        }
        replayed.push(false);
    }
    txn.commit()?;
    Ok(replayed)
}

/// The keys of `units` already stored, in one statement per table.
fn stored_keys(txn: &rusqlite::Transaction<'_>, units: &[Unit]) -> rusqlite::Result<HashSet<Key>> {
    let keys = || units.iter().filter_map(|u| u.key.as_ref());
    let interactions: Vec<&String> = keys()
        .filter_map(|k| match k {
            Key::Interaction(id) => Some(id),
            Key::Conversion(_) => None,
        })
        .collect();
    let conversions: Vec<&String> = keys()
        .filter_map(|k| match k {
            Key::Conversion(id) => Some(id),
            Key::Interaction(_) => None,
        })
        .collect();
    let mut stored = HashSet::new();
    for id in stored_ids(txn, "interactions", &interactions)? {
        stored.insert(Key::Interaction(id));
    }
    for id in stored_ids(txn, "conversions", &conversions)? {
        stored.insert(Key::Conversion(id));
    }
    Ok(stored)
}

/// Which of `ids` are an `external_id` of `table`: one statement, the ids as a JSON array.
fn stored_ids(txn: &rusqlite::Transaction<'_>, table: &str, ids: &[&String]) -> rusqlite::Result<Vec<String>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let ids = serde_json::to_string(ids).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
    let sql = format!("SELECT external_id FROM {table} WHERE external_id IN (SELECT value FROM json_each(?1))");
    let mut statement = txn.prepare_cached(&sql)?;
    let found = statement.query_map([ids], |row| row.get(0))?.collect();
    found
}

/// Statement texts by table and conflict clause, built once.
static STATEMENTS: LazyLock<Mutex<HashMap<StatementKey, Arc<str>>>> = LazyLock::new(Default::default);

/// A table and the conflict clause of its insert.
type StatementKey = (&'static str, &'static str);

/// The row `model` inserts: every column it sets, in the entity's column order, then
/// `on_conflict` (e.g. `ON CONFLICT (anonymous_id) DO NOTHING`, or empty).
pub fn row<A: ActiveModelTrait>(mut model: A, on_conflict: &'static str) -> AppResult<Row> {
    let table = A::Entity::default().table_name();
    let columns: Vec<_> =
        <A::Entity as EntityTrait>::Column::iter().filter(|column| !model.get(*column).is_not_set()).collect();
    let sql = STATEMENTS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .entry((table, on_conflict))
        .or_insert_with(|| {
            let names: Vec<String> = columns.iter().map(|c| format!("\"{}\"", c.as_str())).collect();
            let slots: Vec<String> = (1..=columns.len()).map(|i| format!("?{i}")).collect();
            format!("INSERT INTO \"{table}\" ({}) VALUES ({}) {on_conflict}", names.join(", "), slots.join(", ")).into()
        })
        .clone();
    let mut values = Vec::with_capacity(columns.len());
    for column in columns {
        let value = model
            .take(column)
            .into_value()
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("{table}.{} has no value to insert", column.as_str())))?;
        values.push(
            sql_value(value).map_err(|e| AppError::internal(anyhow::anyhow!("{table}.{}: {e}", column.as_str())))?,
        );
    }
    Ok(Row { sql, values })
}

/// A value as the ORM's SQLite driver binds it.
fn sql_value(value: Value) -> Result<Sql, String> {
    let integer = |v: Option<i64>| v.map_or(Sql::Null, Sql::Integer);
    Ok(match value {
        Value::Bool(v) => integer(v.map(i64::from)),
        Value::TinyInt(v) => integer(v.map(i64::from)),
        Value::SmallInt(v) => integer(v.map(i64::from)),
        Value::Int(v) => integer(v.map(i64::from)),
        Value::BigInt(v) => integer(v),
        Value::TinyUnsigned(v) => integer(v.map(i64::from)),
        Value::SmallUnsigned(v) => integer(v.map(i64::from)),
        Value::Unsigned(v) => integer(v.map(i64::from)),
        Value::Float(v) => v.map_or(Sql::Null, |v| Sql::Real(f64::from(v))),
        Value::Double(v) => v.map_or(Sql::Null, Sql::Real),
        Value::String(v) => v.map_or(Sql::Null, Sql::Text),
        Value::Char(v) => v.map_or(Sql::Null, |c| Sql::Text(c.to_string())),
        Value::Bytes(v) => v.map_or(Sql::Null, Sql::Blob),
        Value::ChronoDateTimeUtc(v) => {
            v.map_or(Sql::Null, |t| Sql::Text(t.to_rfc3339_opts(SecondsFormat::AutoSi, false)))
        }
        Value::ChronoDateTimeWithTimeZone(v) => {
            v.map_or(Sql::Null, |t| Sql::Text(t.to_rfc3339_opts(SecondsFormat::AutoSi, false)))
        }
        Value::Uuid(v) => v.map_or(Sql::Null, |u| Sql::Blob(u.as_bytes().to_vec())),
        Value::Decimal(v) => v.map_or(Sql::Null, |d| Sql::Text(d.to_string())),
        Value::Json(v) => v.map_or(Sql::Null, |j| Sql::Text(j.to_string())),
        other => return Err(format!("no SQLite binding for {other:?}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_write_out_finds_the_database_wal() -> Result<(), Box<dyn std::error::Error>> {
        let file = std::env::temp_dir().join(format!("alpes-wal-{}.db", uuid::Uuid::now_v7()));
        let connection = open(&file)?;
        connection.execute_batch("CREATE TABLE t (a); INSERT INTO t VALUES (1);")?;
        let wal = WalWriteOut::open(&file);
        assert!(wal.0.is_some(), "the WAL of {} is opened", file.display());
        wal.start()?; // a read-only descriptor is enough to start the write-out
        assert!(WalWriteOut::open(&file.with_extension("missing")).0.is_none());
        drop(connection);
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
        }
        Ok(())
    }

    #[test]
    fn values_are_bound_as_the_orm_binds_them() {
        let id = uuid::Uuid::now_v7();
        assert_eq!(sql_value(Value::Uuid(Some(id))), Ok(Sql::Blob(id.as_bytes().to_vec())));
        let at = chrono::DateTime::parse_from_rfc3339("2026-11-23T19:20:00.123456Z").map(|t| t.to_utc()).ok();
        assert_eq!(sql_value(Value::ChronoDateTimeUtc(at)), Ok(Sql::Text("2026-11-23T19:20:00.123456+00:00".into())));
        assert_eq!(sql_value(Value::String(None)), Ok(Sql::Null));
        assert_eq!(
            sql_value(Value::Json(Some(Box::new(serde_json::json!({"a": [1]}))))),
            Ok(Sql::Text(r#"{"a":[1]}"#.into()))
        );
        assert_eq!(sql_value(Value::Decimal(Some(rust_decimal::Decimal::new(9999, 2)))), Ok(Sql::Text("99.99".into())));
        assert!(sql_value(Value::ChronoDate(None)).is_err(), "a type the ingest never writes is refused, not guessed");
    }
}
