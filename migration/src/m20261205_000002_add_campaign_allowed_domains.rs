//! `campaigns.allowed_domains`: the hosts (and their subdomains) a campaign's tracking links
//! may send visitors to, as a JSON array of lower-case host names. Until a campaign has
//! some, only admins create its links.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Campaigns::Table)
                    .add_column(json_binary_null(Campaigns::AllowedDomains))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table(Campaigns::Table).drop_column(Campaigns::AllowedDomains).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Campaigns {
    Table,
    AllowedDomains,
}
