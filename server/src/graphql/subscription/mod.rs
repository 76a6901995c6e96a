mod commission;
mod events;
mod integration;

use async_graphql::MergedSubscription;

#[derive(MergedSubscription, Default)]
pub struct Subscription(
    events::EventSubscription,
    commission::CommissionSubscription,
    integration::IntegrationSubscription,
);
