//! Commission rules: which rate applies, what a commission is worth, which lifecycle
//! moves are allowed, when a commission may be approved without a person, and how a
//! refund shrinks it. No I/O.
//!
//! Which rate wins (first that applies):
//! 1. a rate given on the commission itself (seed 004 `porcentaje` of `POST /comisiones`,
//!    `rate` of `createCommission`): an explicit deal overrides every default;
//! 2. the affiliate's `comision_premium`, for a PREMIUM affiliate that has one: the
//!    premium tier is a personal reward that beats a campaign's standard offer;
//! 3. the campaign's rate for the kind of conversion: `comision_venta` for a sale,
//!    `comision_conversion` for any other conversion (lead, signup, …); a FLAT campaign
//!    pays its flat amount per conversion instead;
//! 4. the affiliate's `comision_base`.
//!
//! `bonus_objetivos` is a percentage added on top of the commission when the affiliate
//! met the campaign's target (`objetivo_cumplido` in the commission's configuration).
//! The amount is rounded once, half-even, to the currency's minor unit, at the very end.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use rust_decimal::Decimal;

use crate::{error::DomainError, money::Currency};

/// Where a commission stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// Reserved at attribution (seed 003's "Reservada"): no amount yet.
    Pending,
    Calculated,
    Approved,
    Paid,
    /// Attribution reverted, refund, fraud: ends it.
    Canceled,
    /// Refused by a person: ends it.
    Rejected,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Pending => "PENDING",
            Status::Calculated => "CALCULATED",
            Status::Approved => "APPROVED",
            Status::Paid => "PAID",
            Status::Canceled => "CANCELED",
            Status::Rejected => "REJECTED",
        }
    }

    /// The seed 004 word (`estado` in REST bodies and events).
    pub fn seed_name(self) -> &'static str {
        match self {
            Status::Pending => "reservada",
            Status::Calculated => "calculada",
            Status::Approved => "aprobada",
            Status::Paid => "pagada",
            Status::Canceled => "cancelada",
            Status::Rejected => "rechazada",
        }
    }

    /// Reads a seed word or an UPPER_SNAKE name (`aprobada`, `APPROVED`, `pendiente`).
    pub fn parse(value: &str) -> Option<Status> {
        match value.trim().to_lowercase().as_str() {
            "reservada" | "pendiente" | "pending" => Some(Status::Pending),
            "calculada" | "calculated" => Some(Status::Calculated),
            "aprobada" | "approved" => Some(Status::Approved),
            "pagada" | "paid" => Some(Status::Paid),
            "cancelada" | "canceled" | "cancelled" => Some(Status::Canceled),
            "rechazada" | "rejected" => Some(Status::Rejected),
            _ => None,
        }
    }

    /// Not paid and not ended: a reversal cancels it.
    pub fn is_open(self) -> bool {
        matches!(self, Status::Pending | Status::Calculated | Status::Approved)
    }
}

/// A lifecycle move asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Move {
    Calculate { force: bool },
    Approve,
    Reject,
    Cancel,
    Pay,
}

/// The state a move leads to from `from`, or `INVALID_TRANSITION`.
pub fn transition(from: Status, action: Move) -> Result<Status, DomainError> {
    let to = match action {
        Move::Calculate { .. } => Status::Calculated,
        Move::Approve => Status::Approved,
        Move::Reject => Status::Rejected,
        Move::Cancel => Status::Canceled,
        Move::Pay => Status::Paid,
    };
    let allowed = match (from, action) {
        (Status::Pending, Move::Calculate { .. }) => true,
        (Status::Calculated, Move::Calculate { force }) => force,
        (Status::Calculated, Move::Approve) => true,
        (Status::Pending | Status::Calculated, Move::Reject) => true,
        (Status::Pending | Status::Calculated | Status::Approved, Move::Cancel) => true,
        (Status::Approved, Move::Pay) => true,
        _ => false,
    };
    if allowed {
        Ok(to)
    } else {
        Err(DomainError::InvalidTransition { entity: "commission", from: from.name().into(), to: to.name().into() })
    }
}

