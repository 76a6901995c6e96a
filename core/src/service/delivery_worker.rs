//! The delivery workers: one loop per integration that is on, so a platform that is
//! down, slow or timing out holds up only its own queue. Each loop is woken when
//! deliveries are committed and otherwise sleeps until the next one falls due; all
//! state is in the database, so a restart resumes where the last process stopped.

use std::{sync::Arc, time::Duration};

use chrono::{SubsecRound, Utc};
use entity::{integration_deliveries::Integration, orders};
use futures::StreamExt;
use sea_orm::EntityTrait;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{
    config::IntegrationSettings,
    context::{Ctx, Notifier},
    domain::backoff,
    error::{AppError, AppResult},
    integrations::{Clients, DeliveryPlan, OrderFacts, Outcome},
    metrics::Metrics,
    service::integration_service,
};

/// Deliveries taken per pass, and how many of them are in flight at once.
const BATCH: u64 = 32;
const CONCURRENCY: usize = 4;
/// Longest sleep between two looks at the queue when nothing falls due sooner.
const IDLE: Duration = Duration::from_secs(5);

/// The integrations that are on, their clients, and the bell of each worker.
pub struct Deliveries {
    settings: Option<IntegrationSettings>,
    clients: Option<Clients>,
    notifier: Notifier,
}

impl Deliveries {
    /// From the configuration; settings that do not hold (the server refuses to start
    /// with them, see `Config::validate`) leave every integration off.
    pub fn new(config: &crate::config::Config, notifier: Notifier) -> Self {
        let settings = match config.integrations() {
            Ok(settings) => Some(settings),
            Err(err) => {
                tracing::error!(error = %err, "outbound integrations are off");
                None
            }
        };
        let clients = settings.as_ref().and_then(|s| match Clients::new(s) {
            Ok(clients) => Some(clients),
            Err(err) => {
                tracing::error!(error = %err, "cannot build the HTTP client; outbound integrations are off");
                None
            }
        });
        let settings = settings.filter(|_| clients.is_some());
        Self { settings, clients, notifier }
    }

    /// Which deliveries a paid order gets.
    pub fn plan(&self) -> DeliveryPlan {
        match &self.settings {
            Some(s) => DeliveryPlan { integrations: s.enabled(), max_attempts: s.max_attempts },
            None => DeliveryPlan::default(),
        }
    }

    /// Rings every worker (new deliveries may be committed).
    pub fn wake_all(&self) {
        self.notifier.wake_deliveries();
    }

    pub fn wake(&self, integration: Integration) {
        self.notifier.delivery(integration).notify_one();
    }

    /// How long a claimed delivery stays taken: its requests (Pipedrive makes up to
    /// three) with their timeouts, and a margin.
    fn lease(&self) -> Duration {
        let timeout = self.settings.as_ref().map_or(Duration::from_secs(10), |s| s.timeout);
        timeout.saturating_mul(4) + Duration::from_secs(10)
    }
}

/// The running workers. Dropping this stops them; [`Workers::stop`] also waits for the
/// attempts in flight to be settled.
pub struct Workers {
    shutdown: CancellationToken,
    handles: Vec<JoinHandle<()>>,
}

