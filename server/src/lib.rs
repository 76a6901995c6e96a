//! Alpes: partner-marketing tracking, attribution, commissions and outbound
//! conversions in one service.
#![deny(clippy::unwrap_used, clippy::expect_used)]

pub mod app;
pub mod auth;
pub mod cli;
pub mod config;
pub mod context;
pub mod db;
pub mod error;
pub mod events;
pub mod graphql;
pub mod http;
pub mod integrations;
pub mod metrics;
pub mod service;
pub mod state;
pub mod wire;

/// Pure logic lives in its own crate, so nothing in it can reach for I/O.
pub use alpes_domain as domain;