/// Percentage of the credited value, or a flat amount per conversion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Percentage,
    Flat,
}

/// What kind of conversion is paid for: sales use the campaign's sale rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConversionKind {
    Sale,
    Other,
}

/// The campaign's commission configuration (seed 004 `configuracion_comisiones`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CampaignRules {
    pub conversion_rate: Option<Decimal>,
    pub sale_rate: Option<Decimal>,
    pub bonus_targets: Option<Decimal>,
    /// `Some` for a FLAT campaign: the amount per conversion.
    pub flat_amount: Option<Decimal>,
}

/// The affiliate's commission configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AffiliateRules {
    pub premium: bool,
    pub base_rate: Decimal,
    pub premium_rate: Option<Decimal>,
}

/// Where a rate came from, kept on the commission for the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateSource {
    Explicit,
    AffiliatePremium,
    CampaignSale,
    CampaignConversion,
    CampaignFlat,
    AffiliateBase,
    /// A programme tier the affiliate's month reached.
    Tier,
}

impl RateSource {
    pub fn name(self) -> &'static str {
        match self {
            RateSource::Explicit => "explicita",
            RateSource::AffiliatePremium => "comision_premium",
            RateSource::CampaignSale => "comision_venta",
            RateSource::CampaignConversion => "comision_conversion",
            RateSource::CampaignFlat => "monto_fijo",
            RateSource::AffiliateBase => "comision_base",
            RateSource::Tier => "nivel",
        }
    }
}

/// The rule chosen for one commission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub kind: Kind,
    /// A percentage (0–100) for PERCENTAGE; the amount per conversion for FLAT.
    pub value: Decimal,
    pub source: RateSource,
}

/// Picks the rule, in the order given at the top of this module.
pub fn choose_rule(
    explicit: Option<Rule>,
    affiliate: &AffiliateRules,
    campaign: Option<&CampaignRules>,
    conversion: ConversionKind,
) -> Rule {
    if let Some(rule) = explicit {
        return rule;
    }
    let percentage = |value, source| Rule { kind: Kind::Percentage, value, source };
    if affiliate.premium {
        if let Some(rate) = affiliate.premium_rate {
            return percentage(rate, RateSource::AffiliatePremium);
        }
    }
    if let Some(campaign) = campaign {
        if let Some(flat) = campaign.flat_amount {
            return Rule { kind: Kind::Flat, value: flat, source: RateSource::CampaignFlat };
        }
        let by_kind = match conversion {
            ConversionKind::Sale => campaign.sale_rate.map(|r| percentage(r, RateSource::CampaignSale)),
            ConversionKind::Other => campaign.conversion_rate.map(|r| percentage(r, RateSource::CampaignConversion)),
        };
        if let Some(rule) = by_kind {
            return rule;
        }
    }
    percentage(affiliate.base_rate, RateSource::AffiliateBase)
}

/// The commission on `base` (the credited amount). A flat amount is paid in proportion
/// to `share` (the credit's part of its conversion, 1 for a single credit). A bonus (a
/// percentage of the commission) is added when the target is met. One rounding, at the end.
pub fn amount(rule: &Rule, base: Decimal, share: Decimal, bonus: Option<Decimal>, currency: Currency) -> Decimal {
    let raw = match rule.kind {
        Kind::Percentage => base * rule.value / Decimal::ONE_HUNDRED,
        Kind::Flat => rule.value * share,
    };
    let with_bonus = match bonus {
        Some(bonus) if !bonus.is_zero() => raw * (Decimal::ONE_HUNDRED + bonus) / Decimal::ONE_HUNDRED,
        _ => raw,
    };
    currency.round(with_bonus)
}

