//! Warnings that anyone on the internet can cause (a form without its CSRF token, a throttled
//! login): one WARN line per minute per kind, saying how many were folded into it; the others at
//! DEBUG. A flood of hostile requests cannot fill the log or hide the lines that matter.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// One kind of noisy warning.
pub struct Noisy {
    /// Unix second of the last WARN line (`i64::MIN` before the first).
    last_warn: AtomicI64,
    folded: AtomicU64,
}

/// Seconds between two WARN lines of one kind.
const EVERY_SECS: i64 = 60;

impl Noisy {
    pub const fn new() -> Noisy {
        Noisy {
            last_warn: AtomicI64::new(i64::MIN),
            folded: AtomicU64::new(0),
        }
    }

    /// `Some(how many were folded since the last WARN)` when this one should be a WARN line;
    /// `None`: log it at DEBUG.
    pub fn warn_now(&self, now: i64) -> Option<u64> {
        let last = self.last_warn.load(Ordering::Relaxed);
        let due = last == i64::MIN || now.saturating_sub(last) >= EVERY_SECS;
        if due
            && self
                .last_warn
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            return Some(self.folded.swap(0, Ordering::Relaxed));
        }
        self.folded.fetch_add(1, Ordering::Relaxed);
        None
    }
}

/// Logs `$msg` with its fields at WARN at most once a minute per call site, else at DEBUG.
macro_rules! warn_noisy {
    ($now:expr, $($field:tt)+) => {{
        static NOISY: $crate::http::lognoise::Noisy = $crate::http::lognoise::Noisy::new();
        match NOISY.warn_now($now) {
            Some(folded) => tracing::warn!(folded_since_last = folded, $($field)+),
            None => tracing::debug!($($field)+),
        }
    }};
}
pub(crate) use warn_noisy;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_warning_a_minute_counts_the_ones_folded_into_it() {
        let noisy = Noisy::new();
        assert_eq!(noisy.warn_now(1000), Some(0));
        for t in 1000..1059 {
            assert_eq!(noisy.warn_now(t), None);
        }
        assert_eq!(noisy.warn_now(1060), Some(59));
        assert_eq!(noisy.warn_now(1061), None);
    }
}
