mod affiliate;
mod api_key;
mod attribution;
mod campaign;
mod commission;
mod coupon;
mod integration;
mod onboarding;
mod order;
mod seed;
mod tier;
mod tracking;
mod tracking_link;
mod user;

use async_graphql::MergedObject;

#[derive(MergedObject, Default)]
pub struct Mutation(
    user::UserMutation,
    api_key::ApiKeyMutation,
    affiliate::AffiliateMutation,
    attribution::AttributionMutation,
    campaign::CampaignMutation,
    tracking_link::TrackingLinkMutation,
    tracking::TrackingMutation,
    order::OrderMutation,
    seed::SeedMutation,
    commission::CommissionMutation,
    coupon::CouponMutation,
    tier::TierMutation,
    integration::IntegrationMutation,
    onboarding::OnboardingMutation,
);
