//! `affiliate_applications` table. What an applicant told us when asking to join, and
//! who reviewed it. The affiliate is `APPLIED` until approved or rejected.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "affiliate_applications")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub affiliate_id: Uuid,
    /// Where they publish (a site, a channel).
    #[sea_orm(column_type = "String(StringLen::N(500))", nullable)]
    pub website: Option<String>,
    /// What they told us about their audience.
    #[sea_orm(column_type = "Text", nullable)]
    pub message: Option<String>,
    /// The invite they came with, if any (approved at once).
    pub invite_id: Option<Uuid>,
    pub applied_at: DateTimeUtc,
    pub reviewed_at: Option<DateTimeUtc>,
    pub reviewed_by: Option<Uuid>,
    #[sea_orm(column_type = "String(StringLen::N(2000))", nullable)]
    pub rejection_reason: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
