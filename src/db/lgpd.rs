//! LGPD: a buyer's data out (export), a buyer's data erased (forget), and retention (raw bodies
//! older than the limit deleted while events and counts stay).
//!
//! A buyer is found by phone: events whose reading carries that phone, plus events avisa could
//! not read (no phone in the reading) whose raw body contains the number. An erased buyer leaves
//! only the SHA-256 of their E.164 phone behind, so senders can refuse to message them again.
//! (A hash of a phone number can be reversed by trying every number; it is kept because the
//! opt-out must be checkable, and it says no more than "this number asked to be forgotten".)

use redb::ReadableTable;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::events::decode_raw;
use super::{ConversationEntry, Db, DbError, EventRecord, RawDelivery, from_json, tables};
use crate::domain::{Message, Phone};

/// Everything avisa holds about one buyer, as handed to them.
#[derive(Clone, Debug, Serialize)]
pub struct BuyerExport {
    pub buyer: String,
    pub exported_at: i64,
    /// Whether this number was erased before (then only that fact is left).
    pub erased: bool,
    pub events: Vec<ExportedEvent>,
    /// Every message avisa planned for them (sent or not), with its text and history.
    pub messages: Vec<Message>,
    /// Their replies and avisa's answers, under the phone or a WhatsApp address carrying it.
    pub conversation: Vec<ConversationEntry>,
    /// The files their media messages carried (which file, type, name; the bytes stay in the
    /// data file).
    pub media: Vec<ExportedMedia>,
}

/// One file a buyer's message carried.
#[derive(Clone, Debug, Serialize)]
pub struct ExportedMedia {
    pub message_id: crate::domain::MessageId,
    #[serde(flatten)]
    pub media: crate::domain::media::SentMedia,
}

