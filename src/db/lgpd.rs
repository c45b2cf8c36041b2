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
use super::{Db, DbError, EventRecord, RawDelivery, from_json, tables};
use crate::domain::Phone;

/// Everything avisa holds about one buyer, as handed to them.
#[derive(Clone, Debug, Serialize)]
pub struct BuyerExport {
    pub buyer: String,
    pub exported_at: i64,
    /// Whether this number was erased before (then only that fact is left).
    pub erased: bool,
    pub events: Vec<ExportedEvent>,
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

/// What `forget_buyer` removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Forgotten {
    pub events: u64,
    pub raw_bodies: u64,
}

/// Where the retention sweep has got to (an event id); it never rereads what it passed.
const RETENTION_MARK: &str = "retention_scanned_to";
/// Raw bodies removed by retention over the file's life.
const RETENTION_PURGED: &str = "raw_bodies_purged";
/// Rows removed per transaction, so a first sweep over a large file does not hold one huge
/// write while webhooks wait.
const SWEEP_BATCH: usize = 2_000;

fn phone_hash(phone: &Phone) -> Vec<u8> {
    phone_hash_str(phone.as_str())
}

/// The hash of an E.164 phone as stored in `ERASED_BUYERS`.
pub(super) fn phone_hash_str(e164: &str) -> Vec<u8> {
    Sha256::digest(e164.as_bytes()).to_vec()
}

/// The national number, as platforms often put it in bodies (`11987654321`).
fn national(phone: &Phone) -> &str {
    phone.digits().strip_prefix("55").unwrap_or(phone.digits())
}

