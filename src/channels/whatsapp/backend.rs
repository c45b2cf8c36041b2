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

use std::collections::HashMap;
use std::sync::Arc;

use whatsapp_rust::async_trait;
use whatsapp_rust::bytes::Bytes;
use whatsapp_rust::wacore::appstate::hash::HashState;
use whatsapp_rust::wacore::appstate::processor::AppStateMutationMAC;
use whatsapp_rust::wacore::store::Device;
use whatsapp_rust::wacore::store::error::{Result, StoreError as WaError};
use whatsapp_rust::wacore::store::traits::{
    AppStateSyncKey, AppSyncStore, Backend, DeviceListRecord, DeviceStore, LidPnMappingEntry,
    MessageSecret, MsgSecretEntry, MsgSecretStore, PendingInboundKey, PendingInboundRow,
    ProtocolStore, SignalStore, TcTokenEntry, merge_msg_secret_expiry, merge_msg_secret_message_ts,
};

use crate::db::{Db, DbError, WaRead, WaWrite};

/// The spaces of an instance's namespace. These numbers are in users' data files: never
/// renumber one; a new kind of row gets a new number.
mod space {
    /// `b""` -> JSON `Device`.
    pub const DEVICE: u8 = 0;
    /// Single values: `NEXT_DEVICE_ID`, `LATEST_SYNC_KEY`.
    pub const META: u8 = 1;
    /// Signal address -> 32-byte identity key.
    pub const IDENTITY: u8 = 2;
    /// Signal address -> session record.
    pub const SESSION: u8 = 3;
    /// Pre-key id (u32 BE) -> uploaded flag byte, then the record.
    pub const PREKEY: u8 = 4;
    /// Signed pre-key id (u32 BE) -> record.
    pub const SIGNED_PREKEY: u8 = 5;
    /// Sender-key address -> record.
    pub const SENDER_KEY: u8 = 6;
    /// App-state sync key id -> JSON `AppStateSyncKey`.
    pub const SYNC_KEY: u8 = 7;
    /// Collection name -> JSON `HashState`.
    pub const APP_VERSION: u8 = 8;
    /// (collection, index MAC) -> value MAC.
    pub const MUTATION_MAC: u8 = 9;
    /// (group, device JID) -> has-key byte.
    pub const SENDER_KEY_DEVICE: u8 = 10;
    /// LID user -> JSON `LidPnMappingEntry`.
    pub const LID_MAPPING: u8 = 11;
    /// Phone user -> LID user (the reverse index, kept exactly as the library's own backend).
    pub const PN_TO_LID: u8 = 12;
    /// (address, message id) -> base key.
    pub const BASE_KEY: u8 = 13;
    /// User -> JSON `DeviceListRecord`.
    pub const DEVICE_LIST: u8 = 14;
    /// Group JID -> metadata blob.
    pub const GROUP_METADATA: u8 = 15;
    /// JID -> JSON `TcTokenEntry`.
    pub const TC_TOKEN: u8 = 16;
    /// (chat, message id) -> stored-at (i64 BE), then the payload.
    pub const SENT_MESSAGE: u8 = 17;
    /// (chat, sender, id) -> stored-at (i64 BE), then the message.
    pub const PENDING_INBOUND: u8 = 18;
    /// (chat, sender, message id) -> 32-byte secret, expires-at (i64 BE), message time (i64 BE).
    pub const MSG_SECRET: u8 = 19;
}

const NEXT_DEVICE_ID: &[u8] = b"next_device_id";
const LATEST_SYNC_KEY: &[u8] = b"latest_sync_key_id";

/// The library's storage for one instance, in avisa's data file.
pub struct RedbBackend {
    db: Arc<Db>,
    instance_id: u64,
    /// Writes commit in the order they were issued (tokio's mutex is FIFO); the blocking task
    /// owns the guard, so dropping the caller's future does not release it early.
    write_order: Arc<tokio::sync::Mutex<()>>,
}

/// The backend a client for `instance_id` is built with. Two live clients must never share one
/// instance's state (the supervisor guarantees one).
pub fn backend(db: Arc<Db>, instance_id: u64) -> Arc<dyn Backend> {
    Arc::new(RedbBackend::new(db, instance_id))
}

/// Whether the instance has a paired device (a device record that knows its own phone number).
pub fn is_paired(db: &Db, instance_id: u64) -> std::result::Result<bool, DbError> {
    match db.wa_get(instance_id, space::DEVICE, b"")? {
        None => Ok(false),
        Some(bytes) => {
            let device: Device = serde_json::from_slice(&bytes)?;
            Ok(device.pn.is_some())
        }
    }
}

