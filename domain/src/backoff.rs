//! Retry delays: exponential backoff with jitter.

use std::time::Duration;

/// Longest wait between two attempts, whatever the attempt number.
pub const MAX_DELAY: Duration = Duration::from_secs(6 * 3600);

/// The wait before the next attempt, after `attempt` failed ones (1 = the first failed).
/// The ceiling doubles each time (`base`, `2·base`, `4·base`, … up to [`MAX_DELAY`]);
/// the wait is drawn from its upper half (`jitter` in `[0, 1]`), so that deliveries
/// that failed together do not all come back together, and never sooner than half the
/// ceiling.
pub fn delay(attempt: i32, base: Duration, jitter: f64) -> Duration {
    let exponent = attempt.saturating_sub(1).clamp(0, 32) as u32;
    let ceiling = base.saturating_mul(2u32.saturating_pow(exponent)).min(MAX_DELAY);
    let jitter = if jitter.is_finite() { jitter.clamp(0.0, 1.0) } else { 0.0 };
    ceiling.mul_f64(0.5 + jitter / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_within_their_jitter_band() {
        let base = Duration::from_millis(2000);
        let cases: [(i32, f64, u64); 8] = [
            (1, 0.0, 1000),
            (1, 1.0, 2000),
            (2, 0.0, 2000),
            (2, 1.0, 4000),
            (3, 0.5, 6000),
            (5, 1.0, 32_000),
            (0, 1.0, 2000),
            (-3, 0.0, 1000),
        ];
        for (attempt, jitter, millis) in cases {
            assert_eq!(
                delay(attempt, base, jitter),
                Duration::from_millis(millis),
                "attempt {attempt} jitter {jitter}"
            );
        }
    }

    #[test]
    fn delays_are_capped_and_odd_jitter_is_tamed() {
        let base = Duration::from_secs(2);
        assert_eq!(delay(40, base, 1.0), MAX_DELAY);
        assert_eq!(delay(i32::MAX, base, 1.0), MAX_DELAY);
        assert_eq!(delay(1, base, f64::NAN), Duration::from_secs(1));
        assert_eq!(delay(1, base, 7.0), Duration::from_secs(2));
        assert_eq!(delay(1, base, -1.0), Duration::from_secs(1));
    }
}
