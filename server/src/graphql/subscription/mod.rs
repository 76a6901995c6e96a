mod commission;
mod events;

use async_graphql::MergedSubscription;

#[derive(MergedSubscription, Default)]
pub struct Subscription(events::EventSubscription, commission::CommissionSubscription);
