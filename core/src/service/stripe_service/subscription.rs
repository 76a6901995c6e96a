//! Subscriptions: a checkout in subscription mode starts one; each paid invoice after the
//! first is a renewal — a sale of the subscription's affiliate (the first sale's, whatever
//! clicks came since), earning at the campaign's recurring rate (or the first sale's) for
//! the months the campaign says (12 when it says nothing) or the customer's lifetime.
//! One row per invoice in `subscription_invoices`: `invoice.paid` and
//! `invoice.payment_succeeded` for the same invoice act once.

use entity::{
    attribution_credits,
    commissions::{self, CommissionType},
    subscription_invoices::{self, InvoiceOutcome, InvoiceStatus},
    subscriptions::{self, SubscriptionStatus},
};
use sea_orm::ActiveEnum;

use super::*;
use crate::{
    domain::subscription::{self as rules, InvoiceKind},
    model::campaigns::recurring_rule,
};

/// The subscription a paid checkout started, with the affiliate and campaign of its sale
/// and, from the campaign's rule, until when its renewals earn. A repeat is a no-op.
pub(super) async fn start(
    txn: &DatabaseTransaction,
    session: &Value,
    order: &orders::Model,
    conversion: &conversions::Model,
) -> AppResult<()> {
    let Some(subscription_id) = rules::invoice_subscription(session) else { return Ok(()) };
    let campaign = match conversion.campaign_id {
        Some(id) => campaigns::Entity::find_by_id(id).one(txn).await?,
        None => None,
    };
    let rule = campaign.as_ref().map(recurring_rule).unwrap_or_default();
    let now = Utc::now().trunc_subsecs(6);
    subscriptions::Entity::insert(subscriptions::ActiveModel {
        id: Set(Uuid::now_v7()),
        stripe_subscription_id: Set(subscription_id.to_string()),
        stripe_customer_id: Set(rules::stripe_id(&session["customer"]).map(str::to_owned)),
        order_id: Set(order.id),
        affiliate_id: Set(conversion.affiliate_id),
        campaign_id: Set(conversion.campaign_id),
        currency: Set(order.currency.clone()),
        status: Set(SubscriptionStatus::Active),
        started_at: Set(conversion.occurred_at),
        earns_until: Set(rule.earns_until(conversion.occurred_at)),
        renewals: Set(0),
        canceled_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .on_conflict(OnConflict::column(subscriptions::Column::StripeSubscriptionId).do_nothing().to_owned())
    .exec_without_returning(txn)
    .await?;
    Ok(())
}

async fn tracked(txn: &DatabaseTransaction, id: &str) -> AppResult<Option<subscriptions::Model>> {
    Ok(subscriptions::Entity::find().filter(subscriptions::Column::StripeSubscriptionId.eq(id)).one(txn).await?)
}

/// An invoice's id and the tracked subscription it bills, or why the event is ignored.
async fn of_invoice(
    txn: &DatabaseTransaction,
    invoice: &Value,
) -> AppResult<Result<(String, subscriptions::Model), Outcome>> {
    let invoice_id = text(invoice, "id").ok_or_else(|| AppError::validation("data.object.id", "invoice id missing"))?;
    let Some(subscription_id) = rules::invoice_subscription(invoice) else {
        return Ok(Err(Outcome::Ignored(format!("invoice {invoice_id} bills no subscription"))));
    };
    match tracked(txn, subscription_id).await? {
        Some(subscription) => Ok(Ok((invoice_id, subscription))),
        None => Ok(Err(untracked(subscription_id))),
    }
}

fn untracked(id: &str) -> Outcome {
    Outcome::Ignored(format!("subscription {id} did not start with a checkout we recorded"))
}

/// `invoice.paid` / `invoice.payment_succeeded`.
pub(super) async fn invoice_paid(txn: &DatabaseTransaction, event: &Event<'_>) -> AppResult<Outcome> {
    let invoice = event.object;
    let (invoice_id, subscription) = match of_invoice(txn, invoice).await? {
        Ok(found) => found,
        Err(ignored) => return Ok(ignored),
    };
    let minor = invoice["amount_paid"]
        .as_i64()
        .ok_or_else(|| AppError::validation("amount_paid", "invoice without amount_paid"))?;
    let currency =
        text(invoice, "currency").ok_or_else(|| AppError::validation("currency", "invoice without currency"))?;
    let (amount, currency) = stripe::amount(minor, &currency, "amount_paid")?;
    let reason = text(invoice, "billing_reason").unwrap_or_else(|| "manual".into());
    let now = Utc::now().trunc_subsecs(6);
    let paid_at = rules::invoice_paid_at(invoice).filter(|t| *t <= now).unwrap_or(now);

    let earlier = subscription_invoices::Entity::find_by_id(invoice_id.clone()).one(txn).await?;
    if earlier.as_ref().is_some_and(|row| row.status == InvoiceStatus::Paid) {
        return Ok(Outcome::Ignored(format!("invoice {invoice_id} is already recorded as paid")));
    }
    let (outcome, why) = if InvoiceKind::of(&reason) == InvoiceKind::FirstSale {
        (InvoiceOutcome::FirstSale, None)
    } else {
        match why_not(txn, &subscription, amount, currency.code(), paid_at).await? {
            Some(why) => (InvoiceOutcome::Skipped, Some(why)),
            None => (InvoiceOutcome::Renewal, None),
        }
    };
    let order = if outcome == InvoiceOutcome::Renewal {
        Some(renewal(txn, event, &subscription, &invoice_id, amount, currency.code(), paid_at).await?)
    } else {
        None
    };
    let row = subscription_invoices::ActiveModel {
        stripe_invoice_id: Set(invoice_id.clone()),
        subscription_id: Set(subscription.id),
        billing_reason: Set(reason.chars().take(64).collect()),
        amount: Set(amount),
        currency: Set(currency.code().to_string()),
        status: Set(InvoiceStatus::Paid),
        outcome: Set(outcome),
        reason: Set(why),
        order_id: Set(order.as_ref().map(|o| o.id)),
        occurred_at: Set(paid_at),
        created_at: Set(earlier.as_ref().map_or(now, |row| row.created_at)),
        updated_at: Set(now),
    };
    if earlier.is_some() {
        row.update(txn).await?;
    } else {
        row.insert(txn).await?;
    }
    let mut active: subscriptions::ActiveModel = subscription.clone().into();
    if let Some(order) = &order {
        active.renewals = Set(subscription.renewals + 1);
        // Whom renewals earn for now (an admin may have re-attributed the first sale).
        active.affiliate_id = Set(order.affiliate_id);
    }
    if matches!(subscription.status, SubscriptionStatus::PastDue | SubscriptionStatus::Unpaid) {
        active.status = Set(SubscriptionStatus::Active);
    }
    active.updated_at = Set(now);
    active.update(txn).await?;
    Ok(Outcome::Processed)
}

/// Why a paid renewal earns nothing, if it does not.
async fn why_not(
    txn: &DatabaseTransaction,
    subscription: &subscriptions::Model,
    amount: Decimal,
    currency: &str,
    paid_at: chrono::DateTime<Utc>,
) -> AppResult<Option<String>> {
    if amount <= Decimal::ZERO {
        return Ok(Some("nothing was paid".into()));
    }
    if currency != subscription.currency {
        return Ok(Some(format!("paid in {currency}, the subscription began in {}", subscription.currency)));
    }
    if !rules::earns(subscription.earns_until, paid_at) {
        return Ok(Some("past the campaign's months of recurring commission".into()));
    }
    let first = first_sale(txn, subscription).await?;
    match first.as_ref().map(|c| c.status) {
        Some(ConversionStatus::Reverted | ConversionStatus::Rejected | ConversionStatus::Refunded) => {
            return Ok(Some("the first sale was reverted, rejected or refunded".into()));
        }
        None => return Ok(Some("the first sale is gone".into())),
        _ => {}
    }
    if first.is_some() && credited_affiliate(txn, subscription, first.as_ref()).await?.is_none() {
        return Ok(Some("the first sale was credited to no affiliate".into()));
    }
    Ok(None)
}

async fn first_sale(
    txn: &DatabaseTransaction,
    subscription: &subscriptions::Model,
) -> AppResult<Option<conversions::Model>> {
    Ok(conversions::Entity::find().filter(conversions::Column::OrderId.eq(subscription.order_id)).one(txn).await?)
}

/// The affiliate renewals earn for: the one with the largest current credit of the first
/// sale (an admin's re-attribution counts), else the one the sale named.
async fn credited_affiliate(
    txn: &DatabaseTransaction,
    subscription: &subscriptions::Model,
    first: Option<&conversions::Model>,
) -> AppResult<Option<Uuid>> {
    let Some(first) = first else { return Ok(subscription.affiliate_id) };
    let credits = attribution_credits::Entity::find()
        .filter(attribution_credits::Column::ConversionId.eq(first.id))
        .filter(attribution_credits::Column::IsCurrent.eq(true))
        .filter(attribution_credits::Column::AffiliateId.is_not_null())
        .order_by_desc(attribution_credits::Column::Weight)
        .order_by_asc(attribution_credits::Column::Id)
        .one(txn)
        .await?;
    let affiliate = credits.and_then(|c| c.affiliate_id).or(first.affiliate_id).or(subscription.affiliate_id);
    let Some(id) = affiliate else { return Ok(None) };
    // Gone or turned down since: nobody earns.
    Ok(affiliates::Entity::find_by_id(id)
        .filter(affiliates::Column::Status.is_not_in([AffiliateStatus::Deleted, AffiliateStatus::Rejected]))
        .one(txn)
        .await?
        .map(|a| a.id))
}

/// The rate a renewal earns at: the campaign's recurring rate, else the one the first
/// sale's commission was priced at (`None`: priced by the same rules as the first sale).
async fn renewal_rate(
    txn: &DatabaseTransaction,
    campaign: Option<&campaigns::Model>,
    first: &conversions::Model,
    affiliate: Uuid,
) -> AppResult<Option<Value>> {
    if let Some(rate) = campaign.and_then(|c| c.recurring_rate) {
        return Ok(Some(json!({ "tipo": "porcentual", "valor": rate.normalize().to_string() })));
    }
    let priced = commissions::Entity::find()
        .filter(commissions::Column::ConversionId.eq(first.id))
        .filter(commissions::Column::AffiliateId.eq(affiliate))
        .filter(commissions::Column::AdjustsCommissionId.is_null())
        .filter(commissions::Column::Rate.is_not_null())
        .order_by_asc(commissions::Column::CreatedAt)
        .one(txn)
        .await?;
    Ok(priced.and_then(|c| {
        let kind = if c.commission_type == CommissionType::Flat { "fijo" } else { "porcentual" };
        c.rate.map(|rate| json!({ "tipo": kind, "valor": rate.normalize().to_string() }))
    }))
}

/// A renewal's order and sale conversion, named to the subscription's affiliate and
/// campaign; attribution credits it to them alone (no visitor to follow), and its
/// commission carries the renewal rate.
async fn renewal(
    txn: &DatabaseTransaction,
    event: &Event<'_>,
    subscription: &subscriptions::Model,
    invoice_id: &str,
    amount: Decimal,
    currency: &str,
    paid_at: chrono::DateTime<Utc>,
) -> AppResult<orders::Model> {
    let invoice = event.object;
    let first = first_sale(txn, subscription)
        .await?
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("renewal without its first sale")))?;
    let affiliate = credited_affiliate(txn, subscription, Some(&first))
        .await?
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("renewal without an affiliate")))?;
    let campaign_id = first.campaign_id.or(subscription.campaign_id);
    let campaign = match campaign_id {
        Some(id) => campaigns::Entity::find_by_id(id).one(txn).await?,
        None => None,
    };
    let rate = renewal_rate(txn, campaign.as_ref(), &first, affiliate).await?;
    let number = subscription.renewals + 1;
    let now = Utc::now().trunc_subsecs(6);
    let email = invoice["customer_email"].as_str();
    let order = orders::ActiveModel {
        id: Set(Uuid::now_v7()),
        event_id: Set(None),
        click_id: Set(None),
        // The invoice is this sale's Stripe object, as the session is a checkout's.
        stripe_session_id: Set(invoice_id.to_string()),
        payment_intent_id: Set(rules::invoice_payment_intent(invoice).map(str::to_owned)),
        amount: Set(amount),
        refunded_amount: Set(Decimal::ZERO),
        currency: Set(currency.to_string()),
        status: Set(OrderStatus::Paid),
        customer_email_hash: Set(email
            .map(|e| if event.minimised { e.to_string() } else { pii::hash_email(e) })
            .or(first.customer_email_hash.clone())),
        customer_phone_hash: Set(None),
        gclid: Set(None),
        fbclid: Set(None),
        campaign: Set(campaign.as_ref().map(|c| c.code.clone())),
        source: Set(Some("stripe_subscription".into())),
        product_id: Set(None),
        campaign_id: Set(campaign_id),
        affiliate_id: Set(Some(affiliate)),
        metadata: Set(json!({
            "stripe_event_id": event.id,
            "attribution": "subscription",
            "subscription": subscription.stripe_subscription_id,
            "renewal": number,
            "livemode": event.livemode,
        })),
        pipedrive_deal_id: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        coupon_id: Set(None),
    }
    .insert(txn)
    .await
    .map_err(|e| AppError::from_db_unique(e, &["stripe_session_id", "payment_intent_id"]))?;
    let conversion = conversions::ActiveModel {
        id: Set(Uuid::now_v7()),
        external_id: Set(Some(invoice_id.to_string())),
        order_id: Set(Some(order.id)),
        interaction_id: Set(None),
        conversion_type: Set(ConversionType::Sale),
        value: Set(amount),
        currency: Set(currency.to_string()),
        // Counted under the channel that won the customer.
        channel: Set(first.channel.clone()),
        campaign_id: Set(campaign_id),
        affiliate_id: Set(Some(affiliate)),
        user_id: Set(None),
        anonymous_id: Set(None),
        customer_email_hash: Set(order.customer_email_hash.clone()),
        customer: Set(json!({})),
        products: Set(json!([])),
        metadata: Set(json!({
            "renovacion": {
                "suscripcion": subscription.stripe_subscription_id,
                "factura": invoice_id,
                "numero": number,
                "primera_conversion_id": first.id,
                "tasa_explicita": rate,
            },
        })),
        status: Set(ConversionStatus::Registered),
        fraud_score: Set(0),
        fraud_signals: Set(json!([])),
        occurred_at: Set(paid_at),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(txn)
    .await
    .map_err(|e| AppError::from_db_unique(e, &["order_id", "external_id"]))?;
    outbox::record_many(txn, crate::wire::events::conversion_recorded(&conversion, ConversionKind::Sale)).await?;
    outbox::record(txn, order_event(&order, "pedido_pagado")).await?;
    Ok(order)
}

