//! SeaORM entities of the Alpes data model (see the migration crate for the schema).
#![deny(clippy::unwrap_used, clippy::expect_used)]

pub mod prelude;

pub mod affiliate_applications;
pub mod affiliate_conversions;
pub mod affiliate_coupons;
pub mod affiliate_invites;
pub mod affiliates;
pub mod api_keys;
pub mod attribution_credits;
pub mod audit_log;
pub mod campaigns;
pub mod commission_tiers;
pub mod commissions;
pub mod conversions;
pub mod identity_links;
pub mod integration_deliveries;
pub mod integrations_log;
pub mod interactions;
pub mod journeys;
pub mod lead_sales;
pub mod orders;
pub mod outbox_events;
pub mod payouts;
pub mod revoked_tokens;
pub mod stripe_webhook_events;
pub mod subscription_invoices;
pub mod subscriptions;
pub mod tier_awards;
pub mod tracking_links;
pub mod tracking_sessions;
pub mod users;
