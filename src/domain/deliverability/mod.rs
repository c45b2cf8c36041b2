//! Deliverability (issue 15): what keeps a merchant's number alive under WhatsApp's anti-spam
//! rules, as pure rules over counters: the wire id of a message, remembered is-on-WhatsApp
//! answers, text variants (`{Olá|Oi}`), the warm-up ramp of a new number, the number's health
//! per day and the throttle / pause policy. No I/O: `db` keeps the counters, the outbox asks these rules.

pub mod ask_reply;
pub mod health;
pub mod throttle;
pub mod timelock;
pub mod variants;
pub mod warmup;

#[cfg(test)]
mod throttle_tests;
#[cfg(test)]
mod timelock_tests;
#[cfg(test)]
mod variants_tests;
#[cfg(test)]
mod warmup_tests;

use serde::{Deserialize, Serialize};

use super::MessageId;

pub use ask_reply::{AskReply, ReplyRole};
pub use health::{Counts, HealthDay, nack_code};
pub use throttle::{HealthLog, HealthState, Level, Thresholds, Verdict, decide};
pub use warmup::WarmUp;

/// The prefix of the ids avisa used before issue 15 (`AVISA{id}`; auto-replies `AVISA-R{n}`).
/// Receipts for messages sent then are still matched by it.
pub const LEGACY_PREFIX: &str = "AVISA";

/// The message a legacy wire id (`AVISA{id}`) names; `None` for any other id (auto-replies'
/// `AVISA-R{n}` were never tracked).
pub fn legacy_message_id(wire: &str) -> Option<MessageId> {
    wire.strip_prefix(LEGACY_PREFIX)?.parse().ok()
}

/// Whether `wire` has the shape of a WhatsApp Web message id: `3EB0` and 18 upper-case hex
/// digits (the library's `generate_message_id`).
pub fn looks_like_web_id(wire: &str) -> bool {
    wire.len() == 22
        && wire.starts_with("3EB0")
        && wire[4..]
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
}

/// How long an is-on-WhatsApp answer is trusted: a week, so a restart repeats no lookup (a
/// burst of lookups is itself a signal) and a number that joins is found within days.
pub const ON_WHATSAPP_TTL_S: i64 = 7 * 24 * 3600;

/// What the is-on-WhatsApp lookup said about one number, and when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnWhatsapp {
    /// The user part of the address WhatsApp reported; `None`: not on WhatsApp.
    pub user: Option<String>,
    pub checked_at: i64,
}

impl OnWhatsapp {
    /// Still trusted at `now`.
    pub fn fresh(&self, now: i64) -> bool {
        now >= self.checked_at && now - self.checked_at < ON_WHATSAPP_TTL_S
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_ids_still_name_their_message_and_auto_replies_name_none() {
        assert_eq!(legacy_message_id("AVISA42"), Some(MessageId(42)));
        assert_eq!(legacy_message_id("AVISA-R7"), None);
        assert_eq!(legacy_message_id("3EB0A1B2C3D4E5F6A7B8C9"), None);
    }

    #[test]
    fn web_ids_are_3eb0_and_eighteen_hex_digits() {
        assert!(looks_like_web_id("3EB0A1B2C3D4E5F6A7B8C9"));
        assert!(!looks_like_web_id("AVISA42"));
        assert!(!looks_like_web_id("3EB0a1b2c3d4e5f6a7b8c9"));
        assert!(!looks_like_web_id("3EB0A1B2"));
    }

    #[test]
    fn a_lookup_is_trusted_for_seven_days() {
        let answer = OnWhatsapp {
            user: None,
            checked_at: 1000,
        };
        assert!(answer.fresh(1000));
        assert!(answer.fresh(1000 + ON_WHATSAPP_TTL_S - 1));
        assert!(!answer.fresh(1000 + ON_WHATSAPP_TTL_S));
        assert!(
            !answer.fresh(999),
            "a clock that went back does not trust it"
        );
    }
}
