//! Payouts: an affiliate's approved commissions of one currency, paid together.

use chrono::{DateTime, Utc};
pub use entity::payouts::PayoutStatus;
use rust_decimal::Decimal;
use uuid::Uuid;

/// A payout as the layers above see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payout {
    pub id: Uuid,
    pub affiliate_id: Uuid,
    pub amount: Decimal,
    pub currency: String,
    pub status: PayoutStatus,
    pub commission_count: i32,
    /// The user who made it, if a person did.
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub paid_at: Option<DateTime<Utc>>,
    /// The payment's reference in the system that paid it (an imported payout).
    pub reference: Option<String>,
}

impl From<entity::payouts::Model> for Payout {
    fn from(row: entity::payouts::Model) -> Self {
        Self {
            id: row.id,
            affiliate_id: row.affiliate_id,
            amount: row.amount,
            currency: row.currency,
            status: row.status,
            commission_count: row.commission_count,
            created_by: row.created_by,
            created_at: row.created_at,
            paid_at: row.paid_at,
            reference: row.reference,
        }
    }
}
