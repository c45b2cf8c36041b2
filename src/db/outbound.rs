//! Outbound webhooks' storage: endpoints, and the delivery queue written by `Emitter` inside the
//! transaction of the change it reports (a message's write through `Ledger::put`, an event's
//! recording, an opt-out, a reply), so a change and its notification commit or vanish together.
//! The sender (`queue::outbound`) claims due deliveries under a lease and records each attempt;
//! the rules (schedule, failure window) are `domain::outbound`'s.

use std::time::Duration;

use redb::{ReadableTable, Table, WriteTransaction};
use serde_json::{Value, json};

use super::bell::Bell;
use super::{Db, DbError, from_json, tables, to_json};
use crate::domain::outbound::{
    Attempt, Delivery, DeliveryState, Endpoint, EndpointDisabled, LEASE_S, OutboundEvent, Outcome,
};
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

struct Queue<'txn> {
    deliveries: Table<'txn, u64, &'static [u8]>,
    due: Table<'txn, (i64, u64), ()>,
    log: Table<'txn, (u64, u64), ()>,
    meta: Table<'txn, &'static str, u64>,
}

impl<'txn> Queue<'txn> {
    fn open(txn: &'txn WriteTransaction) -> Result<Queue<'txn>, DbError> {
        Ok(Queue {
            deliveries: txn.open_table(tables::OUTBOUND_DELIVERIES)?,
            due: txn.open_table(tables::OUTBOUND_DUE)?,
            log: txn.open_table(tables::OUTBOUND_LOG)?,
            meta: txn.open_table(tables::OUTBOUND_META)?,
        })
    }

    /// Stores a delivery and keeps the due index in step with its state.
    fn put(&mut self, before: Option<&Delivery>, after: &Delivery) -> Result<(), DbError> {
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
    fn drop_pending(&mut self, endpoint: EndpointId) -> Result<(), DbError> {
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

    fn get(&self, id: DeliveryId) -> Result<Option<Delivery>, DbError> {
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
        if self.endpoints.is_none() {
            self.endpoints = Some(enabled_endpoints(self.txn)?);
        }
        let targets: Vec<EndpointId> = self
            .endpoints
            .iter()
            .flatten()
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

/// What an admin registers.
#[derive(Clone, Debug)]
pub struct NewEndpoint {
    pub url: String,
    pub description: String,
    pub events: Vec<OutboundEvent>,
    pub store_id: Option<StoreId>,
    pub secret: String,
}

/// A claimed delivery and where it goes.
#[derive(Clone, Debug)]
pub struct Claimed {
    pub delivery: Delivery,
    pub endpoint: Endpoint,
}

impl Db {
    pub fn create_endpoint(&self, new: NewEndpoint, now: i64) -> Result<Endpoint, DbError> {
        let txn = self.begin_write()?;
        let endpoint = Endpoint {
            id: EndpointId(super::next_id(&txn, "outbound_endpoints")?),
            url: new.url,
            description: new.description,
            events: new.events,
            store_id: new.store_id,
            secret: new.secret,
            created_at: now,
            disabled: None,
            disabled_at: None,
            failing_since: None,
        };
        txn.open_table(tables::OUTBOUND_ENDPOINTS)?
            .insert(endpoint.id.0, to_json(&endpoint)?.as_slice())?;
        txn.commit()?;
        Ok(endpoint)
    }

    pub fn list_endpoints(&self) -> Result<Vec<Endpoint>, DbError> {
        let read = self.begin_read()?;
        let table = read.open_table(tables::OUTBOUND_ENDPOINTS)?;
        table.iter()?.map(|row| from_json(row?.1.value())).collect()
    }

    pub fn endpoint(&self, id: EndpointId) -> Result<Endpoint, DbError> {
        let read = self.begin_read()?;
        let table = read.open_table(tables::OUTBOUND_ENDPOINTS)?;
        let bytes = table.get(id.0)?.ok_or(DbError::NotFound)?;
        from_json(bytes.value())
    }

    /// Switches an endpoint on (clearing its failure window) or off (by the admin).
    pub fn set_endpoint_enabled(
        &self,
        id: EndpointId,
        enabled: bool,
        now: i64,
    ) -> Result<Endpoint, DbError> {
        let txn = self.begin_write()?;
        let endpoint = {
            let mut table = txn.open_table(tables::OUTBOUND_ENDPOINTS)?;
            let mut endpoint: Endpoint =
                from_json(table.get(id.0)?.ok_or(DbError::NotFound)?.value())?;
            if enabled {
                endpoint.disabled = None;
                endpoint.disabled_at = None;
                endpoint.failing_since = None;
            } else if endpoint.disabled.is_none() {
                endpoint.disabled = Some(EndpointDisabled::ByAdmin);
                endpoint.disabled_at = Some(now);
            }
            table.insert(id.0, to_json(&endpoint)?.as_slice())?;
            endpoint
        };
        txn.commit()?;
        Ok(endpoint)
    }

    /// Removes an endpoint with its deliveries and their log.
    pub fn delete_endpoint(&self, id: EndpointId) -> Result<(), DbError> {
        let txn = self.begin_write()?;
        if txn
            .open_table(tables::OUTBOUND_ENDPOINTS)?
            .remove(id.0)?
            .is_none()
        {
            return Err(DbError::NotFound);
        }
        {
            let mut queue = Queue::open(&txn)?;
            let ids: Vec<u64> = queue
                .log
                .range((id.0, 0)..=(id.0, u64::MAX))?
                .map(|row| row.map(|(k, _)| k.value().1))
                .collect::<Result<_, _>>()?;
            for delivery_id in ids {
                queue.log.remove((id.0, delivery_id))?;
                if let Some(d) = queue.get(DeliveryId(delivery_id))? {
                    if d.state == DeliveryState::Pending {
                        queue.due.remove((d.next_at, d.id.0))?;
                    }
                    queue.deliveries.remove(delivery_id)?;
                }
            }
        }
        txn.commit()?;
        Ok(())
    }

    /// An endpoint's deliveries, newest first, at most `limit`.
    pub fn endpoint_deliveries(
        &self,
        id: EndpointId,
        limit: usize,
    ) -> Result<Vec<Delivery>, DbError> {
        let read = self.begin_read()?;
        let log = read.open_table(tables::OUTBOUND_LOG)?;
        let deliveries = read.open_table(tables::OUTBOUND_DELIVERIES)?;
        let mut out = Vec::new();
        for row in log.range((id.0, 0)..=(id.0, u64::MAX))?.rev().take(limit) {
            let delivery_id = row?.0.value().1;
            if let Some(bytes) = deliveries.get(delivery_id)? {
                out.push(from_json(bytes.value())?);
            }
        }
        Ok(out)
    }

    pub fn delivery(&self, id: DeliveryId) -> Result<Delivery, DbError> {
        let read = self.begin_read()?;
        let table = read.open_table(tables::OUTBOUND_DELIVERIES)?;
        let bytes = table.get(id.0)?.ok_or(DbError::NotFound)?;
        from_json(bytes.value())
    }

    /// "Reenviar": the delivery is due now, from the start of the schedule.
    pub fn resend_delivery(&self, id: DeliveryId, now: i64) -> Result<Delivery, DbError> {
        let txn = self.begin_write()?;
        let delivery = {
            let mut queue = Queue::open(&txn)?;
            let before = queue.get(id)?.ok_or(DbError::NotFound)?;
            let mut after = before.clone();
            crate::domain::outbound::resend(&mut after, now);
            queue.put(Some(&before), &after)?;
            after
        };
        txn.commit()?;
        ring_outbound();
        Ok(delivery)
    }

    /// When the earliest pending delivery is due.
    pub fn next_delivery_due(&self) -> Result<Option<i64>, DbError> {
        let read = self.begin_read()?;
        let due = read.open_table(tables::OUTBOUND_DUE)?;
        Ok(due.first()?.map(|(k, _)| k.value().0))
    }

    /// Takes up to `limit` deliveries due by `now`, holding each under a lease (`LEASE_S`): a
    /// process that dies mid-call leaves it due again when the lease ends. Deliveries of a
    /// disabled or removed endpoint are dropped instead.
    pub fn claim_deliveries(&self, now: i64, limit: usize) -> Result<Vec<Claimed>, DbError> {
        let txn = self.begin_write()?;
        let mut claimed = Vec::new();
        let mut changed = false;
        {
            let endpoints = txn.open_table(tables::OUTBOUND_ENDPOINTS)?;
            let mut queue = Queue::open(&txn)?;
            let due: Vec<(i64, u64)> = queue
                .due
                .range(..=(now, u64::MAX))?
                .take(limit)
                .map(|row| row.map(|(k, _)| k.value()))
                .collect::<Result<_, _>>()?;
            for (_, id) in due {
                let Some(before) = queue.get(DeliveryId(id))? else {
                    continue;
                };
                let endpoint: Option<Endpoint> = endpoints
                    .get(before.endpoint_id.0)?
                    .map(|b| from_json(b.value()))
                    .transpose()?;
                let mut after = before.clone();
                changed = true;
                match endpoint {
                    Some(endpoint) if endpoint.disabled.is_none() => {
                        after.next_at = now + LEASE_S;
                        queue.put(Some(&before), &after)?;
                        claimed.push(Claimed {
                            delivery: after,
                            endpoint,
                        });
                    }
                    _ => {
                        after.state = DeliveryState::Dropped;
                        queue.put(Some(&before), &after)?;
                    }
                }
            }
        }
        if changed {
            txn.commit()?;
        } else {
            txn.abort()?;
        }
        Ok(claimed)
    }

    /// Records an attempt's outcome on its delivery and endpoint (the failure window, disabling).
    /// Returns the endpoint as it now stands.
    pub fn record_delivery_attempt(
        &self,
        id: DeliveryId,
        outcome: Outcome,
        attempt: Attempt,
        jitter: f64,
    ) -> Result<Endpoint, DbError> {
        let txn = self.begin_write()?;
        let endpoint = {
            let mut endpoints = txn.open_table(tables::OUTBOUND_ENDPOINTS)?;
            let mut queue = Queue::open(&txn)?;
            let before = queue.get(id)?.ok_or(DbError::NotFound)?;
            let mut endpoint: Endpoint = from_json(
                endpoints
                    .get(before.endpoint_id.0)?
                    .ok_or(DbError::NotFound)?
                    .value(),
            )?;
            let mut after = before.clone();
            let disabled = crate::domain::outbound::record_attempt(
                &mut after,
                &mut endpoint,
                outcome,
                attempt,
                jitter,
            );
            queue.put(Some(&before), &after)?;
            if disabled {
                queue.drop_pending(endpoint.id)?;
            }
            endpoints.insert(endpoint.id.0, to_json(&endpoint)?.as_slice())?;
            endpoint
        };
        txn.commit()?;
        Ok(endpoint)
    }

    /// Endpoints switched off because they kept failing (the dashboard's alert).
    pub fn failing_endpoints(&self) -> Result<Vec<Endpoint>, DbError> {
        Ok(self
            .list_endpoints()?
            .into_iter()
            .filter(|e| e.disabled == Some(EndpointDisabled::Failing))
            .collect())
    }

    /// Queues `instance.state` for the stores linked to the instance (its own transaction: the
    /// state lives in the channel, not in the file).
    pub fn emit_instance_state(
        &self,
        instance_id: crate::domain::InstanceId,
        state: Value,
        at: i64,
    ) -> Result<(), DbError> {
        let txn = self.begin_write()?;
        let stores = super::outbound_report::stores_of_instance(&txn, instance_id)?;
        Emitter::new(&txn).emit(
            OutboundEvent::InstanceState,
            &stores,
            None,
            at,
            || json!({ "instance_id": instance_id, "state": state }),
        )?;
        txn.commit()?;
        Ok(())
    }
}

/// Deliveries looked at per retention transaction (the writer is free between them).
const SWEEP_BATCH: usize = 2_000;

impl Db {
    /// Retention: removes finished deliveries (delivered, failed, dropped) whose last activity
    /// is before `cutoff` (the raw bodies' window), with their log entries; pending ones stay.
    /// Ids grow with creation time, so the sweep ends at the first delivery created after the
    /// cutoff. In batches of `SWEEP_BATCH`. Returns how many went.
    pub fn purge_deliveries_before(&self, cutoff: i64) -> Result<u64, DbError> {
        let mut total = 0;
        let mut next = 0u64;
        loop {
            let txn = self.begin_write()?;
            let (removed, done) = {
                let mut queue = Queue::open(&txn)?;
                let mut expired = Vec::new();
                let mut done = true;
                let mut scanned = 0;
                for row in queue.deliveries.range(next..)? {
                    let (id, bytes) = row?;
                    let delivery: Delivery = from_json(bytes.value())?;
                    if delivery.created_at >= cutoff {
                        break;
                    }
                    next = id.value() + 1;
                    if crate::domain::outbound::expired(&delivery, cutoff) {
                        expired.push((delivery.endpoint_id, delivery.id));
                    }
                    scanned += 1;
                    if scanned >= SWEEP_BATCH {
                        done = false;
                        break;
                    }
                }
                for (endpoint, id) in &expired {
                    queue.log.remove((endpoint.0, id.0))?;
                    queue.deliveries.remove(id.0)?;
                }
                (expired.len() as u64, done)
            };
            txn.commit()?;
            total += removed;
            if done {
                return Ok(total);
            }
        }
    }
}

/// Removes every delivery that names the buyer (LGPD: forget the buyer).
pub(super) fn forget_deliveries(txn: &WriteTransaction, phone: &str) -> Result<u64, DbError> {
    let mut queue = Queue::open(txn)?;
    let named: Vec<Delivery> = queue
        .deliveries
        .iter()?
        .filter_map(|row| match row {
            Ok((_, v)) => match from_json::<Delivery>(v.value()) {
                Ok(d) if d.phone.as_deref() == Some(phone) => Some(Ok(d)),
                Ok(_) => None,
                Err(e) => Some(Err(e)),
            },
            Err(e) => Some(Err(e.into())),
        })
        .collect::<Result<_, DbError>>()?;
    for d in &named {
        if d.state == DeliveryState::Pending {
            queue.due.remove((d.next_at, d.id.0))?;
        }
        queue.log.remove((d.endpoint_id.0, d.id.0))?;
        queue.deliveries.remove(d.id.0)?;
    }
    Ok(named.len() as u64)
}
