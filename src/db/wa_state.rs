//! The WhatsApp library's state (device keys, Signal sessions, app-state versions, …) as a plain
//! per-instance key/value namespace: one table keyed `(instance id, space, key bytes)`. This file
//! knows nothing of the library; `channels/whatsapp/backend.rs` gives the spaces and bytes their
//! meaning. Every write goes through one durable write transaction, so a batch is all-or-nothing
//! and a read-modify-write sees no interleaved writer.

use redb::ReadableTable;

use super::{Db, DbError, tables};
use crate::domain::InstanceId;

type Key<'a> = (u64, u8, &'a [u8]);

/// One row of a space: its key (without the instance and space) and its value.
pub type WaRow = (Vec<u8>, Vec<u8>);

/// One change inside an atomic `wa_apply`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WaOp {
    Put {
        space: u8,
        key: Vec<u8>,
        value: Vec<u8>,
    },
    Delete {
        space: u8,
        key: Vec<u8>,
    },
    /// Every key of `space` that starts with `prefix`.
    DeletePrefix {
        space: u8,
        prefix: Vec<u8>,
    },
    ClearSpace {
        space: u8,
    },
}

/// The instance's rows inside one open write transaction, for reads that decide writes
/// (read-modify-write). Handed out by `Db::wa_write`; nothing here outlives the transaction.
pub struct WaWrite<'t> {
    table: redb::Table<'t, Key<'static>, &'static [u8]>,
    instance: u64,
}

impl WaWrite<'_> {
    pub fn get(&self, space: u8, key: &[u8]) -> Result<Option<Vec<u8>>, DbError> {
        Ok(self
            .table
            .get((self.instance, space, key))?
            .map(|v| v.value().to_vec()))
    }

    /// Rows of `space` whose key starts with `prefix`, in key order.
    pub fn scan(&self, space: u8, prefix: &[u8]) -> Result<Vec<WaRow>, DbError> {
        let range = PrefixRange::new(self.instance, space, prefix);
        collect(self.table.range::<Key<'_>>(range.bounds())?)
    }

    pub fn put(&mut self, space: u8, key: &[u8], value: &[u8]) -> Result<(), DbError> {
        self.table.insert((self.instance, space, key), value)?;
        Ok(())
    }

    /// Removes one row; answers whether it was there.
    pub fn delete(&mut self, space: u8, key: &[u8]) -> Result<bool, DbError> {
        Ok(self.table.remove((self.instance, space, key))?.is_some())
    }

    /// Removes every row of `space` whose key starts with `prefix`; answers how many.
    pub fn delete_prefix(&mut self, space: u8, prefix: &[u8]) -> Result<u64, DbError> {
        let range = PrefixRange::new(self.instance, space, prefix);
        let mut removed = 0;
        for row in self
            .table
            .extract_from_if::<Key<'_>, _>(range.bounds(), |_, _| true)?
        {
            row?;
            removed += 1;
        }
        Ok(removed)
    }

    pub fn apply(&mut self, op: &WaOp) -> Result<(), DbError> {
        match op {
            WaOp::Put { space, key, value } => self.put(*space, key, value),
            WaOp::Delete { space, key } => self.delete(*space, key).map(drop),
            WaOp::DeletePrefix { space, prefix } => self.delete_prefix(*space, prefix).map(drop),
            WaOp::ClearSpace { space } => self.delete_prefix(*space, &[]).map(drop),
        }
    }
}

/// The instance's rows in one read snapshot, for answers that need several consistent reads.
/// Handed out by `Db::wa_read`.
pub struct WaRead {
    table: redb::ReadOnlyTable<Key<'static>, &'static [u8]>,
    instance: u64,
}

impl WaRead {
    pub fn get(&self, space: u8, key: &[u8]) -> Result<Option<Vec<u8>>, DbError> {
        Ok(self
            .table
            .get((self.instance, space, key))?
            .map(|v| v.value().to_vec()))
    }

