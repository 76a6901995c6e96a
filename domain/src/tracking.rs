//! Tracking vocabulary: the seeds' event names mapped to ours, timestamps checked,
//! channels derived from what a touchpoint carries.

use chrono::{DateTime, Duration, TimeZone, Utc};

use crate::error::DomainError;

/// How far in the future a client clock may be before we refuse the event.
pub const MAX_CLOCK_SKEW: Duration = Duration::minutes(5);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TouchKind {
    Impression,
    Click,
    View,
    Lead,
    Purchase,
    Conversion,
}

impl TouchKind {
    /// The seeds' names (`IMPRESION`, `CLICK`, `VISTA`, …) and ours, case-insensitive.
    pub fn parse(value: &str, field: &str) -> Result<Self, DomainError> {
        match value.trim().to_uppercase().as_str() {
            "IMPRESION" | "IMPRESIÓN" | "IMPRESSION" => Ok(Self::Impression),
            "CLICK" | "CLIC" => Ok(Self::Click),
            "VIEW" | "VISTA" | "PAGE_VIEW" => Ok(Self::View),
            "LEAD" => Ok(Self::Lead),
            "PURCHASE" | "COMPRA" => Ok(Self::Purchase),
            "CONVERSION" | "CONVERSIÓN" => Ok(Self::Conversion),
            _ => Err(DomainError::invalid(
                field,
                format!("'{value}' is not an interaction type (IMPRESION, CLICK, VISTA, LEAD, COMPRA)"),
            )),
        }
    }

