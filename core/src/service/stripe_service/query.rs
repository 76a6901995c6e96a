//! Reading orders and webhook events, scoped to what the caller may see.

use super::*;

#[derive(Debug, Clone, Default)]
pub struct OrderFilter {
    pub status: Option<OrderStatus>,
    pub campaign_id: Option<Uuid>,
    pub affiliate_id: Option<Uuid>,
    pub from: Option<chrono::DateTime<Utc>>,
    pub to: Option<chrono::DateTime<Utc>>,
}

/// Orders, newest first; an AFFILIATE caller sees only its own.
pub async fn list_orders(
    db: &DatabaseConnection,
    caller: &Caller,
    filter: OrderFilter,
    page: PageRequest,
) -> AppResult<Page<Order>> {
    let mut condition = Condition::all();
    if let Some(status) = filter.status {
        condition = condition.add(orders::Column::Status.eq(status));
    }
    if let Some(id) = filter.campaign_id {
        condition = condition.add(orders::Column::CampaignId.eq(id));
    }
    if let Some(id) = filter.affiliate_id {
        condition = condition.add(orders::Column::AffiliateId.eq(id));
    }
    if let Some(from) = filter.from {
        condition = condition.add(orders::Column::CreatedAt.gte(from));
    }
    if let Some(to) = filter.to {
        condition = condition.add(orders::Column::CreatedAt.lt(to));
    }
    if let Some(own) = caller.affiliate_scope() {
        condition = condition.add(orders::Column::AffiliateId.eq(own));
    }
    // Programme-wide, the list's size is the rollup's: no count of a million rows.
    let total = match &filter {
        OrderFilter { campaign_id: None, affiliate_id: None, status, from, to }
            if caller.affiliate_scope().is_none() =>
        {
            let status = status.map(|s| sea_orm::ActiveEnum::to_value(&s));
            crate::service::rollup::programme_total(db, "orders_by_day", "orders", status, *from, *to).await?
        }
        _ => None,
    };
    let query = orders::Entity::find().filter(condition);
    let (first, second) = (orders::Column::CreatedAt, orders::Column::Id);
    Ok(crate::service::newest_first_counted(db, query, first, second, page, total).await?.map(Order::from))
}

pub async fn get_order(db: &DatabaseConnection, caller: &Caller, id: &str) -> AppResult<Order> {
    let mut condition = Condition::any().add(orders::Column::StripeSessionId.eq(id.trim()));
    if let Ok(uuid) = Uuid::parse_str(id.trim()) {
        condition = condition.add(orders::Column::Id.eq(uuid));
    }
    let order =
        orders::Entity::find().filter(condition).one(db).await?.ok_or_else(|| AppError::not_found("order", id))?;
    if let Some(own) = caller.affiliate_scope() {
        if order.affiliate_id != Some(own) {
            return Err(AppError::Forbidden("affiliates can only see their own data".into()));
        }
    }
    Ok(order.into())
}

/// Stored webhook events, newest first (staff only).
pub async fn list_events(
    db: &DatabaseConnection,
    caller: &Caller,
    status: Option<WebhookEventStatus>,
    page: PageRequest,
) -> AppResult<Page<WebhookEvent>> {
    caller.require_staff()?;
    let mut query = stripe_webhook_events::Entity::find();
    if let Some(status) = status {
        query = query.filter(stripe_webhook_events::Column::Status.eq(status));
    }
    Ok(crate::service::newest_first(
        db,
        query,
        stripe_webhook_events::Column::ReceivedAt,
        stripe_webhook_events::Column::StripeEventId,
        page,
    )
    .await?
    .map(WebhookEvent::from))
}
