//! A per-IP token bucket for the public tracking routes, and how we find the client IP.

use std::{
    collections::HashMap,
    net::{IpAddr, SocketAddr},
    sync::Mutex,
    time::Instant,
};

use axum::{extract::ConnectInfo, http::request::Parts};

use crate::error::AppError;

/// Buckets idle this long are forgotten.
const IDLE_SECS: f64 = 120.0;

pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

struct Bucket {
    tokens: f64,
    updated: Instant,
}

impl RateLimiter {
    /// `per_second` requests per second per IP, bursts of twice that; 0 disables the limit.
    pub fn new(per_second: u32) -> Self {
        Self {
            per_second: f64::from(per_second),
            burst: f64::from(per_second) * 2.0,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `ip`, or says how long to wait.
    pub fn check(&self, ip: IpAddr) -> Result<(), AppError> {
        self.check_at(ip, Instant::now())
    }

    fn check_at(&self, ip: IpAddr, now: Instant) -> Result<(), AppError> {
        if self.per_second <= 0.0 {
            return Ok(());
        }
        let mut buckets = self.buckets.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if buckets.len() > 100_000 {
            buckets.retain(|_, b| now.duration_since(b.updated).as_secs_f64() < IDLE_SECS);
        }
        let bucket = buckets.entry(ip).or_insert(Bucket { tokens: self.burst, updated: now });
        let elapsed = now.duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.per_second).min(self.burst);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = ((1.0 - bucket.tokens) / self.per_second).ceil().max(1.0);
            Err(AppError::TooManyRequests { retry_after_secs: wait as u64 })
        }
    }
}

/// The client's IP: when trusted, the last `X-Forwarded-For` hop (the one our proxy
/// appended; the ones before it are whatever the client sent), else the peer address.
pub fn client_ip(parts: &Parts, trust_forwarded_for: bool) -> Option<IpAddr> {
    if trust_forwarded_for {
        let forwarded = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .next_back()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|v| v.trim().parse().ok());
        if forwarded.is_some() {
            return forwarded;
        }
    }
    parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn bursts_then_refuses_then_refills() {
        let limiter = RateLimiter::new(2);
        let ip: IpAddr = [10, 0, 0, 1].into();
        let other: IpAddr = [10, 0, 0, 2].into();
        let start = Instant::now();
        for _ in 0..4 {
            assert!(limiter.check_at(ip, start).is_ok());
        }
        let refused = limiter.check_at(ip, start);
        assert!(matches!(refused, Err(AppError::TooManyRequests { retry_after_secs: 1 })));
        assert!(limiter.check_at(other, start).is_ok(), "other clients are not affected");
        assert!(limiter.check_at(ip, start + Duration::from_millis(600)).is_ok(), "refilled");
    }

    #[test]
    fn the_forwarded_ip_is_the_hop_our_proxy_added() {
        let parts = |headers: &[&str]| {
            let mut request = axum::http::Request::builder();
            for value in headers {
                request = request.header("x-forwarded-for", *value);
            }
            let mut request = request.body(()).unwrap_or_default();
            request.extensions_mut().insert(ConnectInfo(SocketAddr::from(([10, 0, 0, 1], 80))));
            request.into_parts().0
        };
        let forged = parts(&["6.6.6.6, 203.0.113.7"]);
        assert_eq!(client_ip(&forged, true), Some([203, 0, 113, 7].into()), "not the client-written first hop");
        assert_eq!(client_ip(&forged, false), Some([10, 0, 0, 1].into()), "untrusted: the peer");
        let two_headers = parts(&["6.6.6.6", "198.51.100.4"]);
        assert_eq!(client_ip(&two_headers, true), Some([198, 51, 100, 4].into()));
        assert_eq!(client_ip(&parts(&["not an ip"]), true), Some([10, 0, 0, 1].into()));
    }

    #[test]
    fn zero_means_off() {
        let limiter = RateLimiter::new(0);
        for _ in 0..10_000 {
            assert!(limiter.check([127, 0, 0, 1].into()).is_ok());
        }
    }
}