/// `invoice.payment_failed`: the invoice is recorded unpaid and the subscription past due;
/// nothing earns until it is paid.
pub(super) async fn invoice_failed(txn: &DatabaseTransaction, invoice: &Value) -> AppResult<Outcome> {
    let (invoice_id, subscription) = match of_invoice(txn, invoice).await? {
        Ok(found) => found,
        Err(ignored) => return Ok(ignored),
    };
    if let Some(row) = subscription_invoices::Entity::find_by_id(invoice_id.clone()).one(txn).await? {
        if row.status == InvoiceStatus::Paid {
            return Ok(Outcome::Ignored(format!("invoice {invoice_id} is already paid")));
        }
        return Ok(Outcome::Ignored(format!("invoice {invoice_id} is already recorded as failed")));
    }
    let minor = invoice["amount_due"].as_i64().unwrap_or(0);
    let currency = text(invoice, "currency").unwrap_or_else(|| subscription.currency.clone());
    let (amount, currency) = stripe::amount(minor, &currency, "amount_due")?;
    let now = Utc::now().trunc_subsecs(6);
    subscription_invoices::ActiveModel {
        stripe_invoice_id: Set(invoice_id),
        subscription_id: Set(subscription.id),
        billing_reason: Set(text(invoice, "billing_reason")
            .unwrap_or_else(|| "manual".into())
            .chars()
            .take(64)
            .collect()),
        amount: Set(amount),
        currency: Set(currency.code().to_string()),
        status: Set(InvoiceStatus::Failed),
        outcome: Set(InvoiceOutcome::Unpaid),
        reason: Set(Some("payment failed".into())),
        order_id: Set(None),
        occurred_at: Set(invoice["created"]
            .as_i64()
            .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
            .unwrap_or(now)),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(txn)
    .await?;
    if subscription.status != SubscriptionStatus::Canceled {
        let mut active: subscriptions::ActiveModel = subscription.into();
        active.status = Set(SubscriptionStatus::PastDue);
        active.updated_at = Set(now);
        active.update(txn).await?;
    }
    Ok(Outcome::Processed)
}

/// `customer.subscription.updated` / `.deleted`: its status (a deleted one is canceled);
/// renewals already paid keep what they earned.
pub(super) async fn changed(txn: &DatabaseTransaction, object: &Value, deleted: bool) -> AppResult<Outcome> {
    let id = text(object, "id").ok_or_else(|| AppError::validation("data.object.id", "subscription id missing"))?;
    let Some(subscription) = tracked(txn, &id).await? else { return Ok(untracked(&id)) };
    let status = if deleted {
        SubscriptionStatus::Canceled
    } else {
        let given = object["status"].as_str().unwrap_or_default();
        SubscriptionStatus::try_from_value(&given.to_string())
            .map_err(|_| AppError::validation("status", format!("unknown subscription status {given:?}")))?
    };
    if subscription.status == SubscriptionStatus::Canceled && status != SubscriptionStatus::Canceled {
        return Ok(Outcome::Ignored(format!("subscription {id} is canceled")));
    }
    let now = Utc::now().trunc_subsecs(6);
    let canceled_at = (status == SubscriptionStatus::Canceled).then(|| {
        object["canceled_at"]
            .as_i64()
            .or(object["ended_at"].as_i64())
            .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
            .unwrap_or(now)
    });
    let mut active: subscriptions::ActiveModel = subscription.into();
    active.status = Set(status);
    active.canceled_at = Set(canceled_at);
    active.updated_at = Set(now);
    active.update(txn).await?;
    Ok(Outcome::Processed)
}

/// `credit_note.created` on a renewal's invoice: the part no Stripe refund carries (credit
/// to the balance, outside Stripe) counts as refunded, and its commission follows; the
/// refunded part arrives as `charge.refunded`.
pub(super) async fn credit_note(txn: &DatabaseTransaction, note: &Value) -> AppResult<Outcome> {
    let Some(invoice_id) = rules::stripe_id(&note["invoice"]).map(str::to_owned) else {
        return Ok(Outcome::Ignored("credit note without an invoice".into()));
    };
    let Some(minor) = rules::credit_note_unrefunded(note) else {
        return Ok(Outcome::Ignored("credit note issued before payment: the invoice paid less".into()));
    };
    if minor == 0 {
        return Ok(Outcome::Ignored("credit note refunded through Stripe: charge.refunded carries it".into()));
    }
    let Some(order) = orders::Entity::find().filter(orders::Column::StripeSessionId.eq(&invoice_id)).one(txn).await?
    else {
        return Ok(Outcome::Ignored(format!("no renewal recorded for invoice {invoice_id}")));
    };
    let currency = text(note, "currency").unwrap_or_else(|| order.currency.clone());
    let (credited, currency) = stripe::amount(minor, &currency, "total")?;
    if currency.code() != order.currency {
        return Err(AppError::validation(
            "currency",
            format!("credit note in {} for an order in {}", currency.code(), order.currency),
        ));
    }
    let total = (order.refunded_amount + credited).min(order.amount);
    apply_refund(txn, order, total, ("nota de crédito total (Stripe)", "nota de crédito parcial (Stripe)")).await
}