/// A partial refund: the base and amount that remain when `remaining` of `total` is
/// kept. Each is rounded once from the original, never from an earlier rounding.
pub fn after_refund(
    base: Decimal,
    amount: Option<Decimal>,
    remaining: Decimal,
    total: Decimal,
    currency: Currency,
) -> (Decimal, Option<Decimal>) {
    if total.is_zero() {
        return (Decimal::ZERO, amount.map(|_| Decimal::ZERO));
    }
    let kept = remaining.max(Decimal::ZERO).min(total);
    let scale = |value: Decimal| currency.round(value * kept / total);
    (scale(base), amount.map(scale))
}

/// The automatic approval policy: a calculated commission is approved without a person
/// when its conversion's fraud score is below the threshold and the holding period
/// (time for refunds and chargebacks) has passed since the conversion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AutoApprovalPolicy {
    pub enabled: bool,
    /// Fraud scores strictly below this pass (0–100).
    pub max_fraud_score: i32,
    pub holding: Duration,
}

impl AutoApprovalPolicy {
    /// The name recorded as `politica_aplicada`.
    pub fn name(&self) -> String {
        format!("auto:fraude<{},retencion={}h", self.max_fraud_score, self.holding.num_hours())
    }

    pub fn allows(&self, fraud_score: i32, converted_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        self.enabled && fraud_score < self.max_fraud_score && converted_at + self.holding <= now
    }
}

/// A period filter: `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

/// Longest period a report or metric reads: two years.
pub const MAX_PERIOD_DAYS: i64 = 731;

impl Period {
    /// The period, unless it is longer than `max_days` (a VALIDATION error on `field`).
    pub fn at_most(self, max_days: i64, field: &str) -> Result<Self, DomainError> {
        if self.to - self.from > Duration::days(max_days) {
            return Err(DomainError::invalid(field, format!("a period covers at most {max_days} days")));
        }
        Ok(self)
    }
}

/// Parses a period: the last `Nh`, `Nd`, `Nw` (seed 004's `periodo=30d`), a month
/// `YYYY-MM`, a day `YYYY-MM-DD`, or `FROM..TO` (two dates, TO included).
pub fn parse_period(value: &str, now: DateTime<Utc>, field: &str) -> Result<Period, DomainError> {
    let bad = || {
        DomainError::invalid(
            field,
            format!("'{value}' is not a period: use 24h, 30d, 12w, 2026-11, 2026-11-01 or 2026-11-01..2026-11-30"),
        )
    };
    let text = value.trim();
    if let Some((from, to)) = text.split_once("..") {
        let from = day(from).ok_or_else(bad)?;
        let to = day(to).ok_or_else(bad)? + Duration::days(1);
        if to <= from {
            return Err(DomainError::invalid(field, "the period ends before it starts"));
        }
        return Ok(Period { from, to });
    }
    if let Some(start) = day(text) {
        return Ok(Period { from: start, to: start + Duration::days(1) });
    }
    if let Some((year, month)) = text.split_once('-') {
        let (year, month) = (year.parse::<i32>().map_err(|_| bad())?, month.parse::<u32>().map_err(|_| bad())?);
        let from = NaiveDate::from_ymd_opt(year, month, 1).ok_or_else(bad)?;
        let next = if month == 12 {
            NaiveDate::from_ymd_opt(year + 1, 1, 1)
        } else {
            NaiveDate::from_ymd_opt(year, month + 1, 1)
        }
        .ok_or_else(bad)?;
        let at = |d: NaiveDate| d.and_hms_opt(0, 0, 0).map(|t| Utc.from_utc_datetime(&t));
        return Ok(Period { from: at(from).ok_or_else(bad)?, to: at(next).ok_or_else(bad)? });
    }
    let split = text.len().checked_sub(1).ok_or_else(bad)?;
    if !text.is_char_boundary(split) {
        return Err(bad());
    }
    let (count, unit) = text.split_at(split);
    let count: i64 = count.parse().map_err(|_| bad())?;
    if !(1..=3660).contains(&count) {
        return Err(DomainError::invalid(field, "a period counts 1 to 3660 units"));
    }
    let length = match unit {
        "h" => Duration::hours(count),
        "d" => Duration::days(count),
        "w" => Duration::weeks(count),
        _ => return Err(bad()),
    };
    Ok(Period { from: now - length, to: now })
}

