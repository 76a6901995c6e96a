//! `payouts.reference`: the payment's reference in the system that paid it, for payouts
//! a history import brings (commissions paid before Alpes, by bank transfer or PayPal
//! outside it), so the books can be matched against the bank's.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter().table(Payouts::Table).add_column(string_len_null(Payouts::Reference, 128)).to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table(Payouts::Table).drop_column(Payouts::Reference).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum Payouts {
    Table,
    Reference,
}
