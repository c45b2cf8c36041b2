//! What a message and a credited payment count in the reports, pure: the counters of a report
//! row, the row (day, store, instance, kind, step, test) a message counts in, and the cancel
//! reasons the report breaks down. `db` stores these shares and keeps them in step; a full
//! recount from the records must give the same tables.

use serde::{Deserialize, Serialize};

use super::day_number;
use crate::domain::planning::is_recovery;
use crate::domain::reason::Reason;
use crate::domain::{EventKind, InstanceId, Message, MessageId, MessageStatus, StoreId};

/// One counter of a report row. The order is the stored layout: append, never reorder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Counter {
    /// Every message avisa planned.
    Planned,
    /// Not sent yet (scheduled, queued, being sent).
    Pending,
    /// Went out (sent, delivered or read).
    Sent,
    Delivered,
    Read,
    Failed,
    Expired,
    Canceled,
    /// First messages (step 0, part 0) of a recovery that went out: one per recovery attempt.
    Attempts,
    CancelOrderClosed,
    CancelMarkedPaid,
    CancelOptedOut,
    CancelBuyerCap,
    CancelByUser,
    CancelTemplateOff,
    /// The store was deleted or switched off.
    CancelStore,
    CancelOther,
    /// Orders paid after a recovery message (credited to that message's row, on the paid day).
    Recovered,
    RecoveredCents,
    /// Of those, orders refunded or charged back afterwards.
    Refunded,
    RefundedCents,
}

/// How many counters a row has.
pub const COUNTERS: usize = 21;

/// The cancel reasons the report breaks down, in `Counter` order, with the code each row is
/// labelled with (`other` is the report's own bucket for every other reason).
pub const CANCEL_REASONS: [(Counter, &str); 8] = [
    (Counter::CancelOrderClosed, Reason::OrderClosed.code()),
    (Counter::CancelMarkedPaid, Reason::MarkedPaid.code()),
    (Counter::CancelOptedOut, Reason::OptedOut.code()),
    (Counter::CancelBuyerCap, Reason::BuyerCap.code()),
    (Counter::CancelByUser, Reason::ByUser.code()),
    (Counter::CancelTemplateOff, Reason::TemplateOff.code()),
    (Counter::CancelStore, Reason::StoreDeleted.code()),
    (Counter::CancelOther, "other"),
];

/// One row's counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Counters(pub [i64; COUNTERS]);

impl Default for Counters {
    fn default() -> Self {
        Counters([0; COUNTERS])
    }
}

impl Counters {
    pub fn get(&self, c: Counter) -> i64 {
        self.0[c as usize]
    }

    pub fn bump(&mut self, c: Counter, by: i64) {
        self.0[c as usize] += by;
    }

    pub fn add(&mut self, other: &Counters) {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a += b;
        }
    }

    /// Every counter times `by` (-1 takes a share out).
    pub fn scaled(mut self, by: i64) -> Counters {
        for a in &mut self.0 {
            *a *= by;
        }
        self
    }

    pub fn is_zero(&self) -> bool {
        self.0.iter().all(|v| *v == 0)
    }
}

/// Where a row's counters live.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct DayKey {
    pub day: i32,
    pub store_id: StoreId,
    /// 0: not sent through an instance yet.
    pub instance_id: InstanceId,
    pub kind: EventKind,
    pub step: u32,
    pub test: bool,
}

/// A buyer reached on a day: (day, store, instance, phone digits), the shape of its stored key.
pub type BuyerKey = (i32, u64, u64, u64);

/// A message's share of the counters: one row, and the buyer's day when it went out.
#[derive(Clone, Debug, PartialEq)]
pub struct Contribution {
    pub key: DayKey,
    pub counters: Counters,
    pub buyer: Option<BuyerKey>,
}

/// The day a message counts on: the day it went out; if it never did, the day it ended
/// (canceled, failed, expired); while it waits, the day it is due.
pub fn message_day(m: &Message) -> i32 {
    use MessageStatus::*;
    let last = m.history.last().map_or(m.created_at, |c| c.at);
    let at = match m.status {
        Sent | Delivered | Read => m
            .history
            .iter()
            .find(|c| c.status == Sent)
            .map_or(last, |c| c.at),
        Canceled | Failed | Expired => last,
        Scheduled | Queued | Sending => m.due_at,
    };
    day_number(at)
}