impl RedbBackend {
    pub fn new(db: Arc<Db>, instance_id: u64) -> RedbBackend {
        RedbBackend {
            db,
            instance_id,
            write_order: Arc::default(),
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

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| WaError::Database(Box::new(e)))?
}

impl From<DbError> for WaError {
    fn from(e: DbError) -> Self {
        WaError::Database(Box::new(e))
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| WaError::Serialization(Box::new(e)))
}

fn from_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| WaError::Serialization(Box::new(e)))
}

/// A composite key: each part as its length (u32 BE) then its bytes. The first k parts of a key
/// are a byte prefix of it, so "all rows of this group" is a prefix scan.
fn parts(items: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(items.iter().map(|p| p.len() + 4).sum());
    for item in items {
        out.extend_from_slice(&(item.len() as u32).to_be_bytes());
        out.extend_from_slice(item);
    }
    out
}

/// The parts of a key made by `parts`.
fn split_parts(mut key: &[u8]) -> Result<Vec<&[u8]>> {
    let mut out = Vec::new();
    while !key.is_empty() {
        let (len, rest) = key
            .split_first_chunk::<4>()
            .ok_or_else(|| invalid("a composite key is cut short"))?;
        let len = u32::from_be_bytes(*len) as usize;
        if rest.len() < len {
            return Err(invalid("a composite key is cut short"));
        }
        out.push(&rest[..len]);
        key = &rest[len..];
    }
    Ok(out)
}

fn invalid(what: &str) -> WaError {
    WaError::Validation(format!("stored WhatsApp state: {what}"))
}

fn utf8(bytes: &[u8]) -> Result<String> {
    String::from_utf8(bytes.to_vec()).map_err(|e| WaError::Serialization(Box::new(e)))
}

fn be_u32(bytes: &[u8]) -> Result<u32> {
    Ok(u32::from_be_bytes(
        bytes.try_into().map_err(|_| invalid("a u32 key"))?,
    ))
}

/// An i64 timestamp in front of a payload.
fn stamped(at: i64, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + payload.len());
    out.extend_from_slice(&at.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

fn unstamp(value: &[u8]) -> Result<(i64, &[u8])> {
    let (at, payload) = value
        .split_first_chunk::<8>()
        .ok_or_else(|| invalid("a timestamped row is cut short"))?;
    Ok((i64::from_be_bytes(*at), payload))
}

fn prekey_value(uploaded: bool, record: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + record.len());
    out.push(u8::from(uploaded));
    out.extend_from_slice(record);
    out
}

fn prekey_record(value: &[u8]) -> Result<Bytes> {
    value
        .split_first()
        .map(|(_, record)| Bytes::copy_from_slice(record))
        .ok_or_else(|| invalid("an empty pre-key row"))
}

fn secret_value(secret: &MessageSecret, expires_at: i64, message_ts: i64) -> Vec<u8> {
    let mut out = Vec::with_capacity(48);
    out.extend_from_slice(secret);
    out.extend_from_slice(&expires_at.to_be_bytes());
    out.extend_from_slice(&message_ts.to_be_bytes());
    out
}

fn secret_row(value: &[u8]) -> Result<(MessageSecret, i64, i64)> {
    if value.len() != 48 {
        return Err(invalid("a message-secret row"));
    }
    let secret: MessageSecret = value[..32].try_into().expect("length checked above");
    let expires_at = i64::from_be_bytes(value[32..40].try_into().expect("length checked"));
    let message_ts = i64::from_be_bytes(value[40..48].try_into().expect("length checked"));
    Ok((secret, expires_at, message_ts))
}

/// `put_lid_mapping` inside a transaction, exactly as the library's own backend keeps its
/// reverse index: the phone's entry points at the last LID stored for it, and a LID that moves
/// to another phone takes its old phone's entry with it (even if another LID claimed that phone
/// since — the library then re-learns it; matching the reference matters more than the cache).
fn put_lid_mapping_in(w: &mut WaWrite<'_>, entry: &LidPnMappingEntry) -> Result<()> {
    if let Some(old) = w.get(space::LID_MAPPING, entry.lid.as_bytes())? {
        let old: LidPnMappingEntry = from_json(&old)?;
        if old.phone_number != entry.phone_number {
            w.delete(space::PN_TO_LID, old.phone_number.as_bytes())?;
        }
    }
    w.put(
        space::PN_TO_LID,
        entry.phone_number.as_bytes(),
        entry.lid.as_bytes(),
    )?;
    w.put(space::LID_MAPPING, entry.lid.as_bytes(), &to_json(entry)?)?;
    Ok(())
}

