//! The report ledger: counters kept in step with the data they count, in the same write
//! transaction. Every write of a message goes through `Ledger::put`, which takes the stored
//! record's share of the counters out and puts the new record's share in. A record's share is a
//! pure function of the record (`domain::report::contribution`, with the other report rules), so
//! a full recount (`Db::verify_report_counters`) must give the same tables; a test proves it
//! after a randomised history. Events are counted at intake,
//! recoveries when a payment is credited (`credit_payment`) or refunded (`mark_refunded`).

use std::collections::BTreeMap;

use redb::{ReadableTable, Table, WriteTransaction};

use super::{DbError, from_json, tables, to_json};
use crate::domain::report::{
    BuyerKey, Counters, DayKey, Recovery, contribution, day_number, sent_at,
};
use crate::domain::{EventKind, InstanceId, Message, MessageId, StoreId};

/// A row's counters as stored: little-endian i64s in `Counter` order.
fn encode(c: &Counters) -> Vec<u8> {
    c.0.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Shorter rows (written before a counter was appended) read the missing ones as zero.
pub(super) fn decode(bytes: &[u8]) -> Counters {
    let mut out = Counters::default();
    for (slot, chunk) in out.0.iter_mut().zip(bytes.chunks_exact(8)) {
        *slot = i64::from_le_bytes(chunk.try_into().expect("chunks of 8"));
    }
    out
}

/// Adds `delta` to a row, removing it when it comes to zero.
fn apply(
    days: &mut Table<'_, tables::ReportKey<'static>, &'static [u8]>,
    key: &DayKey,
    delta: &Counters,
) -> Result<(), DbError> {
    if delta.is_zero() {
        return Ok(());
    }
    let k = (
        key.day,
        key.store_id.0,
        key.instance_id.0,
        key.kind.as_str(),
        key.step,
        key.test,
    );
    let mut row = days.get(k)?.map(|v| decode(v.value())).unwrap_or_default();
    row.add(delta);
    if row.is_zero() {
        days.remove(k)?;
    } else {
        days.insert(k, encode(&row).as_slice())?;
    }
    Ok(())
}

/// Adds `delta` to a buyer's count, removing it when it comes to zero.
fn add_buyer(
    buyers: &mut Table<'_, BuyerKey, u64>,
    key: BuyerKey,
    delta: i64,
) -> Result<(), DbError> {
    if delta == 0 {
        return Ok(());
    }
    let n = buyers.get(key)?.map_or(0, |v| v.value());
    let next = n.saturating_add_signed(delta);
    if next == 0 {
        buyers.remove(key)?;
    } else {
        buyers.insert(key, next)?;
    }
    Ok(())
}

/// Counter changes not written yet, summed per row: a deferred ledger reads and writes each row
/// once however many messages of the transaction touched it (the intake's group commit).
#[derive(Default)]
struct Pending {
    days: BTreeMap<DayKey, Counters>,
    buyers: BTreeMap<BuyerKey, i64>,
}

impl Pending {
    fn is_empty(&self) -> bool {
        self.days.is_empty() && self.buyers.is_empty()
    }
}

/// The messages table, its due-time index and the counters that follow it. Every write of a
/// message goes through `put`; nothing else in a write transaction may insert into `MESSAGES`.
/// An `open` ledger writes the counters at each change; a `deferred` one sums them and writes
/// each row once in `flush`, which must run before the transaction commits (a deferred ledger
/// dropped with changes unwritten is a bug, caught by a debug assertion).
pub(super) struct Ledger<'txn> {
    messages: Table<'txn, u64, &'static [u8]>,
    /// (due time, id) of every message, kept in step with `messages` (Mensagens → Todas).
    by_due: Table<'txn, (i64, u64), ()>,
    days: Table<'txn, tables::ReportKey<'static>, &'static [u8]>,
    buyers: Table<'txn, BuyerKey, u64>,
    /// Outbound webhooks: each write queues the events it reports, in this transaction.
    emitter: super::outbound::Emitter<'txn>,
    pending: Pending,
    deferred: bool,
}

