//! Commissions and payouts: the money lifecycle (seed 004 "Marketing / Comisiones",
//! seed 003's "Reservada" commission).
//!
//! `PENDING` (reserved at attribution) → `CALCULATED` → `APPROVED` → `PAID`, with
//! `CANCELED` and `REJECTED` ending it (rules in `domain::commission`). Every move bumps
//! `version` with a conditional update, so two people approving the same commission
//! cannot both win: the second gets `CONFLICT`. Every move writes an audit row and a
//! `comisiones.eventos` event in its transaction.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use entity::{
    affiliates::{self, AffiliateTier},
    attribution_credits, campaigns,
    commissions::{self, CommissionStatus, CommissionType},
    conversions::{self, ConversionStatus, ConversionType},
    payouts::{self, PayoutStatus},
};
use rust_decimal::Decimal;
use sea_orm::{
    sea_query::Expr, ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde_json::{json, Value};
use uuid::Uuid;

use super::{affiliate_service, audit, campaign_service, outbox, tracking, Page, PageRequest};
use crate::{
    auth::Caller,
    context::Ctx,
    db,
    domain::{
        commission::{self as rules, Kind, Move, Period},
        fraud,
        money::{scaled, Currency},
        validate,
    },
    error::{AppError, AppResult},
    model::{commissions::Commission, payouts::Payout},
};

mod auto_approval;
mod events;
mod lifecycle;
mod payout;
mod payout_file;
mod query;
mod report;
mod reversal;
mod tier_bonus;

pub use crate::wire::events::{commission as event, payout as payout_event};
pub use auto_approval::*;
use events::*;
pub use lifecycle::*;
pub use payout::*;
pub use payout_file::*;
pub use query::*;
pub use report::*;
pub use reversal::*;
pub use tier_bonus::*;
/// At most this many ids in one bulk approval.
pub const MAX_BULK: usize = 500;
/// At most this many rows in one CSV export.
pub const MAX_EXPORT: u64 = 10_000;

pub use crate::model::commissions::{lifecycle_status, stored_status};

fn type_of(kind: Kind) -> CommissionType {
    match kind {
        Kind::Percentage => CommissionType::Percentage,
        Kind::Flat => CommissionType::Flat,
    }
}

/// A commission asked for by a person (seed 004 `POST /api/v1/comisiones`).
#[derive(Debug, Clone, Default)]
pub struct NewCommission {
    /// Affiliate id or code; without one, the affiliate the conversion is credited to.
    pub affiliate: Option<String>,
    /// Campaign id or code.
    pub campaign: Option<String>,
    /// Conversion id or external id (the `id` its client sent, e.g. `conv_98765`).
    pub conversion: Option<String>,
    /// The base (seed `monto_base.valor`); the conversion's value when not given.
    pub base_amount: Option<Decimal>,
    pub currency: Option<String>,
    pub kind: Option<Kind>,
    /// A percentage (or, for FLAT, the amount) agreed for this commission; the rules
    /// of `domain::commission` decide when not given.
    pub rate: Option<Decimal>,
    /// Free-form settings (seed `configuracion`); `objetivo_cumplido: true` earns the bonus.
    pub config: Option<Value>,
}

/// How a person approved (seed 004 `metadatos_aprobacion`).
#[derive(Debug, Clone, Default)]
pub struct Approval {
    pub comments: Option<String>,
    pub metadata: Option<Value>,
    /// The version the approver saw; a later change makes the approval a CONFLICT.
    pub expected_version: Option<i32>,
}

// ---------------------------------------------------------------------------------
// Use cases of people (GraphQL and REST).
// ---------------------------------------------------------------------------------

/// A new PENDING commission with nothing decided yet; callers set what they know.
fn draft(affiliate_id: Uuid, currency: &str, base_amount: Decimal, now: DateTime<Utc>) -> commissions::Model {
    commissions::Model {
        id: Uuid::now_v7(),
        conversion_id: None,
        credit_id: None,
        affiliate_id,
        campaign_id: None,
        payout_id: None,
        adjusts_commission_id: None,
        commission_type: CommissionType::Percentage,
        base_amount,
        rate: None,
        amount: None,
        expected_amount: None,
        currency: currency.to_string(),
        status: CommissionStatus::Pending,
        config: json!({}),
        approval_comments: None,
        approval_level: None,
        approval_policy: None,
        approval_metadata: json!({}),
        rejection_reason: None,
        cancel_reason: None,
        calculated_at: None,
        approved_at: None,
        paid_at: None,
        canceled_at: None,
        approved_by: None,
        version: 1,
        created_at: now,
        updated_at: now,
    }
}

/// Inserts a new commission; one without an amount yet gets the amount it is expected to
/// pay, priced as its calculation will price it.
async fn insert<C: ConnectionTrait>(conn: &C, mut model: commissions::Model) -> AppResult<commissions::Model> {
    if model.amount.is_none() {
        model.expected_amount = Some(lifecycle::price(conn, &model).await?.1);
    }
    // A credit reserved meanwhile by someone else trips `ux_commissions_credit_id`: CONFLICT.
    model.into_active_model().reset_all().insert(conn).await.map_err(|e| AppError::from_db_unique(e, &["credit_id"]))
}

async fn find<C: ConnectionTrait>(conn: &C, id: Uuid) -> AppResult<commissions::Model> {
    commissions::Entity::find_by_id(id).one(conn).await?.ok_or_else(|| AppError::not_found("commission", id))
}

fn unknown(field: &str, entity: &'static str, id: &str) -> AppError {
    AppError::UnknownReference { field: field.to_string(), entity, id: id.to_string() }
}

fn stale(model: &commissions::Model) -> AppError {
    AppError::conflict("id", format!("commission {} was changed by someone else; reload and try again", model.id))
}
