//! Sending rules, pure: the send gate (may this message go now?), pacing between sends
//! (interval with jitter passed in), the retry schedule (data, with a penalty for rate limits),
//! the 48-hour expiry, and the local day that daily limits count in. Uses only `domain`.

use serde::{Deserialize, Serialize};

use super::reason::Reason;
use super::{Instance, Message, MessageStatus};

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

/// What the outbox knows about a due message's surroundings when it asks the gate. The outbox
/// gathers these (storage reads, the channel registry); the gate only decides.
#[derive(Clone, Copy, Debug, Default)]
pub struct SendFacts<'a> {
    /// Why the message is no longer wanted (opt-out, store deleted, template off…), if so.
    pub unwanted: Option<&'static str>,
    /// The message's store is linked to an instance.
    pub linked: bool,
    /// That instance, when it still exists.
    pub instance: Option<&'a Instance>,
    /// That instance's channel exists and is connected.
    pub connected: bool,
    /// This pass already sent through that instance (one send per instance per pass, so
    /// pacing is recorded before the next one).
    pub sent_this_pass: bool,
    /// "Pedir resposta": the invitation this part waits behind has not gone out yet.
    pub invite_pending: bool,
}

/// Why a message waits without a known time (the outbox looks again on its next pass).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hold {
    /// The store has no instance: held until it is linked again.
    Unlinked,
    /// The instance already sent in this pass.
    InstanceBusy,
    /// The linked instance no longer exists.
    NoInstance,
    /// The channel is not connected: wait (the 48 h clock keeps running).
    Disconnected,
    QuietHours,
    DailyLimit,
    /// The deliverability policy paused the instance (a timelock, WhatsApp's refusals).
    Paused,
    /// "Pedir resposta": the invitation goes first; this part waits until it went out.
    AwaitingInvite,
}

/// The gate's answer for one due message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gate {
    /// Close it without sending (expired, or no longer wanted), with this reason code.
    Close {
        status: MessageStatus,
        reason: &'static str,
    },
    /// A test message: straight to the sandbox inbox, never to WhatsApp.
    Sandbox,
    /// Not now; look again on the next pass.
    Hold(Hold),
    /// Not before the instance's pacing slot at this time (Unix seconds).
    WaitUntil(i64),
    /// Claim it and send it through the instance's channel.
    Send,
}

