mod affiliate;
mod attribution;
mod campaign;
mod commission;
mod coupon;
mod customer_subscription;
mod dashboard;
mod integration;
mod onboarding;
mod order;
mod reconciliation;
mod tier;
mod tracking;
mod tracking_link;
mod user;

use async_graphql::MergedObject;

#[derive(MergedObject, Default)]
pub struct Query(
    user::UserQuery,
    affiliate::AffiliateQuery,
    attribution::AttributionQuery,
    campaign::CampaignQuery,
    tracking_link::TrackingLinkQuery,
    tracking::TrackingQuery,
    order::OrderQuery,
    dashboard::DashboardQuery,
    commission::CommissionQuery,
    coupon::CouponQuery,
    tier::TierQuery,
    customer_subscription::CustomerSubscriptionQuery,
    integration::IntegrationQuery,
    reconciliation::ReconciliationQuery,
    onboarding::OnboardingQuery,
);
