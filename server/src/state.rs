//! The application state of the HTTP and GraphQL layers: the services' context and the
//! handles that some of them need, assembled once here. Services never see this type;
//! they take the [`Ctx`] (reached through `Deref`) and the handles they name.

use std::{ops::Deref, sync::Arc};

use crate::db::DatabaseConnection;

use crate::{
    auth::JwtKeys,
    config::Config,
    context::{Ctx, Notifier},
    events::hub::EventHub,
    http::rate_limit::RateLimiter,
    metrics::Metrics,
    service::delivery_worker::Deliveries,
    service::{attribution::Markov, tracking::Ingestor},
};

#[derive(Clone)]
pub struct AppState {
    pub ctx: Ctx,
    pub jwt: JwtKeys,
    pub hub: EventHub,
    /// The group-commit writer of tracking ingest.
    pub ingest: Ingestor,
    /// Per-IP limit on public tracking routes.
    pub ingest_limiter: Arc<RateLimiter>,
    /// The fitted Markov model of attribution, shared by the worker and the reports.
    pub markov: Arc<Markov>,
    /// Outbound integrations (Meta CAPI, Google Ads, Pipedrive): which are on, their clients.
    pub deliveries: Arc<Deliveries>,
    /// Cancelled when the server stops: background jobs end, WebSockets close with 1001.
    pub shutdown: tokio_util::sync::CancellationToken,
}

impl AppState {
    /// Builds the state and starts the ingest writer (call inside a tokio runtime).
    pub fn new(db: DatabaseConnection, config: Config, jwt: JwtKeys) -> Self {
        let notifier = Notifier::default();
        let deliveries = Arc::new(Deliveries::new(&config, notifier.clone()));
        let ctx = Ctx {
            db,
            config: Arc::new(config),
            notifier,
            delivery_plan: deliveries.plan(),
            sessions: Arc::default(),
            api_keys: Arc::default(),
            login_throttle: Arc::default(),
            costly_reads: Default::default(),
            metrics: Arc::new(Metrics::default()),
        };
        let salt = ctx.config.ip_hash_salt.clone().unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let notifier = ctx.notifier.clone();
        let metrics = ctx.metrics.clone();
        let ingest = Ingestor::start(ctx.db.clone(), salt, move |size, refused, took| {
            metrics.observe_ingest_batch(size, refused, took);
            notifier.outbox().notify_one();
            notifier.attribution().notify_one();
        });
        let ingest_limiter = Arc::new(RateLimiter::new(ctx.config.ingest_rate_limit_per_ip));
        Self {
            jwt,
            hub: EventHub::new(4096),
            ingest,
            ingest_limiter,
            markov: Arc::new(Markov::default()),
            deliveries,
            shutdown: tokio_util::sync::CancellationToken::new(),
            ctx,
        }
    }
}

impl Deref for AppState {
    type Target = Ctx;

    fn deref(&self) -> &Ctx {
        &self.ctx
    }
}
