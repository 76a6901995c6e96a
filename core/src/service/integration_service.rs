//! Outbound deliveries (seed 000): made in the order's transaction, claimed and
//! settled by the per-integration workers, listed and re-queued by staff.
//!
//! A delivery is claimed by a conditional UPDATE (due and free, or its lease run out),
//! so two workers, in one process or in two replicas, never send it at the same time,
//! and one that died mid-send is taken up again once its lease ends.

use chrono::{DateTime, SubsecRound, Utc};
use entity::{
    integration_deliveries::{self, DeliveryEventKind, DeliveryStatus, Integration},
    integrations_log, orders,
};
use sea_orm::{
    sea_query::{Expr, ExprTrait, OnConflict},
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use serde_json::json;
use uuid::Uuid;

use super::{audit, outbox, Page, PageRequest};
use crate::{
    auth::Caller,
    db,
    domain::envelope::{Envelope, Topic},
    error::{AppError, AppResult},
    integrations::{Attempt, DeliveryPlan, Outcome},
    model::{integration_deliveries::IntegrationDelivery, integrations_log::IntegrationLogEntry},
};

/// The Stripe metadata key that marks a checkout as demo data (set by the demo seeder):
/// its order is a test order and never goes to an ad platform or the CRM.
pub const DEMO_MARK: &str = "alpes_demo";

/// The Stripe metadata key of an order `alpes import` brought from the replaced system's
/// history: the old system made its deliveries, so none is made again.
pub const IMPORT_MARK: &str = "alpes_import";

/// Whether a checkout's Stripe `metadata` marks an imported order (see [`IMPORT_MARK`]).
pub fn is_imported(metadata: &serde_json::Value) -> bool {
    metadata[IMPORT_MARK].as_str() == Some("true")
}

/// Whether `order` is demo data (see [`DEMO_MARK`]) or imported history: either is never
/// sent to the ad platforms or the CRM.
pub fn is_demo(order: &orders::Model) -> bool {
    let metadata = &order.metadata["metadata"];
    metadata[DEMO_MARK].as_str() == Some("true") || is_imported(metadata)
}

/// Queues one delivery of `order` per planned integration, in the caller's
/// transaction. A purchase is queued once: a repeat adds nothing. A refund goes only to
/// the platforms that can take one back (Google Ads, Pipedrive) and sends the order's
/// state when it is sent, so a later refund of the same order puts its delivery back in
/// the queue with fresh attempts instead of adding another. Demo orders get none.
pub async fn enqueue<C: ConnectionTrait>(
    conn: &C,
    plan: &DeliveryPlan,
    order: &orders::Model,
    kind: DeliveryEventKind,
) -> AppResult<()> {
    if is_demo(order) {
        return Ok(());
    }
    let order_id = order.id;
    let integrations: Vec<Integration> = plan
        .integrations
        .iter()
        .copied()
        .filter(|i| kind == DeliveryEventKind::Purchase || *i != Integration::MetaCapi)
        .collect();
    if integrations.is_empty() {
        return Ok(());
    }
    let now = Utc::now().trunc_subsecs(6);
    let rows = integrations.into_iter().map(|integration| integration_deliveries::ActiveModel {
        id: Set(Uuid::now_v7()),
        order_id: Set(order_id),
        integration: Set(integration),
        event_kind: Set(kind),
        status: Set(DeliveryStatus::Pending),
        attempts: Set(0),
        max_attempts: Set(plan.max_attempts),
        next_attempt_at: Set(now),
        locked_until: Set(None),
        last_error: Set(None),
        last_http_status: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    });
    let mut on_conflict = OnConflict::columns([
        integration_deliveries::Column::OrderId,
        integration_deliveries::Column::Integration,
        integration_deliveries::Column::EventKind,
    ]);
    match kind {
        DeliveryEventKind::Purchase => on_conflict.do_nothing(),
        DeliveryEventKind::Refund => on_conflict.update_columns([
            integration_deliveries::Column::Status,
            integration_deliveries::Column::Attempts,
            integration_deliveries::Column::MaxAttempts,
            integration_deliveries::Column::NextAttemptAt,
            integration_deliveries::Column::LockedUntil,
            integration_deliveries::Column::UpdatedAt,
        ]),
    };
    integration_deliveries::Entity::insert_many(rows)
        .on_conflict(on_conflict.to_owned())
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

fn claimable(now: DateTime<Utc>) -> Condition {
    Condition::any()
        .add(
            Condition::all()
                .add(integration_deliveries::Column::Status.is_in([DeliveryStatus::Pending, DeliveryStatus::Retrying]))
                .add(integration_deliveries::Column::NextAttemptAt.lte(now)),
        )
        .add(
            Condition::all()
                .add(integration_deliveries::Column::Status.eq(DeliveryStatus::InProgress))
                .add(integration_deliveries::Column::LockedUntil.lt(now)),
        )
}

/// Ids of deliveries of `integration` that may be sent now, oldest due first.
pub async fn due(
    db: &DatabaseConnection,
    integration: Integration,
    now: DateTime<Utc>,
    limit: u64,
) -> AppResult<Vec<Uuid>> {
    Ok(integration_deliveries::Entity::find()
        .select_only()
        .column(integration_deliveries::Column::Id)
        .filter(integration_deliveries::Column::Integration.eq(integration))
        .filter(claimable(now))
        .order_by_asc(integration_deliveries::Column::NextAttemptAt)
        .limit(limit)
        .into_tuple()
        .all(db)
        .await?)
}

/// When the next delivery of `integration` falls due (a lease running out included).
pub async fn next_due(db: &DatabaseConnection, integration: Integration) -> AppResult<Option<DateTime<Utc>>> {
    let waiting: Option<DateTime<Utc>> = integration_deliveries::Entity::find()
        .select_only()
        .column(integration_deliveries::Column::NextAttemptAt)
        .filter(integration_deliveries::Column::Integration.eq(integration))
        .filter(integration_deliveries::Column::Status.is_in([DeliveryStatus::Pending, DeliveryStatus::Retrying]))
        .order_by_asc(integration_deliveries::Column::NextAttemptAt)
        .into_tuple()
        .one(db)
        .await?;
    let leased: Option<Option<DateTime<Utc>>> = integration_deliveries::Entity::find()
        .select_only()
        .column(integration_deliveries::Column::LockedUntil)
        .filter(integration_deliveries::Column::Integration.eq(integration))
        .filter(integration_deliveries::Column::Status.eq(DeliveryStatus::InProgress))
        .order_by_asc(integration_deliveries::Column::LockedUntil)
        .into_tuple()
        .one(db)
        .await?;
    Ok(waiting.into_iter().chain(leased.flatten()).min())
}

/// Takes a delivery for one attempt: it is IN_PROGRESS, leased until `now + lease`,
/// and its attempt counted. `None` when another worker has it or it is no longer due.
pub(crate) async fn claim(
    db: &DatabaseConnection,
    id: Uuid,
    now: DateTime<Utc>,
    lease: std::time::Duration,
) -> AppResult<Option<integration_deliveries::Model>> {
    let until = now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::minutes(5));
    let taken = {
        let _turn = db::write_turn(db).await;
        integration_deliveries::Entity::update_many()
            .col_expr(integration_deliveries::Column::Status, Expr::value(DeliveryStatus::InProgress))
            .col_expr(integration_deliveries::Column::LockedUntil, Expr::value(Some(until)))
            .col_expr(
                integration_deliveries::Column::Attempts,
                Expr::col(integration_deliveries::Column::Attempts).add(1),
            )
            .col_expr(integration_deliveries::Column::UpdatedAt, Expr::value(now))
            .filter(integration_deliveries::Column::Id.eq(id))
            .filter(claimable(now))
            .exec(db)
            .await?
            .rows_affected
    };
    if taken != 1 {
        return Ok(None);
    }
    Ok(integration_deliveries::Entity::find_by_id(id).one(db).await?)
}

/// Settles a claimed attempt: its `integrations_log` row, the delivery's new state
/// (done, skipped, retry at `retry_at`, or DEAD when its attempts are used up), the
/// Pipedrive deal id on the order, and an event, in one transaction. `None` when the
/// lease ran out and another worker took the delivery over meanwhile.
pub(crate) async fn settle(
    db: &DatabaseConnection,
    claimed: &integration_deliveries::Model,
    attempt: &Attempt,
    retry_at: DateTime<Utc>,
) -> AppResult<Option<integration_deliveries::Model>> {
    let now = Utc::now().trunc_subsecs(6);
    let (status, error) = match &attempt.outcome {
        Outcome::Succeeded => (DeliveryStatus::Succeeded, None),
        Outcome::Skipped(reason) => (DeliveryStatus::Skipped, Some(reason.clone())),
        Outcome::Rejected(reason) => (DeliveryStatus::Dead, Some(format!("refused for good: {reason}"))),
        Outcome::Failed(reason) if claimed.attempts >= claimed.max_attempts => {
            (DeliveryStatus::Dead, Some(reason.clone()))
        }
        Outcome::Failed(reason) => (DeliveryStatus::Retrying, Some(reason.clone())),
    };
    let http_status = attempt.http_status.map(i32::from);
    let (txn, _turn) = db::write_txn(db).await?;
    let updated = integration_deliveries::Entity::update_many()
        .col_expr(integration_deliveries::Column::Status, Expr::value(status))
        .col_expr(integration_deliveries::Column::LockedUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(integration_deliveries::Column::LastError, Expr::value(error.clone()))
        .col_expr(integration_deliveries::Column::LastHttpStatus, Expr::value(http_status))
        .col_expr(
            integration_deliveries::Column::NextAttemptAt,
            Expr::value(if status == DeliveryStatus::Retrying { retry_at } else { claimed.next_attempt_at }),
        )
        .col_expr(integration_deliveries::Column::UpdatedAt, Expr::value(now))
        .filter(integration_deliveries::Column::Id.eq(claimed.id))
        .filter(integration_deliveries::Column::Status.eq(DeliveryStatus::InProgress))
        .filter(integration_deliveries::Column::Attempts.eq(claimed.attempts))
        .exec(&txn)
        .await?
        .rows_affected;
    if updated != 1 {
        txn.rollback().await?;
        return Ok(None);
    }
    integrations_log::ActiveModel {
        id: Set(Uuid::now_v7()),
        delivery_id: Set(Some(claimed.id)),
        integration: Set(integration_name(claimed.integration).to_string()),
        reference_id: Set(claimed.order_id.to_string()),
        status: Set(attempt.outcome.log_status().to_string()),
        http_status: Set(http_status),
        latency_ms: Set(Some(attempt.latency.as_millis().min(i32::MAX as u128) as i32)),
        request_payload: Set({
            let mut request = attempt.request.clone();
            crate::domain::pii::redact_ips(&mut request);
            request
        }),
        response_payload: Set(attempt.response.clone()),
        error_message: Set(error),
        created_at: Set(now),
    }
    .insert(&txn)
    .await?;
    if let Some(deal) = &attempt.deal_id {
        orders::Entity::update_many()
            .col_expr(orders::Column::PipedriveDealId, Expr::value(Some(deal.clone())))
            .filter(orders::Column::Id.eq(claimed.order_id))
            .exec(&txn)
            .await?;
    }
    let delivery = integration_deliveries::Entity::find_by_id(claimed.id)
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("delivery vanished")))?;
    outbox::record(&txn, delivery_event(&delivery)).await?;
    txn.commit().await?;
    Ok(Some(delivery))
}

