//! The dedup index: (store, dedup key) -> the event that first carried it, asked for every
//! reading before its event is stored.
//!
//! Platforms' dedup keys are random (UUIDs, transaction codes), so inserting each new key into
//! one B-tree dirtied a leaf page of its own at every group commit: ~4 KiB written per event,
//! about half of what the intake wrote (docs/BENCHMARKS.md). New keys are therefore written in
//! two steps:
//! - first appended to `DEDUP_LOG`, keyed by event id, so one group commit's keys share the log's
//!   last leaf; an in-memory copy of the log (`Recent`) answers look-ups for them;
//! - then moved to the merged index `DEDUP` in chunks, where many keys share each leaf written:
//!   by the intake writer once it has been idle for a moment (`Db::merge_dedup_log`), and inside
//!   the group commit itself once the log holds `DbOptions::dedup_log_keys` keys (twice as many
//!   as the commit added), so the copy's memory stays bounded under any load.
//!
//! A look-up asks the copy, then `DEDUP`. A write transaction locks the copy right after it
//! began and holds it until its commit returned, changing it in place as it adds and moves keys,
//! so the next transaction always sees it whole; a transaction that changed it and did not
//! commit (aborted, failed, or a commit whose outcome is unknown) leaves it to be read again from
//! the log, as does a reopen of the file.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use redb::{ReadableTable, Table, WriteTransaction};

use super::bell::Bell;
use super::{Db, DbError, tables};

/// Rung after each transaction that moved keys out of the log.
static MERGED: Bell = Bell::new();

/// How many times keys were moved out of the dedup log: pass it to `wait_for_dedup_merge`.
pub fn dedup_merge_rings() -> u64 {
    MERGED.rings()
}

/// Blocks until keys are moved out of the dedup log again, or `timeout` passes.
pub fn wait_for_dedup_merge(seen: u64, timeout: std::time::Duration) {
    MERGED.wait(seen, timeout);
}

/// At least this many keys are moved when a group commit finds the log over its bound.
const SPILL_MIN: usize = 64;

/// Keys by store.
type ByStore = HashMap<u64, HashMap<Box<str>, u64>>;

/// The in-memory copy of `DEDUP_LOG`, shared by every clone of a `Db`.
#[derive(Default)]
pub(super) struct Recent {
    /// The handle generation the copy was read in; `None` until read, or after a failed commit.
    read_in: Option<u64>,
    keys: ByStore,
    len: usize,
}

pub(super) type Shared = Arc<Mutex<Recent>>;

/// The copy, locked. A panic while it was held left it marked for re-reading (`Keys`'s drop).
fn lock(shared: &Shared) -> MutexGuard<'_, Recent> {
    shared
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Recent {
    fn get(&self, store: u64, key: &str) -> Option<u64> {
        self.keys.get(&store)?.get(key).copied()
    }

    /// Adds the key unless present (the first event keeps it); whether it was new.
    fn add(&mut self, store: u64, key: Box<str>, id: u64) -> bool {
        let of_store = self.keys.entry(store).or_default();
        if of_store.contains_key(&key) {
            return false;
        }
        of_store.insert(key, id);
        self.len += 1;
        true
    }

    fn remove(&mut self, store: u64, key: &str) {
        if let Some(of_store) = self.keys.get_mut(&store)
            && of_store.remove(key).is_some()
        {
            self.len -= 1;
            if of_store.is_empty() {
                self.keys.remove(&store);
            }
        }
        if self.len == 0 {
            // A drained burst gives its memory back.
            self.keys = ByStore::default();
        }
    }

    /// Drops the keys but not the generation they were read in.
    #[cfg(test)]
    pub(super) fn forget_keys(&mut self) {
        self.keys = ByStore::default();
        self.len = 0;
    }

    /// Reads the whole log again (a fresh start, a reopen, a failed commit).
    fn reload(
        &mut self,
        log: &impl ReadableTable<(u64, u64, &'static str), ()>,
        generation: u64,
    ) -> Result<(), DbError> {
        self.keys = ByStore::default();
        self.len = 0;
        for row in log.iter()? {
            let row = row?;
            let (id, store, key) = row.0.value();
            self.add(store, key.into(), id);
        }
        self.read_in = Some(generation);
        Ok(())
    }
}

/// The keys of one write transaction: the locked copy, changed in place as the transaction adds
/// and moves keys. `commit` replaces `txn.commit()`; dropped without a successful commit, it
/// leaves the copy to be read again from the log.
pub(super) struct Keys<'db> {
    recent: MutexGuard<'db, Recent>,
    txn: InTxn,
}

struct InTxn {
    bound: usize,
    added: usize,
    /// The copy holds changes not yet committed.
    dirty: bool,
}

impl Drop for Keys<'_> {
    fn drop(&mut self) {
        if self.txn.dirty {
            // Aborted, failed, or its commit's outcome unknown: the log says what is on disk.
            self.recent.read_in = None;
        }
    }
}

