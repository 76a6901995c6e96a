//! Conversions recorded before customer records were minimised keep who the customer is
//! only as hashes from now on: every stored `conversions.customer` goes once through
//! `pii::minimise_customer`, in batches by id. Records minimised already come out the same
//! and are not written again.

use alpes_domain::pii;
use sea_orm_migration::{prelude::*, sea_orm::ConnectionTrait};
use serde_json::Value as Json;
use uuid::Uuid;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Conversions read per statement.
const BATCH: u64 = 1_000;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let mut after: Option<Uuid> = None;
        loop {
            let mut select = Query::select();
            select
                .columns([Conversions::Id, Conversions::Customer])
                .from(Conversions::Table)
                .order_by(Conversions::Id, Order::Asc)
                .limit(BATCH);
            if let Some(last) = after {
                select.and_where(Expr::col(Conversions::Id).gt(last));
            }
            let rows = db.query_all(&select).await?;
            for row in &rows {
                let id: Uuid = row.try_get("", "id")?;
                let customer: Json = row.try_get("", "customer")?;
                let minimised = pii::minimise_customer(customer.clone());
                if minimised != customer {
                    let update = Query::update()
                        .table(Conversions::Table)
                        .value(Conversions::Customer, minimised)
                        .and_where(Expr::col(Conversions::Id).eq(id))
                        .to_owned();
                    db.execute(&update).await?;
                }
                after = Some(id);
            }
            if (rows.len() as u64) < BATCH {
                return Ok(());
            }
        }
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        // Hashes cannot be turned back into what they hash.
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Conversions {
    Table,
    Id,
    Customer,
}
