//! What every request handler and background job shares.

use std::sync::Arc;

use sea_orm::DatabaseConnection;
use tokio::sync::Notify;

use crate::{auth::JwtKeys, config::Config, events::hub::EventHub};

#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub config: Arc<Config>,
    pub jwt: JwtKeys,
    pub hub: EventHub,
    /// Wakes the outbox relay after a commit, so live events are not held for a poll.
    pub outbox_wakeup: Arc<Notify>,
}

impl AppState {
    pub fn new(db: DatabaseConnection, config: Config, jwt: JwtKeys) -> Self {
        Self {
            db,
            config: Arc::new(config),
            jwt,
            hub: EventHub::new(4096),
            outbox_wakeup: Arc::new(Notify::new()),
        }
    }

    /// Tells the relay that new outbox rows are committed.
    pub fn events_committed(&self) {
        self.outbox_wakeup.notify_one();
    }
}
