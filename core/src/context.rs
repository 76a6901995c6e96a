//! What a use case needs: the database, the settings, and the bells of the background
//! workers. The server assembles it once; a service takes it, plus the one or two other
//! handles it needs (the ingest writer, the Markov cache, the token keys), rather than the
//! whole application state.

use std::sync::Arc;

use entity::integration_deliveries::Integration;
use sea_orm::DatabaseConnection;
use tokio::sync::Notify;

use crate::{
    config::Config,
    error::{AppError, AppResult},
    integrations::DeliveryPlan,
};

#[derive(Clone)]
pub struct Ctx {
    pub db: DatabaseConnection,
    pub config: Arc<Config>,
    pub notifier: Notifier,
    /// Which outbound deliveries a paid order gets (the integrations that are on).
    pub delivery_plan: DeliveryPlan,
    /// What each signed-in user is now (active, signed out), checked on every request.
    pub sessions: Arc<crate::auth::Sessions>,
    /// What each API key is now (revoked, expired), checked on every request.
    pub api_keys: Arc<crate::auth::ApiKeys>,
    /// Failed sign-ins per client IP and account, and how long each must wait.
    pub login_throttle: Arc<crate::auth::LoginThrottle>,
    /// Costly reads (dashboards, metrics, reports) running at once, process-wide.
    pub costly_reads: CostlyReads,
    /// This replica's Prometheus counters and histograms.
    pub metrics: Arc<crate::metrics::Metrics>,
}

/// At most [`CostlyReads::AT_ONCE`] costly reads run at once, whatever the number of
/// requests or aliases: the rest wait their turn (within their time limit), so reports
/// never hold every database connection and writes, sign-ins and `/ready` keep theirs.
#[derive(Clone)]
pub struct CostlyReads(Arc<tokio::sync::Semaphore>);

impl CostlyReads {
    pub const AT_ONCE: usize = 4;

    /// Runs `read` when one of the turns is free.
    async fn run<T>(&self, read: impl std::future::Future<Output = AppResult<T>>) -> AppResult<T> {
        let _turn = self.0.acquire().await.map_err(|_| AppError::Unavailable("shutting down".into()))?;
        read.await
    }
}

impl Default for CostlyReads {
    fn default() -> Self {
        Self(Arc::new(tokio::sync::Semaphore::new(Self::AT_ONCE)))
    }
}

impl Ctx {
    /// Runs a read that may cost a lot (a dashboard, metric or report) within the
    /// configured time; past it the work is dropped and the caller gets `TIMEOUT`.
    pub async fn bounded<T>(&self, read: impl std::future::Future<Output = AppResult<T>>) -> AppResult<T> {
        // Waiting for a turn counts in the time limit.
        within(self.config.report_timeout_ms, self.costly_reads.run(read)).await
    }

    /// New outbox rows, conversions or deliveries are committed: rings every worker.
    pub fn events_committed(&self) {
        self.notifier.committed();
    }
}

/// The bells of the background workers. Ringing one makes its worker look now rather
/// than at its next poll; a bell rung while nobody waits is kept for the next wait.
#[derive(Clone, Default)]
pub struct Notifier {
    outbox: Arc<Notify>,
    attribution: Arc<Notify>,
    deliveries: Arc<[Notify; 3]>,
}

impl Notifier {
    /// Rings the outbox relay, the attribution worker and every delivery worker.
    pub fn committed(&self) {
        self.outbox.notify_one();
        self.attribution.notify_one();
        self.wake_deliveries();
    }

    /// The outbox relay's bell: committed events wait to be published.
    pub fn outbox(&self) -> &Notify {
        &self.outbox
    }

    /// The attribution worker's bell: committed conversions wait to be attributed.
    pub fn attribution(&self) -> &Notify {
        &self.attribution
    }

    /// The bell of one integration's delivery worker.
    pub fn delivery(&self, integration: Integration) -> &Notify {
        let slot = match integration {
            Integration::MetaCapi => 0,
            Integration::GoogleAds => 1,
            Integration::Pipedrive => 2,
        };
        &self.deliveries[slot]
    }

    pub fn wake_deliveries(&self) {
        for bell in self.deliveries.iter() {
            bell.notify_one();
        }
    }
}

/// `read`, unless it takes longer than `limit_ms`: then `TIMEOUT`, and the read is dropped.
async fn within<T>(limit_ms: u64, read: impl std::future::Future<Output = AppResult<T>>) -> AppResult<T> {
    match tokio::time::timeout(std::time::Duration::from_millis(limit_ms), read).await {
        Ok(result) => result,
        Err(_) => Err(AppError::Timeout(format!(
            "the report took longer than {limit_ms} ms; ask for a shorter period or fewer groups"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn costly_reads_take_turns() {
        let reads = CostlyReads::default();
        let running = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let most = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut all = Vec::new();
        for _ in 0..20 {
            let (reads, running, most) = (reads.clone(), running.clone(), most.clone());
            all.push(tokio::spawn(async move {
                reads
                    .run(async {
                        let now = running.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                        most.fetch_max(now, std::sync::atomic::Ordering::SeqCst);
                        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                        running.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                        Ok(())
                    })
                    .await
            }));
        }
        for read in all {
            assert!(matches!(read.await, Ok(Ok(()))));
        }
        assert_eq!(most.load(std::sync::atomic::Ordering::SeqCst), CostlyReads::AT_ONCE);
    }

    #[tokio::test]
    async fn a_read_past_its_limit_is_a_timeout_and_one_within_it_answers() {
        let slow = within(5, std::future::pending::<AppResult<u8>>()).await;
        assert!(matches!(&slow, Err(e) if e.code() == "TIMEOUT"), "{slow:?}");
        assert_eq!(within(1_000, async { Ok(7) }).await.ok(), Some(7));
    }
}
