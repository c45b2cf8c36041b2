//! Sending maths, pure: pacing between sends (interval with jitter passed in), the retry
//! schedule (data, with a penalty for rate limits), the 48-hour expiry, and the local day that
//! daily limits count in.

use serde::{Deserialize, Serialize};

/// A message not sent within this long after it was due expires (the limit buyers know).
pub const EXPIRY_S: i64 = 48 * 3600;

/// Waits between attempts of a transient failure; after the last one the message fails.
pub const RETRY_SCHEDULE_S: &[i64] = &[30, 120, 600, 1800, 7200];

/// How a send attempt went, as far as retrying is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// Network hiccup, server busy: retry on the schedule.
    Transient,
    /// WhatsApp asked us to slow down: retry later than the schedule says.
    RateLimited,
}

/// When to try again after `attempts` failed attempts (1 = the first failed), or `None` when
/// the schedule is exhausted. `jitter` in [0, 1) spreads retries (passed in: tests fix it).
pub fn retry_delay(attempts: u32, failure: Failure, jitter: f64) -> Option<i64> {
    let base = *RETRY_SCHEDULE_S.get(attempts.checked_sub(1)? as usize)?;
    let penalty = match failure {
        Failure::Transient => 1,
        Failure::RateLimited => 4,
    };
    let spread = (base as f64 * 0.2 * jitter.clamp(0.0, 1.0)) as i64;
    Some(base * penalty + spread)
}

/// Per-instance pacing: the interval between two sends and its jitter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pacing {
    pub interval_s: u32,
    /// ± this percent of the interval, so sends do not look like a metronome.
    pub jitter_pct: u8,
}

impl Default for Pacing {
    fn default() -> Self {
        Pacing {
            interval_s: 30,
            jitter_pct: 30,
        }
    }
}

impl Pacing {
    /// The interval below which the console warns (WhatsApp flags robotic numbers).
    pub const WARN_BELOW_S: u32 = 20;

    /// The earliest next send after one at `last_sent`; `jitter` in [0, 1) maps to ±jitter_pct.
    pub fn next_slot(self, last_sent: i64, jitter: f64) -> i64 {
        let interval = f64::from(self.interval_s);
        let spread = interval * f64::from(self.jitter_pct) / 100.0;
        let offset = (jitter.clamp(0.0, 1.0) * 2.0 - 1.0) * spread;
        last_sent + (interval + offset).round().max(0.0) as i64
    }
}

/// The Brasília calendar day of `unix`, the day daily limits count in.
pub fn local_day(unix: i64) -> jiff::civil::Date {
    let tz = jiff::tz::TimeZone::get("America/Sao_Paulo").expect("bundled time zone");
    jiff::Timestamp::from_second(unix)
        .map(|t| t.to_zoned(tz).date())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_follow_the_schedule_then_give_up() {
        let delays: Vec<Option<i64>> = (1..=6)
            .map(|a| retry_delay(a, Failure::Transient, 0.0))
            .collect();
        assert_eq!(
            delays,
            [Some(30), Some(120), Some(600), Some(1800), Some(7200), None]
        );
        assert_eq!(retry_delay(1, Failure::RateLimited, 0.0), Some(120));
        assert_eq!(retry_delay(1, Failure::Transient, 0.5), Some(33));
        assert_eq!(retry_delay(0, Failure::Transient, 0.0), None);
    }

    #[test]
    fn pacing_spreads_sends_around_the_interval() {
        let p = Pacing::default();
        assert_eq!(p.next_slot(1000, 0.0), 1021);
        assert_eq!(p.next_slot(1000, 0.5), 1030);
        assert_eq!(p.next_slot(1000, 1.0), 1039);
    }

    #[test]
    fn the_day_turns_at_midnight_in_brasilia() {
        // 2026-11-21 02:59 UTC is still the 20th in Brasília (UTC-3).
        assert_eq!(local_day(1_795_229_940).to_string(), "2026-11-20");
        assert_eq!(local_day(1_795_230_000).to_string(), "2026-11-21");
    }
}
