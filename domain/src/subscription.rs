//! Recurring commissions: which invoice of a subscription is a renewal, how long renewals
//! earn, and where Stripe puts the subscription, the payment and the amount on an invoice
//! (the shape changed in the 2025 API versions; both are read).

use chrono::{DateTime, Months, Utc};
use rust_decimal::Decimal;
use serde_json::Value;

/// Renewals earn for this many months after the first sale when the campaign says nothing.
pub const DEFAULT_MONTHS: u32 = 12;
/// The longest a campaign may name in months (lifetime is said apart).
pub const MAX_MONTHS: i32 = 120;

/// A campaign's rule for renewals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RecurringRule {
    /// Percentage (0–100) a renewal earns; `None`: the first sale's rate.
    pub rate: Option<Decimal>,
    /// Months after the first sale during which renewals earn; `None`: [`DEFAULT_MONTHS`].
    /// Zero: renewals earn nothing.
    pub months: Option<u32>,
    /// For the customer's lifetime (months ignored).
    pub lifetime: bool,
}

impl RecurringRule {
    /// The instant before which a renewal earns; `None`: always.
    pub fn earns_until(&self, first_sale: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if self.lifetime {
            return None;
        }
        let months = self.months.unwrap_or(DEFAULT_MONTHS);
        Some(first_sale.checked_add_months(Months::new(months)).unwrap_or(DateTime::<Utc>::MAX_UTC))
    }
}

/// Whether a renewal paid at `at` still earns, given the subscription's limit.
pub fn earns(until: Option<DateTime<Utc>>, at: DateTime<Utc>) -> bool {
    until.is_none_or(|until| at < until)
}

/// What an invoice of a subscription is to us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvoiceKind {
    /// `subscription_create`: the checkout's own sale, recorded from the checkout.
    FirstSale,
    /// A cycle, an upgrade's proration, a threshold: revenue after the first sale.
    Renewal,
}

impl InvoiceKind {
    pub fn of(billing_reason: &str) -> Self {
        if billing_reason == "subscription_create" {
            Self::FirstSale
        } else {
            Self::Renewal
        }
    }
}

/// A Stripe reference: the id as given, or an expanded object's `id`.
pub fn stripe_id(value: &Value) -> Option<&str> {
    // An expanded object carries its id.
    value.as_str().or_else(|| value["id"].as_str()).map(str::trim).filter(|s| !s.is_empty() && s.len() <= 255)
}

/// The subscription an invoice bills: `subscription` (API versions before 2025-03-31) or
/// `parent.subscription_details.subscription` (later ones).
pub fn invoice_subscription(invoice: &Value) -> Option<&str> {
    stripe_id(&invoice["subscription"])
        .or_else(|| stripe_id(&invoice["parent"]["subscription_details"]["subscription"]))
}

/// The payment intent that paid an invoice: `payment_intent` (older versions) or the first
/// paid entry of `payments.data[].payment.payment_intent` (later ones).
pub fn invoice_payment_intent(invoice: &Value) -> Option<&str> {
    stripe_id(&invoice["payment_intent"]).or_else(|| {
        invoice["payments"]["data"].as_array()?.iter().find_map(|entry| stripe_id(&entry["payment"]["payment_intent"]))
    })
}

/// When an invoice was paid: `status_transitions.paid_at`, else its creation.
pub fn invoice_paid_at(invoice: &Value) -> Option<DateTime<Utc>> {
    invoice["status_transitions"]["paid_at"]
        .as_i64()
        .or_else(|| invoice["created"].as_i64())
        .and_then(|s| DateTime::from_timestamp(s, 0))
}

