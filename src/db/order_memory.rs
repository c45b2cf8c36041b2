//! Order memory: the buyer of each order, remembered from the latest event of the order that named
//! one (`ORDER_BUYERS`), so a later event of the same order at the same store whose body names no
//! buyer (a thin "paid" after a full "boleto gerado") takes it inside the intake's transaction,
//! is planned like any other, and says where its buyer came from (`EventRecord::buyer_from`).
//! The rules of when a reading remembers or takes a buyer are `ingest::order_memory`'s.
//!
//! Bounded like the raw bodies: the retention sweep removes rows older than its limit; forgetting
//! a buyer removes every row that names them.

use redb::{ReadableTable, Table, WriteTransaction};
use serde::{Deserialize, Serialize};

use super::{Db, DbError, EventRecord, from_json, tables, to_json};
use crate::domain::{Customer, EventId, StoreId};
use crate::ingest::Reading;
use crate::ingest::order_memory::{take_buyer, to_remember, wants_buyer};

/// One remembered buyer: who, and the event that named them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(super) struct Remembered {
    pub event_id: EventId,
    /// When that event arrived (Unix seconds): retention's measure.
    pub at: i64,
    pub customer: Customer,
}

type Memory<'t> = Table<'t, (u64, &'static str), &'static [u8]>;

/// Gives `reading` the buyer remembered for its order, when it lacks one; returns the event the
/// buyer came from.
pub(super) fn recall(
    memory: &Memory<'_>,
    store_id: StoreId,
    reading: &mut Reading,
) -> Result<Option<EventId>, DbError> {
    let Some(order_id) = wants_buyer(reading) else {
        return Ok(None);
    };
    let Some(bytes) = memory.get((store_id.0, order_id))? else {
        return Ok(None);
    };
    let remembered: Remembered = from_json(bytes.value())?;
    Ok(take_buyer(reading, &remembered.customer).then_some(remembered.event_id))
}

/// Remembers the buyer `reading` names for its order (the latest one wins).
pub(super) fn remember(
    memory: &mut Memory<'_>,
    store_id: StoreId,
    event_id: EventId,
    at: i64,
    reading: &Reading,
) -> Result<(), DbError> {
    if let Some((order_id, customer)) = to_remember(reading) {
        let row = Remembered {
            event_id,
            at,
            customer: customer.clone(),
        };
        memory.insert((store_id.0, order_id), to_json(&row)?.as_slice())?;
    }
    Ok(())
}

/// Fills the memory from the events already stored (the schema step that adds it).
pub(super) fn rebuild(txn: &WriteTransaction) -> Result<(), DbError> {
    let events = txn.open_table(tables::EVENTS)?;
    let mut memory = txn.open_table(tables::ORDER_BUYERS)?;
    for row in events.iter()? {
        let record: EventRecord = from_json(row?.1.value())?;
        if record.erased_at.is_some() {
            continue;
        }
        let reading = Reading {
            status: record.status,
            reason: record.reason,
            event: record.event,
        };
        remember(
            &mut memory,
            record.store_id,
            record.id,
            record.received_at,
            &reading,
        )?;
    }
    Ok(())
}

/// Removes every remembered buyer with this E.164 phone (forgetting a buyer).
pub(super) fn forget_phone(txn: &WriteTransaction, e164: &str) -> Result<(), DbError> {
    let mut memory = txn.open_table(tables::ORDER_BUYERS)?;
    let mut doomed: Vec<(u64, String)> = Vec::new();
    for row in memory.iter()? {
        let (key, value) = row?;
        let remembered: Remembered = from_json(value.value())?;
        if remembered
            .customer
            .phone
            .as_ref()
            .is_some_and(|p| p.as_str() == e164)
        {
            let (store, order) = key.value();
            doomed.push((store, order.to_owned()));
        }
    }
    for (store, order) in doomed {
        memory.remove((store, order.as_str()))?;
    }
    Ok(())
}

/// Rows removed per transaction by the retention sweep.
const SWEEP_BATCH: usize = 2_000;

impl Db {
    /// Forgets the buyers remembered from events received before `cutoff` (retention): a thin
    /// event of an order older than the limit is "sem telefone" again. Returns how many went.
    pub fn purge_order_memory_before(&self, cutoff: i64) -> Result<u64, DbError> {
        let mut total = 0;
        loop {
            let txn = self.begin_write()?;
            let removed = {
                let mut memory = txn.open_table(tables::ORDER_BUYERS)?;
                let mut doomed: Vec<(u64, String)> = Vec::new();
                for row in memory.iter()? {
                    let (key, value) = row?;
                    let remembered: Remembered = from_json(value.value())?;
                    if remembered.at < cutoff {
                        let (store, order) = key.value();
                        doomed.push((store, order.to_owned()));
                        if doomed.len() >= SWEEP_BATCH {
                            break;
                        }
                    }
                }
                for (store, order) in &doomed {
                    memory.remove((*store, order.as_str()))?;
                }
                doomed.len()
            };
            txn.commit()?;
            total += removed as u64;
            if removed < SWEEP_BATCH {
                return Ok(total);
            }
        }
    }

    /// The buyer remembered for an order, if any: (the event that named them, who).
    pub fn remembered_buyer(
        &self,
        store_id: StoreId,
        order_id: &str,
    ) -> Result<Option<(EventId, Customer)>, DbError> {
        let read = self.begin_read()?;
        let table = read.open_table(tables::ORDER_BUYERS)?;
        let Some(bytes) = table.get((store_id.0, order_id))? else {
            return Ok(None);
        };
        let row: Remembered = from_json(bytes.value())?;
        Ok(Some((row.event_id, row.customer)))
    }
}