/// Locks the copy for the transaction `txn` (begun by the caller: the lock is always taken after
/// the write lock), reading the log first if the copy is stale.
pub(super) fn keys<'db>(
    shared: &'db Shared,
    txn: &WriteTransaction,
    generation: u64,
    bound: usize,
) -> Result<Keys<'db>, DbError> {
    let mut recent = lock(shared);
    if recent.read_in != Some(generation) {
        recent.reload(&txn.open_table(tables::DEDUP_LOG)?, generation)?;
    }
    Ok(Keys {
        recent,
        txn: InTxn {
            bound,
            added: 0,
            dirty: false,
        },
    })
}

/// How many keys wait in the log, reading it first (in a read transaction `read` begins) if the
/// copy is stale.
fn backlog(
    shared: &Shared,
    read: impl FnOnce() -> Result<redb::ReadTransaction, DbError>,
    generation: u64,
) -> Result<usize, DbError> {
    let mut recent = lock(shared);
    if recent.read_in != Some(generation) {
        match read()?.open_table(tables::DEDUP_LOG) {
            Ok(log) => recent.reload(&log, generation)?,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(0),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(recent.len)
}

impl Keys<'_> {
    /// The index as seen inside `txn`.
    pub(super) fn index<'k, 'txn>(
        &'k mut self,
        txn: &'txn WriteTransaction,
    ) -> Result<Index<'k, 'txn>, DbError> {
        Ok(Index {
            recent: &mut self.recent,
            txn: &mut self.txn,
            merged: txn.open_table(tables::DEDUP)?,
            log: txn.open_table(tables::DEDUP_LOG)?,
        })
    }

    /// Commits `txn`: the copy's changes stand only once that succeeded.
    pub(super) fn commit(mut self, txn: WriteTransaction) -> Result<(), DbError> {
        txn.commit()?;
        self.txn.dirty = false;
        Ok(())
    }
}

/// The dedup index inside one write transaction.
pub(super) struct Index<'k, 'txn> {
    recent: &'k mut Recent,
    txn: &'k mut InTxn,
    merged: Table<'txn, (u64, &'static str), u64>,
    log: Table<'txn, (u64, u64, &'static str), ()>,
}

impl Index<'_, '_> {
    /// The event that first carried `key` in `store`, if any.
    pub(super) fn get(&self, store: u64, key: &str) -> Result<Option<u64>, DbError> {
        if let Some(id) = self.recent.get(store, key) {
            return Ok(Some(id));
        }
        Ok(self.merged.get((store, key))?.map(|v| v.value()))
    }

    /// Records that event `id` carries `key` (the caller asked `get` first).
    pub(super) fn insert(&mut self, store: u64, key: &str, id: u64) -> Result<(), DbError> {
        self.txn.dirty = true;
        if self.recent.add(store, key.into(), id) {
            self.log.insert((id, store, key), ())?;
            self.txn.added += 1;
        }
        Ok(())
    }

    /// Ends the transaction's use of the index: when the log outgrew its bound, its oldest keys
    /// move to the merged index in this same transaction.
    pub(super) fn finish(mut self) -> Result<(), DbError> {
        if self.recent.len > self.txn.bound {
            let n = (2 * self.txn.added).max(SPILL_MIN);
            self.move_oldest(n)?;
        }
        Ok(())
    }

    /// Moves up to `n` of the log's oldest keys to the merged index; how many moved.
    pub(super) fn move_oldest(&mut self, n: usize) -> Result<usize, DbError> {
        let mut moved = 0;
        while moved < n {
            let Some((row, _)) = self.log.pop_first()? else {
                break;
            };
            self.txn.dirty = true;
            let (id, store, key) = row.value();
            if self.merged.get((store, key))?.is_none() {
                self.merged.insert((store, key), id)?;
            }
            self.recent.remove(store, key);
            moved += 1;
        }
        Ok(moved)
    }

    /// Keys in the log as this transaction sees it.
    #[cfg(test)]
    pub(super) fn log_len(&self) -> Result<u64, DbError> {
        use redb::ReadableTableMetadata as _;
        Ok(self.log.len()?)
    }
}

impl Db {
    /// The dedup keys for `txn`, a write transaction the caller just began.
    pub(super) fn dedup_keys(&self, txn: &WriteTransaction) -> Result<Keys<'_>, DbError> {
        keys(
            &self.dedup,
            txn,
            self.handle.generation(),
            self.dedup_log_keys,
        )
    }

    /// How many new dedup keys wait in the log for `merge_dedup_log`.
    pub fn dedup_backlog(&self) -> Result<usize, DbError> {
        backlog(&self.dedup, || self.begin_read(), self.handle.generation())
    }

    /// Moves up to `max` of the log's oldest dedup keys to the merged index, in one transaction;
    /// how many moved. The intake writer calls it when it has had nothing to write for a moment.
    pub fn merge_dedup_log(&self, max: usize) -> Result<usize, DbError> {
        let txn = self.begin_write()?;
        let mut keys = self.dedup_keys(&txn)?;
        let moved = keys.index(&txn)?.move_oldest(max)?;
        if moved == 0 {
            drop(keys);
            txn.abort()?;
            return Ok(0);
        }
        keys.commit(txn)?;
        MERGED.ring();
        Ok(moved)
    }
}
