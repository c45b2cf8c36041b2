//! Instances (instâncias): one WhatsApp number each, with its sending rules (pacing, daily
//! limit, quiet hours, typing), today's counters and the optional auto-reply.

use serde::{Deserialize, Serialize};

use super::InstanceId;
use super::deliverability::{HealthState, Level, WarmUp};
use super::planning::QuietHours;
use super::sending::Pacing;

/// What a slowed instance without a daily limit counts as its limit before halving it.
const SLOWED_UNLIMITED: u32 = 200;

/// How an instance reaches buyers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InstanceMode {
    /// Everything "sent" lands in the console's sandbox inbox; nothing reaches WhatsApp.
    Sandbox,
    /// The merchant's own number, paired by QR code.
    Whatsapp,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Instance {
    pub id: InstanceId,
    pub name: String,
    pub mode: InstanceMode,
    pub pacing: Pacing,
    /// Sends per Brasília day; 0 means no limit.
    pub daily_limit: u32,
    pub quiet_hours: QuietHours,
    /// Seconds of "digitando…" before each text.
    pub typing_seconds: u8,
    pub created_at: i64,
    /// The Brasília day `sent_today` counts (YYYY-MM-DD).
    #[serde(default)]
    pub sent_day: String,
    #[serde(default)]
    pub sent_today: u32,
    #[serde(default)]
    pub last_sent_at: Option<i64>,
    /// The earliest next send (pacing with jitter, decided at the last send).
    #[serde(default)]
    pub next_slot: i64,
    /// One text answered to a buyer who writes to this number (at most once a day per buyer).
    #[serde(default)]
    pub auto_reply: AutoReply,
    /// The warm-up ramp of a new number ("número novo").
    #[serde(default)]
    pub warmup: WarmUp,
    /// Slowed or paused by the deliverability policy, and its log of decisions.
    #[serde(default)]
    pub health: HealthState,
}

/// An instance's optional automatic answer to buyers' replies. Not a chatbot: one text.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutoReply {
    pub enabled: bool,
    pub text: String,
}

impl AutoReply {
    /// The text to answer with, when the auto-reply is on and says something.
    pub fn active_text(&self) -> Option<&str> {
        let text = self.text.trim();
        (self.enabled && !text.is_empty()).then_some(text)
    }
}

impl Instance {
    /// A new instance with the default rules: 30 s ±30%, 1,000 a day, quiet 21:00–08:00, 3 s typing.
    pub fn new(name: &str, mode: InstanceMode, now: i64) -> Instance {
        Instance {
            id: InstanceId(0),
            name: name.to_owned(),
            mode,
            pacing: Pacing::default(),
            daily_limit: 1000,
            quiet_hours: QuietHours::default(),
            typing_seconds: 3,
            created_at: now,
            sent_day: String::new(),
            sent_today: 0,
            last_sent_at: None,
            next_slot: 0,
            auto_reply: AutoReply::default(),
            warmup: WarmUp::default(),
            health: HealthState::default(),
        }
    }

    /// Sends counted for the Brasília day of `now` (the counter rolls over at local midnight).
    pub fn sent_on(&self, now: i64) -> u32 {
        if self.sent_day == crate::domain::sending::local_day(now).to_string() {
            self.sent_today
        } else {
            0
        }
    }

    /// The most sends allowed on `now`'s Brasília day, `None` for no limit: the daily limit,
    /// lowered by the warm-up ramp of a new number, halved while the policy slows the number.
    pub fn allowance(&self, now: i64) -> Option<u32> {
        let limit = (self.daily_limit > 0).then_some(self.daily_limit);
        let limit = match (limit, self.warmup.allowance(now)) {
            (Some(l), Some(w)) => Some(l.min(w)),
            (Some(l), None) => Some(l),
            // No daily limit: the ramp applies only while the limit would (a merchant who
            // turned the limit off chose no cap at all).
            (None, _) => None,
        };
        match self.health.level {
            Level::Slowed => Some(limit.unwrap_or(SLOWED_UNLIMITED) / 2),
            Level::Normal | Level::Paused => limit,
        }
    }

    pub fn daily_limit_reached(&self, now: i64) -> bool {
        self.allowance(now)
            .is_some_and(|allowed| self.sent_on(now) >= allowed)
    }

    /// The pacing the outbox applies: the interval doubles while the policy slows the number.
    pub fn effective_pacing(&self) -> Pacing {
        match self.health.level {
            Level::Slowed => Pacing {
                interval_s: self.pacing.interval_s.saturating_mul(2),
                ..self.pacing
            },
            Level::Normal | Level::Paused => self.pacing,
        }
    }
}