    /// Rows of `space` whose key starts with `prefix` (empty: the whole space), in key order.
    pub fn scan(&self, space: u8, prefix: &[u8]) -> Result<Vec<WaRow>, DbError> {
        let range = PrefixRange::new(self.instance, space, prefix);
        collect(self.table.range::<Key<'_>>(range.bounds())?)
    }

    /// The row with the greatest key in a space, if any.
    pub fn last(&self, space: u8) -> Result<Option<WaRow>, DbError> {
        let range = PrefixRange::new(self.instance, space, &[]);
        match self.table.range::<Key<'_>>(range.bounds())?.next_back() {
            Some(row) => {
                let (k, v) = row?;
                Ok(Some((k.value().2.to_vec(), v.value().to_vec())))
            }
            None => Ok(None),
        }
    }
}

impl Db {
    /// Runs `read` over one consistent snapshot of the instance's rows.
    pub fn wa_read<T, E: From<DbError>>(
        &self,
        instance: InstanceId,
        read: impl FnOnce(&WaRead) -> Result<T, E>,
    ) -> Result<T, E> {
        let txn = self.begin_read()?;
        let table = txn.open_table(tables::WA_STATE).map_err(DbError::from)?;
        read(&WaRead {
            table,
            instance: instance.0,
        })
    }

    /// One row of an instance's WhatsApp state.
    pub fn wa_get(
        &self,
        instance: InstanceId,
        space: u8,
        key: &[u8],
    ) -> Result<Option<Vec<u8>>, DbError> {
        self.wa_read(instance, |r| r.get(space, key))
    }

    /// Rows of one space whose key starts with `prefix` (empty: the whole space), in key order.
    pub fn wa_scan(
        &self,
        instance: InstanceId,
        space: u8,
        prefix: &[u8],
    ) -> Result<Vec<WaRow>, DbError> {
        self.wa_read(instance, |r| r.scan(space, prefix))
    }

    /// The row with the greatest key in a space, if any.
    pub fn wa_last(&self, instance: InstanceId, space: u8) -> Result<Option<WaRow>, DbError> {
        self.wa_read(instance, |r| r.last(space))
    }

    /// Applies `ops` in order in one durable write transaction: all of them or none.
    pub fn wa_apply(&self, instance: InstanceId, ops: &[WaOp]) -> Result<(), DbError> {
        self.wa_write(instance, |w| {
            for op in ops {
                w.apply(op)?;
            }
            Ok::<_, DbError>(())
        })
    }

    /// Runs `change` inside one durable write transaction over the instance's rows: what it
    /// reads no other writer can change before its writes commit. An error from `change` rolls
    /// everything back.
    pub fn wa_write<T, E: From<DbError>>(
        &self,
        instance: InstanceId,
        change: impl FnOnce(&mut WaWrite<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let txn = self.begin_write()?;
        let out = {
            let table = txn.open_table(tables::WA_STATE).map_err(DbError::from)?;
            let mut write = WaWrite {
                table,
                instance: instance.0,
            };
            change(&mut write)?
        };
        txn.commit().map_err(DbError::from)?;
        Ok(out)
    }

    /// Forgets everything the WhatsApp library stored for an instance (logged out from the
    /// phone, or the instance deleted); answers how many rows went.
    pub fn wa_wipe_instance(&self, instance: InstanceId) -> Result<u64, DbError> {
        let txn = self.begin_write()?;
        let removed = wipe_in(&txn, instance)?;
        txn.commit()?;
        Ok(removed)
    }

    /// Whether the instance has any stored WhatsApp state in `space` (e.g. a device record).
    pub fn wa_has_any(&self, instance: InstanceId, space: u8) -> Result<bool, DbError> {
        self.wa_read(instance, |r| {
            let range = PrefixRange::new(instance.0, space, &[]);
            Ok(r.table.range::<Key<'_>>(range.bounds())?.next().is_some())
        })
    }
}

/// Removes every row of one instance inside `txn` (also used by instance deletion).
pub(super) fn wipe_in(txn: &redb::WriteTransaction, instance: InstanceId) -> Result<u64, DbError> {
    use std::ops::Bound;
    let instance = instance.0;
    let mut table = txn.open_table(tables::WA_STATE)?;
    let lower: Key<'_> = (instance, 0, &[]);
    let upper = match instance.checked_add(1) {
        Some(next) => Bound::Excluded((next, 0u8, &[][..])),
        None => Bound::Unbounded,
    };
    let mut removed = 0;
    for row in table.extract_from_if::<Key<'_>, _>((Bound::Included(lower), upper), |_, _| true)? {
        row?;
        removed += 1;
    }
    Ok(removed)
}

/// Removes, in every instance, the rows whose key carries `needle` (a buyer's number: the
/// library keys its per-contact state, such as sessions, identities, device lists and the
/// phone-to-LID index, by the contact's address). Values are not searched: an instance's own
/// device record holds its own number, which a merchant may also use as a test buyer.
pub(super) fn forget_keys_containing(
    txn: &redb::WriteTransaction,
    needle: &[u8],
) -> Result<u64, DbError> {
    if needle.is_empty() {
        return Ok(0);
    }
    let mut table = txn.open_table(tables::WA_STATE)?;
    let mut removed = 0;
    for row in table.extract_if(|(_, _, key), _| key.windows(needle.len()).any(|w| w == needle))? {
        row?;
        removed += 1;
    }
    Ok(removed)
}

type Bounds<'a> = (std::ops::Bound<Key<'a>>, std::ops::Bound<Key<'a>>);

/// The key range holding exactly the keys of `(instance, space)` that start with a prefix; owns
/// the bytes its bounds borrow.
struct PrefixRange<'p> {
    instance: u64,
    space: u8,
    prefix: &'p [u8],
    end: Option<Vec<u8>>,
}

