//! Schema migrations of the Alpes data model (SQLite and PostgreSQL).

pub use sea_orm_migration::prelude::*;

mod m20261123_000001_create_affiliates;
mod m20261123_000002_create_campaigns;
mod m20261123_000003_create_users;
mod m20261123_000004_create_tracking_links;
mod m20261123_000005_create_tracking_sessions;
mod m20261123_000006_create_identity_links;
mod m20261123_000007_create_interactions;
mod m20261123_000008_create_orders;
mod m20261123_000009_create_stripe_webhook_events;
mod m20261123_000010_create_conversions;
mod m20261123_000011_create_journeys;
mod m20261123_000012_create_attribution_credits;
mod m20261123_000013_create_payouts;
mod m20261123_000014_create_commissions;
mod m20261123_000015_create_outbox_events;
mod m20261123_000016_create_integration_deliveries;
mod m20261123_000017_create_integrations_log;
mod m20261123_000018_create_audit_log;
mod m20261123_000019_create_seed_views;
mod m20261123_162500_create_commission_credit_index;
mod m20261123_172000_create_commission_order_index;
mod m20261123_180000_create_conversion_customer_indexes;
mod m20261123_190000_slim_ingest_indexes;
mod m20261202_000001_create_daily_rollups;
mod m20261204_000001_create_attribution_rollup;
mod m20261204_000002_create_list_indexes;
mod m20261204_000003_create_retention_indexes;
mod m20261204_000004_create_list_order_indexes;
mod m20261205_000001_create_sessions;
mod m20261205_000002_add_campaign_allowed_domains;
mod m20261206_000001_create_api_keys;
mod m20261206_000002_add_webhook_minimised_at;
mod m20261206_000003_minimise_stored_customers;
mod m20261207_000001_create_reconciliation_indexes;
mod m20261208_000001_add_commission_expected_amount;
mod m20261209_000001_create_affiliate_onboarding;
mod m20261209_000002_create_affiliate_coupons;
mod m20261209_000003_create_lead_sales;
mod m20261210_000001_create_subscriptions;
mod m20261210_000002_create_commission_tiers;
mod m20261211_000001_add_payout_reference;
mod m20261211_000002_create_coarse_rollups;
mod m20261211_000003_create_affiliate_status_indexes;
mod m20261212_000001_create_affiliate_conversions;
mod m20261212_000002_order_conversion_rollup_triggers;
mod m20261213_000001_create_usual_value_index;
mod m20261213_000002_create_order_rollups;

pub use m20261202_000001_create_daily_rollups::money_units;
pub use m20261211_000002_create_coarse_rollups::{
    fold as fold_rollups, pending as pending_rollup_changes, UNCOUNTED_STATUSES,
};

/// The tables derived from the raw ones, each of them rebuilt by [`rebuild_rollups`]: the
/// daily rollups, their coarser sums, and who sees which conversion (rebuilt with every
/// day only).
pub const ROLLUP_TABLES: [&str; 17] = {
    let [traffic, conversions, commissions] = m20261202_000001_create_daily_rollups::TABLES;
    let [attribution] = [m20261204_000001_create_attribution_rollup::TABLES[1]];
    let [a, b, c, d, e, f, g, h, i, j] = m20261211_000002_create_coarse_rollups::TABLES;
    let seen = m20261212_000001_create_affiliate_conversions::TABLE;
    let [orders, orders_by_day] = m20261213_000002_create_order_rollups::TABLES;
    [traffic, conversions, commissions, attribution, a, b, c, d, e, f, g, h, i, j, seen, orders, orders_by_day]
};

/// The coarse rollups: on PostgreSQL each is its rows `{t}_folded`, the changes not folded
/// into them yet `{t}_pending`, and the view `{t}` summing both per key.
pub const FOLDED_ROLLUPS: [&str; 11] = {
    let [a, b, c, d, e, f, g, h, i, j] = m20261211_000002_create_coarse_rollups::TABLES;
    let [_, orders_by_day] = m20261213_000002_create_order_rollups::TABLES;
    [a, b, c, d, e, f, g, h, i, j, orders_by_day]
};

