//! Reporting periods as the seeds write them (`periodo=30d`): a window ending now.

use chrono::{DateTime, Duration, NaiveDate, Utc};

use crate::error::{AppError, AppResult};

/// A window `[from, to)` in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

/// Longest window a report covers.
pub const MAX_DAYS: i64 = 366;

impl Period {
    /// `24h`, `7d`, `30d`, `12w` (1 hour to 366 days) ending at `now`. The window starts at
    /// the beginning of a UTC day for day/week periods, so a day's bar is a whole day.
    pub fn parse(value: &str, now: DateTime<Utc>, field: &str) -> AppResult<Period> {
        let value = value.trim().to_ascii_lowercase();
        let bad = || AppError::validation(field, "period must look like 24h, 7d, 30d or 12w (at most 366 days)");
        if value.len() < 2 || !value.is_ascii() {
            return Err(bad());
        }
        let (number, unit) = value.split_at(value.len() - 1);
        let n: i64 = number.parse().map_err(|_| bad())?;
        if n < 1 {
            return Err(bad());
        }
        let from = match unit {
            "h" if n <= MAX_DAYS * 24 => now - Duration::hours(n),
            "d" if n <= MAX_DAYS => day_start(now) - Duration::days(n - 1),
            "w" if n * 7 <= MAX_DAYS => day_start(now) - Duration::days(n * 7 - 1),
            _ => return Err(bad()),
        };
        Ok(Period { from, to: now })
    }

    /// Every UTC day the window touches, oldest first.
    pub fn days(&self) -> Vec<NaiveDate> {
        let mut days = Vec::new();
        let mut day = self.from.date_naive();
        let last = self.to.date_naive();
        while day <= last {
            days.push(day);
            match day.succ_opt() {
                Some(next) => day = next,
                None => break,
            }
        }
        days
    }
}

fn day_start(at: DateTime<Utc>) -> DateTime<Utc> {
    at.date_naive().and_hms_opt(0, 0, 0).map(|t| t.and_utc()).unwrap_or(at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 15, 13, 30, 0).single().unwrap_or_default()
    }

    #[test]
    fn periods() {
        let cases: &[(&str, Option<(&str, usize)>)] = &[
            ("30d", Some(("2026-02-14T00:00:00+00:00", 30))),
            ("1d", Some(("2026-03-15T00:00:00+00:00", 1))),
            (" 7D ", Some(("2026-03-09T00:00:00+00:00", 7))),
            ("2w", Some(("2026-03-02T00:00:00+00:00", 14))),
            ("24h", Some(("2026-03-14T13:30:00+00:00", 2))),
            ("366d", Some(("2025-03-15T00:00:00+00:00", 366))),
            ("367d", None),
            ("0d", None),
            ("-3d", None),
            ("d", None),
            ("", None),
            ("30", None),
            ("30m", None),
            ("53w", None),
            ("３d", None),
        ];
        for (input, expected) in cases {
            let got = Period::parse(input, now(), "period");
            match expected {
                Some((from, days)) => {
                    let p = got.unwrap_or_else(|e| panic!("{input}: {e}"));
                    assert_eq!(p.from.to_rfc3339(), *from, "{input}");
                    assert_eq!(p.to, now(), "{input}");
                    assert_eq!(p.days().len(), *days, "{input}");
                }
                None => assert!(got.is_err(), "{input} should be refused"),
            }
        }
    }
}
