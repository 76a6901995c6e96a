//! Who changed what: one `audit_log` row per change, in the change's transaction.

use chrono::Utc;
use entity::audit_log;
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};
use serde_json::Value;
use uuid::Uuid;

use crate::{auth::Caller, error::AppError};

pub struct Change<'a> {
    pub action: &'a str,
    pub entity_type: &'a str,
    pub entity_id: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// The audit row of `change`, and its `auditoria.eventos` event, in the caller's transaction.
pub async fn record<C: ConnectionTrait>(conn: &C, caller: &Caller, change: Change<'_>) -> Result<(), AppError> {
    let row = audit_log::ActiveModel {
        id: Set(Uuid::now_v7()),
        actor_id: Set(caller.user_id),
        actor_role: Set(Some(format!("{:?}", caller.role).to_uppercase())),
        action: Set(change.action.to_string()),
        entity_type: Set(change.entity_type.to_string()),
        entity_id: Set(change.entity_id),
        before: Set(change.before),
        after: Set(change.after),
        created_at: Set(Utc::now()),
    }
    .insert(conn)
    .await?;
    super::outbox::record(conn, crate::wire::events::audit_recorded(&row)).await
}
