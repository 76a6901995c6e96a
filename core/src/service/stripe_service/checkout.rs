//! A completed (or failed, or expired) checkout: its order, the click and campaign it came
//! from, the conversion of a paid one and its outbound deliveries.

use super::*;

pub(super) fn text(object: &Value, key: &str) -> Option<String> {
    object[key].as_str().map(str::trim).filter(|s| !s.is_empty()).map(|s| s.chars().take(255).collect())
}

/// A checkout session that completed: an order, and when it is paid, a sale conversion.
pub(super) async fn checkout(
    txn: &DatabaseTransaction,
    event: &Event<'_>,
    deliveries: &DeliveryPlan,
    priority: CouponPriority,
) -> AppResult<Outcome> {
    let session = event.object;
    let session_id =
        text(session, "id").ok_or_else(|| AppError::validation("data.object.id", "checkout session id missing"))?;
    let minor = session["amount_total"]
        .as_i64()
        .ok_or_else(|| AppError::validation("amount_total", "checkout session without amount_total"))?;
    let currency = text(session, "currency")
        .ok_or_else(|| AppError::validation("currency", "checkout session without currency"))?;
    let (amount, currency) = stripe::amount(minor, &currency, "amount_total")?;
    let paid = matches!(session["payment_status"].as_str(), Some("paid") | Some("no_payment_required"));
    let now = Utc::now().trunc_subsecs(6);

    if let Some(order) = orders::Entity::find().filter(orders::Column::StripeSessionId.eq(&session_id)).one(txn).await?
    {
        if order.status != OrderStatus::Pending || !paid {
            return Ok(Outcome::Ignored(format!("order for {session_id} is already {:?}", order.status)));
        }
        let mut active: orders::ActiveModel = order.into();
        active.status = Set(OrderStatus::Paid);
        active.updated_at = Set(now);
        let order = active.update(txn).await?;
        record_sale(txn, &order, session, deliveries).await?;
        return Ok(Outcome::Processed);
    }

    let metadata = &session["metadata"];
    let click_ref = text(session, "client_reference_id")
        .or_else(|| text(metadata, "click_id"))
        .or_else(|| text(metadata, "event_id"));
    let click = match &click_ref {
        Some(reference) => find_click(txn, reference).await?,
        None => None,
    };
    let campaign = match text(metadata, "campaign") {
        Some(code) => find_campaign(txn, &code).await?,
        None => None,
    };
    let affiliate = match text(metadata, "affiliate").or_else(|| text(metadata, "affiliate_id")) {
        Some(code) => find_affiliate(txn, &code).await?,
        None => None,
    };
    // An affiliate's coupon code credits that affiliate; a click of another affiliate on
    // the same checkout yields to it unless the programme says clicks come first.
    let coupon = coupon_service::of_checkout(txn, session).await?;
    let coupon_credits = coupon.as_ref().filter(|coupon| match click.as_ref().and_then(|c| c.affiliate_id) {
        Some(clicked) => clicked == coupon.affiliate_id || priority == CouponPriority::Code,
        None => true,
    });
    let campaign_id = coupon_credits
        .and_then(|c| c.campaign_id)
        .or(campaign.map(|c| c.id))
        .or(click.as_ref().and_then(|c| c.campaign_id));
    let affiliate_id = match coupon_credits {
        Some(coupon) => Some(coupon.affiliate_id),
        None => affiliate.map(|a| a.id).or(click.as_ref().and_then(|c| c.affiliate_id)),
    };
    let overrides_click = coupon_credits
        .is_some_and(|coupon| click.as_ref().is_some_and(|c| c.affiliate_id != Some(coupon.affiliate_id)));
    let email = session["customer_details"]["email"].as_str().or(session["customer_email"].as_str());
    let phone = session["customer_details"]["phone"].as_str();
    let attribution = if coupon_credits.is_some() && (overrides_click || click.is_none()) {
        "coupon"
    } else if click.is_some() {
        "click"
    } else if campaign_id.is_some() || affiliate_id.is_some() {
        "metadata"
    } else {
        "unattributed"
    };
    // An order `alpes import` brought from the replaced system keeps the time it was made.
    let made_at = if integration_service::is_imported(metadata) {
        session["created"]
            .as_i64()
            .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
            .filter(|t| *t <= now)
            .unwrap_or(now)
    } else {
        now
    };
    let order = orders::ActiveModel {
        id: Set(Uuid::now_v7()),
        event_id: Set(click.as_ref().and_then(|c| c.session_id)),
        click_id: Set(click.as_ref().map(|c| c.id)),
        stripe_session_id: Set(session_id.clone()),
        payment_intent_id: Set(text(session, "payment_intent")),
        amount: Set(amount),
        refunded_amount: Set(Decimal::ZERO),
        currency: Set(currency.code().to_string()),
        status: Set(if paid { OrderStatus::Paid } else { OrderStatus::Pending }),
        // A minimised event (replayed after its raw data was purged) holds the hashes.
        customer_email_hash: Set(email.map(|e| if event.minimised { e.to_string() } else { pii::hash_email(e) })),
        customer_phone_hash: Set(phone.and_then(|p| {
            if event.minimised {
                Some(p.to_string())
            } else {
                pii::hash_phone(p)
            }
        })),
        gclid: Set(text(metadata, "gclid").or(click.as_ref().and_then(|c| c.gclid.clone()))),
        fbclid: Set(text(metadata, "fbclid").or(click.as_ref().and_then(|c| c.fbclid.clone()))),
        campaign: Set(text(metadata, "campaign")),
        source: Set(text(metadata, "source")),
        product_id: Set(text(metadata, "product_id")),
        campaign_id: Set(campaign_id),
        affiliate_id: Set(affiliate_id),
        metadata: Set(json!({
            "stripe_event_id": event.id,
            "click_reference": click_ref,
            "attribution": attribution,
            "coupon": coupon.as_ref().map(|c| c.code.clone()),
            "livemode": event.livemode,
            "metadata": metadata,
        })),
        pipedrive_deal_id: Set(None),
        created_at: Set(made_at),
        updated_at: Set(made_at),
        coupon_id: Set(coupon.as_ref().map(|c| c.id)),
    }
    .insert(txn)
    .await
    .map_err(|e| AppError::from_db_unique(e, &["stripe_session_id"]))?;
    if paid {
        record_sale(txn, &order, session, deliveries).await?;
    } else {
        outbox::record(txn, order_event(&order, "pedido_pendiente")).await?;
    }
    Ok(Outcome::Processed)
}

