//! whatsapp-rust's storage `Backend` over avisa's redb file: every trait of the library's store
//! (device, Signal identities/sessions/pre-keys/sender keys, app-state keys and versions, LID↔phone
//! mappings, tc tokens, sent messages, message secrets, …) kept in `db::wa_state` under one
//! instance's namespace, so one data file and one backup hold everything.
//!
//! The library's `InMemoryBackend` is the reference: every method answers what it answers (the
//! differential test in `backend_tests.rs` runs the same random operations against both).
//!
//! Every call runs on tokio's blocking pool (`spawn_blocking`) and the future resolves only
//! after the redb transaction committed (fsync'd): redb is synchronous and a write may wait for
//! the file's single write lock (the intake writer holds it for a few ms), which must not stall
//! a runtime worker. One caller's calls stay in order because each is awaited to its commit
//! before the caller can issue the next; and a write whose future is dropped half-way (a timeout,
//! a shutdown) still holds this backend's FIFO write lock until its transaction ends, so a later
//! write can never commit before it and be overwritten by it. Batch methods and
//! read-modify-writes are one transaction each.
//!
//! Encoding (stable across restarts): opaque blobs (sessions, pre-keys, sender keys, …) are
//! stored as given; the library's serde types (`Device`, `HashState`, `AppStateSyncKey`,
//! `LidPnMappingEntry`, `DeviceListRecord`, `TcTokenEntry`) as JSON, whose `#[serde(default)]`
//! fields let a newer library read an older row; integers big-endian so key order is numeric
//! order; composite keys as length-prefixed parts, so no part can run into the next.
//!
//! One file per library trait: `signal` (SignalStore), `app_sync` (AppSyncStore), `protocol`
//! (ProtocolStore), `msg_secret` (MsgSecretStore), `device` (DeviceStore); `encoding` holds the
//! spaces and the byte layouts they share. Uses `db::wa_state` and whatsapp-rust.

use std::sync::Arc;

use whatsapp_rust::wacore::store::Device;
use whatsapp_rust::wacore::store::error::{Result, StoreError as WaError};
use whatsapp_rust::wacore::store::traits::Backend;

use crate::db::{Db, DbError, WaRead, WaWrite};
use crate::domain::InstanceId;
use crate::domain::clock::Clock;
use encoding::{space, unstamp};

mod app_sync;
mod device;
mod encoding;
mod msg_secret;
mod protocol;
mod signal;

/// The library's storage for one instance, in avisa's data file.
pub struct RedbBackend {
    db: Arc<Db>,
    instance_id: InstanceId,
    /// Writes commit in the order they were issued (tokio's mutex is FIFO); the blocking task
    /// owns the guard, so dropping the caller's future does not release it early.
    write_order: Arc<tokio::sync::Mutex<()>>,
    /// Stamps a fresh device's signed pre-key rotation time (the library would read the wall
    /// clock there).
    clock: Arc<dyn Clock>,
}

/// The backend a client for `instance_id` is built with. Two live clients must never share one
/// instance's state (the supervisor guarantees one).
pub fn backend(db: Arc<Db>, instance_id: InstanceId, clock: Arc<dyn Clock>) -> Arc<dyn Backend> {
    Arc::new(RedbBackend::new(db, instance_id, clock))
}

/// Whether the instance has a paired device (a device record that knows its own phone number).
pub fn is_paired(db: &Db, instance_id: InstanceId) -> std::result::Result<bool, DbError> {
    match db.wa_get(instance_id, space::DEVICE, b"")? {
        None => Ok(false),
        Some(bytes) => {
            let device: Device = serde_json::from_slice(&bytes)?;
            Ok(device.pn.is_some())
        }
    }
}

impl RedbBackend {
    pub fn new(db: Arc<Db>, instance_id: InstanceId, clock: Arc<dyn Clock>) -> RedbBackend {
        RedbBackend {
            db,
            instance_id,
            write_order: Arc::default(),
            clock,
        }
    }

    /// Runs `f` over one read snapshot on the blocking pool.
    async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&WaRead) -> Result<T> + Send + 'static,
    {
        let (store, id) = (self.db.clone(), self.instance_id);
        blocking(move || store.wa_read(id, f)).await
    }

    /// Runs `f` inside one durable write transaction on the blocking pool.
    async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut WaWrite<'_>) -> Result<T> + Send + 'static,
    {
        let (store, id) = (self.db.clone(), self.instance_id);
        let turn = self.write_order.clone().lock_owned().await;
        blocking(move || {
            let result = store.wa_write(id, f);
            drop(turn);
            result
        })
        .await
    }

    async fn get(&self, space: u8, key: Vec<u8>) -> Result<Option<Vec<u8>>> {
        self.read(move |r| Ok(r.get(space, &key)?)).await
    }

    async fn put(&self, space: u8, key: Vec<u8>, value: Vec<u8>) -> Result<()> {
        self.write(move |w| Ok(w.put(space, &key, &value)?)).await
    }

    async fn delete(&self, space: u8, key: Vec<u8>) -> Result<()> {
        self.write(move |w| Ok(w.delete(space, &key).map(drop)?))
            .await
    }

    /// Puts many rows of one space in one transaction.
    async fn put_all(&self, space: u8, rows: Vec<(Vec<u8>, Vec<u8>)>) -> Result<()> {
        self.write(move |w| {
            for (key, value) in rows {
                w.put(space, &key, &value)?;
            }
            Ok(())
        })
        .await
    }
}

impl RedbBackend {
    /// Deletes the rows of a timestamped space stored before `cutoff`; answers how many.
    async fn delete_stamped_before(&self, space: u8, cutoff: i64) -> Result<u32> {
        self.write(move |w| {
            let mut removed = 0u32;
            for (key, value) in w.scan(space, &[])? {
                if unstamp(&value)?.0 < cutoff {
                    w.delete(space, &key)?;
                    removed += 1;
                }
            }
            Ok(removed)
        })
        .await
    }
}

/// Runs `f` on tokio's blocking pool through the one `db::blocking`: the library's own error
/// passes through untouched (a redb error inside `f` is already a `WaError`), and a failed
/// blocking task becomes `WaError::Database` as before.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    crate::db::blocking(move || Ok(f())).await?
}

impl From<DbError> for WaError {
    fn from(e: DbError) -> Self {
        WaError::Database(Box::new(e))
    }
}