/// The counter a canceled message's reason adds to.
pub fn cancel_counter(reason: Option<&str>) -> Counter {
    match reason.and_then(Reason::from_code) {
        Some(Reason::StoreDisabled) => Counter::CancelStore,
        Some(r) => CANCEL_REASONS
            .iter()
            .find(|(_, code)| *code == r.code())
            .map_or(Counter::CancelOther, |(c, _)| *c),
        None => Counter::CancelOther,
    }
}

/// Digits of an E.164 phone as a number (compact buyer keys); an erased buyer's pseudonym
/// counts as a number above every phone (`domain::erasure`).
pub fn phone_number(e164: &str) -> Option<u64> {
    crate::domain::erasure::pseudonym_number(e164)
        .or_else(|| e164.strip_prefix('+').unwrap_or(e164).parse().ok())
}

/// What one message adds to the reports, a pure function of the message.
pub fn contribution(m: &Message) -> Contribution {
    use MessageStatus::*;
    let key = DayKey {
        day: message_day(m),
        store_id: m.store_id,
        instance_id: m.instance_id.unwrap_or_default(),
        kind: m.kind,
        step: m.step,
        test: m.test,
    };
    let mut c = Counters::default();
    c.bump(Counter::Planned, 1);
    let sent = matches!(m.status, Sent | Delivered | Read);
    match m.status {
        Scheduled | Queued | Sending => c.bump(Counter::Pending, 1),
        Sent => {}
        Delivered => c.bump(Counter::Delivered, 1),
        Read => {
            c.bump(Counter::Delivered, 1);
            c.bump(Counter::Read, 1);
        }
        Failed => c.bump(Counter::Failed, 1),
        Expired => c.bump(Counter::Expired, 1),
        Canceled => {
            c.bump(Counter::Canceled, 1);
            c.bump(cancel_counter(m.reason()), 1);
        }
    }
    if sent {
        c.bump(Counter::Sent, 1);
        if is_recovery(m.kind) && m.step == 0 && m.part == 0 {
            c.bump(Counter::Attempts, 1);
        }
    }
    let buyer = (sent && !m.test)
        .then(|| phone_number(&m.phone))
        .flatten()
        .map(|phone| (key.day, key.store_id.0, key.instance_id.0, phone));
    Contribution {
        key,
        counters: c,
        buyer,
    }
}

/// When a message went out (its first `sent`), if it did.
pub fn sent_at(m: &Message) -> Option<i64> {
    if !matches!(
        m.status,
        MessageStatus::Sent | MessageStatus::Delivered | MessageStatus::Read
    ) {
        return None;
    }
    m.history
        .iter()
        .find(|c| c.status == MessageStatus::Sent)
        .map(|c| c.at)
}

/// A payment credited to a recovery message: stored once per (store, order).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Recovery {
    pub store_id: StoreId,
    pub order_id: String,
    pub paid_at: i64,
    pub amount_cents: i64,
    /// The message credited (the last recovery message sent before the payment).
    pub message_id: MessageId,
    pub kind: EventKind,
    pub step: u32,
    pub instance_id: Option<InstanceId>,
    pub test: bool,
    pub sent_at: i64,
    /// Refunded or charged back afterwards.
    pub refunded_at: Option<i64>,
}

impl Recovery {
    /// The row it counts in: the credited message's, on the day of the payment.
    pub fn key(&self) -> DayKey {
        DayKey {
            day: day_number(self.paid_at),
            store_id: self.store_id,
            instance_id: self.instance_id.unwrap_or_default(),
            kind: self.kind,
            step: self.step,
            test: self.test,
        }
    }

    /// What it adds to that row.
    pub fn counters(&self) -> Counters {
        let mut c = Counters::default();
        c.bump(Counter::Recovered, 1);
        c.bump(Counter::RecoveredCents, self.amount_cents);
        if self.refunded_at.is_some() {
            c.bump(Counter::Refunded, 1);
            c.bump(Counter::RefundedCents, self.amount_cents);
        }
        c
    }
}
