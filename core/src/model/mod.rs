//! The records the services hand to the layers above: each table's row and its states,
//! and nothing else of the storage layer (no entity, column, active model or query). The
//! server crate does not depend on `entity` or SeaORM, so this module is the only way a
//! route or resolver sees a stored record, and it cannot query or change one except
//! through a service. A record whose stored shape should not reach clients gets a view
//! type of its own here, which its service returns (`users::User`, without the password
//! hash); the others are still the stored rows.

macro_rules! records {
    ($($table:ident { $($item:ident),* $(,)? })*) => {$(
        pub mod $table {
            pub use entity::$table::Model;
            $(pub use entity::$table::$item;)*
        }
    )*};
}

records! {
    attribution_credits { AttributionModel }
}

pub mod affiliates;
pub mod campaigns;
pub mod commissions;
pub mod conversions;
pub mod integration_deliveries;
pub mod integrations_log;
pub mod interactions;
pub mod journeys;
pub mod orders;
pub mod payouts;
pub mod stripe_webhook_events;
pub mod tracking_links;
pub mod users;