/// Whether `address` (`user@server` or `user:device@server`) belongs to `user`.
fn address_of_user(address: &[u8], user: &[u8]) -> bool {
    address
        .strip_prefix(user)
        .is_some_and(|rest| rest.starts_with(b"@") || rest.starts_with(b":"))
}

#[async_trait]
impl SignalStore for RedbBackend {
    async fn put_identity(&self, address: &str, key: [u8; 32]) -> Result<()> {
        self.put(space::IDENTITY, address.into(), key.to_vec())
            .await
    }

    async fn put_identities_batch(&self, identities: &[(Arc<str>, [u8; 32])]) -> Result<()> {
        let rows = identities
            .iter()
            .map(|(address, key)| (address.as_bytes().to_vec(), key.to_vec()))
            .collect();
        self.put_all(space::IDENTITY, rows).await
    }

    async fn load_identity(&self, address: &str) -> Result<Option<[u8; 32]>> {
        match self.get(space::IDENTITY, address.into()).await? {
            None => Ok(None),
            Some(bytes) => Ok(Some(
                bytes
                    .try_into()
                    .map_err(|_| invalid("an identity key is not 32 bytes"))?,
            )),
        }
    }

    async fn delete_identity(&self, address: &str) -> Result<()> {
        self.delete(space::IDENTITY, address.into()).await
    }

    async fn get_session(&self, address: &str) -> Result<Option<Bytes>> {
        Ok(self
            .get(space::SESSION, address.into())
            .await?
            .map(Bytes::from))
    }

    async fn put_session(&self, address: &str, session: &[u8]) -> Result<()> {
        self.put(space::SESSION, address.into(), session.to_vec())
            .await
    }

    async fn put_sessions_batch(&self, sessions: &[(Arc<str>, Bytes)]) -> Result<()> {
        let rows = sessions
            .iter()
            .map(|(address, session)| (address.as_bytes().to_vec(), session.to_vec()))
            .collect();
        self.put_all(space::SESSION, rows).await
    }

    async fn delete_session(&self, address: &str) -> Result<()> {
        self.delete(space::SESSION, address.into()).await
    }

    async fn has_session(&self, address: &str) -> Result<bool> {
        Ok(self.get(space::SESSION, address.into()).await?.is_some())
    }

    async fn has_signal_state_for_user(&self, user: &str) -> Result<bool> {
        let user = user.as_bytes().to_vec();
        self.read(move |r| {
            for space in [space::SESSION, space::IDENTITY] {
                for sep in [b'@', b':'] {
                    let mut prefix = user.clone();
                    prefix.push(sep);
                    if r.scan(space, &prefix)?
                        .iter()
                        .any(|(k, _)| address_of_user(k, &user))
                    {
                        return Ok(true);
                    }
                }
            }
            Ok(false)
        })
        .await
    }

    async fn store_prekey(&self, id: u32, record: &[u8], uploaded: bool) -> Result<()> {
        self.put(
            space::PREKEY,
            id.to_be_bytes().to_vec(),
            prekey_value(uploaded, record),
        )
        .await
    }

    async fn store_prekeys_batch(&self, keys: &[(u32, Bytes)], uploaded: bool) -> Result<()> {
        let rows = keys
            .iter()
            .map(|(id, record)| (id.to_be_bytes().to_vec(), prekey_value(uploaded, record)))
            .collect();
        self.put_all(space::PREKEY, rows).await
    }

    async fn load_prekey(&self, id: u32) -> Result<Option<Bytes>> {
        self.get(space::PREKEY, id.to_be_bytes().to_vec())
            .await?
            .map(|v| prekey_record(&v))
            .transpose()
    }

