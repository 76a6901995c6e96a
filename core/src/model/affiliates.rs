//! Affiliates as the layers above see them: the bank account number only masked, so no
//! route or resolver can show it whole.

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
