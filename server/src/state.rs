//! What every request handler and background job shares.

use std::sync::Arc;

use sea_orm::DatabaseConnection;
use tokio::sync::Notify;

use crate::{
    auth::JwtKeys,
    config::Config,
    events::hub::EventHub,
    http::rate_limit::RateLimiter,
    integrations::worker::Deliveries,
    metrics::Metrics,
    service::{attribution, tracking::Ingestor},
};

#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub config: Arc<Config>,
    pub jwt: JwtKeys,
    pub hub: EventHub,
    /// Wakes the outbox relay after a commit, so live events are not held for a poll.
    pub outbox_wakeup: Arc<Notify>,
    /// The group-commit writer of tracking ingest.
    pub ingest: Ingestor,
    /// Per-IP limit on public tracking routes.
    pub ingest_limiter: Arc<RateLimiter>,
    /// The attribution worker's wake-up and fitted model.
    pub attribution: Arc<attribution::Runtime>,
    /// Outbound integrations (Meta CAPI, Google Ads, Pipedrive) and their workers' bells.
    pub deliveries: Arc<Deliveries>,
    pub metrics: Arc<Metrics>,
}

impl AppState {
    /// Builds the state and starts the ingest writer (call inside a tokio runtime).
    pub fn new(db: DatabaseConnection, config: Config, jwt: JwtKeys) -> Self {
        let outbox_wakeup = Arc::new(Notify::new());
        let attribution = Arc::new(attribution::Runtime::default());
        let (wakeup, attributor) = (outbox_wakeup.clone(), attribution.clone());
        let salt = config.ip_hash_salt.clone().unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let ingest = Ingestor::start(db.clone(), salt, move || {
            wakeup.notify_one();
            attributor.wake();
        });
        let ingest_limiter = Arc::new(RateLimiter::new(config.ingest_rate_limit_per_ip));
        let deliveries = Arc::new(Deliveries::new(&config));
        Self {
            db,
            config: Arc::new(config),
            jwt,
            hub: EventHub::new(4096),
            outbox_wakeup,
            ingest,
            ingest_limiter,
            attribution,
            deliveries,
            metrics: Arc::new(Metrics::default()),
        }
    }

    /// Tells the relay that new outbox rows are committed, the attribution worker that
    /// there may be conversions to attribute, and the delivery workers that there may
    /// be deliveries to send.
    pub fn events_committed(&self) {
        self.outbox_wakeup.notify_one();
        self.attribution.wake();
        self.deliveries.wake_all();
    }
}