/// The name an integration has in `integrations_log` (seed 001) and in metrics.
pub fn integration_name(integration: Integration) -> &'static str {
    match integration {
        Integration::MetaCapi => "META_CAPI",
        Integration::GoogleAds => "GOOGLE_ADS",
        Integration::Pipedrive => "PIPEDRIVE",
    }
}

/// The event type of a delivery's change of state, on `sistema.eventos`.
pub const DELIVERY_UPDATED: &str = "entrega_integracion_actualizada";

fn delivery_event(delivery: &integration_deliveries::Model) -> Envelope {
    Envelope::new(
        Topic::System,
        DELIVERY_UPDATED,
        "integration_delivery",
        delivery.id,
        &[("entrega_id", json!(delivery.id)), ("pedido_id", json!(delivery.order_id))],
        "datos_entrega",
        serde_json::to_value(delivery).unwrap_or_default(),
    )
}

/// The delivery carried by a [`DELIVERY_UPDATED`] event's envelope.
pub fn delivery_of_event(envelope: &serde_json::Value) -> Option<IntegrationDelivery> {
    serde_json::from_value::<integration_deliveries::Model>(envelope["datos_entrega"].clone()).ok().map(Into::into)
}

/// Puts a DEAD (or waiting) delivery back in the queue now, with a fresh set of
/// attempts (ADMIN). Its log keeps the earlier attempts.
pub async fn retry(db: &DatabaseConnection, caller: &Caller, id: Uuid) -> AppResult<IntegrationDelivery> {
    caller.require_admin()?;
    let (txn, _turn) = db::write_txn(db).await?;
    let delivery = integration_deliveries::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::not_found("integration delivery", id))?;
    if !matches!(delivery.status, DeliveryStatus::Dead | DeliveryStatus::Retrying) {
        return Err(AppError::InvalidTransition {
            entity: "integration delivery",
            from: format!("{:?}", delivery.status).to_uppercase(),
            to: "PENDING".into(),
        });
    }
    let now = Utc::now().trunc_subsecs(6);
    let before = serde_json::to_value(&delivery).ok();
    let mut active: integration_deliveries::ActiveModel = delivery.into();
    active.status = Set(DeliveryStatus::Pending);
    active.attempts = Set(0);
    active.next_attempt_at = Set(now);
    active.locked_until = Set(None);
    active.updated_at = Set(now);
    let delivery = active.update(&txn).await?;
    audit::record(
        &txn,
        caller,
        audit::Change {
            action: "integration_delivery.retry",
            entity_type: "integration_delivery",
            entity_id: delivery.id.to_string(),
            before,
            after: serde_json::to_value(&delivery).ok(),
        },
    )
    .await?;
    outbox::record(&txn, delivery_event(&delivery)).await?;
    txn.commit().await?;
    Ok(delivery.into())
}

