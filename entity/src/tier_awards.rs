//! `tier_awards` table. A tier's bonus, paid once per affiliate and month (`YYYY-MM`, UTC)
//! as a commission.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "tier_awards")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub affiliate_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub period: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub tier_id: Uuid,
    /// The month's credited sales that met the tier.
    #[sea_orm(column_type = "Decimal(Some((20, 4)))")]
    pub sales: Decimal,
    #[sea_orm(column_type = "Decimal(Some((20, 4)))")]
    pub amount: Decimal,
    pub currency: String,
    pub commission_id: Uuid,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
