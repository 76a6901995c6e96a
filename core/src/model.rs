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
    campaigns { AttributionModel, CampaignStatus, CommissionType }
    integration_deliveries { DeliveryEventKind, DeliveryStatus, Integration }
    integrations_log {}
    journeys { JourneyStatus }
    orders { OrderStatus }
    payouts { PayoutStatus }
    stripe_webhook_events { WebhookEventStatus }
    tracking_links {}
}

/// Affiliates as the layers above see them: the bank account number only masked, so no
/// route or resolver can show it whole.
pub mod affiliates {
    use alpes_domain::pii::mask_account;
    use chrono::{DateTime, Utc};
    pub use entity::affiliates::{AffiliateStatus, AffiliateTier};
    use rust_decimal::Decimal;
    use uuid::Uuid;

    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Affiliate {
        pub id: Uuid,
        pub code: String,
        pub name: String,
        pub email: String,
        pub phone: Option<String>,
        pub document_type: Option<String>,
        pub document_number: Option<String>,
        pub tier: AffiliateTier,
        pub bank_name: Option<String>,
        pub bank_account_type: Option<String>,
        /// Only the last four characters are shown.
        pub bank_account_masked: Option<String>,
        pub base_rate: Decimal,
        pub premium_rate: Option<Decimal>,
        pub minimum_payout: Decimal,
        pub payout_currency: String,
        pub status: AffiliateStatus,
        pub deleted_at: Option<DateTime<Utc>>,
        pub created_at: DateTime<Utc>,
        pub updated_at: DateTime<Utc>,
    }

    impl From<entity::affiliates::Model> for Affiliate {
        fn from(row: entity::affiliates::Model) -> Self {
            Self {
                id: row.id,
                code: row.code,
                name: row.name,
                email: row.email,
                phone: row.phone,
                document_type: row.document_type,
                document_number: row.document_number,
                tier: row.tier,
                bank_name: row.bank_name,
                bank_account_type: row.bank_account_type,
                bank_account_masked: row.bank_account_number.as_deref().map(mask_account),
                base_rate: row.base_rate,
                premium_rate: row.premium_rate,
                minimum_payout: row.minimum_payout,
                payout_currency: row.payout_currency,
                status: row.status,
                deleted_at: row.deleted_at,
                created_at: row.created_at,
                updated_at: row.updated_at,
            }
        }
    }
}

/// Commissions, and the mapping between their stored status and the lifecycle's.
pub mod commissions {
    use alpes_domain::commission::Status;
    pub use entity::commissions::{CommissionStatus, CommissionType, Model};

    /// The lifecycle state of a stored status.
    pub fn lifecycle_status(status: CommissionStatus) -> Status {
        match status {
            CommissionStatus::Pending => Status::Pending,
            CommissionStatus::Calculated => Status::Calculated,
            CommissionStatus::Approved => Status::Approved,
            CommissionStatus::Paid => Status::Paid,
            CommissionStatus::Canceled => Status::Canceled,
            CommissionStatus::Rejected => Status::Rejected,
        }
    }

    /// The stored form of a lifecycle state.
    pub fn stored_status(status: Status) -> CommissionStatus {
        match status {
            Status::Pending => CommissionStatus::Pending,
            Status::Calculated => CommissionStatus::Calculated,
            Status::Approved => CommissionStatus::Approved,
            Status::Paid => CommissionStatus::Paid,
            Status::Canceled => CommissionStatus::Canceled,
            Status::Rejected => CommissionStatus::Rejected,
        }
    }
}

/// Conversions, and the domain's kind of a stored conversion type.
pub mod conversions {
    use alpes_domain::tracking::ConversionKind;
    pub use entity::conversions::{ConversionStatus, ConversionType, Model};

    pub fn conversion_kind(kind: ConversionType) -> ConversionKind {
        match kind {
            ConversionType::Sale => ConversionKind::Sale,
            ConversionType::Lead => ConversionKind::Lead,
            ConversionType::Signup => ConversionKind::Signup,
            ConversionType::Other => ConversionKind::Other,
        }
    }
}

/// Touches, and the domain's kind of a stored interaction kind.
pub mod interactions {
    use alpes_domain::tracking::TouchKind;
    pub use entity::interactions::{InteractionKind, Model};

    pub fn touch_kind(kind: InteractionKind) -> TouchKind {
        match kind {
            InteractionKind::Impression => TouchKind::Impression,
            InteractionKind::Click => TouchKind::Click,
            InteractionKind::View => TouchKind::View,
            InteractionKind::Lead => TouchKind::Lead,
            InteractionKind::Purchase => TouchKind::Purchase,
            InteractionKind::Conversion => TouchKind::Conversion,
        }
    }
}

/// People who sign in. The view leaves out what must never leave the service layer: the
/// password hash.
pub mod users {
    use chrono::{DateTime, Utc};
    pub use entity::users::UserRole;
    use uuid::Uuid;

    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct User {
        pub id: Uuid,
        pub email: String,
        pub role: UserRole,
        /// For AFFILIATE users: the affiliate they act for.
        pub affiliate_id: Option<Uuid>,
        pub is_active: bool,
        pub last_login_at: Option<DateTime<Utc>>,
        pub created_at: DateTime<Utc>,
        pub updated_at: DateTime<Utc>,
    }

    impl From<entity::users::Model> for User {
        fn from(row: entity::users::Model) -> Self {
            Self {
                id: row.id,
                email: row.email,
                role: row.role,
                affiliate_id: row.affiliate_id,
                is_active: row.is_active,
                last_login_at: row.last_login_at,
                created_at: row.created_at,
                updated_at: row.updated_at,
            }
        }
    }
}
