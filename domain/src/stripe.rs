//! Stripe webhooks: the `Stripe-Signature` check (as Stripe specifies it) and the
//! conversion of Stripe's integer amounts to exact decimals.

use hmac::{Hmac, Mac};
use rust_decimal::Decimal;
use sha2::Sha256;

use super::money::Currency;
use crate::error::DomainError;

/// Stripe's default tolerance between the signed timestamp and now.
pub const TOLERANCE_SECS: i64 = 300;

/// The parts of a `Stripe-Signature` header: `t=…,v1=…[,v1=…][,v0=…]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StripeSignature {
    pub timestamp: i64,
    /// Every `v1` signature (several during a secret rotation), decoded from hex.
    pub signatures: Vec<Vec<u8>>,
}

impl StripeSignature {
    pub fn parse(header: &str) -> Result<Self, DomainError> {
        let bad =
            |why: &str| DomainError::invalid("Stripe-Signature", format!("malformed Stripe-Signature header: {why}"));
        let mut timestamp = None;
        let mut signatures = Vec::new();
        for part in header.split(',') {
            let Some((key, value)) = part.trim().split_once('=') else {
                return Err(bad("expected key=value pairs"));
            };
            match key {
                "t" => timestamp = Some(value.parse::<i64>().map_err(|_| bad("t is not a number"))?),
                "v1" => signatures.push(hex::decode(value).map_err(|_| bad("v1 is not hex"))?),
                _ => {} // v0 (test-mode legacy) and future schemes are ignored, as Stripe's libraries do.
            }
        }
        let timestamp = timestamp.ok_or_else(|| bad("no t="))?;
        if signatures.is_empty() {
            return Err(bad("no v1="));
        }
        Ok(Self { timestamp, signatures })
    }

    /// Checks the signature of `payload` (the raw body, before any parsing) against any of
    /// `secrets`, in constant time, and the timestamp against `now` ± the tolerance.
    pub fn verify(&self, payload: &[u8], secrets: &[String], now: i64) -> Result<(), DomainError> {
        if (now - self.timestamp).abs() > TOLERANCE_SECS {
            return Err(DomainError::BadSignature("Stripe-Signature timestamp is outside the tolerance".into()));
        }
        for secret in secrets {
            for signature in &self.signatures {
                let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
                    continue;
                };
                mac.update(self.timestamp.to_string().as_bytes());
                mac.update(b".");
                mac.update(payload);
                if mac.verify_slice(signature).is_ok() {
                    return Ok(());
                }
            }
        }
        Err(DomainError::BadSignature("Stripe-Signature does not match".into()))
    }
}

/// Signs `payload` as Stripe does (for tests and tools): the header value.
pub fn sign(payload: &[u8], secret: &str, timestamp: i64) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    format!("t={timestamp},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// Stripe amounts are integers in the currency's minor unit (cents; yen; fils):
/// the exact decimal amount, refusing zero and negatives.
pub fn amount(minor: i64, currency: &str, field: &str) -> Result<(Decimal, Currency), DomainError> {
    let currency = Currency::parse(currency, "currency")?;
    if minor <= 0 {
        return Err(DomainError::invalid(field, "amount must be greater than zero"));
    }
    Ok((Decimal::new(minor, currency.minor_units()), currency))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test_secret";

    #[test]
    fn accepts_its_own_signature_and_refuses_changes() {
        let body = br#"{"id":"evt_1"}"#;
        let header = sign(body, SECRET, 1_700_000_000);
        let sig = StripeSignature::parse(&header).ok().unwrap_or_else(|| unreachable!());
        assert!(sig.verify(body, &[SECRET.into()], 1_700_000_100).is_ok());
        assert!(sig.verify(br#"{"id":"evt_2"}"#, &[SECRET.into()], 1_700_000_100).is_err(), "one byte changed");
        assert!(sig.verify(body, &["whsec_other".into()], 1_700_000_100).is_err(), "wrong secret");
        assert!(sig.verify(body, &["whsec_old".into(), SECRET.into()], 1_700_000_100).is_ok(), "rotation");
        assert!(sig.verify(body, &[SECRET.into()], 1_700_000_301).is_err(), "too late");
        assert!(sig.verify(body, &[SECRET.into()], 1_699_999_699).is_err(), "too early");
    }

    #[test]
    fn any_of_several_v1_values_may_match() {
        let body = b"{}";
        let good = sign(body, SECRET, 10);
        let good_v1 = good.split("v1=").nth(1).unwrap_or_default();
        let header = format!("t=10,v1={},v1={good_v1},v0=abc", "00".repeat(32));
        let sig = StripeSignature::parse(&header).ok().unwrap_or_else(|| unreachable!());
        assert_eq!(sig.signatures.len(), 2);
        assert!(sig.verify(body, &[SECRET.into()], 10).is_ok());
    }

    #[test]
    fn malformed_headers() {
        for header in ["", "t=abc,v1=00", "v1=00", "t=1", "t=1,v1=zz", "garbage"] {
            assert!(StripeSignature::parse(header).is_err(), "{header}");
        }
    }

    #[test]
    fn amounts_use_the_minor_unit_of_their_currency() {
        let cases =
            [(15075, "usd", "150.75"), (15000000, "cop", "150000.00"), (1500, "jpy", "1500"), (1500, "kwd", "1.500")];
        for (minor, currency, expected) in cases {
            assert_eq!(
                amount(minor, currency, "amount_total").map(|a| a.0.to_string()).ok().as_deref(),
                Some(expected)
            );
        }
        assert!(amount(0, "usd", "amount_total").is_err());
        assert!(amount(-5, "usd", "amount_total").is_err());
        assert!(amount(100, "xxx", "amount_total").is_err());
    }
}
