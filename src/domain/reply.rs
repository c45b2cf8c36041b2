//! An attendant's reply to a buyer, typed on the buyer's conversation page: where it goes and
//! why it may be refused. A reply answers someone the store is talking to, so it leaves at once,
//! outside the pacing queue and quiet hours (like the inbox's answers); it still counts against
//! the instance's daily limit, and an opted-out buyer gets nothing. The same three switches that
//! make any message a test (docs/ARCHITECTURE.md, "Teste") send it to the caixa de teste. Pure;
//! `queue::reply` gathers the facts and applies the answer.

use super::deliverability::Level;
use super::{Instance, InstanceId, InstanceMode, Store};

/// The longest reply accepted, in characters (WhatsApp's own limit is far above a chat answer).
pub const MAX_REPLY_CHARS: usize = 4096;

/// What the decision needs to know, gathered at the moment of sending.
#[derive(Clone, Copy, Debug)]
pub struct ReplyFacts<'a> {
    /// The store the reply speaks for.
    pub store: &'a Store,
    /// The instance the store is linked to, when it is linked and the instance exists.
    pub instance: Option<&'a Instance>,
    /// That instance's channel is connected right now.
    pub connected: bool,
    /// The buyer is on the opt-out list.
    pub opted_out: bool,
    /// The buyer's number is a número de teste (Configurações de mensagens).
    pub test_number: bool,
}

/// Where a reply goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyRoute {
    /// Straight to the caixa de teste, no instance involved (store in modo teste, or a número
    /// de teste), as planned test messages go.
    TestBox,
    /// Through an instância de teste: its fake channel, counted in its daily sends.
    TestInstance(InstanceId),
    /// Through the merchant's WhatsApp number, counted in its daily sends.
    Whatsapp(InstanceId),
}

impl ReplyRoute {
    /// The instance whose daily limit the reply counts against.
    pub fn counted_instance(self) -> Option<InstanceId> {
        match self {
            ReplyRoute::TestBox => None,
            ReplyRoute::TestInstance(id) | ReplyRoute::Whatsapp(id) => Some(id),
        }
    }

    /// The reply ends in the caixa de teste rather than on WhatsApp.
    pub fn is_test(self) -> bool {
        !matches!(self, ReplyRoute::Whatsapp(_))
    }
}

/// Why a reply was not sent; each has a pt-BR sentence (`messages.reply.refused.<code>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyRefusal {
    /// Nothing but spaces was typed.
    Empty,
    /// Longer than `MAX_REPLY_CHARS`.
    TooLong,
    /// The buyer asked not to be messaged.
    OptedOut,
    /// The store is not linked to an instance (and is not in teste).
    Unlinked,
    /// The store's instance has no live WhatsApp connection.
    NotConnected,
    /// The deliverability policy paused the number.
    Paused,
    /// The instance used up today's sends.
    DailyLimit,
}

impl ReplyRefusal {
    /// The stable code (the catalog suffix, the log field).
    pub fn code(self) -> &'static str {
        match self {
            ReplyRefusal::Empty => "empty",
            ReplyRefusal::TooLong => "too_long",
            ReplyRefusal::OptedOut => "opted_out",
            ReplyRefusal::Unlinked => "unlinked",
            ReplyRefusal::NotConnected => "not_connected",
            ReplyRefusal::Paused => "paused",
            ReplyRefusal::DailyLimit => "daily_limit",
        }
    }
}

/// Decides where `text` goes, in order: something typed and not too long, the buyer not opted
/// out (test or not), a test (modo teste, número de teste) straight to the caixa de teste, a
/// linked instance, an instância de teste under its daily limit, a WhatsApp instance connected,
/// not paused and under its daily limit.
pub fn route(text: &str, facts: &ReplyFacts<'_>, now: i64) -> Result<ReplyRoute, ReplyRefusal> {
    if text.trim().is_empty() {
        return Err(ReplyRefusal::Empty);
    }
    if text.chars().count() > MAX_REPLY_CHARS {
        return Err(ReplyRefusal::TooLong);
    }
    if facts.opted_out {
        return Err(ReplyRefusal::OptedOut);
    }
    if facts.store.test_mode || facts.test_number {
        return Ok(ReplyRoute::TestBox);
    }
    let Some(instance) = facts.instance else {
        return Err(ReplyRefusal::Unlinked);
    };
    if instance.mode == InstanceMode::Sandbox {
        return match within_limit(instance, now) {
            true => Ok(ReplyRoute::TestInstance(instance.id)),
            false => Err(ReplyRefusal::DailyLimit),
        };
    }
    if !facts.connected {
        return Err(ReplyRefusal::NotConnected);
    }
    if instance.health.level == Level::Paused {
        return Err(ReplyRefusal::Paused);
    }
    if !within_limit(instance, now) {
        return Err(ReplyRefusal::DailyLimit);
    }
    Ok(ReplyRoute::Whatsapp(instance.id))
}