impl Drop for Workers {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl Workers {
    /// Stops taking deliveries and waits (up to `grace`) for those in flight.
    pub async fn stop(mut self, grace: Duration) {
        self.shutdown.cancel();
        let handles = std::mem::take(&mut self.handles);
        if tokio::time::timeout(grace, futures::future::join_all(handles)).await.is_err() {
            tracing::warn!("deliveries still in flight at shutdown; they will be sent again after their lease");
        }
    }
}

/// What a delivery worker works with.
#[derive(Clone)]
struct Worker {
    ctx: Ctx,
    deliveries: Arc<Deliveries>,
    metrics: Arc<Metrics>,
}

/// Starts one worker per integration that is on.
pub fn spawn(ctx: &Ctx, deliveries: &Arc<Deliveries>, metrics: &Arc<Metrics>) -> Workers {
    let shutdown = CancellationToken::new();
    let worker = Worker { ctx: ctx.clone(), deliveries: deliveries.clone(), metrics: metrics.clone() };
    let handles = deliveries
        .plan()
        .integrations
        .into_iter()
        .map(|integration| tokio::spawn(run(worker.clone(), integration, shutdown.clone())))
        .collect();
    Workers { shutdown, handles }
}

async fn run(worker: Worker, integration: Integration, shutdown: CancellationToken) {
    let ctx = &worker.ctx;
    let bell = ctx.notifier.delivery(integration);
    loop {
        match pass(&worker, integration, &shutdown).await {
            Ok(n) if n as u64 == BATCH && !shutdown.is_cancelled() => continue,
            Ok(_) => {}
            Err(err) => tracing::warn!(?integration, error = %err, "delivery pass failed; retrying"),
        }
        let wait = match integration_service::next_due(&ctx.db, integration).await {
            Ok(Some(at)) => (at - Utc::now()).to_std().unwrap_or(Duration::ZERO).clamp(Duration::from_millis(5), IDLE),
            _ => IDLE,
        };
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = bell.notified() => {}
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

/// Sends what is due now; returns how many deliveries it looked at.
async fn pass(worker: &Worker, integration: Integration, shutdown: &CancellationToken) -> AppResult<usize> {
    let ctx = &worker.ctx;
    let ids = integration_service::due(&ctx.db, integration, Utc::now().trunc_subsecs(6), BATCH).await?;
    let count = ids.len();
    futures::stream::iter(ids)
        .for_each_concurrent(CONCURRENCY, |id| async move {
            // Stopping: what is in flight finishes, nothing new is taken.
            if shutdown.is_cancelled() {
                return;
            }
            if let Err(err) = deliver(worker, integration, id).await {
                tracing::warn!(?integration, delivery = %id, error = %err, "delivery attempt not settled");
            }
        })
        .await;
    Ok(count)
}

/// One attempt at one delivery, if it is still ours to make.
async fn deliver(worker: &Worker, integration: Integration, id: Uuid) -> AppResult<()> {
    let (ctx, deliveries) = (&worker.ctx, &worker.deliveries);
    let Some(clients) = &deliveries.clients else { return Ok(()) };
    let base = deliveries.settings.as_ref().map_or(Duration::from_secs(2), |s| s.backoff_base);
    let now = Utc::now().trunc_subsecs(6);
    let Some(claimed) = integration_service::claim(&ctx.db, id, now, deliveries.lease()).await? else {
        return Ok(());
    };
    let order = orders::Entity::find_by_id(claimed.order_id)
        .one(&ctx.db)
        .await?
        .ok_or_else(|| AppError::not_found("order", claimed.order_id))?;
    let facts = OrderFacts::load(&ctx.db, order).await?;
    let attempt = clients.send(integration, claimed.event_kind, &facts, Utc::now()).await;
    let retry_at = Utc::now() + backoff::delay(claimed.attempts, base, rand::random::<f64>());
    let Some(settled) = integration_service::settle(&ctx.db, &claimed, &attempt, retry_at.trunc_subsecs(6)).await?
    else {
        return Ok(());
    };
    let outcome = match (&attempt.outcome, settled.status) {
        (_, entity::integration_deliveries::DeliveryStatus::Dead) => "dead",
        (Outcome::Succeeded, _) => "succeeded",
        (Outcome::Skipped(_), _) => "skipped",
        (Outcome::Failed(_) | Outcome::Rejected(_), _) => "failed",
    };
    worker.metrics.count_delivery(integration_service::integration_name(integration), outcome);
    if let Outcome::Failed(reason) | Outcome::Rejected(reason) = &attempt.outcome {
        tracing::warn!(?integration, delivery = %id, attempt = claimed.attempts, %reason, "delivery failed");
    }
    ctx.notifier.outbox().notify_one();
    Ok(())
}