impl<'p> PrefixRange<'p> {
    fn new(instance: u64, space: u8, prefix: &'p [u8]) -> Self {
        PrefixRange {
            instance,
            space,
            prefix,
            end: prefix_successor(prefix),
        }
    }

    fn bounds(&self) -> Bounds<'_> {
        use std::ops::Bound;
        let (instance, space) = (self.instance, self.space);
        let lower = Bound::Included((instance, space, self.prefix));
        let upper = match &self.end {
            Some(end) => Bound::Excluded((instance, space, end.as_slice())),
            None => match (space.checked_add(1), instance.checked_add(1)) {
                (Some(next), _) => Bound::Excluded((instance, next, &[][..])),
                (None, Some(next)) => Bound::Excluded((next, 0, &[][..])),
                (None, None) => Bound::Unbounded,
            },
        };
        (lower, upper)
    }
}

/// The smallest byte string greater than every string starting with `prefix`, if there is one
/// (there is none for an empty prefix or one made only of 0xFF bytes).
fn prefix_successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xFF {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

fn collect(range: redb::Range<'_, Key<'static>, &'static [u8]>) -> Result<Vec<WaRow>, DbError> {
    let mut out = Vec::new();
    for row in range {
        let (k, v) = row?;
        out.push((k.value().2.to_vec(), v.value().to_vec()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::DbOptions;

    fn open() -> (tempfile::TempDir, Db) {
        let tmp = tempfile::tempdir().expect("tempdir");
        let db = Db::open(tmp.path(), &DbOptions::default()).expect("open");
        (tmp, db)
    }

    fn put(space: u8, key: &[u8], value: &[u8]) -> WaOp {
        WaOp::Put {
            space,
            key: key.to_vec(),
            value: value.to_vec(),
        }
    }

    fn keys(rows: Vec<(Vec<u8>, Vec<u8>)>) -> Vec<Vec<u8>> {
        rows.into_iter().map(|(k, _)| k).collect()
    }

    #[test]
    fn prefix_scans_stay_inside_their_space_and_prefix() {
        let (_tmp, store) = open();
        store
            .wa_apply(
                InstanceId(1),
                &[
                    put(3, b"ab", b"1"),
                    put(3, b"ab\xff", b"2"),
                    put(3, b"ab\xff\xff", b"3"),
                    put(3, b"ac", b"4"),
                    put(3, b"a", b"5"),
                    put(4, b"ab", b"6"),
                    put(2, b"ab", b"7"),
                    put(255, b"\xff", b"8"),
                ],
            )
            .expect("apply");
        store
            .wa_apply(InstanceId(2), &[put(0, b"", b"other")])
            .expect("apply");
        assert_eq!(
            keys(store.wa_scan(InstanceId(1), 3, b"ab").expect("scan")),
            vec![b"ab".to_vec(), b"ab\xff".to_vec(), b"ab\xff\xff".to_vec()]
        );
        assert_eq!(
            keys(store.wa_scan(InstanceId(1), 3, b"ab\xff").expect("scan")),
            vec![b"ab\xff".to_vec(), b"ab\xff\xff".to_vec()]
        );
        assert_eq!(store.wa_scan(InstanceId(1), 3, b"").expect("scan").len(), 5);
        assert_eq!(
            keys(store.wa_scan(InstanceId(1), 255, b"").expect("scan")),
            vec![b"\xff".to_vec()]
        );
        assert_eq!(
            store
                .wa_last(InstanceId(1), 3)
                .expect("last")
                .map(|(k, _)| k),
            Some(b"ac".to_vec())
        );
        assert_eq!(store.wa_last(InstanceId(1), 9).expect("last"), None);
        assert_eq!(
            store.wa_get(InstanceId(1), 4, b"ab").expect("get"),
            Some(b"6".to_vec())
        );
        assert_eq!(store.wa_get(InstanceId(2), 3, b"ab").expect("get"), None);
    }

    #[test]
    fn deletes_by_prefix_and_space_touch_nothing_else() {
        let (_tmp, store) = open();
        store
            .wa_apply(
                InstanceId(1),
                &[
                    put(3, b"ab", b"1"),
                    put(3, b"abc", b"2"),
                    put(3, b"ac", b"3"),
                    put(4, b"ab", b"4"),
                ],
            )
            .expect("apply");
        store
            .wa_apply(
                InstanceId(1),
                &[WaOp::DeletePrefix {
                    space: 3,
                    prefix: b"ab".to_vec(),
                }],
            )
            .expect("delete prefix");
        assert_eq!(
            keys(store.wa_scan(InstanceId(1), 3, b"").expect("scan")),
            vec![b"ac".to_vec()]
        );
        store
            .wa_apply(InstanceId(1), &[WaOp::ClearSpace { space: 3 }])
            .expect("clear");
        assert!(!store.wa_has_any(InstanceId(1), 3).expect("any"));
        assert!(store.wa_has_any(InstanceId(1), 4).expect("any"));
    }

    #[test]
    fn a_failed_write_leaves_nothing_behind() {
        let (_tmp, store) = open();
        let result: Result<(), DbError> = store.wa_write(InstanceId(1), |w| {
            w.put(1, b"k", b"v")?;
            Err(DbError::Conflict("abort".into()))
        });
        assert!(result.is_err());
        assert_eq!(store.wa_get(InstanceId(1), 1, b"k").expect("get"), None);
    }

    #[test]
    fn wiping_an_instance_leaves_its_neighbours_alone() {
        let (_tmp, store) = open();
        for instance in [1, 2, 3, u64::MAX].map(InstanceId) {
            store
                .wa_apply(instance, &[put(0, b"", b"d"), put(255, b"\xff\xff", b"x")])
                .expect("apply");
        }
        assert_eq!(store.wa_wipe_instance(InstanceId(2)).expect("wipe"), 2);
        assert_eq!(
            store.wa_wipe_instance(InstanceId(u64::MAX)).expect("wipe"),
            2
        );
        assert!(!store.wa_has_any(InstanceId(2), 0).expect("any"));
        assert!(
            store.wa_has_any(InstanceId(1), 0).expect("any")
                && store.wa_has_any(InstanceId(3), 255).expect("any")
        );
        assert_eq!(
            store.wa_wipe_instance(InstanceId(2)).expect("wipe again"),
            0
        );
    }

    #[test]
    fn deleting_an_instance_wipes_its_whatsapp_state() {
        use crate::domain::{Instance, InstanceMode};
        let (_tmp, store) = open();
        let a = store
            .create_instance(Instance::new("a", InstanceMode::Whatsapp, 0))
            .expect("a");
        let b = store
            .create_instance(Instance::new("b", InstanceMode::Whatsapp, 0))
            .expect("b");
        for id in [a.id, b.id] {
            store
                .wa_apply(id, &[put(0, b"", b"device")])
                .expect("apply");
        }
        store.delete_instance(a.id).expect("delete");
        assert!(!store.wa_has_any(a.id, 0).expect("any"));
        assert!(store.wa_has_any(b.id, 0).expect("any"));
    }
}
