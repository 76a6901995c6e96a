//! Joining the programme: applications and invite links.

use async_graphql::{Enum, InputObject, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};

use crate::service::onboarding::{Application, Invite};

/// What a person fills in on the public application page.
#[derive(InputObject)]
pub struct AffiliateApplicationInput {
    pub name: String,
    pub email: String,
    /// What they will sign in with once approved (the same rules as every password).
    pub password: String,
    /// Where they publish: a site, a channel (http or https).
    pub website: Option<String>,
    /// Their audience, in their words (at most 2,000 characters).
    pub message: Option<String>,
    /// The token of an invite link (`/apply?invite=…`): approved at once.
    pub invite: Option<String>,
}

/// The answer to an application.
#[derive(SimpleObject)]
pub struct ApplicationResult {
    /// Approved at once (an invite): they can sign in now. Otherwise an admin reviews it.
    pub approved: bool,
    /// The code their links and reports will carry.
    pub code: String,
}

/// What an applicant told us, and how it was reviewed.
pub struct AffiliateApplication(pub Application);

#[Object]
impl AffiliateApplication {
    async fn website(&self) -> Option<&str> {
        self.0.website.as_deref()
    }
    async fn message(&self) -> Option<&str> {
        self.0.message.as_deref()
    }
    /// They came with an invite link (approved by the admin who sent it).
    async fn invited(&self) -> bool {
        self.0.invited
    }
    async fn applied_at(&self) -> DateTime<Utc> {
        self.0.applied_at
    }
    async fn reviewed_at(&self) -> Option<DateTime<Utc>> {
        self.0.reviewed_at
    }
    async fn rejection_reason(&self) -> Option<&str> {
        self.0.rejection_reason.as_deref()
    }
}

/// Where an invite stands.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum InviteStatus {
    Open,
    Used,
    Expired,
    Revoked,
}

/// An invite link to join the programme.
pub struct AffiliateInvite(pub Invite);

#[Object]
impl AffiliateInvite {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Only this email may use it, when set.
    async fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }
    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn expires_at(&self) -> DateTime<Utc> {
        self.0.expires_at
    }
    async fn used_at(&self) -> Option<DateTime<Utc>> {
        self.0.used_at
    }
    /// The affiliate who joined with it.
    async fn affiliate_id(&self) -> Option<ID> {
        self.0.affiliate_id.map(|id| ID(id.to_string()))
    }
    async fn status(&self) -> InviteStatus {
        if self.0.used_at.is_some() {
            InviteStatus::Used
        } else if self.0.revoked_at.is_some() {
            InviteStatus::Revoked
        } else if self.0.expires_at <= Utc::now() {
            InviteStatus::Expired
        } else {
            InviteStatus::Open
        }
    }
}

/// A new invite: its link holds a token shown this once.
#[derive(SimpleObject)]
pub struct CreatedInvite {
    pub invite: AffiliateInvite,
    /// The link to send (`{ALPES_PUBLIC_URL}/apply?invite=…`).
    pub url: String,
}

/// What the application page shows of an invite link.
#[derive(SimpleObject)]
pub struct InviteInfo {
    /// The email it is for, when it names one.
    pub email: Option<String>,
    pub expires_at: DateTime<Utc>,
}