/// The sale conversion of a paid order, its events, and its outbound deliveries.
pub(super) async fn record_sale(
    txn: &DatabaseTransaction,
    order: &orders::Model,
    session: &Value,
    deliveries: &DeliveryPlan,
) -> AppResult<()> {
    // Credited by a coupon code over a click: the sale is the code's alone, not the
    // clicking visitor's journey (the order keeps the click for the record).
    let by_code = order.metadata["attribution"] == "coupon";
    let click = match order.click_id {
        Some(id) if !by_code => interactions::Entity::find_by_id(id).one(txn).await?,
        _ => None,
    };
    let channel = click.as_ref().and_then(|c| c.channel.clone()).unwrap_or_else(|| {
        rules::channel(order.source.as_deref(), None, order.gclid.is_some(), order.fbclid.is_some())
    });
    let now = Utc::now().trunc_subsecs(6);
    let occurred_at = session["created"]
        .as_i64()
        .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
        .filter(|t| *t <= now)
        .unwrap_or(now);
    // Neither a click, a code nor a partner named: the customer's earlier lead or sign-up
    // (same email or user id, within its campaign's window) brings its journey.
    let lead = if click.is_none() && !by_code && order.affiliate_id.is_none() {
        let user = text(&session["metadata"], "user_id");
        earlier_lead(txn, order.customer_email_hash.as_deref(), user.as_deref(), occurred_at).await?
    } else {
        None
    };
    let conversion = conversions::ActiveModel {
        id: Set(Uuid::now_v7()),
        external_id: Set(Some(order.stripe_session_id.clone())),
        order_id: Set(Some(order.id)),
        interaction_id: Set(match &lead {
            Some(lead) => lead.interaction_id,
            None if by_code => None,
            None => order.click_id,
        }),
        conversion_type: Set(ConversionType::Sale),
        value: Set(order.amount),
        currency: Set(order.currency.clone()),
        channel: Set(Some(channel)),
        campaign_id: Set(order.campaign_id.or(lead.as_ref().and_then(|l| l.campaign_id))),
        affiliate_id: Set(order.affiliate_id.or(lead.as_ref().and_then(|l| l.affiliate_id))),
        user_id: Set(click.as_ref().and_then(|c| c.user_id.clone()).or(lead.as_ref().and_then(|l| l.user_id.clone()))),
        anonymous_id: Set(click
            .as_ref()
            .and_then(|c| c.anonymous_id.clone())
            .or(lead.as_ref().and_then(|l| l.anonymous_id.clone()))),
        customer_email_hash: Set(order.customer_email_hash.clone()),
        customer: Set(json!({})),
        products: Set(match &order.product_id {
            Some(id) => json!([{ "id": id, "precio": json_number(order.amount), "cantidad": 1 }]),
            None => json!([]),
        }),
        metadata: Set(json!({
            "stripe_session_id": order.stripe_session_id, "source": order.source, "gclid": order.gclid,
            "coupon": order.metadata["coupon"],
            "lead_conversion_id": lead.as_ref().map(|l| l.id),
        })),
        status: Set(ConversionStatus::Registered),
        fraud_score: Set(0),
        fraud_signals: Set(json!([])),
        occurred_at: Set(occurred_at.trunc_subsecs(6)),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(txn)
    .await
    .map_err(|e| AppError::from_db_unique(e, &["order_id", "external_id"]))?;
    if let Some(lead) = &lead {
        // One sale per lead counts for the lead → sale rate: the first.
        lead_sales::Entity::insert(lead_sales::ActiveModel {
            lead_conversion_id: Set(lead.id),
            sale_conversion_id: Set(conversion.id),
            lead_occurred_at: Set(lead.occurred_at),
            affiliate_id: Set(lead.affiliate_id),
            matched_at: Set(now),
        })
        .on_conflict(OnConflict::column(lead_sales::Column::LeadConversionId).do_nothing().to_owned())
        .exec_without_returning(txn)
        .await?;
    }
    if session["mode"] == "subscription" {
        super::subscription::start(txn, session, order, &conversion).await?;
    }
    outbox::record_many(txn, crate::wire::events::conversion_recorded(&conversion, ConversionKind::Sale)).await?;
    outbox::record(txn, order_event(order, "pedido_pagado")).await?;
    integration_service::enqueue(txn, deliveries, order, DeliveryEventKind::Purchase).await?;
    Ok(())
}

/// The latest lead or sign-up of the same customer (email hash or user id) whose campaign
/// window (its lookback; 30 days without a campaign) still holds `at`.
async fn earlier_lead(
    txn: &DatabaseTransaction,
    email_hash: Option<&str>,
    user_id: Option<&str>,
    at: chrono::DateTime<Utc>,
) -> AppResult<Option<conversions::Model>> {
    let mut who = Condition::any();
    if let Some(hash) = email_hash {
        who = who.add(conversions::Column::CustomerEmailHash.eq(hash));
    }
    if let Some(user) = user_id {
        who = who.add(conversions::Column::UserId.eq(user));
    }
    if who.is_empty() {
        return Ok(None);
    }
    let longest = chrono::Duration::days(365);
    let candidates = conversions::Entity::find()
        .filter(who)
        .filter(conversions::Column::ConversionType.is_in([ConversionType::Lead, ConversionType::Signup]))
        .filter(conversions::Column::Status.is_not_in([ConversionStatus::Reverted, ConversionStatus::Rejected]))
        .filter(conversions::Column::OccurredAt.lte(at))
        .filter(conversions::Column::OccurredAt.gte(at - longest))
        .order_by_desc(conversions::Column::OccurredAt)
        .limit(5)
        .all(txn)
        .await?;
    for lead in candidates {
        let days = match lead.campaign_id {
            Some(id) => campaigns::Entity::find_by_id(id).one(txn).await?.map(|c| c.lookback_days),
            None => None,
        }
        .unwrap_or(super::super::campaign_service::DEFAULT_LOOKBACK_DAYS);
        if lead.occurred_at >= at - chrono::Duration::days(i64::from(days)) {
            return Ok(Some(lead));
        }
    }
    Ok(None)
}

/// `async_payment_failed` / `expired`: a pending order is closed; one we never saw is
/// recorded closed, so the abandoned checkout is visible.
pub(super) async fn close_pending(
    txn: &DatabaseTransaction,
    session: &Value,
    to: OrderStatus,
    event_type: &'static str,
) -> AppResult<Outcome> {
    let session_id =
        text(session, "id").ok_or_else(|| AppError::validation("data.object.id", "checkout session id missing"))?;
    let now = Utc::now().trunc_subsecs(6);
    let order = match orders::Entity::find().filter(orders::Column::StripeSessionId.eq(&session_id)).one(txn).await? {
        Some(order) if order.status == OrderStatus::Pending => {
            let mut active: orders::ActiveModel = order.into();
            active.status = Set(to);
            active.updated_at = Set(now);
            active.update(txn).await?
        }
        Some(order) => return Ok(Outcome::Ignored(format!("order for {session_id} is already {:?}", order.status))),
        None => {
            let (Some(minor), Some(currency)) = (session["amount_total"].as_i64(), text(session, "currency")) else {
                return Ok(Outcome::Ignored(format!("no order for {session_id} and no amount to record one")));
            };
            let (amount, currency) = stripe::amount(minor, &currency, "amount_total")?;
            let metadata = &session["metadata"];
            orders::ActiveModel {
                id: Set(Uuid::now_v7()),
                event_id: Set(None),
                click_id: Set(None),
                stripe_session_id: Set(session_id.clone()),
                payment_intent_id: Set(text(session, "payment_intent")),
                amount: Set(amount),
                refunded_amount: Set(Decimal::ZERO),
                currency: Set(currency.code().to_string()),
                status: Set(to),
                customer_email_hash: Set(None),
                customer_phone_hash: Set(None),
                gclid: Set(text(metadata, "gclid")),
                fbclid: Set(text(metadata, "fbclid")),
                campaign: Set(text(metadata, "campaign")),
                source: Set(text(metadata, "source")),
                product_id: Set(text(metadata, "product_id")),
                campaign_id: Set(None),
                affiliate_id: Set(None),
                metadata: Set(json!({ "metadata": metadata })),
                pipedrive_deal_id: Set(None),
                created_at: Set(now),
                updated_at: Set(now),
                coupon_id: Set(None),
            }
            .insert(txn)
            .await?
        }
    };
    outbox::record(txn, order_event(&order, event_type)).await?;
    Ok(Outcome::Processed)
}

pub(super) async fn find_click(txn: &DatabaseTransaction, reference: &str) -> AppResult<Option<interactions::Model>> {
    let mut condition = Condition::any().add(interactions::Column::ExternalId.eq(reference));
    if let Ok(id) = Uuid::parse_str(reference) {
        condition = condition.add(interactions::Column::Id.eq(id));
    }
    Ok(interactions::Entity::find().filter(condition).one(txn).await?)
}

pub(super) async fn find_campaign(txn: &DatabaseTransaction, reference: &str) -> AppResult<Option<campaigns::Model>> {
    let mut condition = Condition::any().add(campaigns::Column::Code.eq(reference.to_lowercase()));
    if let Ok(id) = Uuid::parse_str(reference) {
        condition = condition.add(campaigns::Column::Id.eq(id));
    }
    Ok(campaigns::Entity::find().filter(condition).one(txn).await?)
}

pub(super) async fn find_affiliate(txn: &DatabaseTransaction, reference: &str) -> AppResult<Option<affiliates::Model>> {
    let mut condition = Condition::any().add(affiliates::Column::Code.eq(reference.to_lowercase()));
    if let Ok(id) = Uuid::parse_str(reference) {
        condition = condition.add(affiliates::Column::Id.eq(id));
    }
    // Applicants (and those turned down) are not partners: a sale never names them.
    Ok(affiliates::Entity::find()
        .filter(affiliates::Column::Status.is_not_in([
            AffiliateStatus::Deleted,
            AffiliateStatus::Applied,
            AffiliateStatus::Rejected,
        ]))
        .filter(condition)
        .one(txn)
        .await?)
}
