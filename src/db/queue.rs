//! The outbox index and its per-store depth, changed together: every write to `OUTBOX` goes
//! through `Queue`, so the depth counters never drift from the index.

use redb::{ReadableTable, Table, WriteTransaction};

use super::{DbError, tables};
use crate::domain::{MessageId, StoreId};

pub(super) struct Queue<'txn> {
    outbox: Table<'txn, (i64, u64), ()>,
    depth: Table<'txn, u64, u64>,
}

impl<'txn> Queue<'txn> {
    pub(super) fn open(txn: &'txn WriteTransaction) -> Result<Queue<'txn>, DbError> {
        Ok(Queue {
            outbox: txn.open_table(tables::OUTBOX)?,
            depth: txn.open_table(tables::OUTBOX_DEPTH)?,
        })
    }

    /// Schedules message `id` of `store_id` at `due`.
    pub(super) fn push(
        &mut self,
        due: i64,
        id: MessageId,
        store_id: StoreId,
    ) -> Result<(), DbError> {
        if self.outbox.insert((due, id.0), ())?.is_none() {
            let n = self.depth.get(store_id.0)?.map(|v| v.value()).unwrap_or(0);
            self.depth.insert(store_id.0, n + 1)?;
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
            let n = self.depth.get(store_id.0)?.map(|v| v.value()).unwrap_or(0);
            if n <= 1 {
                self.depth.remove(store_id.0)?;
            } else {
                self.depth.insert(store_id.0, n - 1)?;
            }
        }
        Ok(())
    }
}
