use crate::graphql::GqlResult;
use crate::model::affiliates;
use async_graphql::{Context, InputObject, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use super::{
    enums::{AffiliateStatus, AffiliateTier},
    tracking_link::TrackingLink,
};
use crate::{
    domain::money::scaled,
    graphql::loaders::{LinksByAffiliate, Loaders},
    service::affiliate_service as svc,
};

/// A partner who promotes campaigns and earns commissions.
pub struct Affiliate(pub affiliates::Affiliate);

#[derive(SimpleObject)]
pub struct Document {
    #[graphql(name = "type")]
    pub kind: String,
    pub number: String,
}

/// Bank details; the account number is always masked.
#[derive(SimpleObject)]
pub struct BankDetails {
    pub bank: Option<String>,
    pub account_type: Option<String>,
    /// Masked: only the last four characters are shown.
    pub account_number: Option<String>,
}

#[derive(SimpleObject)]
pub struct AffiliateCommissionConfig {
    /// Percentage (0–100) earned on credited value.
    pub base_rate: Decimal,
    /// Percentage (0–100) for PREMIUM affiliates.
    pub premium_rate: Option<Decimal>,
    /// Approved commissions are paid out once they reach this amount.
    pub minimum_payout: Decimal,
    pub currency: String,
}

#[Object]
impl Affiliate {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Unique human-readable code; usable wherever an id is.
    async fn code(&self) -> &str {
        &self.0.code
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn email(&self) -> &str {
        &self.0.email
    }
    async fn phone(&self) -> Option<&str> {
        self.0.phone.as_deref()
    }
    async fn document(&self) -> Option<Document> {
        match (&self.0.document_type, &self.0.document_number) {
            (Some(kind), Some(number)) => Some(Document { kind: kind.clone(), number: number.clone() }),
            _ => None,
        }
    }
    async fn tier(&self) -> AffiliateTier {
        self.0.tier.into()
    }
    async fn bank_details(&self) -> Option<BankDetails> {
        let m = &self.0;
        if m.bank_name.is_none() && m.bank_account_masked.is_none() {
            return None;
        }
        Some(BankDetails {
            bank: m.bank_name.clone(),
            account_type: m.bank_account_type.clone(),
            account_number: m.bank_account_masked.clone(),
        })
    }
    async fn commission_config(&self) -> AffiliateCommissionConfig {
        AffiliateCommissionConfig {
            base_rate: self.0.base_rate.normalize(),
            premium_rate: self.0.premium_rate.map(|r| r.normalize()),
            minimum_payout: scaled(self.0.minimum_payout, &self.0.payout_currency),
            currency: self.0.payout_currency.clone(),
        }
    }
    async fn status(&self) -> AffiliateStatus {
        self.0.status.into()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// The affiliate's tracking links.
    async fn tracking_links(&self, ctx: &Context<'_>) -> GqlResult<Vec<TrackingLink>> {
        let links = ctx.loaders().links.load_one(LinksByAffiliate(self.0.id)).await?;
        Ok(links.unwrap_or_default().into_iter().map(TrackingLink).collect())
    }
}

#[derive(InputObject)]
pub struct DocumentInput {
    #[graphql(name = "type")]
    pub kind: String,
    pub number: String,
}

#[derive(InputObject)]
pub struct BankDetailsInput {
    pub bank: String,
    pub account_type: String,
    /// Required for a new affiliate; on an update, left out (or blank) keeps the number on file.
    pub account_number: Option<String>,
}

#[derive(InputObject)]
pub struct AffiliateCommissionConfigInput {
    pub base_rate: Decimal,
    pub premium_rate: Option<Decimal>,
    pub minimum_payout: Decimal,
    /// ISO 4217 currency of the minimum payout (default USD).
    pub currency: Option<String>,
}

#[derive(InputObject)]
pub struct CreateAffiliateInput {
    /// Generated from the name when not given.
    pub code: Option<String>,
    pub name: String,
    pub email: String,
    pub phone: Option<String>,
    pub document: Option<DocumentInput>,
    #[graphql(default_with = "AffiliateTier::Standard")]
    pub tier: AffiliateTier,
    pub bank_details: Option<BankDetailsInput>,
    pub commission_config: AffiliateCommissionConfigInput,
}

#[derive(InputObject)]
pub struct UpdateAffiliateInput {
    pub id: ID,
    pub code: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub document: Option<DocumentInput>,
    pub tier: Option<AffiliateTier>,
    pub bank_details: Option<BankDetailsInput>,
    pub commission_config: Option<AffiliateCommissionConfigInput>,
    /// ACTIVE or SUSPENDED (use deleteAffiliate to delete).
    pub status: Option<AffiliateStatus>,
}

#[derive(InputObject, Default)]
pub struct AffiliateFilter {
    pub status: Option<AffiliateStatus>,
    pub tier: Option<AffiliateTier>,
    /// Matches name, email or code.
    pub search: Option<String>,
}

impl From<DocumentInput> for svc::Document {
    fn from(d: DocumentInput) -> Self {
        Self { kind: d.kind, number: d.number }
    }
}

impl From<BankDetailsInput> for svc::BankDetails {
    fn from(b: BankDetailsInput) -> Self {
        Self { bank: b.bank, account_type: b.account_type, account_number: b.account_number.unwrap_or_default() }
    }
}

impl From<AffiliateCommissionConfigInput> for svc::CommissionSettings {
    fn from(c: AffiliateCommissionConfigInput) -> Self {
        Self {
            base_rate: c.base_rate,
            premium_rate: c.premium_rate,
            minimum_payout: c.minimum_payout,
            currency: c.currency,
        }
    }
}

impl From<CreateAffiliateInput> for svc::NewAffiliate {
    fn from(i: CreateAffiliateInput) -> Self {
        Self {
            code: i.code,
            name: i.name,
            email: i.email,
            phone: i.phone,
            document: i.document.map(Into::into),
            tier: i.tier.into(),
            bank_details: i.bank_details.map(Into::into),
            commission: i.commission_config.into(),
        }
    }
}

impl From<UpdateAffiliateInput> for svc::AffiliatePatch {
    fn from(i: UpdateAffiliateInput) -> Self {
        Self {
            code: i.code,
            name: i.name,
            email: i.email,
            phone: i.phone,
            document: i.document.map(Into::into),
            tier: i.tier.map(Into::into),
            bank_details: i.bank_details.map(Into::into),
            commission: i.commission_config.map(Into::into),
            status: i.status.map(Into::into),
        }
    }
}

impl From<AffiliateFilter> for svc::AffiliateFilter {
    fn from(f: AffiliateFilter) -> Self {
        Self { status: f.status.map(Into::into), tier: f.tier.map(Into::into), search: f.search }
    }
}
