//! Sign-in guessing is slowed down per client IP and per account: each attempt counts as a
//! failure until its password is found right; past a few failures the next attempt must
//! wait, twice as long each time (up to 15 minutes). A flood of parallel attempts is
//! refused before any password is checked. Kept per replica, in memory.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::Mutex,
    time::{Duration, Instant},
};

use crate::error::AppError;

/// Failures an account may have before it waits.
const FREE_PER_ACCOUNT: u32 = 5;
/// Failures one IP may have (over every account) before it waits.
const FREE_PER_IP: u32 = 30;
/// The longest wait.
const MAX_WAIT: Duration = Duration::from_secs(15 * 60);
/// Failures are forgotten after this long without attempts.
const FORGET_AFTER: Duration = Duration::from_secs(60 * 60);
/// Records kept past this many are pruned (idle ones first, then all).
const MAX_RECORDS: usize = 100_000;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Ip(IpAddr),
    Account(String),
}

#[derive(Debug, Clone, Copy)]
struct Record {
    failures: u32,
    last: Instant,
    wait_until: Instant,
}

#[derive(Default)]
pub struct LoginThrottle {
    records: Mutex<HashMap<Key, Record>>,
}

/// An attempt let through: say how it ended with [`LoginThrottle::succeeded`]; dropped
/// without that, it stays counted as a failure.
#[must_use]
pub struct Attempt {
    ip: Option<IpAddr>,
    account: String,
}

impl LoginThrottle {
    /// Lets an attempt at `account` from `ip` through, counted as a failure for now, or
    /// says how long to wait (TOO_MANY_REQUESTS with `Retry-After`).
    pub fn attempt(&self, ip: Option<IpAddr>, account: &str) -> Result<Attempt, AppError> {
        self.attempt_at(ip, account, Instant::now())
    }

    fn attempt_at(&self, ip: Option<IpAddr>, account: &str, now: Instant) -> Result<Attempt, AppError> {
        let account = account.trim().to_lowercase();
        let keys: Vec<(Key, u32)> = ip
            .map(|ip| (Key::Ip(ip), FREE_PER_IP))
            .into_iter()
            .chain(std::iter::once((Key::Account(account.clone()), FREE_PER_ACCOUNT)))
            .collect();
        let mut records = self.lock();
        if records.len() >= MAX_RECORDS {
            records.retain(|_, r| now.duration_since(r.last) < FORGET_AFTER && r.wait_until > now);
            if records.len() >= MAX_RECORDS {
                records.clear();
            }
        }
        let wait = keys
            .iter()
            .filter_map(|(key, _)| records.get(key))
            .filter(|r| now.duration_since(r.last) < FORGET_AFTER)
            .map(|r| r.wait_until.saturating_duration_since(now))
            .max()
            .unwrap_or_default();
        if !wait.is_zero() {
            return Err(AppError::TooManyRequests { retry_after_secs: wait.as_secs().max(1) });
        }
        for (key, free) in keys {
            let record = records.entry(key).or_insert(Record { failures: 0, last: now, wait_until: now });
            if now.duration_since(record.last) >= FORGET_AFTER {
                record.failures = 0;
            }
            record.failures += 1;
            record.last = now;
            record.wait_until = now + wait_after(record.failures, free);
        }
        Ok(Attempt { ip, account })
    }

    /// The password was wrong: the wait its failure earned starts now, when the answer is
    /// known (a slow check does not eat into it).
    pub fn failed(&self, attempt: Attempt) {
        self.failed_at(attempt, Instant::now());
    }

    fn failed_at(&self, attempt: Attempt, now: Instant) {
        let mut records = self.lock();
        let keys = attempt
            .ip
            .map(|ip| (Key::Ip(ip), FREE_PER_IP))
            .into_iter()
            .chain(std::iter::once((Key::Account(attempt.account), FREE_PER_ACCOUNT)));
        for (key, free) in keys {
            if let Some(record) = records.get_mut(&key) {
                record.last = now;
                record.wait_until = record.wait_until.max(now + wait_after(record.failures, free));
            }
        }
    }

