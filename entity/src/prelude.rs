//! `use entity::prelude::*;` brings every entity in scope under its CamelCase table name.

pub use super::affiliate_applications::Entity as AffiliateApplications;
pub use super::affiliate_coupons::Entity as AffiliateCoupons;
pub use super::affiliate_invites::Entity as AffiliateInvites;
pub use super::affiliates::Entity as Affiliates;
pub use super::api_keys::Entity as ApiKeys;
pub use super::attribution_credits::Entity as AttributionCredits;
pub use super::audit_log::Entity as AuditLog;
pub use super::campaigns::Entity as Campaigns;
pub use super::commissions::Entity as Commissions;
pub use super::conversions::Entity as Conversions;
pub use super::identity_links::Entity as IdentityLinks;
pub use super::integration_deliveries::Entity as IntegrationDeliveries;
pub use super::integrations_log::Entity as IntegrationsLog;
pub use super::interactions::Entity as Interactions;
pub use super::journeys::Entity as Journeys;
pub use super::lead_sales::Entity as LeadSales;
pub use super::orders::Entity as Orders;
pub use super::outbox_events::Entity as OutboxEvents;
pub use super::payouts::Entity as Payouts;
pub use super::revoked_tokens::Entity as RevokedTokens;
pub use super::stripe_webhook_events::Entity as StripeWebhookEvents;
pub use super::subscription_invoices::Entity as SubscriptionInvoices;
pub use super::subscriptions::Entity as Subscriptions;
pub use super::tracking_links::Entity as TrackingLinks;
pub use super::tracking_sessions::Entity as TrackingSessions;
pub use super::users::Entity as Users;
