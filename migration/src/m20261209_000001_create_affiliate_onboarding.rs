//! Onboarding: `affiliate_invites` (links an admin sends; only the SHA-256 of the token is
//! kept, each used once, until it expires or is revoked) and `affiliate_applications`
//! (what an applicant told us, and who reviewed it). The affiliate itself is an ordinary
//! `affiliates` row in state `APPLIED` until approved (`ACTIVE`) or rejected (`REJECTED`).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AffiliateInvites::Table)
                    .col(pk_uuid(AffiliateInvites::Id))
                    .col(string_len_uniq(AffiliateInvites::TokenHash, 64))
                    .col(string_len_null(AffiliateInvites::Email, 320))
                    .col(string_len_null(AffiliateInvites::Note, 500))
                    .col(uuid_null(AffiliateInvites::CreatedBy))
                    .col(timestamp_with_time_zone(AffiliateInvites::CreatedAt))
                    .col(timestamp_with_time_zone(AffiliateInvites::ExpiresAt))
                    .col(timestamp_with_time_zone_null(AffiliateInvites::UsedAt))
                    .col(uuid_null(AffiliateInvites::AffiliateId))
                    .col(timestamp_with_time_zone_null(AffiliateInvites::RevokedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_affiliate_invites_created_by")
                            .from(AffiliateInvites::Table, AffiliateInvites::CreatedBy)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_affiliate_invites_affiliate_id")
                            .from(AffiliateInvites::Table, AffiliateInvites::AffiliateId)
                            .to(Affiliates::Table, Affiliates::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_affiliate_invites_created_at")
                    .table(AffiliateInvites::Table)
                    .col(AffiliateInvites::CreatedAt)
                    .col(AffiliateInvites::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AffiliateApplications::Table)
                    .col(pk_uuid(AffiliateApplications::Id))
                    .col(uuid_uniq(AffiliateApplications::AffiliateId))
                    .col(string_len_null(AffiliateApplications::Website, 500))
                    .col(text_null(AffiliateApplications::Message))
                    .col(uuid_null(AffiliateApplications::InviteId))
                    .col(timestamp_with_time_zone(AffiliateApplications::AppliedAt))
                    .col(timestamp_with_time_zone_null(AffiliateApplications::ReviewedAt))
                    .col(uuid_null(AffiliateApplications::ReviewedBy))
                    .col(string_len_null(AffiliateApplications::RejectionReason, 2000))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_affiliate_applications_affiliate_id")
                            .from(AffiliateApplications::Table, AffiliateApplications::AffiliateId)
                            .to(Affiliates::Table, Affiliates::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_affiliate_applications_invite_id")
                            .from(AffiliateApplications::Table, AffiliateApplications::InviteId)
                            .to(AffiliateInvites::Table, AffiliateInvites::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_affiliate_applications_reviewed_by")
                            .from(AffiliateApplications::Table, AffiliateApplications::ReviewedBy)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(AffiliateApplications::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(AffiliateInvites::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum AffiliateInvites {
    Table,
    Id,
    TokenHash,
    Email,
    Note,
    CreatedBy,
    CreatedAt,
    ExpiresAt,
    UsedAt,
    AffiliateId,
    RevokedAt,
}

#[derive(DeriveIden)]
enum AffiliateApplications {
    Table,
    Id,
    AffiliateId,
    Website,
    Message,
    InviteId,
    AppliedAt,
    ReviewedAt,
    ReviewedBy,
    RejectionReason,
}

#[derive(DeriveIden)]
enum Affiliates {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}
