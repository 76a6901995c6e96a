use async_graphql::{Context, Object, ID};
use chrono::Utc;
use serde_json::json;

use crate::{
    auth::{Caller, Role},
    domain::{
        tracking::{self as rules, ConversionKind, TouchKind},
        validate,
    },
    error::AppError,
    graphql::{
        types::tracking::{Conversion, Interaction, RecordClickInput, RecordConversionInput, RecordImpressionInput},
        ContextExt, GqlResult,
    },
    service::tracking::{ConversionInput, Item, Ref, SessionInput, Stored, TouchEvent, TouchInput},
};

#[derive(Default)]
pub struct TrackingMutation;

/// Who may record: admins for anyone, affiliates for themselves (the affiliate is theirs).
fn affiliate_ref(caller: &Caller, given: Option<ID>) -> Result<Option<Ref>, AppError> {
    match caller.role {
        Role::Admin => Ok(given.map(|id| Ref::Given { value: id.0, field: "affiliateId" })),
        Role::Analyst => Err(AppError::Forbidden("analysts have read-only access".into())),
        Role::Affiliate => {
            let own = caller.affiliate_scope().unwrap_or_default();
            Ok(Some(Ref::Known(own)))
        }
    }
}

fn stored_touch(stored: Stored) -> Result<Interaction, AppError> {
    match stored {
        Stored::Touch(row) => Ok(Interaction(row)),
        Stored::Conversion(_) => Err(AppError::internal(anyhow::anyhow!("expected a touchpoint"))),
    }
}

fn when(at: Option<chrono::DateTime<Utc>>, field: &str) -> Result<chrono::DateTime<Utc>, AppError> {
    let now = Utc::now();
    Ok(rules::event_time(at.unwrap_or(now), now, field)?)
}

#[Object]
impl TrackingMutation {
    /// Records an impression (as `POST /tracking/impresiones`).
    async fn record_impression(&self, ctx: &Context<'_>, input: RecordImpressionInput) -> GqlResult<Interaction> {
        let caller = ctx.caller()?;
        let input = TouchInput {
            external_id: rules::identifier(input.id.as_deref(), "id")?,
            kind: TouchKind::Impression,
            occurred_at: when(input.occurred_at, "occurredAt")?,
            campaign: Some(Ref::Given { value: input.campaign_id.0, field: "campaignId" }),
            affiliate: affiliate_ref(caller, input.affiliate_id)?,
            tracking_link_id: None,
            user_id: rules::identifier(input.user_id.as_deref(), "userId")?,
            anonymous_id: rules::identifier(input.anonymous_id.as_deref(), "anonymousId")?,
            source: None,
            medium: None,
            gclid: None,
            fbclid: None,
            referrer: input.referrer,
            user_agent: input.user_agent,
            ip: input.ip_address,
            session: None,
            flags: Vec::new(),
            event: TouchEvent::Impression,
        };
        let receipt = ctx.state().ingest.submit(Item::Touch(input)).await?;
        Ok(stored_touch(receipt.stored)?)
    }

    /// Records a click, opening a tracking session with its UTM and click ids.
    async fn record_click(&self, ctx: &Context<'_>, input: RecordClickInput) -> GqlResult<Interaction> {
        let caller = ctx.caller()?;
        let session = SessionInput {
            utm_source: input.utm_source.clone(),
            utm_medium: input.utm_medium.clone(),
            utm_campaign: input.utm_campaign,
            utm_term: input.utm_term,
            utm_content: input.utm_content,
            landing_path: input.landing_path,
        };
        let input = TouchInput {
            external_id: rules::identifier(input.id.as_deref(), "id")?,
            kind: TouchKind::Click,
            occurred_at: when(input.occurred_at, "occurredAt")?,
            campaign: input.campaign_id.map(|id| Ref::Given { value: id.0, field: "campaignId" }),
            affiliate: affiliate_ref(caller, input.affiliate_id)?,
            tracking_link_id: None,
            user_id: rules::identifier(input.user_id.as_deref(), "userId")?,
            anonymous_id: rules::identifier(input.anonymous_id.as_deref(), "anonymousId")?,
            source: input.utm_source,
            medium: input.utm_medium,
            gclid: input.gclid,
            fbclid: input.fbclid,
            referrer: input.referrer,
            user_agent: input.user_agent,
            ip: input.ip_address,
            session: Some(session),
            flags: Vec::new(),
            event: TouchEvent::Interaction,
        };
        let receipt = ctx.state().ingest.submit(Item::Touch(input)).await?;
        Ok(stored_touch(receipt.stored)?)
    }

    /// Records a conversion (as `POST /tracking/conversiones`).
    async fn record_conversion(&self, ctx: &Context<'_>, input: RecordConversionInput) -> GqlResult<Conversion> {
        let caller = ctx.caller()?;
        let kind = match entity::conversions::ConversionType::from(input.conversion_type) {
            entity::conversions::ConversionType::Sale => ConversionKind::Sale,
            entity::conversions::ConversionType::Lead => ConversionKind::Lead,
            entity::conversions::ConversionType::Signup => ConversionKind::Signup,
            entity::conversions::ConversionType::Other => ConversionKind::Other,
        };
        let input = ConversionInput {
            external_id: rules::identifier(input.id.as_deref(), "id")?,
            kind,
            value: input.value,
            currency: input.currency,
            occurred_at: when(input.occurred_at, "occurredAt")?,
            campaign: Some(Ref::Given { value: input.campaign_id.0, field: "campaignId" }),
            affiliate: affiliate_ref(caller, input.affiliate_id)?,
            user_id: rules::identifier(input.user_id.as_deref(), "userId")?,
            anonymous_id: rules::identifier(input.anonymous_id.as_deref(), "anonymousId")?,
            click_id: rules::identifier(input.click_id.as_deref(), "clickId")?,
            channel: rules::identifier(input.channel.as_deref(), "channel")?,
            customer_email: input.customer_email.as_deref().map(validate::email).transpose()?,
            customer: json!({}),
            products: input.products.map(|j| j.0).unwrap_or_else(|| json!([])),
            metadata: input.metadata.map(|j| j.0).unwrap_or_else(|| json!({})),
            referrer: None,
            user_agent: None,
            ip: None,
        };
        let receipt = ctx.state().ingest.submit(Item::Conversion(input)).await?;
        match receipt.stored {
            Stored::Conversion(row) => Ok(Conversion(row)),
            Stored::Touch(_) => Err(AppError::internal(anyhow::anyhow!("expected a conversion")).into()),
        }
    }
}
