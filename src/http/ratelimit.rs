//! Login attempts per client address: after `max` failures within the window, further attempts
//! wait. Kept in memory: a restart forgets, which is fine for throttling guessers.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

/// Bounds the table so a flood of addresses cannot grow memory without limit.
const MAX_TRACKED: usize = 10_000;

pub struct RateLimiter {
    max_failures: u32,
    window_secs: i64,
    failures: Mutex<HashMap<IpAddr, (u32, i64)>>,
}

impl RateLimiter {
    pub fn new(max_failures: u32, window_secs: i64) -> RateLimiter {
        RateLimiter {
            max_failures,
            window_secs,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// `Err(seconds to wait)` when this address used up its attempts.
    pub fn check(&self, ip: IpAddr, now: i64) -> Result<(), u64> {
        let map = self
            .failures
            .lock()
            .expect("rate limiter lock is never poisoned");
        match map.get(&ip) {
            Some(&(count, since))
                if count >= self.max_failures && now - since < self.window_secs =>
            {
                Err((self.window_secs - (now - since)).max(1) as u64)
            }
            _ => Ok(()),
        }
    }

    pub fn record_failure(&self, ip: IpAddr, now: i64) {
        let mut map = self
            .failures
            .lock()
            .expect("rate limiter lock is never poisoned");
        if map.len() >= MAX_TRACKED {
            let window = self.window_secs;
            map.retain(|_, (_, since)| now - *since < window);
        }
        let entry = map.entry(ip).or_insert((0, now));
        if now - entry.1 >= self.window_secs {
            *entry = (0, now);
        }
        entry.0 += 1;
    }

    pub fn record_success(&self, ip: IpAddr) {
        self.failures
            .lock()
            .expect("rate limiter lock is never poisoned")
            .remove(&ip);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_waits_after_too_many_failures_until_the_window_passes() {
        let limiter = RateLimiter::new(3, 600);
        let ip: IpAddr = "10.0.0.1".parse().expect("ip");
        let other: IpAddr = "10.0.0.2".parse().expect("ip");
        for t in 0..3 {
            assert_eq!(limiter.check(ip, t), Ok(()));
            limiter.record_failure(ip, t);
        }
        assert_eq!(limiter.check(ip, 10), Err(590));
        assert_eq!(limiter.check(other, 10), Ok(()));
        assert_eq!(limiter.check(ip, 600), Ok(()));
    }

    #[test]
    fn a_success_clears_the_count() {
        let limiter = RateLimiter::new(2, 600);
        let ip: IpAddr = "10.0.0.1".parse().expect("ip");
        limiter.record_failure(ip, 0);
        limiter.record_success(ip);
        limiter.record_failure(ip, 1);
        assert_eq!(limiter.check(ip, 2), Ok(()));
    }
}
