//! Outbound webhooks' storage: the delivery queue written by `Emitter` inside the transaction of
//! the change it reports (a message's write through `Ledger::put`, an event's recording, an
//! opt-out, a reply), so a change and its notification commit or vanish together; the sender's
//! wake-up bell. Siblings by job: the endpoints the admin manages (`outbound_endpoints`), the
//! sender's claims and attempts (`outbound_sender`), retention and LGPD (`outbound_retention`).
//! The rules (schedule, failure window) are `domain::outbound`'s.

use std::time::Duration;

use redb::{ReadableTable, Table, WriteTransaction};
use serde_json::{Value, json};

use super::bell::Bell;
use super::{DbError, from_json, tables, to_json};
use crate::domain::outbound::{Delivery, DeliveryState, Endpoint, OutboundEvent};
use crate::domain::{DeliveryId, EndpointId, StoreId};

/// Rung whenever a delivery is queued, from inside the writing transaction: the sender's next
/// pass begins a write transaction, which waits for that one to commit, so it always sees the
/// delivery. Process-wide because the writers (`Ledger`) know the transaction, not the `Db`;
/// a second avisa in the same process (tests) only gets a spare wake-up.
static BELL: Bell = Bell::new();

/// How many times the bell has rung: pass it to `wait_for_outbound` to sleep until the next.
pub fn outbound_rings() -> u64 {
    BELL.rings()
}

/// Wakes the outbound sender (a new delivery, a resend, a test that stepped its clock).
pub fn ring_outbound() {
    BELL.ring();
}

/// Blocks until the bell rings past `seen` or `timeout` passes (a blocking context only).
pub fn wait_for_outbound(seen: u64, timeout: Duration) {
    BELL.wait(seen, timeout);
}

/// Writes deliveries for a change inside its transaction. Opens nothing until a change has an
/// endpoint that wants it, so writes pay one small read when no endpoint is registered.
pub(super) struct Emitter<'txn> {
    txn: &'txn WriteTransaction,
    endpoints: Option<Vec<Endpoint>>,
    queue: Option<Queue<'txn>>,
}

/// The delivery queue's tables, opened together so the due index and the endpoint log stay in
/// step with each delivery (`put`).
pub(super) struct Queue<'txn> {
    pub(super) deliveries: Table<'txn, u64, &'static [u8]>,
    pub(super) due: Table<'txn, (i64, u64), ()>,
    pub(super) log: Table<'txn, (u64, u64), ()>,
    meta: Table<'txn, &'static str, u64>,
}

impl<'txn> Queue<'txn> {
    pub(super) fn open(txn: &'txn WriteTransaction) -> Result<Queue<'txn>, DbError> {
        Ok(Queue {
            deliveries: txn.open_table(tables::OUTBOUND_DELIVERIES)?,
            due: txn.open_table(tables::OUTBOUND_DUE)?,
            log: txn.open_table(tables::OUTBOUND_LOG)?,
            meta: txn.open_table(tables::OUTBOUND_META)?,
        })
    }

    /// Stores a delivery and keeps the due index in step with its state.
    pub(super) fn put(
        &mut self,
        before: Option<&Delivery>,
        after: &Delivery,
    ) -> Result<(), DbError> {
        if let Some(old) = before
            && old.state == DeliveryState::Pending
        {
            self.due.remove((old.next_at, old.id.0))?;
        }
        if after.state == DeliveryState::Pending {
            self.due.insert((after.next_at, after.id.0), ())?;
        }
        self.log.insert((after.endpoint_id.0, after.id.0), ())?;
        self.deliveries
            .insert(after.id.0, to_json(after)?.as_slice())?;
        Ok(())
    }

    /// Closes an endpoint's pending deliveries (it was disabled): they stay in its log.
    pub(super) fn drop_pending(&mut self, endpoint: EndpointId) -> Result<(), DbError> {
        let ids: Vec<u64> = self
            .log
            .range((endpoint.0, 0)..=(endpoint.0, u64::MAX))?
            .map(|row| row.map(|(k, _)| k.value().1))
            .collect::<Result<_, _>>()?;
        for id in ids {
            if let Some(before) = self.get(DeliveryId(id))?
                && before.state == DeliveryState::Pending
            {
                let mut after = before.clone();
                after.state = DeliveryState::Dropped;
                self.put(Some(&before), &after)?;
            }
        }
        Ok(())
    }

    pub(super) fn get(&self, id: DeliveryId) -> Result<Option<Delivery>, DbError> {
        self.deliveries
            .get(id.0)?
            .map(|b| from_json(b.value()))
            .transpose()
    }
}

impl<'txn> Emitter<'txn> {
    pub(super) fn new(txn: &'txn WriteTransaction) -> Emitter<'txn> {
        Emitter {
            txn,
            endpoints: None,
            queue: None,
        }
    }

    /// Whether an enabled endpoint (the only ones read) wants `event` of any store: when none
    /// does, the caller need not keep what it would report.
    pub(super) fn listening(&mut self, event: OutboundEvent) -> Result<bool, DbError> {
        Ok(self.endpoints()?.iter().any(|e| e.events.contains(&event)))
    }

    fn endpoints(&mut self) -> Result<&[Endpoint], DbError> {
        if self.endpoints.is_none() {
            self.endpoints = Some(enabled_endpoints(self.txn)?);
        }
        Ok(self.endpoints.as_deref().unwrap_or_default())
    }

    /// Queues `event` for every endpoint that wants it for these stores. `phone` is the buyer
    /// the body names (forgetting them removes the delivery); `data` is the body's `data`.
    pub(super) fn emit(
        &mut self,
        event: OutboundEvent,
        stores: &[StoreId],
        phone: Option<&str>,
        at: i64,
        data: impl FnOnce() -> Value,
    ) -> Result<(), DbError> {
        let targets: Vec<EndpointId> = self
            .endpoints()?
            .iter()
            .filter(|e| e.wants(event, stores))
            .map(|e| e.id)
            .collect();
        if targets.is_empty() {
            return Ok(());
        }
        if self.queue.is_none() {
            self.queue = Some(Queue::open(self.txn)?);
        }
        let queue = self.queue.as_mut().expect("opened above");
        let data = data();
        let occurred_at = jiff::Timestamp::from_second(at)
            .map(|t| t.to_string())
            .unwrap_or_default();
        for endpoint_id in targets {
            let next = queue.meta.get("next_delivery")?.map_or(1, |v| v.value());
            queue.meta.insert("next_delivery", next + 1)?;
            let id = DeliveryId(next);
            let body = json!({
                "id": Delivery::public_id(id),
                "type": event.as_str(),
                "occurred_at": occurred_at,
                "data": data,
            });
            let delivery = Delivery {
                id,
                endpoint_id,
                event,
                body: serde_json::to_string(&body)?,
                created_at: at,
                state: DeliveryState::Pending,
                next_at: at,
                tries: 0,
                attempts: Vec::new(),
                phone: phone.map(str::to_owned),
            };
            queue.put(None, &delivery)?;
        }
        ring_outbound();
        Ok(())
    }
}

fn enabled_endpoints(txn: &WriteTransaction) -> Result<Vec<Endpoint>, DbError> {
    let table = txn.open_table(tables::OUTBOUND_ENDPOINTS)?;
    let mut out = Vec::new();
    for row in table.iter()? {
        let endpoint: Endpoint = from_json(row?.1.value())?;
        if endpoint.disabled.is_none() {
            out.push(endpoint);
        }
    }
    Ok(out)
}
