//! Rows built from validated input, and the mapping between stored and domain kinds.

use super::*;

pub(super) fn touch(
    input: &TouchInput,
    directory: &Directory,
    ip_salt: &str,
    now: DateTime<Utc>,
    writes: &mut Writes,
) -> AppResult<Receipt> {
    let campaign = directory.campaign(input.campaign.as_ref())?;
    let affiliate = directory.affiliate(input.affiliate.as_ref())?;
    let id = Uuid::now_v7();
    let external_id = input.external_id.clone().unwrap_or_else(|| id.to_string());
    let ip_hash = input.ip.as_deref().map(|ip| pii::hash_ip(ip, ip_salt));
    let mut flags = input.flags.clone();
    if campaign.is_some_and(|c| c.status != CampaignStatus::Active) {
        flags.push("CAMPAIGN_NOT_ACTIVE".into());
    }
    if affiliate.is_some_and(|a| a.status != AffiliateStatus::Active) {
        flags.push("AFFILIATE_NOT_ACTIVE".into());
    }
    flags.dedup();

    let session_id = input.session.as_ref().map(|s| {
        let session = tracking_sessions::Model {
            id: Uuid::now_v7(),
            anonymous_id: input.anonymous_id.clone(),
            user_id: input.user_id.clone(),
            utm_source: s.utm_source.clone(),
            utm_medium: s.utm_medium.clone(),
            utm_campaign: s.utm_campaign.clone(),
            utm_term: s.utm_term.clone(),
            utm_content: s.utm_content.clone(),
            gclid: input.gclid.clone(),
            fbclid: input.fbclid.clone(),
            landing_path: s.landing_path.clone(),
            referrer: input.referrer.clone(),
            user_agent: input.user_agent.clone(),
            ip_hash: ip_hash.clone(),
            created_at: now,
            last_seen_at: now,
        };
        let session_id = session.id;
        writes.sessions.push(session);
        session_id
    });

    let campaign_ref = match &input.campaign {
        Some(Ref::Given { value, .. }) => Some(value.clone()),
        _ => campaign.map(|c| c.code.clone()),
    };
    let affiliate_ref = match &input.affiliate {
        Some(Ref::Given { value, .. }) => Some(value.clone()),
        _ => affiliate.map(|a| a.code.clone()),
    };
    let channel = tracking::channel(
        input.source.as_deref(),
        input.medium.as_deref(),
        input.gclid.is_some(),
        input.fbclid.is_some(),
    );
    let model = interactions::Model {
        id,
        external_id: external_id.clone(),
        kind: kind(input.kind),
        occurred_at: input.occurred_at.trunc_subsecs(6),
        received_at: now,
        session_id,
        tracking_link_id: input.tracking_link_id,
        user_id: input.user_id.clone(),
        anonymous_id: input.anonymous_id.clone(),
        campaign_id: campaign.map(|c| c.id),
        affiliate_id: affiliate.map(|a| a.id),
        campaign_ref,
        affiliate_ref,
        source: input.source.clone(),
        medium: input.medium.clone(),
        channel: Some(channel),
        gclid: input.gclid.clone(),
        fbclid: input.fbclid.clone(),
        referrer: input.referrer.clone(),
        user_agent: input.user_agent.clone(),
        ip_hash,
        value: None,
        currency: None,
        flags: json!(flags),
        payload: json!({}),
    };
    if let (Some(user), Some(anonymous)) = (&input.user_id, &input.anonymous_id) {
        writes.links.push(identity_links::Model {
            anonymous_id: anonymous.clone(),
            user_id: user.clone(),
            linked_at: now,
        });
    }
    let event = match input.event {
        TouchEvent::Impression => impression_event(&model),
        TouchEvent::Interaction => interaction_event(&model),
    };
    writes.events.push(named(event, affiliate, campaign));
    writes.interactions.push(model.clone());
    Ok(Receipt { stored: Stored::Touch(model), replayed: false })
}