impl<'txn> Ledger<'txn> {
    pub(super) fn open(txn: &'txn WriteTransaction) -> Result<Ledger<'txn>, DbError> {
        Ledger::with(txn, false)
    }

    /// A ledger whose counter changes wait for `flush` (see the type's note).
    pub(super) fn deferred(txn: &'txn WriteTransaction) -> Result<Ledger<'txn>, DbError> {
        Ledger::with(txn, true)
    }

    fn with(txn: &'txn WriteTransaction, deferred: bool) -> Result<Ledger<'txn>, DbError> {
        Ok(Ledger {
            messages: txn.open_table(tables::MESSAGES)?,
            by_due: txn.open_table(tables::MESSAGES_BY_DUE)?,
            days: txn.open_table(tables::REPORT_DAYS)?,
            buyers: txn.open_table(tables::BUYER_DAYS)?,
            emitter: super::outbound::Emitter::new(txn),
            pending: Pending::default(),
            deferred,
        })
    }

    /// Writes the summed counter changes: one read-modify-write per row.
    pub(super) fn flush(&mut self) -> Result<(), DbError> {
        let pending = std::mem::take(&mut self.pending);
        for (key, delta) in &pending.days {
            apply(&mut self.days, key, delta)?;
        }
        for (key, delta) in pending.buyers {
            add_buyer(&mut self.buyers, key, delta)?;
        }
        Ok(())
    }

    /// Counts `delta` on `key`'s row: now, or at `flush` when deferred.
    fn count(&mut self, key: &DayKey, delta: &Counters) -> Result<(), DbError> {
        if delta.is_zero() {
            return Ok(());
        }
        if !self.deferred {
            return apply(&mut self.days, key, delta);
        }
        match self.pending.days.get_mut(key) {
            Some(row) => row.add(delta),
            None => {
                self.pending.days.insert(key.clone(), *delta);
            }
        }
        Ok(())
    }

    fn count_buyer(&mut self, key: BuyerKey, delta: i64) -> Result<(), DbError> {
        if !self.deferred {
            return add_buyer(&mut self.buyers, key, delta);
        }
        *self.pending.buyers.entry(key).or_default() += delta;
        Ok(())
    }

    pub(super) fn get(&self, id: MessageId) -> Result<Option<Message>, DbError> {
        self.messages
            .get(id.0)?
            .map(|b| from_json(b.value()))
            .transpose()
    }

    /// Stores `record` and moves the counters from what was stored to what is now.
    pub(super) fn put(&mut self, record: &Message) -> Result<(), DbError> {
        let before: Option<Message> = self
            .messages
            .insert(record.id.0, to_json(record)?.as_slice())?
            .map(|old| from_json(old.value()))
            .transpose()?;
        if let Some(old) = &before
            && old.due_at != record.due_at
        {
            self.by_due.remove((old.due_at, record.id.0))?;
        }
        self.by_due.insert((record.due_at, record.id.0), ())?;
        self.report(before.as_ref().map(|m| m.status), record)?;
        let after = contribution(record);
        match before.as_ref().map(contribution) {
            Some(old) if old.key == after.key => {
                let mut delta = after.counters;
                delta.add(&old.counters.scaled(-1));
                self.count(&after.key, &delta)?;
                if old.buyer != after.buyer {
                    self.move_buyer(old.buyer, after.buyer)?;
                }
            }
            Some(old) => {
                self.count(&old.key, &old.counters.scaled(-1))?;
                self.count(&after.key, &after.counters)?;
                self.move_buyer(old.buyer, after.buyer)?;
            }
            None => {
                self.count(&after.key, &after.counters)?;
                self.move_buyer(None, after.buyer)?;
            }
        }
        Ok(())
    }

    /// Queues the outbound webhook events this write reports (`message.planned`, `.sent`, …).
    fn report(
        &mut self,
        before: Option<crate::domain::MessageStatus>,
        record: &Message,
    ) -> Result<(), DbError> {
        let at = record.history.last().map_or(record.created_at, |c| c.at);
        for event in crate::domain::outbound::OutboundEvent::for_message(before, record.status) {
            self.emitter
                .emit(event, &[record.store_id], Some(&record.phone), at, || {
                    super::outbound_report::message_data(record)
                })?;
        }
        Ok(())
    }

    fn move_buyer(&mut self, old: Option<BuyerKey>, new: Option<BuyerKey>) -> Result<(), DbError> {
        if old == new {
            return Ok(());
        }
        if let Some(k) = old {
            self.count_buyer(k, -1)?;
        }
        if let Some(k) = new {
            self.count_buyer(k, 1)?;
        }
        Ok(())
    }

    /// Adds a recovery's counters to its row (`sign` -1 takes them out).
    fn add_recovery(&mut self, r: &Recovery, counters: &Counters) -> Result<(), DbError> {
        self.count(&r.key(), counters)
    }
}

impl Drop for Ledger<'_> {
    fn drop(&mut self) {
        debug_assert!(
            self.pending.is_empty() || std::thread::panicking(),
            "a deferred report ledger was dropped before its counters were flushed"
        );
    }
}

/// What `credit_payment` needs to know about a payment.
pub(super) struct Payment<'a> {
    pub store_id: StoreId,
    pub order_id: &'a str,
    pub paid_at: i64,
    /// From the paid event; `None` (dar baixa, or a platform that omits it) falls back to the
    /// credited message's event.
    pub amount_cents: Option<i64>,
    pub window_s: i64,
}

/// Credits a payment to the last recovery message sent for the order within the window, once
/// per order: a second payment event for the same order changes nothing. `candidates` are the
/// order's messages (and the buyer's unnumbered ones for the same purchase).
pub(super) fn credit_payment(
    txn: &WriteTransaction,
    ledger: &mut Ledger<'_>,
    payment: &Payment<'_>,
    candidates: &[MessageId],
) -> Result<Option<Recovery>, DbError> {
    let mut recovered = txn.open_table(tables::RECOVERED_ORDERS)?;
    if recovered
        .get((payment.store_id.0, payment.order_id))?
        .is_some()
    {
        return Ok(None);
    }
    let mut sent = Vec::new();
    for id in candidates {
        if let Some(m) = ledger.get(*id)?
            && crate::domain::planning::is_recovery(m.kind)
            && let Some(at) = sent_at(&m)
        {
            sent.push((at, m));
        }
    }
    let Some((at, m)) = crate::domain::report::credited(payment.paid_at, payment.window_s, sent)
    else {
        return Ok(None);
    };
    let amount_cents = match payment.amount_cents {
        Some(cents) => cents,
        None => txn
            .open_table(tables::EVENTS)?
            .get(m.event_id.0)?
            .map(|b| from_json::<super::EventRecord>(b.value()))
            .transpose()?
            .and_then(|e| e.event.and_then(|e| e.total_cents))
            .unwrap_or(0),
    };
    let recovery = Recovery {
        store_id: payment.store_id,
        order_id: payment.order_id.to_owned(),
        paid_at: payment.paid_at,
        amount_cents,
        message_id: m.id,
        kind: m.kind,
        step: m.step,
        instance_id: m.instance_id,
        test: m.test,
        sent_at: at,
        refunded_at: None,
    };
    recovered.insert(
        (payment.store_id.0, payment.order_id),
        to_json(&recovery)?.as_slice(),
    )?;
    ledger.add_recovery(&recovery, &recovery.counters())?;
    Ok(Some(recovery))
}

/// A refund or chargeback of a recovered order: it stays recovered, shown as refunded after.
pub(super) fn mark_refunded(
    txn: &WriteTransaction,
    ledger: &mut Ledger<'_>,
    store_id: StoreId,
    order_id: &str,
    at: i64,
) -> Result<(), DbError> {
    let mut recovered = txn.open_table(tables::RECOVERED_ORDERS)?;
    let record: Option<Recovery> = recovered
        .get((store_id.0, order_id))?
        .map(|b| from_json(b.value()))
        .transpose()?;
    let Some(mut record) = record else {
        return Ok(());
    };
    if record.refunded_at.is_some() {
        return Ok(());
    }
    let before = record.counters();
    record.refunded_at = Some(at);
    let mut delta = record.counters();
    delta.add(&before.scaled(-1));
    ledger.add_recovery(&record, &delta)?;
    recovered.insert((store_id.0, order_id), to_json(&record)?.as_slice())?;
    Ok(())
}

/// The event-day row an event counts in: its kind, or why it could not be used.
pub(super) fn event_bucket(record: &super::EventRecord) -> String {
    match (record.status, record.kind()) {
        (crate::ingest::Status::Ok, Some(kind)) => kind.as_str().to_owned(),
        (crate::ingest::Status::Unmapped, _) => "unmapped".to_owned(),
        (crate::ingest::Status::Ignored, _) => "ignored".to_owned(),
        (crate::ingest::Status::Awaiting, _) => "awaiting".to_owned(),
        _ => "invalid".to_owned(),
    }
}

/// Counts one event received into `EVENT_DAYS`.
pub(super) fn count_event(
    table: &mut Table<'_, (i32, u64, &'static str), u64>,
    record: &super::EventRecord,
) -> Result<(), DbError> {
    let mut days = EventDays::default();
    days.count(record);
    days.write(table)
}

