//! `affiliate_conversions` table: the conversions an affiliate sees (its own, and those a
//! current credit gives it a share of), kept by triggers (see the migration).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "affiliate_conversions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub affiliate_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub conversion_id: Uuid,
    /// The conversion's time: the list's order.
    pub occurred_at: DateTimeUtc,
    /// Why it is seen: owning the conversion, each current credit.
    pub reasons: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::conversions::Entity",
        from = "Column::ConversionId",
        to = "super::conversions::Column::Id",
        on_delete = "Cascade"
    )]
    Conversions,
}

impl Related<super::conversions::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Conversions.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
