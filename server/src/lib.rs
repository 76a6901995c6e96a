//! Alpes: partner-marketing tracking, attribution, commissions and outbound
//! conversions in one service. This crate is the outside of it: the HTTP routes, the
//! GraphQL schema, the application state that wires the services' handles together, and
//! the binary. The use cases live in `alpes-core`, the pure rules in `alpes-domain`;
//! neither can see this crate.
#![deny(clippy::unwrap_used, clippy::expect_used)]

pub mod app;
pub mod cli;
pub mod error;
pub mod graphql;
pub mod http;
pub mod progress;
pub mod reconcile;
pub mod state;
pub mod telemetry;

/// The layers below, under the names the routes, resolvers and tests use.
pub use alpes_core::{auth, config, context, db, domain, events, integrations, metrics, model, service, wire};
