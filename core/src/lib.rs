//! Alpes' use cases and everything that runs them: services (one module or folder per
//! resource, each owning its transaction and writing its outbox events in it), the
//! tracking ingest writer, the background workers (attribution, deliveries, automatic
//! approval), the outbox relay and NATS bus, the outbound platform clients, and the
//! seeds' wire formats.
//!
//! This crate knows nothing of HTTP or GraphQL: the server crate depends on it, never the
//! other way round, and pure rules come from `alpes-domain`.
#![deny(clippy::unwrap_used, clippy::expect_used)]

pub mod auth;
pub mod config;
pub mod context;
pub mod db;
pub mod error;
pub mod events;
pub mod integrations;
pub mod metrics;
pub mod model;
pub mod service;
pub mod wire;

/// Pure logic lives in its own crate, so nothing in it can reach for I/O.
pub use alpes_domain as domain;