    /// The name the seed 003 event carries.
    pub fn seed_name(self) -> &'static str {
        match self {
            Self::Impression => "IMPRESION",
            Self::Click => "CLICK",
            Self::View => "VIEW",
            Self::Lead => "LEAD",
            Self::Purchase => "PURCHASE",
            Self::Conversion => "CONVERSION",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConversionKind {
    Sale,
    Lead,
    Signup,
    Other,
}

impl ConversionKind {
    /// Seed 002 `tipo_conversion` (`VENTA`, `REGISTRO`, …) and seed 004 (`venta`).
    pub fn parse(value: &str, field: &str) -> Result<Self, DomainError> {
        match value.trim().to_uppercase().as_str() {
            "VENTA" | "SALE" | "PURCHASE" | "COMPRA" => Ok(Self::Sale),
            "LEAD" | "CONTACTO" => Ok(Self::Lead),
            "REGISTRO" | "SIGNUP" | "SIGN_UP" => Ok(Self::Signup),
            "OTRO" | "OTHER" => Ok(Self::Other),
            _ => Err(DomainError::invalid(
                field,
                format!("'{value}' is not a conversion type (VENTA, LEAD, REGISTRO, OTRO)"),
            )),
        }
    }

    pub fn seed_name(self) -> &'static str {
        match self {
            Self::Sale => "venta",
            Self::Lead => "lead",
            Self::Signup => "registro",
            Self::Other => "otro",
        }
    }
}

/// An event time from a client: not in the future (beyond the clock skew allowed), and
/// not older than `max_age` when there is one. History is accepted by default: a
/// backfill of last year's events is recorded at their own times.
pub fn event_time(
    at: DateTime<Utc>,
    now: DateTime<Utc>,
    max_age: Option<Duration>,
    field: &str,
) -> Result<DateTime<Utc>, DomainError> {
    if at > now + MAX_CLOCK_SKEW {
        return Err(DomainError::invalid(field, "timestamp is in the future"));
    }
    // A maximum age reaching before the earliest time there is sets no limit.
    if let Some(oldest) = max_age.and_then(|age| now.checked_sub_signed(age)) {
        if at < oldest {
            return Err(DomainError::invalid(
                field,
                format!("timestamp is older than {} days, the most this service accepts", (now - oldest).num_days()),
            ));
        }
    }
    Ok(at)
}

/// Seed 003 `marca_temporal`: Unix milliseconds.
pub fn from_millis(ms: i64, field: &str) -> Result<DateTime<Utc>, DomainError> {
    Utc.timestamp_millis_opt(ms)
        .single()
        .ok_or_else(|| DomainError::invalid(field, "not a valid Unix time in milliseconds"))
}

/// The marketing channel of a touchpoint, from its click ids and UTM source/medium.
pub fn channel(source: Option<&str>, medium: Option<&str>, gclid: bool, fbclid: bool) -> String {
    let medium = medium.unwrap_or_default().trim().to_lowercase();
    let source = source.unwrap_or_default().trim().to_lowercase();
    let name = if gclid || matches!(medium.as_str(), "cpc" | "ppc" | "paid_search" | "sem") {
        "paid_search"
    } else if fbclid || matches!(medium.as_str(), "social" | "paid_social" | "social-paid") {
        "social"
    } else if medium == "email" || source == "newsletter" {
        "email"
    } else if matches!(medium.as_str(), "affiliate" | "afiliado" | "influencer" | "referral") {
        "affiliate"
    } else if medium == "display" || medium == "banner" {
        "display"
    } else if medium == "organic" {
        "organic"
    } else if ["facebook", "instagram", "tiktok", "twitter", "x.com", "linkedin", "youtube"]
        .iter()
        .any(|s| source.contains(s))
    {
        "social"
    } else if ["google", "bing", "duckduckgo", "yahoo"].iter().any(|s| source.contains(s)) {
        "organic"
    } else if source.is_empty() && medium.is_empty() {
        "direct"
    } else {
        "referral"
    };
    name.to_string()
}

/// An optional identifier from a client: trimmed, blank is absent, at most 128 characters.
pub fn identifier(value: Option<&str>, field: &str) -> Result<Option<String>, DomainError> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) if v.chars().count() > 128 || v.chars().any(char::is_control) => {
            Err(DomainError::invalid(field, format!("{field} must be at most 128 printable characters")))
        }
        Some(v) => Ok(Some(v.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_names() {
        for (name, kind) in
            [("IMPRESION", TouchKind::Impression), ("click", TouchKind::Click), ("VISTA", TouchKind::View)]
        {
            assert_eq!(TouchKind::parse(name, "tipo").ok(), Some(kind), "{name}");
        }
        assert!(TouchKind::parse("SCROLL", "tipo").is_err());
        assert_eq!(ConversionKind::parse("VENTA", "t").ok(), Some(ConversionKind::Sale));
        assert_eq!(ConversionKind::parse("registro", "t").ok(), Some(ConversionKind::Signup));
        assert!(ConversionKind::parse("x", "t").is_err());
    }

    #[test]
    fn times() {
        let now = Utc::now();
        assert!(event_time(now + Duration::hours(1), now, None, "t").is_err());
        assert!(event_time(now + Duration::minutes(1), now, None, "t").is_ok());
        // History is accepted unless a maximum age is set.
        assert!(event_time(now - Duration::days(5000), now, None, "t").is_ok());
        let year = Some(Duration::days(365));
        assert!(event_time(now - Duration::days(364), now, year, "t").is_ok());
        let Err(err) = event_time(now - Duration::days(366), now, year, "t") else {
            panic!("an event older than the maximum age is refused");
        };
        assert!(err.to_string().contains("older than 365 days"), "{err}");
        // A maximum age beyond the calendar (ALPES_MAX_EVENT_AGE_DAYS=4294967295) is no limit, not a panic.
        assert!(event_time(now - Duration::days(5000), now, Some(Duration::days(i64::from(u32::MAX))), "t").is_ok());
        assert_eq!(
            from_millis(1_733_047_200_000, "t").ok().map(|t| t.to_rfc3339()),
            Some("2024-12-01T10:00:00+00:00".into())
        );
    }

    #[test]
    fn channels() {
        let cases = [
            (Some("google"), Some("cpc"), false, false, "paid_search"),
            (None, None, true, false, "paid_search"),
            (Some("facebook.com"), Some("social"), false, false, "social"),
            (None, None, false, true, "social"),
            (Some("newsletter"), None, false, false, "email"),
            (Some("instagram.com"), None, false, false, "social"),
            (Some("google"), None, false, false, "organic"),
            (None, None, false, false, "direct"),
            (Some("blog.example.com"), None, false, false, "referral"),
            (Some("x"), Some("influencer"), false, false, "affiliate"),
        ];
        for (source, medium, gclid, fbclid, expected) in cases {
            assert_eq!(channel(source, medium, gclid, fbclid), expected, "{source:?} {medium:?}");
        }
    }

    #[test]
    fn identifiers() {
        assert_eq!(identifier(Some("  usr-1 "), "u").ok(), Some(Some("usr-1".into())));
        assert_eq!(identifier(Some(""), "u").ok(), Some(None));
        assert!(identifier(Some(&"x".repeat(129)), "u").is_err());
    }
}