/// Events received, summed per `EVENT_DAYS` row over a batch and written once per row.
#[derive(Default)]
pub(super) struct EventDays(BTreeMap<(i32, u64, String), u64>);

impl EventDays {
    pub(super) fn count(&mut self, record: &super::EventRecord) {
        let key = (
            day_number(record.received_at),
            record.store_id.0,
            event_bucket(record),
        );
        *self.0.entry(key).or_default() += 1;
    }

    pub(super) fn write(
        self,
        table: &mut Table<'_, (i32, u64, &'static str), u64>,
    ) -> Result<(), DbError> {
        for ((day, store, bucket), n) in self.0 {
            let key = (day, store, bucket.as_str());
            let stored = table.get(key)?.map_or(0, |v| v.value());
            table.insert(key, stored + n)?;
        }
        Ok(())
    }
}

/// What the counter tables should hold, recounted from the records.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Recount {
    pub days: BTreeMap<DayKey, Counters>,
    pub buyers: BTreeMap<BuyerKey, u64>,
    pub events: BTreeMap<(i32, u64, String), u64>,
}

pub(super) fn recount(
    messages: &impl ReadableTable<u64, &'static [u8]>,
    recovered: &impl ReadableTable<(u64, &'static str), &'static [u8]>,
    events: &impl ReadableTable<u64, &'static [u8]>,
) -> Result<Recount, DbError> {
    let mut out = Recount::default();
    for row in messages.iter()? {
        let m: Message = from_json(row?.1.value())?;
        let c = contribution(&m);
        out.days.entry(c.key).or_default().add(&c.counters);
        if let Some(b) = c.buyer {
            *out.buyers.entry(b).or_default() += 1;
        }
    }
    for row in recovered.iter()? {
        let r: Recovery = from_json(row?.1.value())?;
        out.days.entry(r.key()).or_default().add(&r.counters());
    }
    for row in events.iter()? {
        let e: super::EventRecord = from_json(row?.1.value())?;
        *out.events
            .entry((day_number(e.received_at), e.store_id.0, event_bucket(&e)))
            .or_default() += 1;
    }
    out.days.retain(|_, c| !c.is_zero());
    Ok(out)
}

/// What the counter tables hold.
pub(super) fn stored(
    days: &impl ReadableTable<tables::ReportKey<'static>, &'static [u8]>,
    buyers: &impl ReadableTable<BuyerKey, u64>,
    events: &impl ReadableTable<(i32, u64, &'static str), u64>,
) -> Result<Recount, DbError> {
    let mut out = Recount::default();
    for row in days.iter()? {
        let (k, v) = row?;
        let (day, store_id, instance_id, kind, step, test) = k.value();
        let kind = EventKind::parse_with_custom(kind)
            .ok_or_else(|| DbError::Engine(format!("report row with unknown kind {kind}")))?;
        out.days.insert(
            DayKey {
                day,
                store_id: StoreId(store_id),
                instance_id: InstanceId(instance_id),
                kind,
                step,
                test,
            },
            decode(v.value()),
        );
    }
    for row in buyers.iter()? {
        let (k, v) = row?;
        out.buyers.insert(k.value(), v.value());
    }
    for row in events.iter()? {
        let (k, v) = row?;
        let (day, store, bucket) = k.value();
        out.events
            .insert((day, store, bucket.to_owned()), v.value());
    }
    Ok(out)
}

/// Rebuilds every counter table from the records (the schema 7 migration).
pub(super) fn rebuild(txn: &WriteTransaction) -> Result<(), DbError> {
    let counted = {
        let messages = txn.open_table(tables::MESSAGES)?;
        let recovered = txn.open_table(tables::RECOVERED_ORDERS)?;
        let events = txn.open_table(tables::EVENTS)?;
        recount(&messages, &recovered, &events)?
    };
    let mut days = txn.open_table(tables::REPORT_DAYS)?;
    days.retain(|_, _| false)?;
    for (k, c) in &counted.days {
        days.insert(
            (
                k.day,
                k.store_id.0,
                k.instance_id.0,
                k.kind.as_str(),
                k.step,
                k.test,
            ),
            encode(c).as_slice(),
        )?;
    }
    let mut buyers = txn.open_table(tables::BUYER_DAYS)?;
    buyers.retain(|_, _| false)?;
    for (k, n) in &counted.buyers {
        buyers.insert(*k, *n)?;
    }
    let mut events = txn.open_table(tables::EVENT_DAYS)?;
    events.retain(|_, _| false)?;
    for ((day, store, bucket), n) in &counted.events {
        events.insert((*day, *store, bucket.as_str()), *n)?;
    }
    Ok(())
}
