//! The outbox index and its per-store depth, changed together: every write to `OUTBOX` goes
//! through `Queue`, so the depth counters never drift from the index. A `deferred` queue sums
//! the depth changes per store and writes them once in `flush` (the intake's group commit).

use std::collections::BTreeMap;

use redb::{ReadableTable, Table, WriteTransaction};

use super::{DbError, tables};
use crate::domain::{MessageId, StoreId};

pub(super) struct Queue<'txn> {
    outbox: Table<'txn, (i64, u64), ()>,
    depth: Table<'txn, u64, u64>,
    /// Depth changes per store not written yet (deferred queues only).
    pending: BTreeMap<u64, i64>,
    deferred: bool,
}

impl<'txn> Queue<'txn> {
    pub(super) fn open(txn: &'txn WriteTransaction) -> Result<Queue<'txn>, DbError> {
        Queue::with(txn, false)
    }

    /// A queue whose depth changes wait for `flush`, which must run before the commit.
    pub(super) fn deferred(txn: &'txn WriteTransaction) -> Result<Queue<'txn>, DbError> {
        Queue::with(txn, true)
    }

    fn with(txn: &'txn WriteTransaction, deferred: bool) -> Result<Queue<'txn>, DbError> {
        Ok(Queue {
            outbox: txn.open_table(tables::OUTBOX)?,
            depth: txn.open_table(tables::OUTBOX_DEPTH)?,
            pending: BTreeMap::new(),
            deferred,
        })
    }

    /// Writes the summed depth changes: one read-modify-write per store.
    pub(super) fn flush(&mut self) -> Result<(), DbError> {
        for (store, delta) in std::mem::take(&mut self.pending) {
            add_depth(&mut self.depth, store, delta)?;
        }
        Ok(())
    }

    fn count(&mut self, store_id: StoreId, delta: i64) -> Result<(), DbError> {
        if self.deferred {
            *self.pending.entry(store_id.0).or_default() += delta;
            Ok(())
        } else {
            add_depth(&mut self.depth, store_id.0, delta)
        }
    }

    /// Schedules message `id` of `store_id` at `due`.
    pub(super) fn push(
        &mut self,
        due: i64,
        id: MessageId,
        store_id: StoreId,
    ) -> Result<(), DbError> {
        if self.outbox.insert((due, id.0), ())?.is_none() {
            self.count(store_id, 1)?;
        }
        Ok(())
    }

    /// Takes message `id` out of the schedule (a no-op when it was not there).
    pub(super) fn pull(
        &mut self,
        due: i64,
        id: MessageId,
        store_id: StoreId,
    ) -> Result<(), DbError> {
        if self.outbox.remove((due, id.0))?.is_some() {
            self.count(store_id, -1)?;
        }
        Ok(())
    }
}

/// Adds `delta` to a store's depth, removing the row when it comes to zero.
fn add_depth(depth: &mut Table<'_, u64, u64>, store: u64, delta: i64) -> Result<(), DbError> {
    if delta == 0 {
        return Ok(());
    }
    let n = depth.get(store)?.map(|v| v.value()).unwrap_or(0);
    let next = n.saturating_add_signed(delta);
    if next == 0 {
        depth.remove(store)?;
    } else {
        depth.insert(store, next)?;
    }
    Ok(())
}

impl Drop for Queue<'_> {
    fn drop(&mut self) {
        debug_assert!(
            self.pending.is_empty() || std::thread::panicking(),
            "a deferred queue was dropped before its depth was flushed"
        );
    }
}
