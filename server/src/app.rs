//! Assembling and running the service: state, background jobs, HTTP server.

use std::future::Future;

use crate::db::DatabaseConnection;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::{
    auth::JwtKeys,
    config::Config,
    db, events, graphql, http,
    service::{attribution, commission, retention, rollup, user_service},
    state::AppState,
};

/// How often calculated commissions are checked against the automatic approval policy.
const AUTO_APPROVAL_EVERY: std::time::Duration = std::time::Duration::from_secs(300);
/// How often raw interactions past `ALPES_RETENTION_DAYS` are looked for.
const RETENTION_EVERY: std::time::Duration = std::time::Duration::from_secs(600);
/// How often the coarse rollups' pending changes are folded (PostgreSQL).
const FOLD_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// A running service's parts, for the binary and for tests.
pub struct App {
    pub state: AppState,
    pub schema: graphql::AlpesSchema,
    pub router: axum::Router,
    /// The outbound delivery workers; they stop when the app is dropped.
    workers: crate::service::delivery_worker::Workers,
}

impl App {
    /// Builds state and router on an already migrated database, and starts the
    /// outbound delivery workers (one per integration that is on).
    pub fn new(db: DatabaseConnection, config: Config, jwt: JwtKeys) -> Self {
        let state = AppState::new(db, config, jwt);
        let schema = graphql::build_schema(
            Some(state.clone()),
            state.config.graphql_max_depth,
            state.config.graphql_max_complexity,
        );
        let router = http::router(state.clone(), schema.clone());
        let workers = crate::service::delivery_worker::spawn(&state.ctx, &state.deliveries, &state.metrics);
        Self { state, schema, router, workers }
    }
}

/// `alpes serve`: migrate, bootstrap the admin, start background jobs, serve until SIGTERM.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    config.validate().map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))?;
    db::survive_file_size_limit();
    let conn = db::connect(&config).await?;
    db::migrate(&conn).await?;
    if let Some((email, generated)) = user_service::bootstrap_admin(&conn, &config).await? {
        match generated {
            Some(password) => {
                // Printed once, on the first start only: there is no other copy.
                println!("\n  Created the first admin: {email}\n  Password (shown once): {password}\n");
            }
            None => tracing::info!(%email, "created the first admin"),
        }
    }
    let jwt = JwtKeys::load(config.jwt_secret.as_deref(), &config.data_dir)?;
    let mut config = config;
    if config.ip_hash_salt.is_none() {
        // Kept, so that hashed IPs (fraud signals) compare across restarts; replicas share
        // it through ALPES_IP_HASH_SALT.
        config.ip_hash_salt = Some(crate::config::kept_secret(&config.data_dir, "ip_hash_salt")?);
    }
    let addr = config.addr;
    let App { state, router, workers, .. } = App::new(conn, config, jwt);

    let shutdown = state.shutdown.clone();
    // With a bus, events go out through NATS and every replica's subscribers are fed from it.
    let relay = match &state.config.nats_url {
        Some(url) => {
            let bus =
                events::bus::Bus::connect(url, &state.config.nats_prefix, &state.config.stream_settings()?).await?;
            let url = crate::config::redact(url);
            tracing::info!(%url, prefix = %state.config.nats_prefix, "event bus connected");
            tokio::spawn(events::bus::run(
                state.ctx.clone(),
                state.hub.clone(),
                state.ingest.clone(),
                bus,
                shutdown.clone(),
            ))
        }
        None => tokio::spawn(events::relay::run(state.ctx.clone(), state.hub.clone(), shutdown.clone())),
    };
    let approvals =
        tokio::spawn(commission::auto_approval_loop(state.ctx.clone(), AUTO_APPROVAL_EVERY, shutdown.clone()));
    let attribution = tokio::spawn(attribution::run(state.ctx.clone(), state.markov.clone(), shutdown.clone()));
    let retention = tokio::spawn(retention::run(state.ctx.clone(), RETENTION_EVERY, shutdown.clone()));
    let folds = tokio::spawn(rollup::run_folds(state.db.clone(), FOLD_EVERY, shutdown.clone()));

    let listener = TcpListener::bind(addr).await.map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
    tracing::info!("Alpes listening on http://{addr} (GraphiQL at /graphql)");
    run_until_shutdown(listener, router, state.metrics.clone(), shutdown_signal(), shutdown.clone()).await?;
    shutdown.cancel();
    // Attempts in flight are settled; any still running after the grace period are not
    // lost: their lease runs out and the next start sends them again.
    workers.stop(http::SHUTDOWN_GRACE).await;
    let _ = relay.await;
    let _ = approvals.await;
    let _ = attribution.await;
    let _ = retention.await;
    let _ = folds.await;
    state.db.close_by_ref().await.ok();
    tracing::info!("stopped");
    Ok(())
}

/// Counts a connection open for as long as it lives (`alpes_http_open_connections`).
struct OpenConnection(std::sync::Arc<crate::metrics::Metrics>);

impl OpenConnection {
    fn new(metrics: std::sync::Arc<crate::metrics::Metrics>) -> Self {
        metrics.connection(1);
        Self(metrics)
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.connection(-1);
    }
}

/// Serves until `signal`; then in-flight requests get [`http::SHUTDOWN_GRACE`] to finish.
/// A client must send a request's headers within [`http::HEADER_READ_TIMEOUT`] (a
/// half-sent header does not hold a connection open).
pub async fn run_until_shutdown(
    listener: TcpListener,
    router: axum::Router,
    metrics: std::sync::Arc<crate::metrics::Metrics>,
    signal: impl Future<Output = ()> + Send + 'static,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    use hyper_util::{
        rt::{TokioExecutor, TokioIo, TokioTimer},
        server::{conn::auto::Builder, graceful::GracefulShutdown},
        service::TowerToHyperService,
    };
    use tower::ServiceExt;

    let mut builder = Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(http::HEADER_READ_TIMEOUT);
    builder.http2().timer(TokioTimer::new()).enable_connect_protocol();
    let connections = GracefulShutdown::new();
    let serve = |stream: tokio::net::TcpStream, peer: std::net::SocketAddr| {
        let service = router.clone().map_request(move |mut request: axum::http::Request<_>| {
            request.extensions_mut().insert(axum::extract::ConnectInfo(peer));
            request
        });
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(service))
            .into_owned();
        let watched = connections.watch(connection);
        let open = OpenConnection::new(metrics.clone());
        tokio::spawn(async move {
            let _open = open;
            if let Err(err) = watched.await {
                tracing::debug!(%err, "connection ended with an error");
            }
        });
    };
    let mut signal = std::pin::pin!(signal);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of file descriptors and the like: wait a moment rather than spin.
                    tracing::warn!(%err, "accepting a connection failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut signal => break,
            () = shutdown.cancelled() => break,
        };
        serve(stream, peer);
    }
    tracing::info!("shutting down: finishing in-flight requests");
    shutdown.cancel();
    // Connections the system accepted for us before we stopped are served too; later ones
    // are refused (the listener closes), never cut off after sending their request.
    while let Some(Ok((stream, peer))) = futures::FutureExt::now_or_never(listener.accept()) {
        serve(stream, peer);
    }
    drop(listener);
    // A connection accepted a moment ago may not have sent its request yet: graceful
    // shutdown would close it as idle. Let requests arrive, then finish them.
    tokio::time::sleep(http::SHUTDOWN_SETTLE).await;
    tokio::select! {
        () = connections.shutdown() => Ok(()),
        () = tokio::time::sleep(http::SHUTDOWN_GRACE) => {
            tracing::warn!("requests still open after the grace period; stopping anyway");
            Ok(())
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
