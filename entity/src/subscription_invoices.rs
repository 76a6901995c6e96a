//! `subscription_invoices` table. Each invoice of a tracked subscription, once (Stripe's
//! invoice id is the key): paid or failed, and what it earned or why it earned nothing.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum InvoiceStatus {
    #[sea_orm(string_value = "PAID")]
    Paid,
    #[sea_orm(string_value = "FAILED")]
    Failed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum InvoiceOutcome {
    /// The subscription's first invoice: the checkout's own sale.
    #[sea_orm(string_value = "FIRST_SALE")]
    FirstSale,
    /// A renewal recorded as a sale of the subscription's affiliate.
    #[sea_orm(string_value = "RENEWAL")]
    Renewal,
    /// Paid, earns nothing (`reason` says why).
    #[sea_orm(string_value = "SKIPPED")]
    Skipped,
    /// Not paid (yet).
    #[sea_orm(string_value = "UNPAID")]
    Unpaid,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "subscription_invoices")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub stripe_invoice_id: String,
    pub subscription_id: Uuid,
    pub billing_reason: String,
    #[sea_orm(column_type = "Decimal(Some((20, 4)))")]
    pub amount: Decimal,
    pub currency: String,
    pub status: InvoiceStatus,
    pub outcome: InvoiceOutcome,
    pub reason: Option<String>,
    /// The renewal's order (and through it its sale conversion).
    pub order_id: Option<Uuid>,
    pub occurred_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