#[derive(Clone, Debug, Serialize)]
pub struct ExportedEvent {
    #[serde(flatten)]
    pub record: EventRecord,
    /// The delivery as received; absent once retention removed it.
    pub raw: Option<ExportedRaw>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ExportedRaw {
    pub content_type: Option<String>,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// Where the retention sweep has got to (an event id); it never rereads what it passed.
const RETENTION_MARK: &str = "retention_scanned_to";
/// Raw bodies removed by retention over the file's life.
const RETENTION_PURGED: &str = "raw_bodies_purged";
/// Rows removed per transaction, so a first sweep over a large file does not hold one huge
/// write while webhooks wait.
const SWEEP_BATCH: usize = 2_000;

pub(super) fn phone_hash(phone: &Phone) -> Vec<u8> {
    phone_hash_str(phone.as_str())
}

/// The hash of an E.164 phone as stored in `ERASED_BUYERS`.
pub(super) fn phone_hash_str(e164: &str) -> Vec<u8> {
    Sha256::digest(e164.as_bytes()).to_vec()
}

/// Whether an event is the buyer's: its reading carries the phone, or it has no phone and its raw
/// body contains the national number.
pub(super) fn belongs_to(record: &EventRecord, raw: Option<&[u8]>, phone: &Phone) -> bool {
    match record
        .event
        .as_ref()
        .and_then(|e| e.customer.phone.as_ref())
    {
        Some(p) => p == phone,
        // A record that does not decompress is not searched (and so not taken for the buyer's).
        None => raw
            .and_then(|bytes| super::events::plain_raw(bytes).ok())
            .is_some_and(|bytes| contains(&bytes, super::forget::national(phone).as_bytes())),
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

impl Db {
    /// Everything kept about the buyer with this phone: their events (oldest first, with the raw
    /// delivery), their messages and their conversation.
    pub fn export_buyer(&self, phone: &Phone, now: i64) -> Result<BuyerExport, DbError> {
        let read = self.begin_read()?;
        let events = read.open_table(tables::EVENTS)?;
        let raws = read.open_table(tables::RAW_BODIES)?;
        let mut out = Vec::new();
        for row in events.iter()? {
            let record: EventRecord = from_json(row?.1.value())?;
            let raw = raws.get(record.raw_id)?;
            let raw_bytes = raw.as_ref().map(|r| r.value());
            if belongs_to(&record, raw_bytes, phone) {
                let raw = raw_bytes.map(decode_raw).transpose()?.map(export_raw);
                out.push(ExportedEvent { record, raw });
            }
        }
        let erased = read
            .open_table(tables::ERASED_BUYERS)?
            .get(phone_hash(phone).as_slice())?
            .is_some();
        // Full scans, as forgetting does: an export is rare and must miss nothing.
        let mut messages = Vec::new();
        for row in read.open_table(tables::MESSAGES)?.iter()? {
            let message: Message = from_json(row?.1.value())?;
            if message.phone == phone.as_str() {
                messages.push(message);
            }
        }
        let digits = super::forget::national(phone);
        let mut conversation = Vec::new();
        for row in read.open_table(tables::CONVERSATIONS)?.iter()? {
            let (key, value) = row?;
            let buyer = key.value().0;
            if buyer == phone.as_str() || buyer.contains(digits) {
                conversation.push(from_json::<ConversationEntry>(value.value())?);
            }
        }
        conversation.sort_by_key(|e| (e.at, e.id));
        let mut media = Vec::new();
        let records = read.open_table(tables::MESSAGE_MEDIA)?;
        for message in &messages {
            if let Some(bytes) = records.get(message.id.0)? {
                media.push(ExportedMedia {
                    message_id: message.id,
                    media: from_json(bytes.value())?,
                });
            }
        }
        Ok(BuyerExport {
            buyer: phone.as_str().to_owned(),
            exported_at: now,
            erased,
            events: out,
            messages,
            conversation,
            media,
        })
    }

    /// Whether this phone's owner asked to be forgotten (senders must not message them).
    pub fn is_erased_buyer(&self, phone: &Phone) -> Result<bool, DbError> {
        let read = self.begin_read()?;
        let table = read.open_table(tables::ERASED_BUYERS)?;
        Ok(table.get(phone_hash(phone).as_slice())?.is_some())
    }

    /// Deletes the raw deliveries of events received before `cutoff` (unix seconds); the events,
    /// their readings and every count stay. Returns how many bodies were deleted.
    pub fn purge_raw_bodies_before(&self, cutoff: i64) -> Result<u64, DbError> {
        let mut total = 0;
        loop {
            let txn = self.begin_write()?;
            let (removed, done) = {
                let events = txn.open_table(tables::EVENTS)?;
                let mut raws = txn.open_table(tables::RAW_BODIES)?;
                let mut counters = txn.open_table(tables::COUNTERS)?;
                let start = counters
                    .get(RETENTION_MARK)?
                    .map(|v| v.value())
                    .unwrap_or(0);
                let mut mark = start;
                let mut removed = 0u64;
                let mut done = true;
                let mut scanned = 0usize;
                for row in events.range(start + 1..)? {
                    let (id, bytes) = row?;
                    let record: EventRecord = from_json(bytes.value())?;
                    // Ids grow with arrival time: the first recent event ends the sweep.
                    if record.received_at >= cutoff {
                        break;
                    }
                    if raws.remove(record.raw_id)?.is_some() {
                        removed += 1;
                    }
                    mark = id.value();
                    scanned += 1;
                    if scanned >= SWEEP_BATCH {
                        done = false;
                        break;
                    }
                }
                if mark != start {
                    counters.insert(RETENTION_MARK, mark)?;
                }
                if removed > 0 {
                    let before = counters
                        .get(RETENTION_PURGED)?
                        .map(|v| v.value())
                        .unwrap_or(0);
                    counters.insert(RETENTION_PURGED, before + removed)?;
                }
                (removed, done)
            };
            txn.commit()?;
            total += removed;
            if done {
                // The files media parts carried go with the raw bodies, by the same cutoff.
                self.purge_media_before(cutoff)?;
                return Ok(total);
            }
        }
    }

    /// Whether the raw delivery of this event is still kept.
    pub fn has_raw_body(&self, raw_id: u64) -> Result<bool, DbError> {
        let read = self.begin_read()?;
        Ok(read.open_table(tables::RAW_BODIES)?.get(raw_id)?.is_some())
    }
}

fn export_raw(raw: RawDelivery) -> ExportedRaw {
    ExportedRaw {
        content_type: raw.content_type,
        headers: raw.headers,
        body: String::from_utf8_lossy(&raw.body).into_owned(),
    }
}
