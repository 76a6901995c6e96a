//! Money: ISO 4217 currencies with their minor units, exact decimals, one rounding.

use rust_decimal::{Decimal, RoundingStrategy};

use crate::error::DomainError;

/// ISO 4217 codes we accept, with their number of minor-unit digits.
const CURRENCIES: &[(&str, u32)] = &[
    ("AED", 2),
    ("ARS", 2),
    ("AUD", 2),
    ("BGN", 2),
    ("BHD", 3),
    ("BOB", 2),
    ("BRL", 2),
    ("CAD", 2),
    ("CHF", 2),
    ("CLP", 0),
    ("CNY", 2),
    ("COP", 2),
    ("CRC", 2),
    ("CZK", 2),
    ("DKK", 2),
    ("DOP", 2),
    ("EGP", 2),
    ("EUR", 2),
    ("GBP", 2),
    ("GTQ", 2),
    ("HKD", 2),
    ("HNL", 2),
    ("HUF", 2),
    ("IDR", 2),
    ("ILS", 2),
    ("INR", 2),
    ("ISK", 0),
    ("JOD", 3),
    ("JPY", 0),
    ("KRW", 0),
    ("KWD", 3),
    ("MAD", 2),
    ("MXN", 2),
    ("MYR", 2),
    ("NGN", 2),
    ("NOK", 2),
    ("NZD", 2),
    ("OMR", 3),
    ("PAB", 2),
    ("PEN", 2),
    ("PHP", 2),
    ("PKR", 2),
    ("PLN", 2),
    ("PYG", 0),
    ("QAR", 2),
    ("RON", 2),
    ("RSD", 2),
    ("SAR", 2),
    ("SEK", 2),
    ("SGD", 2),
    ("THB", 2),
    ("TND", 3),
    ("TRY", 2),
    ("TWD", 2),
    ("UAH", 2),
    ("USD", 2),
    ("UYU", 2),
    ("VND", 0),
    ("ZAR", 2),
];

/// A validated ISO 4217 currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Currency {
    code: &'static str,
    minor_units: u32,
}

impl Currency {
    /// Every currency accepted, in code order.
    pub fn all() -> impl Iterator<Item = Currency> {
        CURRENCIES.iter().map(|(code, minor_units)| Self { code, minor_units: *minor_units })
    }

    /// Parses a code case-insensitively; unknown codes are a validation error on `field`.
    pub fn parse(code: &str, field: &str) -> Result<Self, DomainError> {
        let upper = code.trim().to_ascii_uppercase();
        CURRENCIES
            .iter()
            .find(|(c, _)| *c == upper)
            .map(|(code, minor_units)| Self { code, minor_units: *minor_units })
            .ok_or_else(|| DomainError::invalid(field, format!("unknown currency '{code}' (ISO 4217 code expected)")))
    }

    pub fn code(&self) -> &'static str {
        self.code
    }

    pub fn minor_units(&self) -> u32 {
        self.minor_units
    }

    /// Rounds once, half-even (banker's rounding), to the currency's minor unit.
    pub fn round(&self, amount: Decimal) -> Decimal {
        amount.round_dp_with_strategy(self.minor_units, RoundingStrategy::MidpointNearestEven)
    }

    /// A money amount given by a client: not negative, and no finer than the minor unit.
    pub fn amount(&self, amount: Decimal, field: &str) -> Result<Decimal, DomainError> {
        if amount.is_sign_negative() && !amount.is_zero() {
            return Err(DomainError::invalid(field, "amount must not be negative"));
        }
        if amount.normalize().scale() > self.minor_units {
            return Err(DomainError::invalid(
                field,
                format!("{} allows at most {} decimal places", self.code, self.minor_units),
            ));
        }
        let mut exact = amount;
        exact.rescale(self.minor_units);
        Ok(exact)
    }
}

