//! How the backend lays its rows out in an instance's namespace: the spaces (numbers that are in
//! users' data files), JSON for the library's serde types, big-endian integers, length-prefixed
//! composite keys, timestamped rows. Pure byte work; uses whatsapp-rust's types only.

use whatsapp_rust::bytes::Bytes;
use whatsapp_rust::wacore::store::error::{Result, StoreError as WaError};
use whatsapp_rust::wacore::store::traits::MessageSecret;

/// The spaces of an instance's namespace. These numbers are in users' data files: never
/// renumber one; a new kind of row gets a new number.
pub(super) mod space {
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

pub(super) const NEXT_DEVICE_ID: &[u8] = b"next_device_id";
pub(super) const LATEST_SYNC_KEY: &[u8] = b"latest_sync_key_id";

pub(super) fn to_json<T: serde::Serialize>(value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| WaError::Serialization(Box::new(e)))
}

pub(super) fn from_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| WaError::Serialization(Box::new(e)))
}

/// A composite key: each part as its length (u32 BE) then its bytes. The first k parts of a key
/// are a byte prefix of it, so "all rows of this group" is a prefix scan.
pub(super) fn parts(items: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(items.iter().map(|p| p.len() + 4).sum());
    for item in items {
        out.extend_from_slice(&(item.len() as u32).to_be_bytes());
        out.extend_from_slice(item);
    }
    out
}

/// The parts of a key made by `parts`.
pub(super) fn split_parts(mut key: &[u8]) -> Result<Vec<&[u8]>> {
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

pub(super) fn invalid(what: &str) -> WaError {
    WaError::Validation(format!("stored WhatsApp state: {what}"))
}

pub(super) fn utf8(bytes: &[u8]) -> Result<String> {
    String::from_utf8(bytes.to_vec()).map_err(|e| WaError::Serialization(Box::new(e)))
}

pub(super) fn be_u32(bytes: &[u8]) -> Result<u32> {
    Ok(u32::from_be_bytes(
        bytes.try_into().map_err(|_| invalid("a u32 key"))?,
    ))
}

/// An i64 timestamp in front of a payload.
pub(super) fn stamped(at: i64, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + payload.len());
    out.extend_from_slice(&at.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

pub(super) fn unstamp(value: &[u8]) -> Result<(i64, &[u8])> {
    let (at, payload) = value
        .split_first_chunk::<8>()
        .ok_or_else(|| invalid("a timestamped row is cut short"))?;
    Ok((i64::from_be_bytes(*at), payload))
}

pub(super) fn prekey_value(uploaded: bool, record: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + record.len());
    out.push(u8::from(uploaded));
    out.extend_from_slice(record);
    out
}

pub(super) fn prekey_record(value: &[u8]) -> Result<Bytes> {
    value
        .split_first()
        .map(|(_, record)| Bytes::copy_from_slice(record))
        .ok_or_else(|| invalid("an empty pre-key row"))
}

pub(super) fn secret_value(secret: &MessageSecret, expires_at: i64, message_ts: i64) -> Vec<u8> {
    let mut out = Vec::with_capacity(48);
    out.extend_from_slice(secret);
    out.extend_from_slice(&expires_at.to_be_bytes());
    out.extend_from_slice(&message_ts.to_be_bytes());
    out
}

pub(super) fn secret_row(value: &[u8]) -> Result<(MessageSecret, i64, i64)> {
    if value.len() != 48 {
        return Err(invalid("a message-secret row"));
    }
    let secret: MessageSecret = value[..32].try_into().expect("length checked above");
    let expires_at = i64::from_be_bytes(value[32..40].try_into().expect("length checked"));
    let message_ts = i64::from_be_bytes(value[40..48].try_into().expect("length checked"));
    Ok((secret, expires_at, message_ts))
}

/// Whether `address` (`user@server` or `user:device@server`) belongs to `user`.
pub(super) fn address_of_user(address: &[u8], user: &[u8]) -> bool {
    address
        .strip_prefix(user)
        .is_some_and(|rest| rest.starts_with(b"@") || rest.starts_with(b":"))
}