#[derive(Debug, Clone, Default)]
pub struct DeliveryFilter {
    pub integration: Option<Integration>,
    pub status: Option<DeliveryStatus>,
    pub order_id: Option<Uuid>,
}

/// Deliveries, newest first (staff).
pub async fn list_deliveries(
    db: &DatabaseConnection,
    caller: &Caller,
    filter: DeliveryFilter,
    page: PageRequest,
) -> AppResult<Page<IntegrationDelivery>> {
    caller.require_staff()?;
    let mut query = integration_deliveries::Entity::find();
    if let Some(integration) = filter.integration {
        query = query.filter(integration_deliveries::Column::Integration.eq(integration));
    }
    if let Some(status) = filter.status {
        query = query.filter(integration_deliveries::Column::Status.eq(status));
    }
    if let Some(order) = filter.order_id {
        query = query.filter(integration_deliveries::Column::OrderId.eq(order));
    }
    Ok(super::newest_first(
        db,
        query,
        integration_deliveries::Column::CreatedAt,
        integration_deliveries::Column::Id,
        page,
    )
    .await?
    .map(IntegrationDelivery::from))
}

#[derive(Debug, Clone, Default)]
pub struct LogFilter {
    pub integration: Option<Integration>,
    pub reference_id: Option<String>,
    pub delivery_id: Option<Uuid>,
    pub status: Option<String>,
}

/// `integrations_log` rows, newest first (staff): seed 001's integrations query.
pub async fn list_log(
    db: &DatabaseConnection,
    caller: &Caller,
    filter: LogFilter,
    page: PageRequest,
) -> AppResult<Page<IntegrationLogEntry>> {
    caller.require_staff()?;
    let mut query = integrations_log::Entity::find();
    if let Some(integration) = filter.integration {
        query = query.filter(integrations_log::Column::Integration.eq(integration_name(integration)));
    }
    if let Some(reference) = filter.reference_id {
        query = query.filter(integrations_log::Column::ReferenceId.eq(reference.trim()));
    }
    if let Some(delivery) = filter.delivery_id {
        query = query.filter(integrations_log::Column::DeliveryId.eq(delivery));
    }
    if let Some(status) = filter.status {
        query = query.filter(integrations_log::Column::Status.eq(status.trim().to_uppercase()));
    }
    Ok(super::newest_first(db, query, integrations_log::Column::CreatedAt, integrations_log::Column::Id, page)
        .await?
        .map(IntegrationLogEntry::from))
}
