//! Outbox relay → in-process hub (GraphQL subscriptions), and the NATS JetStream bus.

pub mod bus;
pub mod hub;
pub mod relay;
