//! Compaction: a file grown by events whose raw bodies retention deleted shrinks back, and what
//! it holds reads back the same; the nightly job compacts only on a quiet night.

use crate::db::{Db, DbOptions, Delivery, EventFilter, RawDelivery};
use crate::domain::housekeeping::{DAY, QUIET_S, retention_cutoff};
use crate::domain::{NewStore, Platform, StoreId};
use crate::ingest::{self, Request};
use crate::jobs::Compaction;

const FIXTURE: &str = "tests/fixtures/hotmart/purchase-billet-printed-boleto.json";
/// 2025-05-02 04:00 in Brasília: a night.
const NIGHT: i64 = 1_746_169_200;

fn open(dir: &std::path::Path) -> Db {
    Db::open(dir, &DbOptions::default()).expect("open")
}

fn new_store(db: &Db) -> StoreId {
    db.create_store(NewStore {
        name: "Loja".into(),
        slug: "loja".into(),
        platform: Platform::Hotmart,
        enabled: true,
        secret: None,
        webhook_token: "t".repeat(32),
        created_at: 0,
    })
    .expect("store")
    .id
}

/// A Hotmart delivery at `at` with its own transaction, padded to a few KB like real bodies.
fn delivery(store_id: StoreId, at: i64, n: u32) -> Delivery {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(FIXTURE);
    let mut body: serde_json::Value =
        serde_json::from_slice(&std::fs::read(path).expect("fixture")).expect("json");
    body["data"]["purchase"]["transaction"] = format!("HP{n:010}").into();
    body["id"] = format!("delivery-{n}").into();
    body["data"]["product"]["padding"] = format!("{n:04}").repeat(1000).into();
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

/// Every event with its raw body (when kept), oldest first.
fn everything(db: &Db) -> Vec<(u64, i64, Option<Vec<u8>>)> {
    let mut events = db
        .list_events(&EventFilter {
            limit: 100_000,
            ..Default::default()
        })
        .expect("events");
    events.reverse();
    events
        .into_iter()
        .map(|e| {
            let raw = db
                .has_raw_body(e.raw_id)
                .expect("raw")
                .then(|| db.event(e.id).expect("event").1.body);
            (e.id.0, e.received_at, raw)
        })
        .collect()
}

#[test]
fn compaction_gives_back_what_retention_freed_and_keeps_every_record() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("data");
    let db = open(&dir);
    let store = new_store(&db);
    let now = 1_000 * DAY;
    // 600 deliveries a year old, then 20 of today.
    for chunk in 0..31u32 {
        let batch: Vec<Delivery> = (0..20)
            .map(|i| chunk * 20 + i)
            .map(|n| {
                let old = n < 600;
                let at = if old { now - 365 * DAY } else { now - 60 };
                delivery(store, at + i64::from(n), n)
            })
            .collect();
        db.record_deliveries(&batch).expect("record");
    }
    let grown = db.file_bytes().expect("size");
    let cutoff = retention_cutoff(now, 180).expect("cutoff");
    assert_eq!(db.purge_raw_bodies_before(cutoff).expect("purge"), 600);
    let before = everything(&db);
    assert_eq!(before.len(), 620);
    assert_eq!(
        before.iter().filter(|(_, _, raw)| raw.is_some()).count(),
        20
    );
    assert_eq!(
        db.file_bytes().expect("size"),
        grown,
        "deleting alone never shrinks the file"
    );

    let compacted = db.compact().expect("compact");
    assert_eq!(compacted.bytes_before, grown);
    assert_eq!(compacted.bytes_after, db.file_bytes().expect("size"));
    assert!(
        compacted.bytes_after * 2 < grown,
        "{grown} bytes before, {} after",
        compacted.bytes_after
    );
    assert_eq!(
        everything(&db),
        before,
        "every event and kept raw body reads back"
    );
    let messages = db
        .list_messages(&Default::default())
        .expect("messages")
        .len();

    // Still a working file: written after, closed clean, reopened without repair.
    db.record_deliveries(&[delivery(store, now, 9_999)])
        .expect("write after compaction");
    db.close().expect("close");
    let again = open(&dir);
    assert!(!again.repaired_on_open());
    assert_eq!(everything(&again).len(), 621);
    assert_eq!(&everything(&again)[..620], &before[..]);
    assert!(
        again
            .list_messages(&Default::default())
            .expect("messages")
            .len()
            >= messages
    );
}

#[test]
fn the_nightly_job_compacts_only_when_the_merchant_is_quiet() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let db = open(&tmp.path().join("data"));
    let store = new_store(&db);
    db.record_deliveries(&[delivery(store, NIGHT - 10 * 60, 1)])
        .expect("record");
    let mut job = Compaction::default();
    assert!(job.run(&db, NIGHT).is_none(), "a webhook 10 minutes ago");
    assert!(
        job.run(&db, NIGHT - 6 * 3600).is_none(),
        "22:00 is not the night's hours"
    );
    let quiet = NIGHT - 10 * 60 + QUIET_S;
    let done = job.run(&db, quiet).expect("due").expect("compacted");
    assert!(done.bytes_after <= done.bytes_before);
    assert_eq!(job.last, Some(quiet));
    assert!(job.run(&db, quiet + 3600).is_none(), "once a night");
    assert!(job.run(&db, quiet + DAY).is_none(), "nothing deleted since");
    job.deleted(3);
    assert!(
        job.run(&db, quiet + DAY).is_some(),
        "retention deleted something"
    );
}
