//! `api_keys` table. Keys of machine clients; only the SHA-256 of a key is kept.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::users::UserRole;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "api_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(column_type = "String(StringLen::N(100))")]
    pub name: String,
    /// The key's first characters, to recognise it in lists.
    #[sea_orm(column_type = "String(StringLen::N(32))")]
    pub prefix: String,
    /// SHA-256 (hex) of the whole key.
    #[sea_orm(column_type = "String(StringLen::N(64))", unique)]
    pub secret_hash: String,
    /// The secret before the last rotation, accepted until `previous_expires_at`.
    #[sea_orm(column_type = "String(StringLen::N(64))", nullable)]
    pub previous_hash: Option<String>,
    pub previous_expires_at: Option<DateTimeUtc>,
    pub role: UserRole,
    /// Set for AFFILIATE keys: the only affiliate whose data the key sees.
    pub affiliate_id: Option<Uuid>,
    /// The key may record conversions (the shop's server).
    pub records_conversions: bool,
    pub created_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub expires_at: Option<DateTimeUtc>,
    pub rotated_at: Option<DateTimeUtc>,
    pub last_used_at: Option<DateTimeUtc>,
    pub revoked_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::affiliates::Entity",
        from = "Column::AffiliateId",
        to = "super::affiliates::Column::Id",
        on_delete = "Cascade"
    )]
    Affiliates,
}

impl Related<super::affiliates::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Affiliates.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
