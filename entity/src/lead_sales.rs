//! `lead_sales` table. A sale that came from an earlier lead or sign-up of the same
//! customer, one per lead: the dashboard's lead → sale rate.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "lead_sales")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub lead_conversion_id: Uuid,
    #[sea_orm(unique)]
    pub sale_conversion_id: Uuid,
    /// When the lead happened: the period it counts in.
    pub lead_occurred_at: DateTimeUtc,
    pub affiliate_id: Option<Uuid>,
    pub matched_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
