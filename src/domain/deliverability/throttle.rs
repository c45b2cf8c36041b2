//! The throttle / pause policy: a pure function of a window of health counters, the reachout
//! timelock WhatsApp reported and the instance's current state. Slowed: the pacing interval
//! doubles and the day's allowance halves. Paused: nothing is sent (a dashboard alert says
//! why) until the timelock ends or the merchant resumes. Every change is logged on the instance.

use serde::{Deserialize, Serialize};

use super::health::{Counts, HealthDay};

/// How long a number stays slowed after its timelock ended.
pub const SLOW_AFTER_TIMELOCK_S: i64 = 24 * 3600;

/// The most log entries an instance keeps (the oldest go first).
pub const LOG_LEN: usize = 50;

/// The sending level of an instance.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    #[default]
    Normal,
    Slowed,
    Paused,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Normal => "normal",
            Level::Slowed => "slowed",
            Level::Paused => "paused",
        }
    }
}

/// The policy's thresholds (a settings document; these defaults are conservative: WhatsApp's
/// own refusals act at once, the unanswered ratio only slows).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Thresholds {
    /// Days the counters are summed over (today included).
    pub window_days: u32,
    /// Nacks 463 that slow the instance / pause it.
    pub slow_463: u32,
    pub pause_463: u32,
    /// Nacks of any code that slow / pause.
    pub slow_nacks: u32,
    pub pause_nacks: u32,
    /// Sends in the window before the unanswered ratio is judged.
    pub min_sent: u32,
    /// Unanswered sends, in percent, that slow / pause (0: never).
    pub slow_unanswered_pct: u32,
    pub pause_unanswered_pct: u32,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            window_days: 7,
            slow_463: 1,
            pause_463: 3,
            slow_nacks: 3,
            pause_nacks: 6,
            min_sent: 50,
            slow_unanswered_pct: 90,
            // Pausing on silence alone would let reminders expire (lost sales) for stores whose
            // buyers simply never answer: off unless the merchant sets it.
            pause_unanswered_pct: 0,
        }
    }
}

/// One decision, as the instance's event list shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthLog {
    pub at: i64,
    pub level: Level,
    /// `nacks_463`, `nacks`, `unanswered`, `timelock`, `timelock_ended`, `recovered`, `merchant`.
    pub reason: String,
}

/// An instance's deliverability state.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct HealthState {
    pub level: Level,
    /// Why it is at this level (a `HealthLog::reason` code); empty when never changed.
    pub reason: String,
    pub since: i64,
    /// The end of a reachout timelock WhatsApp reported (Unix seconds).
    pub timelock_until: Option<i64>,
    /// When WhatsApp last answered the timelock query (`timelock::due` reads it).
    pub timelock_checked_at: Option<i64>,
    /// The Brasília day number the merchant last resumed on, and that day's counts then: the
    /// policy judges only what happened after.
    pub forgiven_day: Option<i32>,
    pub forgiven: Counts,
    /// The decisions, oldest first.
    pub log: Vec<HealthLog>,
}

/// The policy's answer: move to this level for this reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub level: Level,
    pub reason: &'static str,
}

impl HealthState {
    /// Applies a verdict at `now` and logs it.
    pub fn apply(&mut self, verdict: &Verdict, now: i64) {
        self.level = verdict.level;
        self.reason = verdict.reason.to_owned();
        self.since = now;
        self.log.push(HealthLog {
            at: now,
            level: verdict.level,
            reason: verdict.reason.to_owned(),
        });
        if self.log.len() > LOG_LEN {
            let extra = self.log.len() - LOG_LEN;
            self.log.drain(..extra);
        }
    }

    /// Logs something that changes no level (a warm-up a pairing started), at `now`.
    pub fn note(&mut self, reason: &str, now: i64) {
        self.log.push(HealthLog {
            at: now,
            level: self.level,
            reason: reason.to_owned(),
        });
        if self.log.len() > LOG_LEN {
            let extra = self.log.len() - LOG_LEN;
            self.log.drain(..extra);
        }
    }