    async fn load_prekeys_batch(&self, ids: &[u32]) -> Result<Vec<(u32, Bytes)>> {
        let ids = ids.to_vec();
        self.read(move |r| {
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                if let Some(value) = r.get(space::PREKEY, &id.to_be_bytes())? {
                    out.push((id, prekey_record(&value)?));
                }
            }
            Ok(out)
        })
        .await
    }

    async fn mark_prekeys_uploaded(&self, ids: &[u32]) -> Result<()> {
        let ids = ids.to_vec();
        self.write(move |w| {
            for id in ids {
                let key = id.to_be_bytes();
                // UPDATE, never upsert: a key consumed meanwhile stays consumed.
                if let Some(mut value) = w.get(space::PREKEY, &key)?
                    && let Some(flag) = value.first_mut()
                    && *flag == 0
                {
                    *flag = 1;
                    w.put(space::PREKEY, &key, &value)?;
                }
            }
            Ok(())
        })
        .await
    }

    async fn remove_prekey(&self, id: u32) -> Result<()> {
        self.delete(space::PREKEY, id.to_be_bytes().to_vec()).await
    }

    async fn get_max_prekey_id(&self) -> Result<u32> {
        match self.read(|r| Ok(r.last(space::PREKEY)?)).await? {
            Some((key, _)) => be_u32(&key),
            None => Ok(0),
        }
    }

    async fn store_signed_prekey(&self, id: u32, record: &[u8]) -> Result<()> {
        self.put(
            space::SIGNED_PREKEY,
            id.to_be_bytes().to_vec(),
            record.to_vec(),
        )
        .await
    }

    async fn load_signed_prekey(&self, id: u32) -> Result<Option<Vec<u8>>> {
        self.get(space::SIGNED_PREKEY, id.to_be_bytes().to_vec())
            .await
    }

    async fn load_all_signed_prekeys(&self) -> Result<Vec<(u32, Vec<u8>)>> {
        let rows = self
            .read(|r| Ok(r.scan(space::SIGNED_PREKEY, &[])?))
            .await?;
        rows.into_iter()
            .map(|(key, record)| Ok((be_u32(&key)?, record)))
            .collect()
    }

    async fn remove_signed_prekey(&self, id: u32) -> Result<()> {
        self.delete(space::SIGNED_PREKEY, id.to_be_bytes().to_vec())
            .await
    }

    async fn put_sender_key(&self, address: &str, record: &[u8]) -> Result<()> {
        self.put(space::SENDER_KEY, address.into(), record.to_vec())
            .await
    }

    async fn put_sender_keys_batch(&self, sender_keys: &[(Arc<str>, Bytes)]) -> Result<()> {
        let rows = sender_keys
            .iter()
            .map(|(address, record)| (address.as_bytes().to_vec(), record.to_vec()))
            .collect();
        self.put_all(space::SENDER_KEY, rows).await
    }

    async fn get_sender_key(&self, address: &str) -> Result<Option<Vec<u8>>> {
        self.get(space::SENDER_KEY, address.into()).await
    }

    async fn delete_sender_key(&self, address: &str) -> Result<()> {
        self.delete(space::SENDER_KEY, address.into()).await
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

#[async_trait]
impl AppSyncStore for RedbBackend {
    async fn get_sync_key(&self, key_id: &[u8]) -> Result<Option<AppStateSyncKey>> {
        self.get(space::SYNC_KEY, key_id.to_vec())
            .await?
            .map(|v| from_json(&v))
            .transpose()
    }

    async fn set_sync_key(&self, key_id: &[u8], key: AppStateSyncKey) -> Result<()> {
        let (key_id, value) = (key_id.to_vec(), to_json(&key)?);
        self.write(move |w| {
            w.put(space::SYNC_KEY, &key_id, &value)?;
            w.put(space::META, LATEST_SYNC_KEY, &key_id)?;
            Ok(())
        })
        .await
    }

    async fn get_version(&self, name: &str) -> Result<HashState> {
        match self.get(space::APP_VERSION, name.into()).await? {
            Some(bytes) => from_json(&bytes),
            None => Ok(HashState::default()),
        }
    }

    async fn set_version(&self, name: &str, state: HashState) -> Result<()> {
        self.put(space::APP_VERSION, name.into(), to_json(&state)?)
            .await
    }

    async fn put_mutation_macs(
        &self,
        name: &str,
        _version: u64,
        mutations: &[AppStateMutationMAC],
    ) -> Result<()> {
        let rows = mutations
            .iter()
            .map(|m| (parts(&[name.as_bytes(), &m.index_mac]), m.value_mac.clone()))
            .collect();
        self.put_all(space::MUTATION_MAC, rows).await
    }

    async fn get_mutation_mac(&self, name: &str, index_mac: &[u8]) -> Result<Option<Vec<u8>>> {
        self.get(space::MUTATION_MAC, parts(&[name.as_bytes(), index_mac]))
            .await
    }

    async fn get_mutation_macs(
        &self,
        name: &str,
        index_macs: &[[u8; 32]],
    ) -> Result<HashMap<[u8; 32], Vec<u8>>> {
        let (name, index_macs) = (name.to_owned(), index_macs.to_vec());
        self.read(move |r| {
            let mut out = HashMap::with_capacity(index_macs.len());
            for index_mac in index_macs {
                let key = parts(&[name.as_bytes(), &index_mac]);
                if let Some(mac) = r.get(space::MUTATION_MAC, &key)? {
                    out.insert(index_mac, mac);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn delete_mutation_macs(&self, name: &str, index_macs: &[Vec<u8>]) -> Result<()> {
        let keys: Vec<Vec<u8>> = index_macs
            .iter()
            .map(|mac| parts(&[name.as_bytes(), mac]))
            .collect();
        self.write(move |w| {
            for key in keys {
                w.delete(space::MUTATION_MAC, &key)?;
            }
            Ok(())
        })
        .await
    }

    async fn clear_mutation_macs(&self, name: &str) -> Result<()> {
        let prefix = parts(&[name.as_bytes()]);
        self.write(move |w| Ok(w.delete_prefix(space::MUTATION_MAC, &prefix).map(drop)?))
            .await
    }

    async fn get_latest_sync_key_id(&self) -> Result<Option<Vec<u8>>> {
        self.get(space::META, LATEST_SYNC_KEY.to_vec()).await
    }
}

#[async_trait]
impl ProtocolStore for RedbBackend {
    async fn get_sender_key_devices(&self, group_jid: &str) -> Result<Vec<(String, bool)>> {
        let prefix = parts(&[group_jid.as_bytes()]);
        let rows = self
            .read(move |r| Ok(r.scan(space::SENDER_KEY_DEVICE, &prefix)?))
            .await?;
        rows.into_iter()
            .map(|(key, value)| {
                let key = split_parts(&key)?;
                let device = key
                    .get(1)
                    .ok_or_else(|| invalid("a sender-key device key"))?;
                Ok((utf8(device)?, value.first() == Some(&1)))
            })
            .collect()
    }

    async fn set_sender_key_status(&self, group_jid: &str, entries: &[(&str, bool)]) -> Result<()> {
        let rows = entries
            .iter()
            .map(|(device, has_key)| {
                (
                    parts(&[group_jid.as_bytes(), device.as_bytes()]),
                    vec![u8::from(*has_key)],
                )
            })
            .collect();
        self.put_all(space::SENDER_KEY_DEVICE, rows).await
    }

    async fn clear_sender_key_devices(&self, group_jid: &str) -> Result<()> {
        let prefix = parts(&[group_jid.as_bytes()]);
        self.write(move |w| {
            Ok(w.delete_prefix(space::SENDER_KEY_DEVICE, &prefix)
                .map(drop)?)
        })
        .await
    }

    async fn delete_sender_key_device_rows(&self, device_jids: &[&str]) -> Result<()> {
        if device_jids.is_empty() {
            return Ok(());
        }
        let devices: Vec<Vec<u8>> = device_jids.iter().map(|d| d.as_bytes().to_vec()).collect();
        self.write(move |w| {
            for (key, _) in w.scan(space::SENDER_KEY_DEVICE, &[])? {
                let doomed = split_parts(&key)?
                    .get(1)
                    .is_some_and(|device| devices.iter().any(|d| d == device));
                if doomed {
                    w.delete(space::SENDER_KEY_DEVICE, &key)?;
                }
            }
            Ok(())
        })
        .await
    }

    async fn clear_all_sender_key_devices(&self) -> Result<()> {
        self.write(|w| Ok(w.delete_prefix(space::SENDER_KEY_DEVICE, &[]).map(drop)?))
            .await
    }

    async fn get_lid_mapping(&self, lid: &str) -> Result<Option<LidPnMappingEntry>> {
        self.get(space::LID_MAPPING, lid.into())
            .await?
            .map(|v| from_json(&v))
            .transpose()
    }

    async fn get_pn_mapping(&self, phone: &str) -> Result<Option<LidPnMappingEntry>> {
        let phone = phone.as_bytes().to_vec();
        self.read(move |r| {
            let Some(lid) = r.get(space::PN_TO_LID, &phone)? else {
                return Ok(None);
            };
            r.get(space::LID_MAPPING, &lid)?
                .map(|v| from_json(&v))
                .transpose()
        })
        .await
    }

    async fn put_lid_mapping(&self, entry: &LidPnMappingEntry) -> Result<()> {
        self.put_lid_mappings(std::slice::from_ref(entry)).await
    }

    async fn put_lid_mappings(&self, entries: &[LidPnMappingEntry]) -> Result<()> {
        let entries = entries.to_vec();
        self.write(move |w| {
            for entry in &entries {
                put_lid_mapping_in(w, entry)?;
            }
            Ok(())
        })
        .await
    }

    async fn get_all_lid_mappings(&self) -> Result<Vec<LidPnMappingEntry>> {
        let rows = self.read(|r| Ok(r.scan(space::LID_MAPPING, &[])?)).await?;
        rows.iter().map(|(_, v)| from_json(v)).collect()
    }

    async fn save_base_key(&self, address: &str, message_id: &str, base_key: &[u8]) -> Result<()> {
        let key = parts(&[address.as_bytes(), message_id.as_bytes()]);
        self.put(space::BASE_KEY, key, base_key.to_vec()).await
    }

    async fn has_same_base_key(
        &self,
        address: &str,
        message_id: &str,
        current_base_key: &[u8],
    ) -> Result<bool> {
        let key = parts(&[address.as_bytes(), message_id.as_bytes()]);
        Ok(self
            .get(space::BASE_KEY, key)
            .await?
            .is_some_and(|stored| stored == current_base_key))
    }

    async fn delete_base_key(&self, address: &str, message_id: &str) -> Result<()> {
        let key = parts(&[address.as_bytes(), message_id.as_bytes()]);
        self.delete(space::BASE_KEY, key).await
    }

    async fn update_device_list(&self, record: DeviceListRecord) -> Result<()> {
        self.update_device_lists(vec![record]).await
    }

    async fn update_device_lists(&self, records: Vec<DeviceListRecord>) -> Result<()> {
        let rows = records
            .iter()
            .map(|record| Ok((record.user.as_bytes().to_vec(), to_json(record)?)))
            .collect::<Result<Vec<_>>>()?;
        self.put_all(space::DEVICE_LIST, rows).await
    }

    async fn get_devices(&self, user: &str) -> Result<Option<DeviceListRecord>> {
        self.get(space::DEVICE_LIST, user.into())
            .await?
            .map(|v| from_json(&v))
            .transpose()
    }

    async fn delete_devices(&self, user: &str) -> Result<()> {
        self.delete(space::DEVICE_LIST, user.into()).await
    }

    async fn get_group_metadata(&self, group_jid: &str) -> Result<Option<Vec<u8>>> {
        self.get(space::GROUP_METADATA, group_jid.into()).await
    }

    async fn put_group_metadata(&self, group_jid: &str, blob: &[u8]) -> Result<()> {
        self.put(space::GROUP_METADATA, group_jid.into(), blob.to_vec())
            .await
    }

    async fn delete_group_metadata(&self, group_jid: &str) -> Result<()> {
        self.delete(space::GROUP_METADATA, group_jid.into()).await
    }

    async fn get_tc_token(&self, jid: &str) -> Result<Option<TcTokenEntry>> {
        self.get(space::TC_TOKEN, jid.into())
            .await?
            .map(|v| from_json(&v))
            .transpose()
    }

    async fn put_tc_token(&self, jid: &str, entry: &TcTokenEntry) -> Result<()> {
        self.put(space::TC_TOKEN, jid.into(), to_json(entry)?).await
    }

    async fn delete_tc_token(&self, jid: &str) -> Result<()> {
        self.delete(space::TC_TOKEN, jid.into()).await
    }

    async fn get_all_tc_token_jids(&self) -> Result<Vec<String>> {
        let rows = self.read(|r| Ok(r.scan(space::TC_TOKEN, &[])?)).await?;
        rows.iter().map(|(k, _)| utf8(k)).collect()
    }

    async fn delete_expired_tc_tokens(&self, token_cutoff: i64, sender_cutoff: i64) -> Result<u32> {
        self.write(move |w| {
            let mut removed = 0u32;
            for (key, value) in w.scan(space::TC_TOKEN, &[])? {
                let entry: TcTokenEntry = from_json(&value)?;
                // A row goes only when both its received token and its sender bucket are stale.
                let token_live = !entry.token.is_empty() && entry.token_timestamp >= token_cutoff;
                let sender_live = entry.sender_timestamp.is_some_and(|ts| ts >= sender_cutoff);
                if !(token_live || sender_live) {
                    w.delete(space::TC_TOKEN, &key)?;
                    removed += 1;
                }
            }
            Ok(removed)
        })
        .await
    }

    async fn touch_tc_token_sender_timestamp(
        &self,
        jid: &str,
        sender_timestamp: i64,
    ) -> Result<()> {
        let jid = jid.as_bytes().to_vec();
        self.write(move |w| {
            let entry = match w.get(space::TC_TOKEN, &jid)? {
                Some(value) => {
                    let mut entry: TcTokenEntry = from_json(&value)?;
                    entry.sender_timestamp = Some(
                        entry
                            .sender_timestamp
                            .map_or(sender_timestamp, |e| e.max(sender_timestamp)),
                    );
                    entry
                }
                None => TcTokenEntry {
                    token: Vec::new(),
                    token_timestamp: sender_timestamp,
                    sender_timestamp: Some(sender_timestamp),
                },
            };
            w.put(space::TC_TOKEN, &jid, &to_json(&entry)?)?;
            Ok(())
        })
        .await
    }

    async fn store_received_tc_token(
        &self,
        jid: &str,
        token: &[u8],
        token_timestamp: i64,
    ) -> Result<()> {
        let (jid, token) = (jid.as_bytes().to_vec(), token.to_vec());
        self.write(move |w| {
            let entry = match w.get(space::TC_TOKEN, &jid)? {
                Some(value) => {
                    let mut entry: TcTokenEntry = from_json(&value)?;
                    // Newer wins; a placeholder never blocks the first real token.
                    if !(entry.token.is_empty() || token_timestamp >= entry.token_timestamp) {
                        return Ok(());
                    }
                    entry.token = token;
                    entry.token_timestamp = token_timestamp;
                    entry
                }
                None => TcTokenEntry {
                    token,
                    token_timestamp,
                    sender_timestamp: None,
                },
            };
            w.put(space::TC_TOKEN, &jid, &to_json(&entry)?)?;
            Ok(())
        })
        .await
    }

    /// Unlike the in-memory backend, no 4,096-row cap: that is a memory bound there, and the
    /// library's keepalive sweep (`delete_expired_sent_messages`) bounds the rows here.
    async fn store_sent_message(
        &self,
        chat_jid: &str,
        message_id: &str,
        payload: &[u8],
    ) -> Result<()> {
        // The library's clock (not avisa's): the library computes the expiry cutoff with it.
        let now = whatsapp_rust::wacore::time::now_secs();
        let key = parts(&[chat_jid.as_bytes(), message_id.as_bytes()]);
        self.put(space::SENT_MESSAGE, key, stamped(now, payload))
            .await
    }

    async fn take_sent_message(&self, chat_jid: &str, message_id: &str) -> Result<Option<Vec<u8>>> {
        let key = parts(&[chat_jid.as_bytes(), message_id.as_bytes()]);
        self.write(move |w| match w.get(space::SENT_MESSAGE, &key)? {
            Some(value) => {
                w.delete(space::SENT_MESSAGE, &key)?;
                Ok(Some(unstamp(&value)?.1.to_vec()))
            }
            None => Ok(None),
        })
        .await
    }

    async fn delete_expired_sent_messages(&self, cutoff_timestamp: i64) -> Result<u32> {
        self.delete_stamped_before(space::SENT_MESSAGE, cutoff_timestamp)
            .await
    }

    async fn store_pending_inbound(
        &self,
        chat: &str,
        sender: &str,
        id: &str,
        message: &[u8],
    ) -> Result<()> {
        self.store_pending_inbound_batch(&[PendingInboundRow {
            chat,
            sender,
            id,
            message,
        }])
        .await
    }

    async fn get_pending_inbound(
        &self,
        chat: &str,
        sender: &str,
        id: &str,
    ) -> Result<Option<Vec<u8>>> {
        let key = parts(&[chat.as_bytes(), sender.as_bytes(), id.as_bytes()]);
        self.get(space::PENDING_INBOUND, key)
            .await?
            .map(|value| Ok(unstamp(&value)?.1.to_vec()))
            .transpose()
    }

    async fn delete_pending_inbound(&self, chat: &str, sender: &str, id: &str) -> Result<()> {
        self.delete_pending_inbound_batch(&[PendingInboundKey { chat, sender, id }])
            .await
    }

    async fn delete_expired_pending_inbound(&self, cutoff_timestamp: i64) -> Result<u32> {
        self.delete_stamped_before(space::PENDING_INBOUND, cutoff_timestamp)
            .await
    }

    async fn store_pending_inbound_batch(&self, rows: &[PendingInboundRow<'_>]) -> Result<()> {
        let now = whatsapp_rust::wacore::time::now_secs();
        let rows = rows
            .iter()
            .map(|row| {
                (
                    parts(&[
                        row.chat.as_bytes(),
                        row.sender.as_bytes(),
                        row.id.as_bytes(),
                    ]),
                    stamped(now, row.message),
                )
            })
            .collect();
        self.put_all(space::PENDING_INBOUND, rows).await
    }

    async fn delete_pending_inbound_batch(&self, keys: &[PendingInboundKey<'_>]) -> Result<()> {
        let keys: Vec<Vec<u8>> = keys
            .iter()
            .map(|k| parts(&[k.chat.as_bytes(), k.sender.as_bytes(), k.id.as_bytes()]))
            .collect();
        self.write(move |w| {
            for key in keys {
                w.delete(space::PENDING_INBOUND, &key)?;
            }
            Ok(())
        })
        .await
    }
}

#[async_trait]
impl MsgSecretStore for RedbBackend {
    async fn put_msg_secrets(&self, entries: Vec<MsgSecretEntry>) -> Result<usize> {
        self.write(move |w| {
            for entry in &entries {
                let key = parts(&[
                    entry.chat.as_bytes(),
                    entry.sender.as_bytes(),
                    entry.msg_id.as_bytes(),
                ]);
                let (expires_at, message_ts) = match w.get(space::MSG_SECRET, &key)? {
                    Some(value) => {
                        let (_, expires_at, message_ts) = secret_row(&value)?;
                        (
                            merge_msg_secret_expiry(expires_at, entry.expires_at),
                            merge_msg_secret_message_ts(message_ts, entry.message_ts),
                        )
                    }
                    None => (entry.expires_at, entry.message_ts),
                };
                w.put(
                    space::MSG_SECRET,
                    &key,
                    &secret_value(&entry.secret, expires_at, message_ts),
                )?;
            }
            Ok(entries.len())
        })
        .await
    }

    async fn get_msg_secret(
        &self,
        chat: &str,
        sender: &str,
        msg_id: &str,
    ) -> Result<Option<Vec<u8>>> {
        Ok(self
            .get_msg_secret_with_ts(chat, sender, msg_id)
            .await?
            .map(|(secret, _)| secret))
    }

    async fn get_msg_secret_with_ts(
        &self,
        chat: &str,
        sender: &str,
        msg_id: &str,
    ) -> Result<Option<(Vec<u8>, i64)>> {
        let key = parts(&[chat.as_bytes(), sender.as_bytes(), msg_id.as_bytes()]);
        match self.get(space::MSG_SECRET, key).await? {
            Some(value) => {
                let (secret, _, message_ts) = secret_row(&value)?;
                Ok(Some((secret.to_vec(), message_ts)))
            }
            None => Ok(None),
        }
    }

    async fn delete_expired_msg_secrets(&self, cutoff_timestamp: i64) -> Result<u32> {
        self.write(move |w| {
            let mut removed = 0u32;
            for (key, value) in w.scan(space::MSG_SECRET, &[])? {
                let (_, expires_at, _) = secret_row(&value)?;
                // 0 means never; a deadline at or before the cutoff has passed.
                if expires_at != 0 && expires_at <= cutoff_timestamp {
                    w.delete(space::MSG_SECRET, &key)?;
                    removed += 1;
                }
            }
            Ok(removed)
        })
        .await
    }
}

#[async_trait]
impl DeviceStore for RedbBackend {
    async fn save(&self, device: &Device) -> Result<()> {
        self.put(space::DEVICE, Vec::new(), to_json(device)?).await
    }

    async fn load(&self) -> Result<Option<Device>> {
        self.get(space::DEVICE, Vec::new())
            .await?
            .map(|v| from_json(&v))
            .transpose()
    }

    async fn exists(&self) -> Result<bool> {
        Ok(self.get(space::DEVICE, Vec::new()).await?.is_some())
    }

    /// Numbers device rows 1, 2, 3, … per instance (kept across restarts) and materialises a
    /// fresh device if there is none, as the library's own backend does.
    async fn create(&self) -> Result<i32> {
        self.write(|w| {
            let id = match w.get(space::META, NEXT_DEVICE_ID)? {
                Some(bytes) => i32::from_be_bytes(
                    bytes
                        .as_slice()
                        .try_into()
                        .map_err(|_| invalid("the device counter"))?,
                ),
                None => 1,
            };
            w.put(space::META, NEXT_DEVICE_ID, &(id + 1).to_be_bytes())?;
            if w.get(space::DEVICE, b"")?.is_none() {
                w.put(space::DEVICE, b"", &to_json(&Device::new())?)?;
            }
            Ok(id)
        })
        .await
    }
}
