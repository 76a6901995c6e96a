//! GraphQL enums, mirroring the stored ones (UPPER_SNAKE on the wire).

use async_graphql::Enum;

/// Declares a GraphQL enum and its two-way mapping to the entity enum of the same variants.
macro_rules! mirrored_enum {
    ($(#[$doc:meta])* $name:ident => $entity:path { $($variant:ident),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
        pub enum $name { $($variant),+ }

        impl From<$entity> for $name {
            fn from(value: $entity) -> Self {
                match value { $(<$entity>::$variant => Self::$variant),+ }
            }
        }

        impl From<$name> for $entity {
            fn from(value: $name) -> Self {
                match value { $($name::$variant => Self::$variant),+ }
            }
        }
    };
}

mirrored_enum!(
    /// Premium affiliates earn the premium rate.
    AffiliateTier => crate::model::affiliates::AffiliateTier { Standard, Premium }
);
mirrored_enum!(
    /// DELETED affiliates are kept for the money trail but hidden from lists. APPLIED: asked
    /// to join, waiting for an admin (not earning, cannot sign in); REJECTED: turned down.
    AffiliateStatus => crate::model::affiliates::AffiliateStatus { Active, Suspended, Deleted, Applied, Rejected }
);
mirrored_enum!(CampaignStatus => crate::model::campaigns::CampaignStatus { Draft, Active, Paused, Ended });
mirrored_enum!(
    /// How a campaign pays: a percentage of the credited value, or a flat amount per conversion.
    CommissionType => crate::model::campaigns::CommissionType { Percentage, Flat }
);
mirrored_enum!(
    /// Which touchpoints get the credit for a conversion.
    AttributionModel => crate::model::campaigns::AttributionModel {
        LastClick, FirstClick, Linear, TimeDecay, PositionBased, Markov
    }
);
mirrored_enum!(UserRole => crate::model::users::UserRole { Admin, Analyst, Affiliate });

impl From<UserRole> for crate::auth::Role {
    fn from(role: UserRole) -> Self {
        crate::model::users::UserRole::from(role).into()
    }
}

impl From<crate::auth::Role> for UserRole {
    fn from(role: crate::auth::Role) -> Self {
        crate::model::users::UserRole::from(role).into()
    }
}

mirrored_enum!(
    /// What a touchpoint was.
    InteractionKind => crate::model::interactions::InteractionKind { Impression, Click, View, Lead, Purchase, Conversion }
);
mirrored_enum!(ConversionType => crate::model::conversions::ConversionType { Sale, Lead, Signup, Other });
mirrored_enum!(
    /// Where a conversion stands in attribution.
    ConversionStatus => crate::model::conversions::ConversionStatus {
        Registered, Attributed, Unattributed, HeldForReview, Reverted, Refunded, Rejected
    }
);
mirrored_enum!(
    /// Where an order stands with Stripe.
    OrderStatus => crate::model::orders::OrderStatus { Pending, Paid, PartiallyRefunded, Refunded, Expired, Failed }
);
mirrored_enum!(
    /// What became of a Stripe webhook event.
    WebhookEventStatus => crate::model::stripe_webhook_events::WebhookEventStatus { Received, Processed, Ignored, Failed }
);
mirrored_enum!(
    /// Where a journey stands: credited, nothing to credit, held for a fraud review, reverted.
    JourneyStatus => crate::model::journeys::JourneyStatus { Attributed, Unattributed, HeldForReview, RevertedFraud }
);

/// What the rows of an attribution report are.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum AttributionGroupBy {
    Campaign,
    Affiliate,
    Channel,
}

impl From<AttributionGroupBy> for crate::service::attribution::GroupBy {
    fn from(value: AttributionGroupBy) -> Self {
        match value {
            AttributionGroupBy::Campaign => Self::Campaign,
            AttributionGroupBy::Affiliate => Self::Affiliate,
            AttributionGroupBy::Channel => Self::Channel,
        }
    }
}
mirrored_enum!(
    /// Where a commission stands: PENDING (reserved at attribution) → CALCULATED → APPROVED → PAID;
    /// CANCELED (reverted, refunded, fraud) and REJECTED (by a person) end it.
    CommissionStatus => crate::model::commissions::CommissionStatus { Pending, Calculated, Approved, Paid, Canceled, Rejected }
);
mirrored_enum!(
    /// Where a payout stands.
    PayoutStatus => crate::model::payouts::PayoutStatus { Pending, Paid, Canceled }
);
mirrored_enum!(
    /// An outbound platform that receives paid orders.
    Integration => crate::model::integration_deliveries::Integration { MetaCapi, GoogleAds, Pipedrive }
);
mirrored_enum!(
    /// What a delivery carries.
    DeliveryEventKind => crate::model::integration_deliveries::DeliveryEventKind { Purchase, Refund }
);
mirrored_enum!(
    /// Where an outbound delivery stands: waiting, being sent, waiting for a retry, done,
    /// skipped on purpose, or DEAD after its last attempt (retryable by an admin).
    DeliveryStatus => crate::model::integration_deliveries::DeliveryStatus {
        Pending, InProgress, Retrying, Succeeded, Skipped, Dead
    }
);
mirrored_enum!(
    /// Stripe's status of a customer's subscription, as its last event said.
    SubscriptionStatus => crate::model::subscriptions::SubscriptionStatus {
        Active, Trialing, PastDue, Unpaid, Paused, Incomplete, IncompleteExpired, Canceled
    }
);
mirrored_enum!(
    /// Whether an invoice was paid.
    InvoiceStatus => crate::model::subscriptions::InvoiceStatus { Paid, Failed }
);
mirrored_enum!(
    /// What an invoice of a subscription was to the programme: FIRST_SALE (the checkout's own
    /// sale), RENEWAL (a sale of the subscription's affiliate, with its commission), SKIPPED
    /// (paid, earns nothing: see `reason`), UNPAID.
    InvoiceOutcome => crate::model::subscriptions::InvoiceOutcome { FirstSale, Renewal, Skipped, Unpaid }
);