fn day(text: &str) -> Option<DateTime<Utc>> {
    let date = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok()?;
    Some(Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0)?))
}

/// A rate given by a client for a commission: a percentage 0–100, or a flat amount
/// that is a valid money amount. Anything else is a VALIDATION error on `field`.
pub fn explicit_rule(kind: Kind, value: Decimal, currency: Currency, field: &str) -> Result<Rule, DomainError> {
    let value = match kind {
        Kind::Percentage => crate::money::rate(value, field)?,
        Kind::Flat => currency.amount(value, field)?,
    };
    Ok(Rule { kind, value, source: RateSource::Explicit })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn currency(code: &str) -> Currency {
        Currency::parse(code, "currency").unwrap_or_else(|e| panic!("{e}"))
    }

    fn campaign() -> CampaignRules {
        CampaignRules {
            conversion_rate: Some(dec!(15)),
            sale_rate: Some(dec!(8)),
            bonus_targets: Some(dec!(25)),
            flat_amount: None,
        }
    }

    #[test]
    fn the_documented_rate_wins() {
        let standard = AffiliateRules { premium: false, base_rate: dec!(15), premium_rate: Some(dec!(20)) };
        let premium = AffiliateRules { premium: true, ..standard };
        let premium_without_rate = AffiliateRules { premium: true, premium_rate: None, ..standard };
        let explicit = Rule { kind: Kind::Percentage, value: dec!(12), source: RateSource::Explicit };
        let flat = CampaignRules { flat_amount: Some(dec!(5000)), ..campaign() };
        let no_rates = CampaignRules::default();
        let sale = ConversionKind::Sale;
        let lead = ConversionKind::Other;
        let want = |kind, value, source| Rule { kind, value, source };
        struct Case(Option<Rule>, AffiliateRules, Option<CampaignRules>, ConversionKind, Rule);
        let cases = [
            Case(Some(explicit), premium, Some(campaign()), sale, explicit),
            Case(None, premium, Some(campaign()), sale, want(Kind::Percentage, dec!(20), RateSource::AffiliatePremium)),
            Case(
                None,
                premium_without_rate,
                Some(campaign()),
                sale,
                want(Kind::Percentage, dec!(8), RateSource::CampaignSale),
            ),
            Case(None, standard, Some(campaign()), sale, want(Kind::Percentage, dec!(8), RateSource::CampaignSale)),
            Case(
                None,
                standard,
                Some(campaign()),
                lead,
                want(Kind::Percentage, dec!(15), RateSource::CampaignConversion),
            ),
            Case(None, standard, Some(flat), sale, want(Kind::Flat, dec!(5000), RateSource::CampaignFlat)),
            Case(None, standard, Some(no_rates), sale, want(Kind::Percentage, dec!(15), RateSource::AffiliateBase)),
            Case(None, standard, None, lead, want(Kind::Percentage, dec!(15), RateSource::AffiliateBase)),
            Case(
                None,
                standard,
                Some(CampaignRules { sale_rate: None, ..campaign() }),
                sale,
                want(Kind::Percentage, dec!(15), RateSource::AffiliateBase),
            ),
        ];
        for (i, Case(explicit, affiliate, campaign, kind, expected)) in cases.iter().enumerate() {
            assert_eq!(choose_rule(*explicit, affiliate, campaign.as_ref(), *kind), *expected, "case {i}");
        }
    }

    #[test]
    fn amounts_are_rounded_once_half_even() {
        let pct = |v| Rule { kind: Kind::Percentage, value: v, source: RateSource::Explicit };
        let flat = |v| Rule { kind: Kind::Flat, value: v, source: RateSource::CampaignFlat };
        let cases = [
            // The seed's example: 15 % of 250 000 COP.
            (pct(dec!(15)), dec!(250000), dec!(1), None, "COP", dec!(37500.00)),
            (pct(dec!(8)), dec!(150.75), dec!(1), None, "USD", dec!(12.06)),
            // 2.5 % of 0.90 = 0.0225 → 0.02 (half-even), not 0.03.
            (pct(dec!(2.5)), dec!(0.90), dec!(1), None, "USD", dec!(0.02)),
            // 2.5 % of 1.30 = 0.0325 → 0.03; 0.035 → 0.04.
            (pct(dec!(2.5)), dec!(1.30), dec!(1), None, "USD", dec!(0.03)),
            (pct(dec!(3.5)), dec!(1.00), dec!(1), None, "USD", dec!(0.04)),
            // Rounded once: 33.3333 % bonus-free of 10.00 → 3.33.
            (pct(dec!(33.3333)), dec!(10.00), dec!(1), None, "USD", dec!(3.33)),
            // Bonus: 8 % of 1000 = 80, +25 % = 100.
            (pct(dec!(8)), dec!(1000), dec!(1), Some(dec!(25)), "USD", dec!(100.00)),
            // Bonus applied before the one rounding: 10 % of 0.45 = 0.045 × 1.1 = 0.0495 → 0.05.
            (pct(dec!(10)), dec!(0.45), dec!(1), Some(dec!(10)), "USD", dec!(0.05)),
            (flat(dec!(5000)), dec!(250000), dec!(1), None, "COP", dec!(5000)),
            (flat(dec!(10.00)), dec!(30), dec!(0.3333333333), None, "USD", dec!(3.33)),
            (pct(dec!(15)), dec!(1001), dec!(1), None, "JPY", dec!(150)),
            (pct(dec!(0)), dec!(1001), dec!(1), None, "USD", dec!(0)),
        ];
        for (rule, base, share, bonus, code, want) in cases {
            assert_eq!(amount(&rule, base, share, bonus, currency(code)), want, "{rule:?} {base} {code}");
        }
    }

    #[test]
    fn lifecycle_moves() {
        use Move::*;
        use Status::*;
        let ok = [
            (Pending, Calculate { force: false }, Calculated),
            (Calculated, Calculate { force: true }, Calculated),
            (Calculated, Approve, Approved),
            (Pending, Reject, Rejected),
            (Calculated, Reject, Rejected),
            (Pending, Cancel, Canceled),
            (Calculated, Cancel, Canceled),
            (Approved, Cancel, Canceled),
            (Approved, Pay, Paid),
        ];
        for (from, action, to) in ok {
            assert_eq!(transition(from, action).ok(), Some(to), "{from:?} {action:?}");
        }
        let refused = [
            (Calculated, Calculate { force: false }),
            (Approved, Calculate { force: true }),
            (Pending, Approve),
            (Approved, Approve),
            (Paid, Cancel),
            (Paid, Approve),
            (Canceled, Approve),
            (Rejected, Approve),
            (Approved, Reject),
            (Paid, Reject),
            (Calculated, Pay),
            (Canceled, Calculate { force: true }),
            (Rejected, Cancel),
        ];
        for (from, action) in refused {
            let err = transition(from, action).err();
            assert!(matches!(err, Some(DomainError::InvalidTransition { .. })), "{from:?} {action:?}");
        }
    }

    #[test]
    fn statuses_read_seed_words_and_names() {
        for status in
            [Status::Pending, Status::Calculated, Status::Approved, Status::Paid, Status::Canceled, Status::Rejected]
        {
            assert_eq!(Status::parse(status.name()), Some(status));
            assert_eq!(Status::parse(status.seed_name()), Some(status));
        }
        assert_eq!(Status::parse("aprobada"), Some(Status::Approved));
        assert_eq!(Status::parse("nope"), None);
    }

    #[test]
    fn partial_refunds_shrink_proportionally() {
        let usd = currency("USD");
        let cases = [
            (dec!(100.00), Some(dec!(15.00)), dec!(60.00), dec!(100.00), dec!(60.00), Some(dec!(9.00))),
            (dec!(33.33), Some(dec!(5.00)), dec!(50.00), dec!(100.00), dec!(16.66), Some(dec!(2.50))),
            (dec!(100.00), None, dec!(25.00), dec!(100.00), dec!(25.00), None),
            (dec!(100.00), Some(dec!(15.00)), dec!(0), dec!(100.00), dec!(0.00), Some(dec!(0.00))),
            (dec!(100.00), Some(dec!(15.00)), dec!(150.00), dec!(100.00), dec!(100.00), Some(dec!(15.00))),
        ];
        for (base, amount, remaining, total, want_base, want_amount) in cases {
            assert_eq!(
                after_refund(base, amount, remaining, total, usd),
                (want_base, want_amount),
                "{base} {remaining}"
            );
        }
    }

    #[test]
    fn automatic_approval_needs_low_fraud_and_holding_elapsed() {
        let now = Utc::now();
        let policy = AutoApprovalPolicy { enabled: true, max_fraud_score: 30, holding: Duration::days(30) };
        assert!(policy.allows(10, now - Duration::days(31), now));
        assert!(!policy.allows(30, now - Duration::days(31), now));
        assert!(!policy.allows(10, now - Duration::days(29), now));
        assert!(!AutoApprovalPolicy { enabled: false, ..policy }.allows(0, now - Duration::days(90), now));
        assert_eq!(policy.name(), "auto:fraude<30,retencion=720h");
    }

    #[test]
    fn periods_parse_or_fail_clearly() {
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).single().unwrap_or_else(|| unreachable!());
        let p = parse_period("30d", now, "period").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((p.from, p.to), (now - Duration::days(30), now));
        let p = parse_period("24h", now, "period").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.from, now - Duration::hours(24));
        let p = parse_period("2026-02", now, "period").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.from.to_rfc3339(), "2026-02-01T00:00:00+00:00");
        assert_eq!(p.to.to_rfc3339(), "2026-03-01T00:00:00+00:00");
        let p = parse_period("2026-12", now, "period").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.to.to_rfc3339(), "2027-01-01T00:00:00+00:00");
        let p = parse_period("2026-11-01..2026-11-30", now, "period").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.to.to_rfc3339(), "2026-12-01T00:00:00+00:00");
        let p = parse_period("2026-11-05", now, "period").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.to - p.from, Duration::days(1));
        for bad in ["", "d", "30x", "-3d", "0d", "9999999d", "2026-13", "2026-11-30..2026-11-01", "abc", "3ñ", "ñ"] {
            let err = parse_period(bad, now, "periodo").err();
            assert!(matches!(&err, Some(DomainError::Invalid { field, .. }) if field == "periodo"), "{bad}");
        }
    }

    #[test]
    fn explicit_rates_are_checked() {
        let cop = currency("COP");
        assert!(explicit_rule(Kind::Percentage, dec!(-1), cop, "porcentaje").is_err());
        assert!(explicit_rule(Kind::Percentage, dec!(100.5), cop, "porcentaje").is_err());
        assert!(explicit_rule(Kind::Percentage, dec!(1000000), cop, "porcentaje").is_err());
        assert!(explicit_rule(Kind::Flat, dec!(-5), cop, "monto").is_err());
        assert!(explicit_rule(Kind::Flat, dec!(5.001), cop, "monto").is_err());
        assert_eq!(
            explicit_rule(Kind::Percentage, dec!(15.0), cop, "porcentaje").map(|r| r.value).ok(),
            Some(dec!(15))
        );
    }
}
