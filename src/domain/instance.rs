//! Instances (instâncias): one WhatsApp number each, with its sending rules (pacing, daily
//! limit, quiet hours, typing), today's counters and the optional auto-reply.

use serde::{Deserialize, Serialize};

use super::InstanceId;
use super::planning::QuietHours;
use super::sending::Pacing;

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

    pub fn daily_limit_reached(&self, now: i64) -> bool {
        self.daily_limit > 0 && self.sent_on(now) >= self.daily_limit
    }
}
