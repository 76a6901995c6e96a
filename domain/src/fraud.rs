//! Fraud score of a conversion: 0–100, with the signals that raised it.
//!
//! Each signal adds its points; the score is their sum, capped at 100. Above the hold
//! threshold a conversion is held for review instead of credited.

use rust_decimal::Decimal;
use serde::Serialize;

/// The code of the signal a conversion recorded without a key carries from the start.
pub const UNVERIFIED_SOURCE: &str = "UNVERIFIED_SOURCE";

/// The limits the signals are measured against.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FraudPolicy {
    /// A conversion this many seconds or fewer after its last click is suspicious.
    pub min_click_to_conversion_secs: i64,
    /// More clicks than this from one IP hash in the hour before the conversion.
    pub max_clicks_per_ip_hour: u64,
    /// A conversion whose score reaches this is held for review (1–100).
    pub hold_threshold: i32,
    /// A value more than this many times the campaign's usual (median) order value is
    /// outsized.
    pub outsized_factor: Decimal,
    /// How many earlier conversions of the campaign make a usual value.
    pub usual_value_sample: u64,
}

impl Default for FraudPolicy {
    fn default() -> Self {
        Self {
            min_click_to_conversion_secs: 5,
            max_clicks_per_ip_hour: 20,
            hold_threshold: 70,
            outsized_factor: Decimal::new(10, 0),
            usual_value_sample: 10,
        }
    }
}

/// What is known about a conversion when it is scored.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FraudFacts {
    /// Seconds from the last click of the journey to the conversion.
    pub secs_since_last_click: Option<i64>,
    /// Clicks from the last click's IP hash in the hour before the conversion.
    pub clicks_from_ip_last_hour: u64,
    /// The user agent of the journey's clicks.
    pub user_agents: Vec<String>,
    /// The customer's email hash equals the credited affiliate's.
    pub self_referral: bool,
    /// Another conversion of the same customer and value minutes before, or of the same order.
    pub duplicate_of: Option<String>,
    /// Credited, but no click of the visitor was ever seen (only impressions, or the
    /// conversion naming its affiliate itself).
    pub credited_without_click: bool,
    /// The conversion's value and the campaign's usual (median) value in that currency,
    /// when the campaign has enough earlier conversions to say.
    pub value: Decimal,
    pub usual_value: Option<Decimal>,
    /// Recorded without a key (the legacy switch).
    pub unverified_source: bool,
}

/// The signal of a conversion recorded without a key: enough on its own to hold it.
pub fn unverified_source() -> Signal {
    Signal {
        code: UNVERIFIED_SOURCE,
        points: 100,
        detail: "recorded without an API key; a person must review it".into(),
    }
}

/// Does a stored list of signals (`conversions.fraud_signals`) hold this code?
pub fn has_signal(signals: &serde_json::Value, code: &str) -> bool {
    signals.as_array().is_some_and(|list| list.iter().any(|s| s.get("code").and_then(|c| c.as_str()) == Some(code)))
}

/// One reason the score went up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Signal {
    /// `FAST_CONVERSION`, `CLICK_FLOOD`, `BOT_USER_AGENT`, `SELF_REFERRAL`, `DUPLICATE_CONVERSION`,
    /// `NO_CLICK`, `OUTSIZED_VALUE`, `UNVERIFIED_SOURCE`.
    pub code: &'static str,
    pub points: i32,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessment {
    pub score: i32,
    pub signals: Vec<Signal>,
}

impl Assessment {
    pub fn held(&self, policy: &FraudPolicy) -> bool {
        self.score >= policy.hold_threshold
    }
}

/// Words of user agents that are not people: crawlers, scripts, headless browsers.
const BOT_MARKERS: [&str; 14] = [
    "bot",
    "crawler",
    "spider",
    "headless",
    "phantomjs",
    "selenium",
    "puppeteer",
    "playwright",
    "python-requests",
    "curl/",
    "wget/",
    "go-http-client",
    "scrapy",
    "httpclient",
];

