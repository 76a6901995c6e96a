use async_graphql::{Context, Object, ID};

use crate::{
    graphql::{
        types::tracking::{Conversion, Interaction, RecordClickInput, RecordConversionInput, RecordImpressionInput},
        ContextExt, GqlResult,
    },
    service::tracking::{self as svc, ConversionCommand, Fields, Recorder, Ref, SessionInput, TouchCommand},
};

/// How the GraphQL inputs name their fields.
const GRAPHQL: Fields = Fields {
    occurred_at: "occurredAt",
    campaign: "campaignId",
    affiliate: "affiliateId",
    user_id: "userId",
    anonymous_id: "anonymousId",
    click_id: "clickId",
    source: "utmSource",
    medium: "utmMedium",
    user_agent: "userAgent",
    ip: "ipAddress",
    email: "customerEmail",
    ..Fields::PLAIN
};

fn given(id: Option<ID>, field: &'static str) -> Option<Ref> {
    id.map(|id| Ref::Given { value: id.0, field })
}

#[derive(Default)]
pub struct TrackingMutation;

#[Object]
impl TrackingMutation {
    /// Records an impression (as `POST /tracking/impresiones`). An AFFILIATE records
    /// for itself only.
    async fn record_impression(&self, ctx: &Context<'_>, input: RecordImpressionInput) -> GqlResult<Interaction> {
        let caller = ctx.caller()?;
        let command = TouchCommand {
            id: input.id,
            occurred_at: input.occurred_at,
            campaign: given(Some(input.campaign_id), GRAPHQL.campaign),
            affiliate: given(input.affiliate_id, GRAPHQL.affiliate),
            user_id: input.user_id,
            anonymous_id: input.anonymous_id,
            referrer: input.referrer,
            user_agent: input.user_agent,
            ip: input.ip_address,
            ..TouchCommand::default()
        };
        let state = ctx.state();
        let recorded =
            svc::record_impression(state, &state.ingest, Recorder::Caller(caller), command, &GRAPHQL).await?;
        Ok(Interaction(recorded.row))
    }

    /// Records a click, opening a tracking session with its UTM and click ids.
    async fn record_click(&self, ctx: &Context<'_>, input: RecordClickInput) -> GqlResult<Interaction> {
        let caller = ctx.caller()?;
        let command = TouchCommand {
            id: input.id,
            occurred_at: input.occurred_at,
            campaign: given(input.campaign_id, GRAPHQL.campaign),
            affiliate: given(input.affiliate_id, GRAPHQL.affiliate),
            user_id: input.user_id,
            anonymous_id: input.anonymous_id,
            source: input.utm_source.clone(),
            medium: input.utm_medium.clone(),
            gclid: input.gclid,
            fbclid: input.fbclid,
            referrer: input.referrer,
            user_agent: input.user_agent,
            ip: input.ip_address,
            session: Some(SessionInput {
                utm_source: input.utm_source,
                utm_medium: input.utm_medium,
                utm_campaign: input.utm_campaign,
                utm_term: input.utm_term,
                utm_content: input.utm_content,
                landing_path: input.landing_path,
            }),
            ..TouchCommand::default()
        };
        let state = ctx.state();
        let recorded = svc::record_click(state, &state.ingest, Recorder::Caller(caller), command, &GRAPHQL).await?;
        Ok(Interaction(recorded.row))
    }

    /// Records a conversion (as `POST /tracking/conversiones`): for ADMIN users and API
    /// keys with the `RECORD_CONVERSIONS` scope; affiliates never record conversions.
    async fn record_conversion(&self, ctx: &Context<'_>, input: RecordConversionInput) -> GqlResult<Conversion> {
        let caller = ctx.caller()?;
        let command = ConversionCommand {
            id: input.id,
            kind: Some(svc::conversion_kind(input.conversion_type.into())),
            value: input.value,
            currency: Some(input.currency),
            occurred_at: input.occurred_at,
            campaign: given(Some(input.campaign_id), GRAPHQL.campaign),
            affiliate: given(input.affiliate_id, GRAPHQL.affiliate),
            user_id: input.user_id,
            anonymous_id: input.anonymous_id,
            click_id: input.click_id,
            channel: input.channel,
            customer_email: input.customer_email,
            products: input.products.map(|j| j.0),
            metadata: input.metadata.map(|j| j.0),
            ..ConversionCommand::default()
        };
        let state = ctx.state();
        let recorded =
            svc::record_conversion(state, &state.ingest, Recorder::Caller(caller), command, &GRAPHQL).await?;
        Ok(Conversion(recorded.row))
    }
}
