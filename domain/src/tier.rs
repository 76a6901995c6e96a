//! Programme tiers: an affiliate's credited sales in a calendar month (UTC) reach
//! thresholds; each tier reached gives its rate to the month's sales from then on (when
//! higher than the rule they would earn by) and, once the month ends, its bonus.

use chrono::{DateTime, Datelike, TimeZone, Utc};
use rust_decimal::Decimal;

use super::commission::{Kind, Period, RateSource, Rule};

/// A tier as the rules need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tier {
    pub min_sales: Decimal,
    /// Percentage (0–100) once reached.
    pub rate: Option<Decimal>,
    /// Paid when the month ends at or above it.
    pub bonus: Option<Decimal>,
}

/// The calendar month (UTC) holding `at`.
pub fn month_of(at: DateTime<Utc>) -> Period {
    let first = |year: i32, month: u32| Utc.with_ymd_and_hms(year, month, 1, 0, 0, 0).single();
    let from = first(at.year(), at.month()).unwrap_or(at);
    let (year, month) = if at.month() == 12 { (at.year() + 1, 1) } else { (at.year(), at.month() + 1) };
    Period { from, to: first(year, month).unwrap_or(at) }
}

/// `YYYY-MM` of a month.
pub fn month_name(period: &Period) -> String {
    period.from.format("%Y-%m").to_string()
}

/// The highest tier `sales` reach (`tiers` in any order), if any.
pub fn reached(tiers: &[Tier], sales: Decimal) -> Option<&Tier> {
    tiers.iter().filter(|t| t.min_sales <= sales).max_by_key(|t| t.min_sales)
}

/// The next tier above `sales`, if any.
pub fn next(tiers: &[Tier], sales: Decimal) -> Option<&Tier> {
    tiers.iter().filter(|t| t.min_sales > sales).min_by_key(|t| t.min_sales)
}

/// The rule a sale earns by once the month's sales (this one included) are `sales`: the
/// highest rate of the tiers reached, when it beats the sale's own percentage rule. A rate a
/// person set, and flat amounts, are kept as they are.
pub fn rule_with_tiers(rule: Rule, tiers: &[Tier], sales: Decimal) -> Rule {
    if rule.source == RateSource::Explicit || rule.kind != Kind::Percentage {
        return rule;
    }
    let best = tiers.iter().filter(|t| t.min_sales <= sales).filter_map(|t| t.rate).max();
    match best {
        Some(rate) if rate > rule.value => Rule { kind: Kind::Percentage, value: rate, source: RateSource::Tier },
        _ => rule,
    }
}

/// The bonuses a month that ended with `sales` pays: every tier reached that has one.
pub fn bonuses(tiers: &[Tier], sales: Decimal) -> Vec<&Tier> {
    let mut met: Vec<&Tier> =
        tiers.iter().filter(|t| t.min_sales <= sales && t.bonus.is_some_and(|b| b > Decimal::ZERO)).collect();
    met.sort_by_key(|t| t.min_sales);
    met
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn tiers() -> Vec<Tier> {
        vec![
            Tier { min_sales: dec!(5000), rate: Some(dec!(15)), bonus: Some(dec!(100)) },
            Tier { min_sales: dec!(1000), rate: Some(dec!(12)), bonus: None },
            Tier { min_sales: dec!(20000), rate: None, bonus: Some(dec!(500)) },
        ]
    }

    #[test]
    fn the_months_sales_pick_the_tier_and_the_next_one() {
        let t = tiers();
        assert_eq!(reached(&t, dec!(999.99)), None);
        assert_eq!(reached(&t, dec!(1000)).map(|t| t.min_sales), Some(dec!(1000)));
        assert_eq!(reached(&t, dec!(7500)).map(|t| t.min_sales), Some(dec!(5000)));
        assert_eq!(next(&t, dec!(7500)).map(|t| t.min_sales), Some(dec!(20000)));
        assert_eq!(next(&t, dec!(20000)), None);
    }

    #[test]
    fn a_tier_rate_lifts_a_lower_percentage_and_never_lowers_or_overrides_a_person() {
        let t = tiers();
        let campaign = Rule { kind: Kind::Percentage, value: dec!(10), source: RateSource::CampaignSale };
        assert_eq!(rule_with_tiers(campaign, &t, dec!(500)), campaign);
        let lifted = rule_with_tiers(campaign, &t, dec!(1000));
        assert_eq!((lifted.value, lifted.source), (dec!(12), RateSource::Tier));
        // Above the last rated tier, the highest rate reached stays.
        assert_eq!(rule_with_tiers(campaign, &t, dec!(25000)).value, dec!(15));
        let premium = Rule { kind: Kind::Percentage, value: dec!(20), source: RateSource::AffiliatePremium };
        assert_eq!(rule_with_tiers(premium, &t, dec!(25000)), premium);
        let explicit = Rule { kind: Kind::Percentage, value: dec!(1), source: RateSource::Explicit };
        assert_eq!(rule_with_tiers(explicit, &t, dec!(25000)), explicit);
        let flat = Rule { kind: Kind::Flat, value: dec!(3), source: RateSource::CampaignFlat };
        assert_eq!(rule_with_tiers(flat, &t, dec!(25000)), flat);
    }

    #[test]
    fn a_month_that_ends_above_a_tier_pays_each_bonus_reached_once() {
        let t = tiers();
        assert!(bonuses(&t, dec!(4999)).is_empty());
        let paid: Vec<Decimal> = bonuses(&t, dec!(20000)).iter().filter_map(|t| t.bonus).collect();
        assert_eq!(paid, [dec!(100), dec!(500)]);
    }

    #[test]
    fn months_are_calendar_months_in_utc() {
        let at = Utc.with_ymd_and_hms(2026, 12, 31, 23, 59, 59).single().unwrap_or_default();
        let month = month_of(at);
        assert_eq!(month.from, Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).single().unwrap_or_default());
        assert_eq!(month.to, Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).single().unwrap_or_default());
        assert_eq!(month_name(&month), "2026-12");
    }
}