/// Recomputes every rollup of the UTC days `[from, to)` (both `YYYY-MM-DD`; all days when
/// `None`): the daily ones from the raw tables, the attribution one from the stored shares;
/// with every day, also who sees which conversion. Run it in a transaction that keeps
/// writers out.
pub async fn rebuild_rollups<C: sea_orm_migration::sea_orm::ConnectionTrait>(
    db: &C,
    days: Option<(&str, &str)>,
) -> Result<(), DbErr> {
    m20261202_000001_create_daily_rollups::rebuild(db, days).await?;
    m20261204_000001_create_attribution_rollup::rebuild(db, days).await?;
    m20261213_000002_create_order_rollups::rebuild_daily(db, days).await?;
    // The coarse rollups last: from the daily ones as rebuilt.
    m20261211_000002_create_coarse_rollups::rebuild(db, days).await?;
    // Who sees which conversion is not by day: rebuilt whole, with everything.
    if days.is_none() {
        m20261212_000001_create_affiliate_conversions::rebuild(db).await?;
    }
    Ok(())
}

/// Every migration, in foreign-key order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_create_affiliates::Migration),
            Box::new(m20261123_000002_create_campaigns::Migration),
            Box::new(m20261123_000003_create_users::Migration),
            Box::new(m20261123_000004_create_tracking_links::Migration),
            Box::new(m20261123_000005_create_tracking_sessions::Migration),
            Box::new(m20261123_000006_create_identity_links::Migration),
            Box::new(m20261123_000007_create_interactions::Migration),
            Box::new(m20261123_000008_create_orders::Migration),
            Box::new(m20261123_000009_create_stripe_webhook_events::Migration),
            Box::new(m20261123_000010_create_conversions::Migration),
            Box::new(m20261123_000011_create_journeys::Migration),
            Box::new(m20261123_000012_create_attribution_credits::Migration),
            Box::new(m20261123_000013_create_payouts::Migration),
            Box::new(m20261123_000014_create_commissions::Migration),
            Box::new(m20261123_000015_create_outbox_events::Migration),
            Box::new(m20261123_000016_create_integration_deliveries::Migration),
            Box::new(m20261123_000017_create_integrations_log::Migration),
            Box::new(m20261123_000018_create_audit_log::Migration),
            Box::new(m20261123_000019_create_seed_views::Migration),
            Box::new(m20261123_162500_create_commission_credit_index::Migration),
            Box::new(m20261123_172000_create_commission_order_index::Migration),
            Box::new(m20261123_180000_create_conversion_customer_indexes::Migration),
            Box::new(m20261123_190000_slim_ingest_indexes::Migration),
            Box::new(m20261202_000001_create_daily_rollups::Migration),
            Box::new(m20261204_000001_create_attribution_rollup::Migration),
            Box::new(m20261204_000002_create_list_indexes::Migration),
            Box::new(m20261204_000003_create_retention_indexes::Migration),
            Box::new(m20261204_000004_create_list_order_indexes::Migration),
            Box::new(m20261205_000001_create_sessions::Migration),
            Box::new(m20261205_000002_add_campaign_allowed_domains::Migration),
            Box::new(m20261206_000001_create_api_keys::Migration),
            Box::new(m20261206_000002_add_webhook_minimised_at::Migration),
            Box::new(m20261206_000003_minimise_stored_customers::Migration),
            Box::new(m20261207_000001_create_reconciliation_indexes::Migration),
            Box::new(m20261208_000001_add_commission_expected_amount::Migration),
            Box::new(m20261209_000001_create_affiliate_onboarding::Migration),
            Box::new(m20261209_000002_create_affiliate_coupons::Migration),
            Box::new(m20261209_000003_create_lead_sales::Migration),
            Box::new(m20261210_000001_create_subscriptions::Migration),
            Box::new(m20261210_000002_create_commission_tiers::Migration),
            Box::new(m20261211_000001_add_payout_reference::Migration),
            Box::new(m20261211_000002_create_coarse_rollups::Migration),
            Box::new(m20261211_000003_create_affiliate_status_indexes::Migration),
            Box::new(m20261212_000001_create_affiliate_conversions::Migration),
            Box::new(m20261212_000002_order_conversion_rollup_triggers::Migration),
            Box::new(m20261213_000001_create_usual_value_index::Migration),
            Box::new(m20261213_000002_create_order_rollups::Migration),
        ]
    }
}