/// A percentage rate between 0 and 100 inclusive.
pub fn rate(value: Decimal, field: &str) -> Result<Decimal, DomainError> {
    if value < Decimal::ZERO || value > Decimal::ONE_HUNDRED {
        return Err(DomainError::invalid(field, "rate must be between 0 and 100"));
    }
    if value.normalize().scale() > 4 {
        return Err(DomainError::invalid(field, "rate allows at most 4 decimal places"));
    }
    Ok(value.normalize())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn currencies_know_their_minor_units() {
        for (code, units) in [("usd", 2), ("COP", 2), ("JPY", 0), ("KWD", 3), ("eur", 2)] {
            assert_eq!(Currency::parse(code, "currency").map(|c| c.minor_units()).ok(), Some(units), "{code}");
        }
        assert!(Currency::parse("XXX", "currency").is_err());
        assert!(Currency::parse("", "currency").is_err());
    }

    #[test]
    fn rounding_is_half_even_to_the_minor_unit() {
        let usd = Currency::parse("USD", "c").ok().unwrap_or_else(|| unreachable!());
        let jpy = Currency::parse("JPY", "c").ok().unwrap_or_else(|| unreachable!());
        let kwd = Currency::parse("KWD", "c").ok().unwrap_or_else(|| unreachable!());
        let cases = [
            (usd, dec!(2.345), dec!(2.34)),
            (usd, dec!(2.355), dec!(2.36)),
            (usd, dec!(-2.345), dec!(-2.34)),
            (jpy, dec!(2.5), dec!(2)),
            (jpy, dec!(3.5), dec!(4)),
            (kwd, dec!(1.0005), dec!(1.000)),
            (kwd, dec!(1.0015), dec!(1.002)),
        ];
        for (currency, input, expected) in cases {
            assert_eq!(currency.round(input), expected, "{} {input}", currency.code());
        }
    }

    #[test]
    fn client_amounts_are_checked_against_the_minor_unit() {
        let jpy = Currency::parse("JPY", "c").ok().unwrap_or_else(|| unreachable!());
        let usd = Currency::parse("USD", "c").ok().unwrap_or_else(|| unreachable!());
        assert!(jpy.amount(dec!(100.5), "budget").is_err());
        assert_eq!(jpy.amount(dec!(100.0), "budget").ok(), Some(dec!(100)));
        assert_eq!(usd.amount(dec!(10), "budget").map(|d| d.to_string()).ok(), Some("10.00".to_string()));
        assert!(usd.amount(dec!(-1), "budget").is_err());
        assert!(usd.amount(dec!(0.001), "budget").is_err());
    }

    #[test]
    fn rates_are_percentages() {
        assert!(rate(dec!(-0.01), "r").is_err());
        assert!(rate(dec!(100.01), "r").is_err());
        assert_eq!(rate(dec!(15.50), "r").ok(), Some(dec!(15.5)));
        assert_eq!(rate(dec!(0), "r").ok(), Some(dec!(0)));
        assert_eq!(rate(dec!(100), "r").ok(), Some(dec!(100)));
    }
}

/// The currency used when a client gives none.
pub const DEFAULT_CURRENCY: &str = "USD";

/// A decimal as a JSON number, as the seeds' event payloads carry money (`37500.0`).
pub fn json_number(value: rust_decimal::Decimal) -> serde_json::Value {
    use rust_decimal::prelude::ToPrimitive;
    value.to_f64().and_then(serde_json::Number::from_f64).map_or(serde_json::Value::Null, serde_json::Value::Number)
}

/// A stored amount shown with its currency's minor units (`50000` COP → `50000.00`).
/// Stored amounts are already exact to the minor unit; this only sets the scale, which
/// SQLite drops and PostgreSQL pads to the column's.
pub fn scaled(amount: Decimal, currency_code: &str) -> Decimal {
    match Currency::parse(currency_code, "currency") {
        Ok(currency) => {
            let mut shown = amount;
            shown.rescale(currency.minor_units());
            shown
        }
        Err(_) => amount.normalize(),
    }
}

#[cfg(test)]
mod scale_tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn stored_amounts_get_their_minor_units_back() {
        assert_eq!(scaled(dec!(50000), "COP").to_string(), "50000.00");
        assert_eq!(scaled(dec!(5), "KWD").to_string(), "5.000");
        assert_eq!(scaled(dec!(5), "JPY").to_string(), "5");
        assert_eq!(scaled(dec!(1.5), "USD").to_string(), "1.50");
        assert_eq!(scaled(dec!(50000.0000), "COP").to_string(), "50000.00");
    }
}
