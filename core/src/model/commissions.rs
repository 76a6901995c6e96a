//! Commissions, and the mapping between their stored status and the lifecycle's.

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
