//! Reading subscriptions and their invoices (what the Stripe events recorded; see
//! `stripe_service::subscription`). Staff see every one, an affiliate its own.

use std::collections::HashMap;

use entity::{commissions, conversions, subscription_invoices, subscriptions};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::{Page, PageRequest};
use crate::{
    auth::Caller,
    error::{AppError, AppResult},
    model::subscriptions::{CustomerSubscription, SubscriptionInvoice, SubscriptionStatus},
};

/// At most this many invoices of one subscription are listed (ten years of months).
pub const MAX_INVOICES: u64 = 120;

#[derive(Debug, Clone, Default)]
pub struct SubscriptionFilter {
    pub affiliate_id: Option<Uuid>,
    pub status: Option<SubscriptionStatus>,
}

/// Subscriptions, newest first.
pub async fn list(
    db: &DatabaseConnection,
    caller: &Caller,
    filter: SubscriptionFilter,
    page: PageRequest,
) -> AppResult<Page<CustomerSubscription>> {
    let mut query = subscriptions::Entity::find();
    if let Some(id) = filter.affiliate_id {
        caller.require_affiliate_access(id)?;
        query = query.filter(subscriptions::Column::AffiliateId.eq(id));
    }
    if let Some(own) = caller.affiliate_scope() {
        query = query.filter(subscriptions::Column::AffiliateId.eq(own));
    }
    if let Some(status) = filter.status {
        query = query.filter(subscriptions::Column::Status.eq(status));
    }
    Ok(super::newest_first(db, query, subscriptions::Column::StartedAt, subscriptions::Column::Id, page)
        .await?
        .map(CustomerSubscription::from))
}

/// The invoices of a subscription the caller may see, newest first, with what each earned.
pub async fn invoices(
    db: &DatabaseConnection,
    caller: &Caller,
    subscription: &CustomerSubscription,
) -> AppResult<Vec<SubscriptionInvoice>> {
    if let Some(own) = caller.affiliate_scope() {
        if subscription.affiliate_id != Some(own) {
            return Err(AppError::Forbidden("not your subscription".into()));
        }
    }
    let rows = subscription_invoices::Entity::find()
        .filter(subscription_invoices::Column::SubscriptionId.eq(subscription.id))
        .order_by_desc(subscription_invoices::Column::OccurredAt)
        .limit(MAX_INVOICES)
        .all(db)
        .await?;
    let orders: Vec<Uuid> = rows.iter().filter_map(|r| r.order_id).collect();
    let sales: HashMap<Uuid, Uuid> = if orders.is_empty() {
        HashMap::new()
    } else {
        conversions::Entity::find()
            .filter(conversions::Column::OrderId.is_in(orders))
            .all(db)
            .await?
            .into_iter()
            .filter_map(|c| c.order_id.map(|order| (order, c.id)))
            .collect()
    };
    let earned: HashMap<Uuid, commissions::Model> = if sales.is_empty() {
        HashMap::new()
    } else {
        commissions::Entity::find()
            .filter(commissions::Column::ConversionId.is_in(sales.values().copied()))
            .filter(commissions::Column::AdjustsCommissionId.is_null())
            .all(db)
            .await?
            .into_iter()
            .filter_map(|c| c.conversion_id.map(|id| (id, c)))
            .collect()
    };
    Ok(rows
        .into_iter()
        .map(|row| {
            let commission = row.order_id.and_then(|order| sales.get(&order)).and_then(|sale| earned.get(sale));
            SubscriptionInvoice {
                stripe_invoice_id: row.stripe_invoice_id,
                billing_reason: row.billing_reason,
                amount: row.amount,
                currency: row.currency,
                status: row.status,
                outcome: row.outcome,
                reason: row.reason,
                occurred_at: row.occurred_at,
                commission: commission.and_then(|c| c.amount.or(c.expected_amount)),
                commission_status: commission.map(|c| c.status),
            }
        })
        .collect())
}