fn belongs_to(record: &EventRecord, raw: Option<&[u8]>, phone: &Phone) -> bool {
    match record
        .event
        .as_ref()
        .and_then(|e| e.customer.phone.as_ref())
    {
        Some(p) => p == phone,
        None => raw.is_some_and(|bytes| contains(bytes, national(phone).as_bytes())),
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

impl Db {
    /// Every event of the buyer with this phone, oldest first, with its raw delivery.
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
        Ok(BuyerExport {
            buyer: phone.as_str().to_owned(),
            exported_at: now,
            erased,
            events: out,
        })
    }

    /// Erases the buyer's events and raw deliveries in one transaction and records the hash of
    /// their phone as opted out. Store counters keep their totals (they name no one).
    pub fn forget_buyer(&self, phone: &Phone, now: i64) -> Result<Forgotten, DbError> {
        let txn = self.begin_write()?;
        let mut forgotten = Forgotten::default();
        {
            let mut events = txn.open_table(tables::EVENTS)?;
            let mut raws = txn.open_table(tables::RAW_BODIES)?;
            let mut doomed = Vec::new();
            for row in events.iter()? {
                let record: EventRecord = from_json(row?.1.value())?;
                let raw = raws.get(record.raw_id)?;
                if belongs_to(&record, raw.as_ref().map(|r| r.value()), phone) {
                    doomed.push((record.id.0, record.raw_id));
                }
            }
            for (id, raw_id) in doomed {
                events.remove(id)?;
                forgotten.events += 1;
                if raws.remove(raw_id)?.is_some() {
                    forgotten.raw_bodies += 1;
                }
            }
            txn.open_table(tables::ERASED_BUYERS)?
                .insert(phone_hash(phone).as_slice(), now)?;
        }
        Db::forget_conversation(&txn, phone.as_str())?;
        txn.commit()?;
        Ok(forgotten)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{DbOptions, Delivery};
    use crate::domain::Platform;
    use crate::domain::{NewStore, StoreId};
    use crate::ingest::{self, Request};

    const FIXTURE: &str = "tests/fixtures/hotmart/purchase-billet-printed-boleto.json";

    fn open() -> (tempfile::TempDir, Db, StoreId) {
        let tmp = tempfile::tempdir().expect("tempdir");
        let db = Db::open(&tmp.path().join("data"), &DbOptions::default()).expect("open");
        let id = db
            .create_store(NewStore {
                name: "Loja".into(),
                slug: "loja".into(),
                platform: Platform::Hotmart,
                enabled: true,
                secret: None,
                webhook_token: "t".repeat(32),
                created_at: 0,
            })
            .expect("store")
            .id;
        (tmp, db, id)
    }

    /// A Hotmart delivery at `at`, with the buyer phone replaced and a distinct transaction.
    fn delivery(store_id: StoreId, at: i64, phone: &str, n: u32) -> Delivery {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(FIXTURE);
        let mut body: serde_json::Value =
            serde_json::from_slice(&std::fs::read(path).expect("fixture")).expect("json");
        body["data"]["buyer"]["checkout_phone"] = phone.into();
        body["data"]["purchase"]["transaction"] = format!("HP{n:010}").into();
        body["id"] = format!("delivery-{n}").into();
        let bytes = serde_json::to_vec(&body).expect("json");
        let readings = ingest::recognise(Platform::Hotmart, &Request::new(&bytes, &[], ""));
        Delivery {
            store_id,
            received_at: at,
            raw: RawDelivery {
                body: bytes,
                ..RawDelivery::default()
            },
            readings,
        }
    }

    fn phone(raw: &str) -> Phone {
        Phone::parse(raw).expect("phone")
    }

    #[test]
    fn forgetting_a_buyer_erases_their_events_and_keeps_a_hash() {
        let (_tmp, store, id) = open();
        store
            .record_deliveries(&[
                delivery(id, 100, "11987654321", 1),
                delivery(id, 200, "21987654321", 2),
                delivery(id, 300, "(11) 98765-4321", 3),
            ])
            .expect("record");
        let ana = phone("+5511987654321");
        let export = store.export_buyer(&ana, 400).expect("export");
        assert_eq!(export.events.len(), 2, "two deliveries carry Ana's phone");
        assert!(export.events.iter().all(|e| e.raw.is_some()));
        assert!(!export.erased);

        let forgotten = store.forget_buyer(&ana, 500).expect("forget");
        assert_eq!(
            forgotten,
            Forgotten {
                events: 2,
                raw_bodies: 2
            }
        );
        assert!(store.is_erased_buyer(&ana).expect("erased"));
        assert!(!store.is_erased_buyer(&phone("21987654321")).expect("other"));
        let after = store.export_buyer(&ana, 600).expect("export");
        assert!(after.events.is_empty() && after.erased);
        assert_eq!(
            store
                .export_buyer(&phone("21987654321"), 600)
                .expect("other")
                .events
                .len(),
            1
        );
        assert_eq!(
            store.store(id).expect("store").event_count,
            3,
            "counts stay"
        );
    }

    #[test]
    fn retention_deletes_old_raw_bodies_and_keeps_events_and_counts() {
        let (_tmp, store, id) = open();
        let day = crate::domain::housekeeping::DAY;
        let now = 1_000 * day;
        let ages = [400, 200, 181, 179, 10, 0];
        let batch: Vec<Delivery> = ages
            .iter()
            .enumerate()
            .map(|(n, age)| delivery(id, now - age * day, "11987654321", n as u32))
            .collect();
        store.record_deliveries(&batch).expect("record");
        let cutoff = crate::domain::housekeeping::retention_cutoff(now, 180).expect("cutoff");
        assert_eq!(store.purge_raw_bodies_before(cutoff).expect("purge"), 3);
        assert_eq!(store.purge_raw_bodies_before(cutoff).expect("again"), 0);
        let events = store
            .list_events(&crate::db::EventFilter {
                limit: 100,
                ..Default::default()
            })
            .expect("events");
        assert_eq!(events.len(), 6, "events stay");
        for event in events {
            let age = (now - event.received_at) / day;
            assert_eq!(
                store.has_raw_body(event.raw_id).expect("raw"),
                age < 180,
                "raw body of an event {age} days old"
            );
        }
        assert_eq!(store.store(id).expect("store").event_count, 6);
        // A day later the next one goes, without rereading the first three.
        let later = crate::domain::housekeeping::retention_cutoff(now + 2 * day, 180);
        assert_eq!(
            store
                .purge_raw_bodies_before(later.expect("cutoff"))
                .expect("purge"),
            1
        );
    }
}
