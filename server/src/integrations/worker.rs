//! The delivery workers: one loop per integration that is on, so a platform that is
//! down, slow or timing out holds up only its own queue. Each loop is woken when
//! deliveries are committed and otherwise sleeps until the next one falls due; all
//! state is in the database, so a restart resumes where the last process stopped.

use std::time::Duration;

use chrono::{SubsecRound, Utc};
use entity::{integration_deliveries::Integration, orders};
use futures::StreamExt;
use sea_orm::EntityTrait;
use tokio::{sync::Notify, task::JoinHandle};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::{Clients, OrderFacts, Outcome};
use crate::{
    config::IntegrationSettings,
    domain::backoff,
    error::{AppError, AppResult},
    service::integration_service::{self, DeliveryPlan},
    state::AppState,
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
    wakeups: [Notify; 3],
}

fn slot(integration: Integration) -> usize {
    match integration {
        Integration::MetaCapi => 0,
        Integration::GoogleAds => 1,
        Integration::Pipedrive => 2,
    }
}

impl Deliveries {
    /// From the configuration; settings that do not hold (the server refuses to start
    /// with them, see `Config::validate`) leave every integration off.
    pub fn new(config: &crate::config::Config) -> Self {
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
        Self { settings, clients, wakeups: Default::default() }
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
        for bell in &self.wakeups {
            bell.notify_one();
        }
    }

    pub fn wake(&self, integration: Integration) {
        self.wakeups[slot(integration)].notify_one();
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

/// Starts one worker per integration that is on.
pub fn spawn(state: &AppState) -> Workers {
    let shutdown = CancellationToken::new();
    let handles = state
        .deliveries
        .plan()
        .integrations
        .into_iter()
        .map(|integration| tokio::spawn(run(state.clone(), integration, shutdown.clone())))
        .collect();
    Workers { shutdown, handles }
}

async fn run(state: AppState, integration: Integration, shutdown: CancellationToken) {
    let bell = &state.deliveries.wakeups[slot(integration)];
    loop {
        match pass(&state, integration, &shutdown).await {
            Ok(n) if n as u64 == BATCH && !shutdown.is_cancelled() => continue,
            Ok(_) => {}
            Err(err) => tracing::warn!(?integration, error = %err, "delivery pass failed; retrying"),
        }
        let wait = match integration_service::next_due(&state.db, integration).await {
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
async fn pass(state: &AppState, integration: Integration, shutdown: &CancellationToken) -> AppResult<usize> {
    let ids = integration_service::due(&state.db, integration, Utc::now().trunc_subsecs(6), BATCH).await?;
    let count = ids.len();
    futures::stream::iter(ids)
        .for_each_concurrent(CONCURRENCY, |id| async move {
            // Stopping: what is in flight finishes, nothing new is taken.
            if shutdown.is_cancelled() {
                return;
            }
            if let Err(err) = deliver(state, integration, id).await {
                tracing::warn!(?integration, delivery = %id, error = %err, "delivery attempt not settled");
            }
        })
        .await;
    Ok(count)
}

/// One attempt at one delivery, if it is still ours to make.
async fn deliver(state: &AppState, integration: Integration, id: Uuid) -> AppResult<()> {
    let deliveries = &state.deliveries;
    let Some(clients) = &deliveries.clients else { return Ok(()) };
    let base = deliveries.settings.as_ref().map_or(Duration::from_secs(2), |s| s.backoff_base);
    let now = Utc::now().trunc_subsecs(6);
    let Some(claimed) = integration_service::claim(&state.db, id, now, deliveries.lease()).await? else {
        return Ok(());
    };
    let order = orders::Entity::find_by_id(claimed.order_id)
        .one(&state.db)
        .await?
        .ok_or_else(|| AppError::not_found("order", claimed.order_id))?;
    let facts = OrderFacts::load(&state.db, order).await?;
    let attempt = clients.send(integration, claimed.event_kind, &facts, Utc::now()).await;
    let retry_at = Utc::now() + backoff::delay(claimed.attempts, base, rand::random::<f64>());
    let Some(settled) = integration_service::settle(&state.db, &claimed, &attempt, retry_at.trunc_subsecs(6)).await?
    else {
        return Ok(());
    };
    let outcome = match (&attempt.outcome, settled.status) {
        (_, entity::integration_deliveries::DeliveryStatus::Dead) => "dead",
        (Outcome::Succeeded, _) => "succeeded",
        (Outcome::Skipped(_), _) => "skipped",
        (Outcome::Failed(_), _) => "failed",
    };
    state.metrics.count_delivery(integration_service::integration_name(integration), outcome);
    if let Outcome::Failed(reason) = &attempt.outcome {
        tracing::warn!(?integration, delivery = %id, attempt = claimed.attempts, %reason, "delivery failed");
    }
    state.outbox_wakeup.notify_one();
    Ok(())
}
