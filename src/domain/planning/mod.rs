//! Planning rules, pure: which kinds are reminders, which ones stop them (the happy path), and
//! when a step is due (delay, the due date, weekends for boleto reminders, quiet hours).
//!
//! Precedence (DESIGN.md "Happy path"): `order.paid`, `order.completed`, `order.refunded`,
//! `order.canceled` and `order.chargeback` end an order's recovery, and so does every other event
//! that says a charge was paid (`subscription.renewed`, `subscription.started` with a payment:
//! [`pays_a_charge`]): its pending `checkout.abandoned`, `boleto.generated`, `pix.generated`,
//! `payment.refused` and `payment.overdue` messages, and the `subscription.overdue` and
//! `payment.expired` notices (first messages and follow-ups) are canceled, and later recovery
//! events for the same order plan nothing. Everything else is planned as it comes.
//!
//! `plan` (in `plan.rs`) turns one event and the facts storage gathered into a `Plan`: what to
//! create, what to cancel and why.

mod late;
mod plan;
#[cfg(test)]
mod plan_tests;

pub use late::{arrived_late, plan_late};
pub use plan::{
    Close, Credit, Facts, Order, PURCHASE_MEMORY_DAYS, Plan, Templates, close, credit_candidates,
    plan, product_key,
};

use jiff::civil::{Time, Weekday};
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

use super::EventKind;
use super::template::StepDelay;

/// Reminders that try to recover a sale; the happy path cancels them.
pub fn is_recovery(kind: EventKind) -> bool {
    matches!(
        kind,
        EventKind::CheckoutAbandoned
            | EventKind::BoletoGenerated
            | EventKind::PixGenerated
            | EventKind::PaymentRefused
            | EventKind::PaymentOverdue
    )
}

/// Kinds that close an order whatever the event says: its recovery stops.
pub fn ends_recovery(kind: EventKind) -> bool {
    matches!(
        kind,
        EventKind::OrderPaid
            | EventKind::OrderCompleted
            | EventKind::OrderRefunded
            | EventKind::OrderCanceled
            | EventKind::OrderChargeback
    )
}

/// True when the event says "this charge was paid": `order.paid`, a subscription's renewal
/// (platforms send a paid recurring charge as one: Hotmart's `PURCHASE_APPROVED` with a
/// recurrence number above 1, Kiwify's `subscription_renewed`, Appmax's `ChargeSuccess`, …), and
/// a subscription's start that carries a payment (an amount, and not a trial). Each one closes
/// the reminders of its order and is credited to a recovery like a payment.
pub fn pays_a_charge(event: &super::Event) -> bool {
    match event.kind {
        Some(EventKind::OrderPaid | EventKind::SubscriptionRenewed) => true,
        Some(EventKind::SubscriptionStarted) => {
            let trial = event
                .subscription
                .status
                .as_deref()
                .is_some_and(|s| s.to_ascii_lowercase().contains("trial"));
            event.total_cents.is_some_and(|c| c > 0) && !trial
        }
        _ => false,
    }
}

/// True when the event closes its order: a closing kind, or a paid charge.
pub fn closes_order(event: &super::Event) -> bool {
    event.kind.is_some_and(ends_recovery) || pays_a_charge(event)
}

/// Pending messages a closed order cancels: the recoveries, and the other reminders about
/// paying (a subscription's failed renewal, an expired payment), which a payment makes wrong.
pub fn closed_by_payment(kind: EventKind) -> bool {
    is_recovery(kind)
        || matches!(
            kind,
            EventKind::SubscriptionOverdue | EventKind::PaymentExpired
        )
}

/// Messages that count toward the per-buyer cap. Confirmations (paid, shipped, access, …) are
/// what the buyer expects, so they never count and are never held back. A message sent through
/// the send API, and a custom kind's (a birthday, a live), is the merchant reaching out on their
/// own: it counts like a reminder. (No payment closes those: `closed_by_payment` leaves them.)
pub fn counts_toward_cap(kind: EventKind) -> bool {
    closed_by_payment(kind) || matches!(kind, EventKind::ApiSend | EventKind::Custom(_))
}

/// Quiet hours in Brasília time: messages due inside wait for the end.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuietHours {
    /// Minutes after midnight when quiet starts (21:00 = 1260).
    pub start_min: u16,
    /// Minutes after midnight when quiet ends (08:00 = 480).
    pub end_min: u16,
}

impl Default for QuietHours {
    fn default() -> Self {
        QuietHours {
            start_min: 21 * 60,
            end_min: 8 * 60,
        }
    }
}

fn sao_paulo() -> TimeZone {
    TimeZone::get("America/Sao_Paulo").expect("the bundled tz database has America/Sao_Paulo")
}

fn minutes_of_day(t: Time) -> u16 {
    (t.hour() as u16) * 60 + t.minute() as u16
}

impl QuietHours {
    /// True when `unix` falls in the quiet window.
    pub fn contains(self, unix: i64) -> bool {
        let Ok(ts) = jiff::Timestamp::from_second(unix) else {
            return false;
        };
        let m = minutes_of_day(ts.to_zoned(sao_paulo()).time());
        if self.start_min == self.end_min {
            false
        } else if self.start_min > self.end_min {
            m >= self.start_min || m < self.end_min
        } else {
            m >= self.start_min && m < self.end_min
        }
    }

