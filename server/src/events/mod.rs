//! Outbox relay → in-process hub (GraphQL subscriptions).

pub mod hub;
pub mod relay;