/// One more send fits in the instance's allowance today (the check the storage repeats inside
/// the transaction that counts the send, so two replies at once cannot both take the last one).
pub fn within_limit(instance: &Instance, now: i64) -> bool {
    !instance.daily_limit_reached(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2025-11-18 12:00 in Brasília.
    const NOON: i64 = 1_763_478_000;

    fn store(test_mode: bool) -> Store {
        serde_json::from_value(serde_json::json!({
            "id": 1, "name": "Loja", "slug": "loja", "platform": "api", "enabled": true,
            "secret": null, "webhook_token": "t", "created_at": 0, "first_event_at": null,
            "last_event_at": null, "event_count": 0, "test_mode": test_mode,
        }))
        .expect("a store")
    }

    fn instance(mode: InstanceMode, configure: impl FnOnce(&mut Instance)) -> Instance {
        let mut i = Instance::new("Número", mode, 0);
        i.id = InstanceId(7);
        configure(&mut i);
        i
    }

    #[test]
    fn a_reply_goes_out_or_is_refused_in_order() {
        let open = instance(InstanceMode::Whatsapp, |_| {});
        let full = instance(InstanceMode::Whatsapp, |i| {
            i.daily_limit = 2;
            i.sent_day = crate::domain::sending::local_day(NOON).to_string();
            i.sent_today = 2;
        });
        let yesterday_full = instance(InstanceMode::Whatsapp, |i| {
            i.daily_limit = 2;
            i.sent_day = "2025-11-17".into();
            i.sent_today = 2;
        });
        let paused = instance(InstanceMode::Whatsapp, |i| i.health.level = Level::Paused);
        let paced = instance(InstanceMode::Whatsapp, |i| i.next_slot = NOON + 600);
        let quiet = instance(InstanceMode::Whatsapp, |i| {
            i.quiet_hours = crate::domain::planning::QuietHours {
                start_min: 0,
                end_min: 23 * 60 + 59,
            }
        });
        let sandbox = instance(InstanceMode::Sandbox, |_| {});
        let sandbox_full = instance(InstanceMode::Sandbox, |i| {
            i.daily_limit = 1;
            i.sent_day = crate::domain::sending::local_day(NOON).to_string();
            i.sent_today = 1;
        });
        let (live, test) = (store(false), store(true));
        let long = "a".repeat(MAX_REPLY_CHARS + 1);
        let max = "ã".repeat(MAX_REPLY_CHARS);
        let facts = |store, instance, connected, opted_out, test_number| ReplyFacts {
            store,
            instance,
            connected,
            opted_out,
            test_number,
        };
        use ReplyRefusal::*;
        use ReplyRoute::*;
        #[rustfmt::skip]
        let table: Vec<(&str, &str, ReplyFacts<'_>, Result<ReplyRoute, ReplyRefusal>)> = vec![
            ("a plain reply goes out now", "Oi!", facts(&live, Some(&open), true, false, false), Ok(Whatsapp(InstanceId(7)))),
            ("nothing typed", "  \n ", facts(&live, Some(&open), true, false, false), Err(Empty)),
            ("too long", &long, facts(&live, Some(&open), true, false, false), Err(TooLong)),
            ("the limit counts characters, not bytes", &max, facts(&live, Some(&open), true, false, false), Ok(Whatsapp(InstanceId(7)))),
            ("opted out", "Oi", facts(&live, Some(&open), true, true, false), Err(OptedOut)),
            ("opted out, even in modo teste", "Oi", facts(&test, None, false, true, false), Err(OptedOut)),
            ("modo teste needs no instance", "Oi", facts(&test, None, false, false, false), Ok(TestBox)),
            ("modo teste wins over a live instance", "Oi", facts(&test, Some(&open), true, false, false), Ok(TestBox)),
            ("a número de teste goes to the caixa", "Oi", facts(&live, Some(&open), true, false, true), Ok(TestBox)),
            ("no instance linked", "Oi", facts(&live, None, false, false, false), Err(Unlinked)),
            ("an instância de teste", "Oi", facts(&live, Some(&sandbox), true, false, false), Ok(TestInstance(InstanceId(7)))),
            ("an instância de teste keeps its daily limit", "Oi", facts(&live, Some(&sandbox_full), true, false, false), Err(DailyLimit)),
            ("not connected", "Oi", facts(&live, Some(&open), false, false, false), Err(NotConnected)),
            ("paused by the policy", "Oi", facts(&live, Some(&paused), true, false, false), Err(Paused)),
            ("daily limit reached", "Oi", facts(&live, Some(&full), true, false, false), Err(DailyLimit)),
            ("yesterday's count does not hold today", "Oi", facts(&live, Some(&yesterday_full), true, false, false), Ok(Whatsapp(InstanceId(7)))),
            ("outside the pacing queue", "Oi", facts(&live, Some(&paced), true, false, false), Ok(Whatsapp(InstanceId(7)))),
            ("quiet hours do not hold an answer", "Oi", facts(&live, Some(&quiet), true, false, false), Ok(Whatsapp(InstanceId(7)))),
        ];
        for (case, text, facts, expected) in table {
            assert_eq!(route(text, &facts, NOON), expected, "{case}");
        }
    }

    #[test]
    fn a_route_says_whether_it_is_a_test_and_which_limit_it_counts_against() {
        assert_eq!(ReplyRoute::TestBox.counted_instance(), None);
        assert!(ReplyRoute::TestBox.is_test());
        let id = InstanceId(3);
        assert_eq!(ReplyRoute::TestInstance(id).counted_instance(), Some(id));
        assert!(ReplyRoute::TestInstance(id).is_test());
        assert_eq!(ReplyRoute::Whatsapp(id).counted_instance(), Some(id));
        assert!(!ReplyRoute::Whatsapp(id).is_test());
    }
}
