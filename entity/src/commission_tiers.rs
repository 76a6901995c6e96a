//! `commission_tiers` table. A programme tier: once an affiliate's credited sales in a
//! calendar month (UTC, in `currency`) reach `min_sales`, its sales earn `rate` (when higher
//! than their own rule), and a month that ends at or above it pays `bonus`.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "commission_tiers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    pub currency: String,
    #[sea_orm(column_type = "Decimal(Some((20, 4)))")]
    pub min_sales: Decimal,
    /// Percentage (0–100).
    #[sea_orm(column_type = "Decimal(Some((9, 4)))")]
    pub rate: Option<Decimal>,
    #[sea_orm(column_type = "Decimal(Some((20, 4)))")]
    pub bonus: Option<Decimal>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