/// Decides whether `message`, due, may go out at `now`. In order: expired after 48 h (from the
/// step's first due time for a part held by "pedir resposta"), no longer wanted, its invitation
/// still to go, test message, store linked, instance free this pass, instance exists, connected,
/// not paused by the deliverability policy, outside quiet hours and under the daily limit, pacing slot open.
pub fn gate(message: &Message, facts: &SendFacts<'_>, now: i64) -> Gate {
    let due_from = match message.reply_role {
        Some(super::deliverability::ReplyRole::Held { first_due, .. }) => first_due,
        _ => message.due_at,
    };
    if now - due_from > EXPIRY_S {
        return Gate::Close {
            status: MessageStatus::Expired,
            reason: Reason::NotSentWithin48h.code(),
        };
    }
    if let Some(reason) = facts.unwanted {
        return Gate::Close {
            status: MessageStatus::Canceled,
            reason,
        };
    }
    if facts.invite_pending {
        return Gate::Hold(Hold::AwaitingInvite);
    }
    if message.test {
        return Gate::Sandbox;
    }
    if !facts.linked {
        return Gate::Hold(Hold::Unlinked);
    }
    if facts.sent_this_pass {
        return Gate::Hold(Hold::InstanceBusy);
    }
    let Some(instance) = facts.instance else {
        return Gate::Hold(Hold::NoInstance);
    };
    if !facts.connected {
        return Gate::Hold(Hold::Disconnected);
    }
    if instance.health.level == super::deliverability::Level::Paused {
        return Gate::Hold(Hold::Paused);
    }
    if instance.quiet_hours.contains(now) {
        return Gate::Hold(Hold::QuietHours);
    }
    if instance.daily_limit_reached(now) {
        return Gate::Hold(Hold::DailyLimit);
    }
    if instance.next_slot > now {
        return Gate::WaitUntil(instance.next_slot);
    }
    Gate::Send
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2025-11-18 12:00 in Brasília (a Tuesday).
    const NOON: i64 = 1_763_478_000;

    /// A due message, built from JSON so the table does not care how ids are spelled.
    fn due(due_at: i64, test: bool) -> Message {
        serde_json::from_value(serde_json::json!({
            "id": 1, "store_id": 1, "event_id": 1, "kind": "pix.generated", "step": 0, "part": 0,
            "order_id": null, "phone": "+5511987654321", "buyer_name": null, "product_key": "",
            "text": "Olá", "due_at": due_at, "status": "scheduled", "history": [],
            "test": test, "created_at": due_at,
        }))
        .expect("a message")
    }

    fn instance(configure: impl FnOnce(&mut Instance)) -> Instance {
        let mut i = Instance::new("Loja", crate::domain::InstanceMode::Whatsapp, NOON);
        configure(&mut i);
        i
    }

    #[test]
    fn gate_decides_each_due_message_in_order() {
        let open = instance(|_| {});
        let paced = instance(|i| i.next_slot = NOON + 20);
        let full = instance(|i| {
            i.daily_limit = 2;
            i.sent_day = local_day(NOON).to_string();
            i.sent_today = 2;
        });
        let paused = instance(|i| i.health.level = crate::domain::deliverability::Level::Paused);
        let warming = instance(|i| {
            i.warmup = crate::domain::deliverability::WarmUp::starting(NOON);
            i.sent_day = local_day(NOON).to_string();
            i.sent_today = 20;
        });
        let ready = SendFacts {
            unwanted: None,
            linked: true,
            instance: Some(&open),
            connected: true,
            sent_this_pass: false,
            invite_pending: false,
        };
        let mut held = due(NOON, false);
        held.reply_role = Some(crate::domain::deliverability::ReplyRole::Held {
            invite: crate::domain::MessageId(1),
            timeout_min: 10,
            first_due: NOON - EXPIRY_S,
        });
        let mut held_late = held.clone();
        held_late.due_at = NOON + 60;
        let expired = Gate::Close {
            status: MessageStatus::Expired,
            reason: "not_sent_within_48h",
        };
        let opted_out = Gate::Close {
            status: MessageStatus::Canceled,
            reason: "opted_out",
        };
        #[rustfmt::skip]
        let table: Vec<(&str, Message, SendFacts<'_>, i64, Gate)> = vec![
            ("ready to go", due(NOON, false), ready, NOON, Gate::Send),
            ("48 h is still in time", due(NOON - EXPIRY_S, false), ready, NOON, Gate::Send),
            ("one second over 48 h expires", due(NOON - EXPIRY_S - 1, false), ready, NOON, expired),
            ("expiry beats everything", due(NOON - EXPIRY_S - 1, true),
                SendFacts { unwanted: Some("opted_out"), ..ready }, NOON, expired),
            ("unwanted is canceled", due(NOON, false),
                SendFacts { unwanted: Some("opted_out"), ..ready }, NOON, opted_out),
            ("a held part waits for its invitation", held.clone(),
                SendFacts { invite_pending: true, ..ready }, NOON, Gate::Hold(Hold::AwaitingInvite)),
            ("in the caixa de teste too", { let mut m = held.clone(); m.test = true; m },
                SendFacts { invite_pending: true, ..ready }, NOON, Gate::Hold(Hold::AwaitingInvite)),
            ("a held part goes once its invitation went", held.clone(), ready, NOON, Gate::Send),
            ("a held part expires 48 h after the step's first due time", held_late, ready, NOON + 1, expired),
            ("test messages go to the sandbox", due(NOON, true),
                SendFacts { linked: false, connected: false, ..ready }, NOON, Gate::Sandbox),
            ("unlinked store holds", due(NOON, false),
                SendFacts { linked: false, instance: None, ..ready }, NOON, Gate::Hold(Hold::Unlinked)),
            ("one send per instance per pass", due(NOON, false),
                SendFacts { sent_this_pass: true, ..ready }, NOON, Gate::Hold(Hold::InstanceBusy)),
            ("instance gone holds", due(NOON, false),
                SendFacts { instance: None, ..ready }, NOON, Gate::Hold(Hold::NoInstance)),
            ("disconnected holds", due(NOON, false),
                SendFacts { connected: false, ..ready }, NOON, Gate::Hold(Hold::Disconnected)),
            ("22:00 is quiet", due(NOON, false), ready, NOON + 10 * 3600, Gate::Hold(Hold::QuietHours)),
            ("daily limit reached", due(NOON, false),
                SendFacts { instance: Some(&full), ..ready }, NOON, Gate::Hold(Hold::DailyLimit)),
            ("paused by the deliverability policy holds", due(NOON, false),
                SendFacts { instance: Some(&paused), ..ready }, NOON, Gate::Hold(Hold::Paused)),
            ("a new number's warm-up allowance is a daily limit", due(NOON, false),
                SendFacts { instance: Some(&warming), ..ready }, NOON, Gate::Hold(Hold::DailyLimit)),
            ("the limit resets the next day", due(NOON, false),
                SendFacts { instance: Some(&full), ..ready }, NOON + 24 * 3600, Gate::Send),
            ("pacing slot not open", due(NOON, false),
                SendFacts { instance: Some(&paced), ..ready }, NOON, Gate::WaitUntil(NOON + 20)),
            ("pacing slot open", due(NOON, false),
                SendFacts { instance: Some(&paced), ..ready }, NOON + 20, Gate::Send),
        ];
        for (case, message, facts, now, expected) in table {
            assert_eq!(gate(&message, &facts, now), expected, "{case}");
        }
    }

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
