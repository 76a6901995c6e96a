//! The records the services hand to the layers above: one view type per table, with its
//! states, and nothing else of the storage layer (no entity, column, active model or
//! query). The server crate does not depend on `entity` or SeaORM, so this module is the
//! only way a route or resolver sees a stored record, and it cannot query or change one
//! except through a service.
//!
//! A service builds the view from its row (`From<entity::…::Model>`) as the record leaves
//! it, so the stored shape never does: a view leaves out or masks what clients must not
//! see (`users::User` has no password hash, `affiliates::Affiliate` only a masked account
//! number; a conversion has no customer data or email hash, a touch no user agent or
//! hashed IP, an order no hashed email or phone). The states and kinds are the stored
//! enums, re-exported; the mappings between them and the domain's live here too.
//! Attribution credits go up as `service::attribution::Credit`, stored or computed.

pub mod affiliates;
pub mod api_keys;
pub mod campaigns;
pub mod commissions;
pub mod conversions;
pub mod coupons;
pub mod integration_deliveries;
pub mod integrations_log;
pub mod interactions;
pub mod journeys;
pub mod onboarding;
pub mod orders;
pub mod payouts;
pub mod stripe_webhook_events;
pub mod subscriptions;
pub mod tiers;
pub mod tracking_links;
pub mod users;
