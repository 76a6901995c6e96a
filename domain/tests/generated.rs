//! Generated input for the parsers and money rules every outside caller reaches: Stripe
//! signatures and amounts, periods, money amounts and rounding, rates. None panics on
//! anything; what is accepted round-trips; rounding is once, half-even, to the minor unit.

use alpes_domain::{
    commission::parse_period,
    money::{self, Currency},
    stripe::{self, StripeSignature},
};
use chrono::{TimeZone, Utc};
use proptest::prelude::*;
use rust_decimal::Decimal;

fn currencies() -> Vec<Currency> {
    Currency::all().collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    /// Any header parses or is refused, never panics; a signature made for a body verifies
    /// for that body only, within the tolerance.
    #[test]
    fn stripe_signatures(header in ".{0,200}", body in proptest::collection::vec(any::<u8>(), 0..300),
                         other in proptest::collection::vec(any::<u8>(), 1..50), t in 1_000_000_000i64..2_000_000_000) {
        let _ = StripeSignature::parse(&header).map(|s| s.verify(&body, &["whsec_x".to_string()], t));
        let signed = stripe::sign(&body, "whsec_x", t);
        let parsed = StripeSignature::parse(&signed);
        prop_assert!(parsed.is_ok());
        if let Ok(parsed) = parsed {
            prop_assert!(parsed.verify(&body, &["whsec_y".to_string(), "whsec_x".to_string()], t + 10).is_ok());
            prop_assert!(parsed.verify(&body, &["whsec_y".to_string()], t).is_err());
            prop_assert!(parsed.verify(&body, &["whsec_x".to_string()], t + stripe::TOLERANCE_SECS + 1).is_err());
            let mut changed = body.clone();
            changed.extend_from_slice(&other);
            prop_assert!(parsed.verify(&changed, &["whsec_x".to_string()], t).is_err());
        }
    }

    /// Stripe's integer minor units become the exact amount and back.
    #[test]
    fn stripe_amounts_round_trip(minor in any::<i64>(), pick in 0usize..500, code in "[a-zA-Z]{0,4}") {
        let all = currencies();
        let currency = all[pick % all.len()];
        match stripe::amount(minor, currency.code(), "amount") {
            Ok((amount, parsed)) => {
                prop_assert!(minor > 0);
                prop_assert_eq!(parsed.code(), currency.code());
                prop_assert_eq!(amount * Decimal::from(10i64.pow(currency.minor_units())), Decimal::from(minor));
            }
            Err(_) => prop_assert!(minor <= 0),
        }
        let _ = stripe::amount(minor, &code, "amount");
    }

    /// Any text is a period or a VALIDATION error; every accepted period ends after it starts.
    #[test]
    fn periods(text in ".{0,40}", n in 1i64..3660, unit in prop::sample::select(vec!["h", "d", "w"]),
               year in 1970i32..2200, month in 1u32..=12) {
        let now = Utc.with_ymd_and_hms(2026, 12, 5, 12, 0, 0).single().unwrap_or_default();
        if let Ok(period) = parse_period(&text, now, "period") {
            prop_assert!(period.from < period.to);
        }
        let relative = parse_period(&format!("{n}{unit}"), now, "period");
        prop_assert!(relative.is_ok_and(|p| p.to == now && p.from < now));
        let month_text = format!("{year}-{month:02}");
        let month = parse_period(&month_text, now, "period");
        prop_assert!(month.is_ok_and(|p| p.from.format("%Y-%m").to_string() == month_text
            && (p.to - p.from).num_days() >= 28 && (p.to - p.from).num_days() <= 31));
    }

    /// Rounding is to the minor unit, at most half a unit away, half-even at the midpoint,
    /// and rounding again changes nothing.
    #[test]
    fn rounding_is_once_half_even(mantissa in -10_000_000_000_000i64..10_000_000_000_000, scale in 0u32..10, pick in 0usize..500) {
        let all = currencies();
        let currency = all[pick % all.len()];
        let value = Decimal::new(mantissa, scale);
        let rounded = currency.round(value);
        prop_assert!(rounded.scale() <= currency.minor_units());
        prop_assert_eq!(currency.round(rounded), rounded);
        let unit = Decimal::new(1, currency.minor_units());
        let gap = (rounded - value).abs();
        prop_assert!(gap * Decimal::TWO <= unit);
        if gap * Decimal::TWO == unit && !gap.is_zero() {
            // At the midpoint: the even neighbour.
            let units = rounded / unit;
            prop_assert!(units % Decimal::TWO == Decimal::ZERO, "{value} → {rounded}");
        }
    }

    /// A client's amount is accepted exactly when it is not negative and no finer than the
    /// minor unit, and comes back equal, at the currency's scale.
    #[test]
    fn client_amounts(mantissa in any::<i64>(), scale in 0u32..8, pick in 0usize..500) {
        let all = currencies();
        let currency = all[pick % all.len()];
        let value = Decimal::new(mantissa, scale);
        match currency.amount(value, "monto") {
            Ok(amount) => {
                prop_assert_eq!(amount, value);
                prop_assert_eq!(amount.scale(), currency.minor_units());
                prop_assert!(!value.is_sign_negative() || value.is_zero());
            }
            Err(_) => prop_assert!(value.is_sign_negative() || value.normalize().scale() > currency.minor_units()),
        }
    }

    /// A rate is accepted exactly between 0 and 100.
    #[test]
    fn rates(mantissa in any::<i64>(), scale in 0u32..8) {
        let value = Decimal::new(mantissa, scale);
        prop_assert_eq!(money::rate(value, "rate").is_ok(), value >= Decimal::ZERO && value <= Decimal::ONE_HUNDRED);
    }
}