/// The part of a credit note that no Stripe refund carries (credited to the customer's
/// balance or outside Stripe), in minor units: a refund's `charge.refunded` event says the
/// rest. `None` for a credit note issued before payment (it lowered what was paid).
pub fn credit_note_unrefunded(note: &Value) -> Option<i64> {
    if note["type"].as_str() == Some("pre_payment") {
        return None;
    }
    let total = note["total"].as_i64().or_else(|| note["amount"].as_i64())?;
    let refunded: i64 = match note["refunds"].as_array() {
        Some(list) => list.iter().filter_map(|r| r["amount_refunded"].as_i64()).sum(),
        // Older versions name one refund; it carries the credit note's refund part, which
        // those versions do not state apart: all of it, unless balance or out-of-band says.
        None if stripe_id(&note["refund"]).is_some() => {
            total - note["out_of_band_amount"].as_i64().unwrap_or(0) - note["credit_amount"].as_i64().unwrap_or(0)
        }
        None => 0,
    };
    Some((total - refunded).max(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use rust_decimal_macros::dec;
    use serde_json::json;

    #[test]
    fn renewals_earn_for_twelve_months_by_default_or_as_the_campaign_says() {
        let start = Utc.with_ymd_and_hms(2026, 1, 31, 10, 0, 0).single().unwrap_or_default();
        let default = RecurringRule::default();
        let until = default.earns_until(start);
        assert_eq!(until, Utc.with_ymd_and_hms(2027, 1, 31, 10, 0, 0).single());
        // Eleven monthly renewals after the first sale earn; the twelfth month's does not.
        assert!(earns(until, Utc.with_ymd_and_hms(2026, 12, 31, 10, 0, 0).single().unwrap_or_default()));
        assert!(!earns(until, Utc.with_ymd_and_hms(2027, 1, 31, 10, 0, 0).single().unwrap_or_default()));
        // Month ends clamp (31 January + 1 month = 28 February).
        let one = RecurringRule { months: Some(1), ..default };
        assert_eq!(one.earns_until(start), Utc.with_ymd_and_hms(2026, 2, 28, 10, 0, 0).single());
        let none = RecurringRule { months: Some(0), ..default };
        assert!(!earns(none.earns_until(start), start + chrono::Duration::days(1)));
        let lifetime = RecurringRule { lifetime: true, months: Some(3), rate: Some(dec!(5)) };
        assert_eq!(lifetime.earns_until(start), None);
        assert!(earns(None, Utc.with_ymd_and_hms(2090, 1, 1, 0, 0, 0).single().unwrap_or_default()));
    }

    #[test]
    fn the_first_invoice_is_the_checkouts_sale_and_every_other_one_a_renewal() {
        assert_eq!(InvoiceKind::of("subscription_create"), InvoiceKind::FirstSale);
        for reason in ["subscription_cycle", "subscription_update", "subscription_threshold", "manual"] {
            assert_eq!(InvoiceKind::of(reason), InvoiceKind::Renewal);
        }
    }

    #[test]
    fn invoices_of_both_api_shapes_name_their_subscription_and_payment() {
        let old = json!({"subscription": "sub_1", "payment_intent": "pi_1", "created": 1_700_000_000});
        assert_eq!(invoice_subscription(&old), Some("sub_1"));
        assert_eq!(invoice_payment_intent(&old), Some("pi_1"));
        let new = json!({
            "parent": {"type": "subscription_details", "subscription_details": {"subscription": "sub_2"}},
            "payments": {"data": [{"payment": {"type": "payment_intent", "payment_intent": "pi_2"}}]},
            "status_transitions": {"paid_at": 1_700_000_100}, "created": 1_700_000_000
        });
        assert_eq!(invoice_subscription(&new), Some("sub_2"));
        assert_eq!(invoice_payment_intent(&new), Some("pi_2"));
        assert_eq!(invoice_paid_at(&new).map(|t| t.timestamp()), Some(1_700_000_100));
        let expanded = json!({"subscription": {"id": "sub_3", "object": "subscription"}});
        assert_eq!(invoice_subscription(&expanded), Some("sub_3"));
        assert_eq!(invoice_subscription(&json!({"subscription": null})), None);
        assert_eq!(invoice_subscription(&json!({"subscription": ""})), None);
    }

    #[test]
    fn a_credit_note_counts_only_what_no_refund_carries() {
        // Credited to the balance: all of it.
        assert_eq!(credit_note_unrefunded(&json!({"total": 1000, "type": "post_payment", "refunds": []})), Some(1000));
        // Refunded in part: the rest.
        let split =
            json!({"total": 1000, "type": "post_payment", "refunds": [{"refund": "re_1", "amount_refunded": 400}]});
        assert_eq!(credit_note_unrefunded(&split), Some(600));
        // Older shape: one refund, the out-of-band part apart.
        assert_eq!(credit_note_unrefunded(&json!({"amount": 1000, "refund": "re_1"})), Some(0));
        assert_eq!(
            credit_note_unrefunded(&json!({"amount": 1000, "refund": "re_1", "out_of_band_amount": 300})),
            Some(300)
        );
        // Before payment: what was paid was already less.
        assert_eq!(credit_note_unrefunded(&json!({"total": 1000, "type": "pre_payment"})), None);
        assert_eq!(credit_note_unrefunded(&json!({})), None);
    }
}