pub(super) fn conversion(
    input: &ConversionInput,
    directory: &Directory,
    known_clicks: &HashMap<String, Uuid>,
    ip_salt: &str,
    now: DateTime<Utc>,
    writes: &mut Writes,
) -> AppResult<Receipt> {
    let campaign = directory.campaign(input.campaign.as_ref())?;
    let affiliate = directory.affiliate(input.affiliate.as_ref())?;
    if !input.products.is_array() {
        return Err(AppError::validation("products", "products must be a JSON array"));
    }
    if !input.metadata.is_object() {
        return Err(AppError::validation("metadata", "metadata must be a JSON object"));
    }
    let currency = Currency::parse(&input.currency, "moneda")?;
    let value = currency.amount(input.value, "valor")?;
    let interaction_id = input.click_id.as_ref().and_then(|id| known_clicks.get(id).copied());
    let mut metadata = match &input.metadata {
        Value::Object(map) => Value::Object(map.clone()),
        _ => json!({}),
    };
    metadata["refs"] = json!({
        "campaign": input.campaign.as_ref().map(ref_text),
        "affiliate": input.affiliate.as_ref().map(ref_text),
    });
    if let Some(ip) = &input.ip {
        metadata["ip_hash"] = json!(pii::hash_ip(ip, ip_salt));
    }
    if let Some(agent) = &input.user_agent {
        metadata["user_agent"] = json!(agent);
    }
    if let Some(referrer) = &input.referrer {
        metadata["referrer"] = json!(referrer);
    }
    let id = Uuid::now_v7();
    let model = conversions::Model {
        id,
        external_id: Some(input.external_id.clone().unwrap_or_else(|| id.to_string())),
        order_id: None,
        interaction_id,
        conversion_type: conversion_type(input.kind),
        value,
        currency: currency.code().to_string(),
        channel: input.channel.clone(),
        campaign_id: campaign.map(|c| c.id),
        affiliate_id: affiliate.map(|a| a.id),
        user_id: input.user_id.clone(),
        anonymous_id: input.anonymous_id.clone(),
        customer_email_hash: input.customer_email.as_deref().map(pii::hash_email),
        customer: input.customer.clone(),
        products: input.products.clone(),
        metadata,
        status: ConversionStatus::Registered,
        fraud_score: 0,
        // Known before attribution scores it: who sent it.
        fraud_signals: if input.unverified { json!([crate::domain::fraud::unverified_source()]) } else { json!([]) },
        occurred_at: input.occurred_at.trunc_subsecs(6),
        created_at: now,
        updated_at: now,
    };
    if let (Some(user), Some(anonymous)) = (&input.user_id, &input.anonymous_id) {
        writes.links.push(identity_links::Model {
            anonymous_id: anonymous.clone(),
            user_id: user.clone(),
            linked_at: now,
        });
    }
    writes.events.extend(conversion_event(&model, input.kind).map(|event| named(event, affiliate, campaign)));
    writes.conversions.push(model.clone());
    Ok(Receipt { stored: Stored::Conversion(model), replayed: false })
}

pub(super) fn kind(kind: TouchKind) -> InteractionKind {
    match kind {
        TouchKind::Impression => InteractionKind::Impression,
        TouchKind::Click => InteractionKind::Click,
        TouchKind::View => InteractionKind::View,
        TouchKind::Lead => InteractionKind::Lead,
        TouchKind::Purchase => InteractionKind::Purchase,
        TouchKind::Conversion => InteractionKind::Conversion,
    }
}

pub(super) fn conversion_type(kind: ConversionKind) -> ConversionType {
    match kind {
        ConversionKind::Sale => ConversionType::Sale,
        ConversionKind::Lead => ConversionType::Lead,
        ConversionKind::Signup => ConversionType::Signup,
        ConversionKind::Other => ConversionType::Other,
    }
}

pub use crate::model::{conversions::conversion_kind, interactions::touch_kind};
