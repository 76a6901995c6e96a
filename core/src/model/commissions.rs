//! Commissions, and the mapping between their stored status and the lifecycle's.

use alpes_domain::commission::Status;
use chrono::{DateTime, Utc};
pub use entity::commissions::{CommissionStatus, CommissionType};
use rust_decimal::Decimal;
use serde_json::Value;
use uuid::Uuid;

/// A commission (or a clawback against a paid one) as the layers above see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commission {
    pub id: Uuid,
    pub conversion_id: Option<Uuid>,
    /// The attribution credit it was reserved for.
    pub credit_id: Option<Uuid>,
    pub affiliate_id: Uuid,
    pub campaign_id: Option<Uuid>,
    pub payout_id: Option<Uuid>,
    /// For a clawback: the paid commission it takes back from.
    pub adjusts_commission_id: Option<Uuid>,
    pub commission_type: CommissionType,
    pub base_amount: Decimal,
    pub rate: Option<Decimal>,
    pub amount: Option<Decimal>,
    /// What it is expected to pay while not yet calculated (the rules in force when it was
    /// reserved, on its current base).
    pub expected_amount: Option<Decimal>,
    pub currency: String,
    pub status: CommissionStatus,
    pub config: Value,
    pub approval_comments: Option<String>,
    pub approval_level: Option<String>,
    pub approval_policy: Option<String>,
    pub approval_metadata: Value,
    pub rejection_reason: Option<String>,
    pub cancel_reason: Option<String>,
    pub calculated_at: Option<DateTime<Utc>>,
    pub approved_at: Option<DateTime<Utc>>,
    pub paid_at: Option<DateTime<Utc>>,
    pub canceled_at: Option<DateTime<Utc>>,
    pub approved_by: Option<Uuid>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<entity::commissions::Model> for Commission {
    fn from(row: entity::commissions::Model) -> Self {
        Self {
            id: row.id,
            conversion_id: row.conversion_id,
            credit_id: row.credit_id,
            affiliate_id: row.affiliate_id,
            campaign_id: row.campaign_id,
            payout_id: row.payout_id,
            adjusts_commission_id: row.adjusts_commission_id,
            commission_type: row.commission_type,
            base_amount: row.base_amount,
            rate: row.rate,
            amount: row.amount,
            expected_amount: row.expected_amount,
            currency: row.currency,
            status: row.status,
            config: row.config,
            approval_comments: row.approval_comments,
            approval_level: row.approval_level,
            approval_policy: row.approval_policy,
            approval_metadata: row.approval_metadata,
            rejection_reason: row.rejection_reason,
            cancel_reason: row.cancel_reason,
            calculated_at: row.calculated_at,
            approved_at: row.approved_at,
            paid_at: row.paid_at,
            canceled_at: row.canceled_at,
            approved_by: row.approved_by,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

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