    /// `unix`, or the end of the quiet window it falls in.
    pub fn defer(self, unix: i64) -> i64 {
        if !self.contains(unix) {
            return unix;
        }
        let zoned = jiff::Timestamp::from_second(unix)
            .expect("contains() accepted it")
            .to_zoned(sao_paulo());
        let end = Time::new((self.end_min / 60) as i8, (self.end_min % 60) as i8, 0, 0)
            .expect("end_min is within a day");
        let mut day = zoned.date();
        if minutes_of_day(zoned.time()) >= self.end_min {
            day = day.tomorrow().expect("not the end of time");
        }
        day.to_datetime(end)
            .to_zoned(sao_paulo())
            .map(|z| z.timestamp().as_second())
            .unwrap_or(unix)
    }
}

/// Saturdays and Sundays move to Monday at the same time (banks do not clear boletos then).
pub fn skip_weekend(unix: i64) -> i64 {
    let Ok(ts) = jiff::Timestamp::from_second(unix) else {
        return unix;
    };
    let zoned = ts.to_zoned(sao_paulo());
    let days = match zoned.weekday() {
        Weekday::Saturday => 2,
        Weekday::Sunday => 1,
        _ => 0,
    };
    if days == 0 {
        return unix;
    }
    zoned
        .checked_add(jiff::Span::new().days(days))
        .map(|z| z.timestamp().as_second())
        .unwrap_or(unix)
}

/// When step `step` of a `kind` template is due for an event received at `received`.
/// `None` when the step cannot apply (on the due date, but there is none or it has passed).
pub fn due_time(
    received: i64,
    kind: EventKind,
    step: usize,
    delay: StepDelay,
    due_date: Option<&str>,
    quiet: QuietHours,
) -> Option<i64> {
    let base = match delay {
        StepDelay::After { minutes } => received + i64::from(minutes) * 60,
        StepDelay::OnDueDate => {
            let date = due_date.and_then(|d| {
                d.get(..10)
                    .and_then(|day| day.parse::<jiff::civil::Date>().ok())
            })?;
            let at = date
                .to_datetime(Time::new(9, 0, 0, 0).expect("09:00"))
                .to_zoned(sao_paulo())
                .ok()?
                .timestamp()
                .as_second();
            if at <= received {
                return None;
            }
            at
        }
    };
    let base = if kind == EventKind::BoletoGenerated && step > 0 {
        skip_weekend(base)
    } else {
        base
    };
    Some(quiet.defer(base))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Unix seconds for a Brasília wall-clock time.
    fn brt(text: &str) -> i64 {
        text.parse::<jiff::civil::DateTime>()
            .expect("datetime")
            .to_zoned(sao_paulo())
            .expect("zoned")
            .timestamp()
            .as_second()
    }

    #[test]
    fn quiet_hours_hold_messages_until_morning() {
        let q = QuietHours::default();
        let cases = [
            ("2026-11-20T20:59", "2026-11-20T20:59"),
            ("2026-11-20T21:00", "2026-11-21T08:00"),
            ("2026-11-20T23:30", "2026-11-21T08:00"),
            ("2026-11-21T03:00", "2026-11-21T08:00"),
            ("2026-11-21T08:00", "2026-11-21T08:00"),
        ];
        for (at, want) in cases {
            assert_eq!(q.defer(brt(at)), brt(want), "{at}");
        }
    }

    #[test]
    fn boleto_reminders_skip_weekends_but_first_messages_do_not() {
        let q = QuietHours::default();
        let friday_noon = brt("2026-11-20T12:00");
        let one_day = StepDelay::After { minutes: 1440 };
        assert_eq!(
            due_time(friday_noon, EventKind::BoletoGenerated, 1, one_day, None, q),
            Some(brt("2026-11-23T12:00"))
        );
        assert_eq!(
            due_time(friday_noon, EventKind::BoletoGenerated, 0, one_day, None, q),
            Some(brt("2026-11-21T12:00"))
        );
        assert_eq!(
            due_time(friday_noon, EventKind::PixGenerated, 1, one_day, None, q),
            Some(brt("2026-11-21T12:00"))
        );
    }

    #[test]
    fn due_date_steps_go_at_nine_on_the_day_or_not_at_all() {
        let q = QuietHours::default();
        let received = brt("2026-11-20T12:00");
        let due = StepDelay::OnDueDate;
        assert_eq!(
            due_time(
                received,
                EventKind::BoletoGenerated,
                2,
                due,
                Some("2026-11-24"),
                q
            ),
            Some(brt("2026-11-24T09:00"))
        );
        assert_eq!(
            due_time(
                received,
                EventKind::BoletoGenerated,
                2,
                due,
                Some("2026-11-24T23:59:59Z"),
                q
            ),
            Some(brt("2026-11-24T09:00"))
        );
        assert_eq!(
            due_time(
                received,
                EventKind::BoletoGenerated,
                2,
                due,
                Some("2026-11-19"),
                q
            ),
            None
        );
        assert_eq!(
            due_time(received, EventKind::BoletoGenerated, 2, due, None, q),
            None
        );
    }

    #[test]
    fn the_happy_path_vocabulary() {
        for kind in EventKind::ALL {
            assert!(!(is_recovery(kind) && ends_recovery(kind)), "{kind}");
        }
        assert!(is_recovery(EventKind::PixGenerated) && counts_toward_cap(EventKind::PixGenerated));
        assert!(ends_recovery(EventKind::OrderPaid) && !counts_toward_cap(EventKind::OrderPaid));
    }
}