    /// The password was right: the account's failures are forgotten (the IP's are not, so
    /// that one account of one's own does not reset guessing at others).
    pub fn succeeded(&self, attempt: Attempt) {
        self.lock().remove(&Key::Account(attempt.account));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Record>> {
        self.records.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The wait after the `failures`-th failure: none for the first `free`, then 1 s, 2 s,
/// 4 s, … up to [`MAX_WAIT`].
fn wait_after(failures: u32, free: u32) -> Duration {
    if failures < free {
        return Duration::ZERO;
    }
    let doublings = (failures - free).min(20);
    Duration::from_secs(1u64 << doublings).min(MAX_WAIT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_waits_after_its_free_failures_and_longer_each_time() {
        let throttle = LoginThrottle::default();
        let start = Instant::now();
        for n in 0..FREE_PER_ACCOUNT {
            assert!(throttle.attempt_at(None, "Boss@Example.com", start).is_ok(), "attempt {n}");
        }
        let refused = throttle.attempt_at(None, "boss@example.com", start);
        assert!(matches!(refused, Err(AppError::TooManyRequests { retry_after_secs: 1 })), "same account, any case");
        assert!(throttle.attempt_at(None, "other@example.com", start).is_ok(), "other accounts are not affected");
        // After the wait, one more try; failing it doubles the wait.
        let later = start + Duration::from_secs(1);
        assert!(throttle.attempt_at(None, "boss@example.com", later).is_ok());
        let refused = throttle.attempt_at(None, "boss@example.com", later);
        assert!(matches!(refused, Err(AppError::TooManyRequests { retry_after_secs: 2 })));
        assert_eq!(wait_after(100, FREE_PER_ACCOUNT), MAX_WAIT);
    }

    #[test]
    fn the_right_password_clears_the_account_but_not_the_ip() {
        let throttle = LoginThrottle::default();
        let ip: IpAddr = [10, 0, 0, 9].into();
        let now = Instant::now();
        for n in 0..FREE_PER_ACCOUNT - 1 {
            assert!(throttle.attempt_at(Some(ip), "boss@example.com", now).is_ok(), "attempt {n}");
        }
        let right = throttle.attempt_at(Some(ip), "boss@example.com", now);
        assert!(right.is_ok());
        if let Ok(attempt) = right {
            throttle.succeeded(attempt);
        }
        assert!(throttle.attempt_at(Some(ip), "boss@example.com", now).is_ok(), "the account starts again");
        // The IP counted every attempt: spread over accounts it still runs out.
        let mut refused = 0;
        for n in 0..FREE_PER_IP {
            if throttle.attempt_at(Some(ip), &format!("user{n}@example.com"), now).is_err() {
                refused += 1;
            }
        }
        assert!(refused > 0, "an IP guessing across accounts is slowed down");
        assert!(throttle.attempt_at(Some([10, 0, 0, 10].into()), "new@example.com", now).is_ok());
    }

    #[test]
    fn the_wait_runs_from_when_the_failure_is_known() {
        let throttle = LoginThrottle::default();
        let start = Instant::now();
        let mut last = None;
        for _ in 0..FREE_PER_ACCOUNT {
            last = throttle.attempt_at(None, "boss@example.com", start).ok();
        }
        // The last check took 3 s to say no: the 1 s wait runs from then.
        if let Some(attempt) = last {
            throttle.failed_at(attempt, start + Duration::from_secs(3));
        }
        let during = throttle.attempt_at(None, "boss@example.com", start + Duration::from_millis(3500));
        assert!(matches!(during, Err(AppError::TooManyRequests { .. })));
        assert!(throttle.attempt_at(None, "boss@example.com", start + Duration::from_secs(4)).is_ok());
    }

    #[test]
    fn failures_are_forgotten_after_an_idle_hour() {
        let throttle = LoginThrottle::default();
        let start = Instant::now();
        for _ in 0..FREE_PER_ACCOUNT {
            let _ = throttle.attempt_at(None, "boss@example.com", start);
        }
        assert!(throttle.attempt_at(None, "boss@example.com", start).is_err());
        assert!(throttle.attempt_at(None, "boss@example.com", start + FORGET_AFTER).is_ok());
    }
}
