//! The group-commit ingestor: requests queue while a batch commits, the next batch takes
//! them all; SQLite batches go to a writer thread with its own connection.

use std::time::Duration;

use super::*;

/// Most requests one transaction takes.
pub(super) const MAX_BATCH: usize = 512;
/// Requests waiting for the writer before new ones are refused with 503.
pub(super) const QUEUE: usize = 8192;

pub(super) struct Job {
    pub(super) item: Item,
    pub(super) reply: oneshot::Sender<AppResult<Receipt>>,
}

/// The group-commit writer. Cheap to clone; all clones feed the same writer tasks.
#[derive(Clone)]
pub struct Ingestor {
    sender: mpsc::Sender<Job>,
}

/// How long a campaign or affiliate looked up by the writer is reused without asking
/// the database again. Short: a paused campaign is flagged within this time.
pub(super) const DIRECTORY_TTL: std::time::Duration = std::time::Duration::from_secs(2);

/// Campaigns and affiliates recently looked up, by id and by code.
#[derive(Default)]
pub(super) struct DirectoryCache {
    pub(super) campaigns: HashMap<String, (std::time::Instant, campaigns::Model)>,
    pub(super) affiliates: HashMap<String, (std::time::Instant, affiliates::Model)>,
}

pub(super) type SharedCache = Arc<std::sync::Mutex<DirectoryCache>>;

impl Ingestor {
    /// Starts the writer tasks on `db`. `on_commit` runs after every committed batch, with
    /// its size, how many of its items were refused and how long it took.
    /// SQLite has one writer at a time, so one task; PostgreSQL commits in parallel, so
    /// several tasks overlap their round trips.
    pub fn start(
        db: DatabaseConnection,
        ip_salt: String,
        on_commit: impl Fn(usize, usize, Duration) + Send + Sync + 'static,
    ) -> Self {
        let (sender, receiver) = mpsc::channel(QUEUE);
        let writers = match db.get_database_backend() {
            sea_orm::DbBackend::Sqlite => 1,
            _ => 4,
        };
        let sqlite = SqliteWriter::start(&db)
            .inspect_err(|err| tracing::error!(error = %err, "cannot open the SQLite ingest writer; using the pool"))
            .ok()
            .flatten()
            .map(Arc::new);
        let context = Arc::new(Context { db, ip_salt, cache: SharedCache::default(), sqlite });
        let receiver = Arc::new(tokio::sync::Mutex::new(receiver));
        let on_commit: Arc<OnCommit> = Arc::new(on_commit);
        for _ in 0..writers {
            tokio::spawn(writer(context.clone(), receiver.clone(), on_commit.clone()));
        }
        Self { sender }
    }

    /// Stores one item; resolves once it is committed (or refused).
    pub(crate) async fn submit(&self, item: Item) -> AppResult<Receipt> {
        let (reply, answer) = oneshot::channel();
        self.sender
            .try_send(Job { item, reply })
            .map_err(|_| AppError::Unavailable("tracking ingest is overloaded; retry shortly".into()))?;
        answer.await.map_err(|_| AppError::Unavailable("tracking ingest is shutting down".into()))?
    }
}

/// Called after every committed batch: its size, how many were refused, how long it took.
type OnCommit = dyn Fn(usize, usize, Duration) + Send + Sync;

/// What the writer tasks share.
pub(super) struct Context {
    pub(super) db: DatabaseConnection,
    pub(super) ip_salt: String,
    pub(super) cache: SharedCache,
    /// SQLite on a file: the writer thread that stores the batches.
    pub(super) sqlite: Option<Arc<SqliteWriter>>,
}

/// Takes the queued jobs as one batch, writes it, answers each job. On SQLite the next
/// batch is prepared while the writer thread stores this one.
pub(super) async fn writer(
    context: Arc<Context>,
    receiver: Arc<tokio::sync::Mutex<mpsc::Receiver<Job>>>,
    on_commit: Arc<OnCommit>,
) {
    let mut jobs: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    loop {
        let received = receiver.lock().await.recv_many(&mut jobs, MAX_BATCH).await;
        if received == 0 {
            break;
        }
        let mut batch = std::mem::take(&mut jobs);
        let started = std::time::Instant::now();
        let written = match &context.sqlite {
            Some(sqlite) => start_sqlite(&context, sqlite, &receiver, &mut batch).await,
            None => {
                let items: Vec<&Item> = batch.iter().map(|j| &j.item).collect();
                Box::pin(std::future::ready(write_batch(&context, &items).await))
            }
        };
        let context = context.clone();
        let on_commit = on_commit.clone();
        tokio::spawn(async move {
            let results = match written.await {
                Ok(results) => results,
                Err(err) if batch.len() > 1 => {
                    // One bad row must not fail its neighbours: retry one by one.
                    tracing::warn!(error = %err, size = batch.len(), "ingest batch failed; retrying items singly");
                    write_singly(&context, &batch).await
                }
                Err(err) => vec![Err(err)],
            };
            let took = started.elapsed();
            tracing::debug!(size = batch.len(), elapsed_us = took.as_micros() as u64, "ingest batch");
            on_commit(batch.len(), results.iter().filter(|r| r.is_err()).count(), took);
            for (job, result) in batch.into_iter().zip(results) {
                let _ = job.reply.send(result);
            }
        });
    }
}

/// Builds `batch` for the SQLite writer thread and hands it over with the write turn;
/// the jobs that queued while it was built join it first (the writer is free by then, and
/// a bigger transaction costs less per event than one more commit).
pub(super) async fn start_sqlite(
    context: &Context,
    sqlite: &SqliteWriter,
    receiver: &tokio::sync::Mutex<mpsc::Receiver<Job>>,
    batch: &mut Vec<Job>,
) -> Written {
    let mut plan = Plan::default();
    let planned = plan.add(context, batch).await;
    let turn = db::write_turn(&context.db).await;
    let start = batch.len();
    {
        let mut receiver = receiver.lock().await;
        while batch.len() < MAX_BATCH {
            match receiver.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
    }
    match planned.and(plan.add(context, &batch[start..]).await) {
        Ok(()) => plan.submit(sqlite, turn, &context.db),
        Err(err) => Box::pin(std::future::ready(Err(err))),
    }
}

/// Each job of a failed batch in a transaction of its own.
pub(super) async fn write_singly(context: &Context, batch: &[Job]) -> Vec<AppResult<Receipt>> {
    let mut results = Vec::with_capacity(batch.len());
    for job in batch {
        results.push(match write_batch(context, &[&job.item]).await {
            Ok(mut one) => one.pop().unwrap_or_else(|| Err(AppError::internal(anyhow::anyhow!("empty batch result")))),
            Err(err) => Err(err),
        });
    }
    results
}