    /// The merchant resumes: back to normal, and what was counted up to now (`today`'s counts
    /// on day `today`) is not judged again.
    pub fn resume(&mut self, today: i32, today_counts: Counts, now: i64) {
        self.forgiven_day = Some(today);
        self.forgiven = today_counts;
        self.timelock_until = None;
        self.apply(
            &Verdict {
                level: Level::Normal,
                reason: "merchant",
            },
            now,
        );
    }

    /// The counts the policy judges on day `today`: the window's days (`days`, by day number),
    /// none before the merchant's last resume, and that day's counts less what was forgiven.
    pub fn window(&self, days: &[(i32, HealthDay)], today: i32, t: &Thresholds) -> Counts {
        let first = today - t.window_days.max(1) as i32 + 1;
        let first = self.forgiven_day.map_or(first, |f| first.max(f));
        let mut sum = Counts::default();
        for (day, counters) in days.iter().filter(|(d, _)| (first..=today).contains(d)) {
            let mut c = Counts::of([counters]);
            if Some(*day) == self.forgiven_day {
                c = c.minus(self.forgiven);
            }
            sum = Counts::of_counts(sum, c);
        }
        sum
    }
}

impl Counts {
    fn of_counts(a: Counts, b: Counts) -> Counts {
        Counts {
            sent: a.sent + b.sent,
            delivered: a.delivered + b.delivered,
            read: a.read + b.read,
            replies: a.replies + b.replies,
            unanswered: a.unanswered + b.unanswered,
            nacks_463: a.nacks_463 + b.nacks_463,
            nacks_other: a.nacks_other + b.nacks_other,
        }
    }
}

/// Decides the level `counts` (the judged window, `HealthState::window`) call for at `now`, or
/// `None` to stay. In order: an active timelock pauses; 463s or nacks past the pause thresholds
/// pause; a pause stays until the timelock that caused it ends or the merchant resumes; then
/// 463s, nacks or the unanswered ratio past the slow thresholds slow; otherwise normal.
pub fn decide(counts: &Counts, t: &Thresholds, state: &HealthState, now: i64) -> Option<Verdict> {
    let judged_ratio = counts.sent >= t.min_sent.max(1);
    let past = |threshold: u32, value: u32| threshold > 0 && value >= threshold;
    let pause = if state.timelock_until.is_some_and(|until| until > now) {
        Some("timelock")
    } else if past(t.pause_463, counts.nacks_463) {
        Some("nacks_463")
    } else if past(t.pause_nacks, counts.nacks()) {
        Some("nacks")
    } else if judged_ratio && past(t.pause_unanswered_pct, counts.unanswered_pct()) {
        Some("unanswered")
    } else {
        None
    };
    if let Some(reason) = pause {
        let already = state.level == Level::Paused && state.reason == reason;
        return (!already).then_some(Verdict {
            level: Level::Paused,
            reason,
        });
    }
    // After a timelock the number stays slowed for a day before the counters may free it.
    if state.level == Level::Slowed
        && state.reason == "timelock_ended"
        && now - state.since < SLOW_AFTER_TIMELOCK_S
    {
        return None;
    }
    let timelock_ended = state.level == Level::Paused && state.reason == "timelock";
    if state.level == Level::Paused && !timelock_ended {
        return None;
    }
    let slow = if past(t.slow_463, counts.nacks_463) {
        Some("nacks_463")
    } else if past(t.slow_nacks, counts.nacks()) {
        Some("nacks")
    } else if judged_ratio && past(t.slow_unanswered_pct, counts.unanswered_pct()) {
        Some("unanswered")
    } else {
        None
    };
    let verdict = match (slow, timelock_ended) {
        // After a timelock the number comes back slowly, whatever the counters say.
        (_, true) => Verdict {
            level: Level::Slowed,
            reason: "timelock_ended",
        },
        (Some(reason), false) => Verdict {
            level: Level::Slowed,
            reason,
        },
        (None, false) => Verdict {
            level: Level::Normal,
            reason: "recovered",
        },
    };
    (verdict.level != state.level).then_some(verdict)
}
