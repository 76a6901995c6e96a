//! The facts the fraud score is computed from, read from the database.

use super::*;

/// Two conversions of one customer and value this close are duplicates.
pub(super) const DUPLICATE_WINDOW: Duration = Duration::minutes(10);

/// How many of a campaign's latest conversions its usual order value is taken from.
const USUAL_VALUE_WINDOW: u64 = 200;

pub(super) async fn fraud_facts<C: ConnectionTrait>(
    conn: &C,
    conversion: &conversions::Model,
    rows: &[interactions::Model],
    credited_affiliates: &[Uuid],
    policy: &FraudPolicy,
) -> AppResult<FraudFacts> {
    let last_click = rows.iter().rev().find(|r| r.kind == InteractionKind::Click);
    let secs = last_click.map(|c| (conversion.occurred_at - c.occurred_at).num_seconds());
    let mut flood = 0;
    if let Some(hash) = last_click.and_then(|c| c.ip_hash.clone()) {
        flood = interactions::Entity::find()
            .filter(interactions::Column::IpHash.eq(hash))
            .filter(interactions::Column::Kind.eq(InteractionKind::Click))
            .filter(interactions::Column::OccurredAt.gte(conversion.occurred_at - Duration::hours(1)))
            .filter(interactions::Column::OccurredAt.lte(conversion.occurred_at))
            .count(conn)
            .await?;
    }
    let agents: Vec<String> =
        rows.iter().filter(|r| r.kind == InteractionKind::Click).filter_map(|r| r.user_agent.clone()).collect();
    let mut self_referral = false;
    if let (Some(hash), false) = (&conversion.customer_email_hash, credited_affiliates.is_empty()) {
        let partners = affiliates::Entity::find()
            .filter(affiliates::Column::Id.is_in(credited_affiliates.to_vec()))
            .all(conn)
            .await?;
        self_referral = partners.iter().any(|a| &pii::hash_email(&a.email) == hash);
    }
    let mut same_customer = Condition::any();
    if let Some(hash) = &conversion.customer_email_hash {
        same_customer = same_customer.add(conversions::Column::CustomerEmailHash.eq(hash.clone()));
    }
    if let Some(user) = &conversion.user_id {
        same_customer = same_customer.add(conversions::Column::UserId.eq(user.clone()));
    }
    // A renewal is Stripe billing a customer whose first sale was assessed: the same
    // customer paying the same again, with no click, is what a renewal is.
    let renewal = crate::model::conversions::renewal_of(conversion).is_some();
    let mut duplicate = None;
    if !same_customer.is_empty() && !renewal {
        duplicate = conversions::Entity::find()
            .filter(same_customer)
            .filter(conversions::Column::Id.ne(conversion.id))
            .filter(conversions::Column::Value.eq(conversion.value))
            .filter(conversions::Column::Currency.eq(conversion.currency.clone()))
            .filter(conversions::Column::OccurredAt.gte(conversion.occurred_at - DUPLICATE_WINDOW))
            .filter(conversions::Column::OccurredAt.lte(conversion.occurred_at))
            .filter(conversions::Column::CreatedAt.lte(conversion.created_at))
            .filter(conversions::Column::Status.ne(ConversionStatus::Rejected))
            .one(conn)
            .await?
            .map(|other| other.external_id.unwrap_or_else(|| other.id.to_string()));
    }
    Ok(FraudFacts {
        secs_since_last_click: secs,
        clicks_from_ip_last_hour: flood,
        user_agents: agents,
        self_referral,
        duplicate_of: duplicate,
        credited_without_click: !credited_affiliates.is_empty() && last_click.is_none() && !renewal,
        value: conversion.value,
        usual_value: usual_value(conn, conversion, policy).await?,
        unverified_source: fraud::has_signal(&conversion.fraud_signals, fraud::UNVERIFIED_SOURCE),
    })
}

/// The median value of the campaign's latest conversions in the same currency (those
/// not refused or held), when there are enough of them to call it usual.
async fn usual_value<C: ConnectionTrait>(
    conn: &C,
    conversion: &conversions::Model,
    policy: &FraudPolicy,
) -> AppResult<Option<Decimal>> {
    let Some(campaign_id) = conversion.campaign_id else { return Ok(None) };
    // Each counted status read on its own from the (campaign, currency, status, newest
    // first) index: at most the window's rows each, however many of the campaign's
    // conversions are of other statuses (unattributed, held, rejected).
    let mut latest: Vec<(DateTime<Utc>, Uuid, Decimal)> = Vec::new();
    for status in [ConversionStatus::Attributed, ConversionStatus::Refunded] {
        latest.extend(
            conversions::Entity::find()
                .select_only()
                .column(conversions::Column::OccurredAt)
                .column(conversions::Column::Id)
                .column(conversions::Column::Value)
                .filter(conversions::Column::CampaignId.eq(campaign_id))
                .filter(conversions::Column::Currency.eq(conversion.currency.clone()))
                .filter(conversions::Column::Status.eq(status))
                .filter(conversions::Column::OccurredAt.lte(conversion.occurred_at))
                .filter(conversions::Column::Id.ne(conversion.id))
                .order_by_desc(conversions::Column::OccurredAt)
                .order_by_desc(conversions::Column::Id)
                .limit(USUAL_VALUE_WINDOW)
                .into_tuple::<(DateTime<Utc>, Uuid, Decimal)>()
                .all(conn)
                .await?,
        );
    }
    latest.sort_unstable_by_key(|&(at, id, _)| std::cmp::Reverse((at, id)));
    let mut values: Vec<Decimal> =
        latest.into_iter().take(USUAL_VALUE_WINDOW as usize).map(|(_, _, value)| value).collect();
    if (values.len() as u64) < policy.usual_value_sample.max(1) {
        return Ok(None);
    }
    values.sort_unstable();
    Ok(Some(values[values.len() / 2]))
}
