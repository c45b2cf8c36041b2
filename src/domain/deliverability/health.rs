//! A number's health, counted per instance and Brasília day: what went out, what came back
//! (delivered, read, replies), how many sends nobody answered, and WhatsApp's refusals by code.
//! `db` adds to a day in the transaction of the change it counts; the policy reads a window.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One instance's counters for one Brasília day.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct HealthDay {
    pub sent: u32,
    pub delivered: u32,
    pub read: u32,
    /// Buyers' messages received.
    pub replies: u32,
    /// Sends to a buyer who had not written in 30 days and has not answered since.
    pub unanswered: u32,
    /// WhatsApp's refusals after the send (nacks) by error code (`463`, `479`, …).
    pub nacks: BTreeMap<String, u32>,
}

/// A window's sums, what the policy and the page read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Counts {
    pub sent: u32,
    pub delivered: u32,
    pub read: u32,
    pub replies: u32,
    pub unanswered: u32,
    /// Nacks 463 (no privacy token / reachout timelock): the cold-message refusal.
    pub nacks_463: u32,
    /// Every other nack.
    pub nacks_other: u32,
}

impl Counts {
    /// Sums the days of a window.
    pub fn of<'a>(days: impl IntoIterator<Item = &'a HealthDay>) -> Counts {
        let mut c = Counts::default();
        for d in days {
            c.sent += d.sent;
            c.delivered += d.delivered;
            c.read += d.read;
            c.replies += d.replies;
            c.unanswered += d.unanswered;
            for (code, n) in &d.nacks {
                if code == "463" {
                    c.nacks_463 += n;
                } else {
                    c.nacks_other += n;
                }
            }
        }
        c
    }

    /// What is left after `forgiven` (counts the merchant already acknowledged by resuming).
    pub fn minus(self, forgiven: Counts) -> Counts {
        Counts {
            sent: self.sent.saturating_sub(forgiven.sent),
            delivered: self.delivered.saturating_sub(forgiven.delivered),
            read: self.read.saturating_sub(forgiven.read),
            replies: self.replies.saturating_sub(forgiven.replies),
            unanswered: self.unanswered.saturating_sub(forgiven.unanswered),
            nacks_463: self.nacks_463.saturating_sub(forgiven.nacks_463),
            nacks_other: self.nacks_other.saturating_sub(forgiven.nacks_other),
        }
    }

    /// Unanswered sends in percent of the sends (0 with none).
    pub fn unanswered_pct(&self) -> u32 {
        if self.sent == 0 {
            0
        } else {
            (u64::from(self.unanswered) * 100 / u64::from(self.sent)) as u32
        }
    }

    pub fn nacks(&self) -> u32 {
        self.nacks_463 + self.nacks_other
    }
}

/// The error code of a nack reason as the channel words it (`server_nack 463: …` → `463`).
pub fn nack_code(reason: &str) -> String {
    reason
        .strip_prefix("server_nack ")
        .map(|rest| {
            rest.chars()
                .take_while(char::is_ascii_alphanumeric)
                .collect::<String>()
        })
        .filter(|code| !code.is_empty())
        .unwrap_or_else(|| "other".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nack_codes_come_from_the_reason() {
        assert_eq!(
            nack_code("server_nack 463: WhatsApp refused a message (missing privacy token)"),
            "463"
        );
        assert_eq!(nack_code("server_nack 479: rate"), "479");
        assert_eq!(nack_code("server_nack 500"), "500");
        assert_eq!(nack_code("something else"), "other");
    }

    #[test]
    fn a_window_sums_its_days_and_splits_463_from_other_nacks() {
        let a = HealthDay {
            sent: 10,
            unanswered: 8,
            nacks: [("463".to_owned(), 1), ("479".to_owned(), 2)].into(),
            ..HealthDay::default()
        };
        let b = HealthDay {
            sent: 10,
            replies: 3,
            unanswered: 1,
            ..HealthDay::default()
        };
        let c = Counts::of([&a, &b]);
        assert_eq!((c.sent, c.unanswered, c.replies), (20, 9, 3));
        assert_eq!((c.nacks_463, c.nacks_other, c.nacks()), (1, 2, 3));
        assert_eq!(c.unanswered_pct(), 45);
        assert_eq!(
            c.minus(Counts {
                nacks_463: 5,
                sent: 4,
                ..Counts::default()
            })
            .sent,
            16
        );
    }
}