pub fn is_bot_user_agent(user_agent: &str) -> bool {
    let ua = user_agent.to_ascii_lowercase();
    ua.trim().is_empty() || BOT_MARKERS.iter().any(|marker| ua.contains(marker))
}

pub fn assess(facts: &FraudFacts, policy: &FraudPolicy) -> Assessment {
    let mut signals = Vec::new();
    if let Some(secs) = facts.secs_since_last_click {
        if (0..=policy.min_click_to_conversion_secs).contains(&secs) {
            signals.push(Signal {
                code: "FAST_CONVERSION",
                points: 35,
                detail: format!("converted {secs} s after the click"),
            });
        }
    }
    if facts.clicks_from_ip_last_hour > policy.max_clicks_per_ip_hour {
        signals.push(Signal {
            code: "CLICK_FLOOD",
            points: 30,
            detail: format!("{} clicks from one IP in the hour before", facts.clicks_from_ip_last_hour),
        });
    }
    if let Some(agent) = facts.user_agents.iter().find(|ua| is_bot_user_agent(ua)) {
        signals.push(Signal { code: "BOT_USER_AGENT", points: 40, detail: format!("user agent {agent:?}") });
    }
    if facts.self_referral {
        signals.push(Signal {
            code: "SELF_REFERRAL",
            points: 70,
            detail: "the customer's email is the credited affiliate's".into(),
        });
    }
    if let Some(other) = &facts.duplicate_of {
        signals.push(Signal {
            code: "DUPLICATE_CONVERSION",
            points: 50,
            detail: format!("same customer and value as conversion {other}"),
        });
    }
    if facts.credited_without_click {
        signals.push(Signal {
            code: "NO_CLICK",
            points: 30,
            detail: "credited without any click of the visitor".into(),
        });
    }
    if let Some(usual) = facts.usual_value.filter(|usual| *usual > Decimal::ZERO) {
        if facts.value > usual * policy.outsized_factor {
            signals.push(Signal {
                code: "OUTSIZED_VALUE",
                points: 40,
                detail: format!(
                    "value {} is over {}× the campaign's usual {}",
                    facts.value, policy.outsized_factor, usual
                ),
            });
        }
    }
    if facts.unverified_source {
        signals.push(unverified_source());
    }
    let score = signals.iter().map(|s| s.points).sum::<i32>().min(100);
    Assessment { score, signals }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(facts: &FraudFacts) -> (i32, Vec<&'static str>) {
        let a = assess(facts, &FraudPolicy::default());
        (a.score, a.signals.iter().map(|s| s.code).collect())
    }

    #[test]
    fn a_clean_conversion_scores_zero() {
        let facts = FraudFacts {
            secs_since_last_click: Some(600),
            clicks_from_ip_last_hour: 3,
            user_agents: vec!["Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120 Safari/537.36".into()],
            ..Default::default()
        };
        assert_eq!(codes(&facts), (0, vec![]));
    }

    #[test]
    fn each_signal_adds_its_points() {
        let cases: [(FraudFacts, i32, &str); 6] = [
            (FraudFacts { secs_since_last_click: Some(2), ..Default::default() }, 35, "FAST_CONVERSION"),
            (FraudFacts { secs_since_last_click: Some(5), ..Default::default() }, 35, "FAST_CONVERSION"),
            (FraudFacts { clicks_from_ip_last_hour: 21, ..Default::default() }, 30, "CLICK_FLOOD"),
            (
                FraudFacts { user_agents: vec!["Mozilla/5.0 HeadlessChrome/120".into()], ..Default::default() },
                40,
                "BOT_USER_AGENT",
            ),
            (FraudFacts { self_referral: true, ..Default::default() }, 70, "SELF_REFERRAL"),
            (FraudFacts { duplicate_of: Some("c-1".into()), ..Default::default() }, 50, "DUPLICATE_CONVERSION"),
        ];
        for (facts, score, code) in cases {
            assert_eq!(codes(&facts), (score, vec![code]), "{facts:?}");
        }
    }

    #[test]
    fn limits_are_exclusive_where_they_say_so() {
        assert_eq!(codes(&FraudFacts { secs_since_last_click: Some(6), ..Default::default() }).0, 0);
        assert_eq!(codes(&FraudFacts { clicks_from_ip_last_hour: 20, ..Default::default() }).0, 0);
        // A click "after" the conversion (clock skew) is not a fast conversion.
        assert_eq!(codes(&FraudFacts { secs_since_last_click: Some(-3), ..Default::default() }).0, 0);
    }

    #[test]
    fn the_score_is_capped_at_100_and_holds_above_the_threshold() {
        let facts = FraudFacts {
            secs_since_last_click: Some(1),
            clicks_from_ip_last_hour: 500,
            user_agents: vec!["python-requests/2.31".into()],
            self_referral: true,
            duplicate_of: Some("c-9".into()),
            ..Default::default()
        };
        let a = assess(&facts, &FraudPolicy::default());
        assert_eq!(a.score, 100);
        assert_eq!(a.signals.len(), 5);
        assert!(a.held(&FraudPolicy::default()));
        let fast =
            assess(&FraudFacts { secs_since_last_click: Some(1), ..Default::default() }, &FraudPolicy::default());
        assert!(!fast.held(&FraudPolicy::default()));
        assert!(fast.held(&FraudPolicy { hold_threshold: 35, ..FraudPolicy::default() }));
    }

    #[test]
    fn conversions_without_clicks_or_far_above_the_usual_value_are_flagged() {
        let no_click = FraudFacts { credited_without_click: true, ..Default::default() };
        assert_eq!(codes(&no_click), (30, vec!["NO_CLICK"]));
        let usual = Some(Decimal::new(4900, 2));
        let big = FraudFacts { value: Decimal::new(250_000, 0), usual_value: usual, ..Default::default() };
        assert_eq!(codes(&big), (40, vec!["OUTSIZED_VALUE"]));
        // Ten times is still usual; without a usual value nothing is said.
        assert_eq!(codes(&FraudFacts { value: Decimal::new(490, 0), usual_value: usual, ..Default::default() }).0, 0);
        assert_eq!(codes(&FraudFacts { value: Decimal::new(250_000, 0), ..Default::default() }).0, 0);
        // Both together hold the conversion.
        let both = FraudFacts { credited_without_click: true, ..big };
        assert!(assess(&both, &FraudPolicy::default()).held(&FraudPolicy::default()));
    }

    #[test]
    fn unverified_conversions_are_always_held() {
        let facts = FraudFacts { unverified_source: true, ..Default::default() };
        let a = assess(&facts, &FraudPolicy::default());
        assert_eq!(a.signals, vec![unverified_source()]);
        assert!(a.held(&FraudPolicy { hold_threshold: 100, ..FraudPolicy::default() }));
        assert!(has_signal(&serde_json::json!([unverified_source()]), UNVERIFIED_SOURCE));
        assert!(!has_signal(&serde_json::json!([{ "code": "NO_CLICK" }]), UNVERIFIED_SOURCE));
        assert!(!has_signal(&serde_json::json!({}), UNVERIFIED_SOURCE));
    }

    #[test]
    fn bot_user_agents() {
        for ua in ["Googlebot/2.1", "curl/8.5.0", "Mozilla/5.0 (compatible; bingbot/2.0)", "", "Scrapy/2.11"] {
            assert!(is_bot_user_agent(ua), "{ua}");
        }
        for ua in ["Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Safari/604.1", "Mozilla/5.0 Firefox/121.0"] {
            assert!(!is_bot_user_agent(ua), "{ua}");
        }
    }
}
