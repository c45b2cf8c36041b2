//! The dedup index as a spec: a key is found wherever it is (the log's copy in memory, changed
//! in place by the transaction, or the merged index), across reopens and merges; the log stays within its
//! bound under any burst; a transaction that does not commit leaves no key behind; and any mix
//! of deliveries, merges and reopens deduplicates exactly as a plain map would.

use std::collections::HashMap;

use proptest::prelude::*;
use serde_json::json;

use super::{Db, DbOptions, Delivery, RawDelivery, Recorded, tables};
use crate::domain::{NewStore, Platform, StoreId};
use crate::ingest::{Request, recognise};

const NOON: i64 = 1_763_478_000;

fn open(dir: &std::path::Path, bound: usize) -> Db {
    Db::open(
        dir,
        &DbOptions {
            dedup_log_keys: bound,
            ..DbOptions::default()
        },
    )
    .expect("open")
}

/// A data file with two stores of avisa's own format.
fn fresh(dir: &std::path::Path, bound: usize) -> Db {
    let db = open(dir, bound);
    for i in 0..2 {
        db.create_store(NewStore {
            name: format!("Loja {i}"),
            slug: format!("loja-{i}"),
            platform: Platform::Api,
            enabled: true,
            secret: None,
            webhook_token: format!("{i}").repeat(32),
            created_at: NOON,
        })
        .expect("store");
    }
    db
}

/// A delivery to `store` whose event carries the dedup key `key`.
fn delivery(store: u64, key: &str) -> Delivery {
    let bytes = json!({
        "kind": "boleto.generated",
        "event_id": key,
        "order_id": format!("O-{key}"),
        "customer": { "name": "Ana Souza", "phone": "11987654321" },
        "total_cents": 19700,
        "payment": { "boleto_url": "https://b.example/1" }
    })
    .to_string()
    .into_bytes();
    let readings = recognise(Platform::Api, &Request::new(&bytes, &[], ""));
    Delivery {
        store_id: StoreId(store),
        received_at: NOON,
        raw: RawDelivery {
            body: bytes,
            ..RawDelivery::default()
        },
        readings,
    }
}

fn record_one(db: &Db, store: u64, key: &str) -> Recorded {
    let recorded = db
        .record_deliveries(&[delivery(store, key)])
        .expect("recorded");
    let [Recorded::New(_) | Recorded::Duplicate(_)] = recorded[0][..] else {
        panic!("one reading: {recorded:?}");
    };
    recorded[0][0]
}

/// Rows of the log and of the merged index, as stored.
fn stored(db: &Db) -> (u64, u64) {
    use redb::{ReadableDatabase as _, ReadableTableMetadata as _};
    let read = db.redb().begin_read().expect("read");
    let log = read.open_table(tables::DEDUP_LOG).expect("log").len();
    let merged = read.open_table(tables::DEDUP).expect("merged").len();
    (log.expect("len"), merged.expect("len"))
}

#[test]
fn a_key_is_found_in_the_log_after_a_reopen_and_in_the_merged_index_after_a_merge() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let db = fresh(tmp.path(), 1_000);
    let Recorded::New(first) = record_one(&db, 1, "pedido-1") else {
        panic!("the first delivery is new");
    };
    assert_eq!(db.dedup_backlog().expect("backlog"), 1);
    assert_eq!(stored(&db), (1, 0), "appended to the log, not the index");
    assert_eq!(record_one(&db, 1, "pedido-1"), Recorded::Duplicate(first));
    // The same key in another store is another event.
    assert!(matches!(record_one(&db, 2, "pedido-1"), Recorded::New(_)));

    db.close().expect("close");
    drop(db);
    let db = open(tmp.path(), 1_000);
    assert_eq!(db.dedup_backlog().expect("backlog"), 2, "read from the log");
    assert_eq!(record_one(&db, 1, "pedido-1"), Recorded::Duplicate(first));

    assert_eq!(db.merge_dedup_log(10).expect("merge"), 2);
    assert_eq!(db.dedup_backlog().expect("backlog"), 0);
    assert_eq!(stored(&db), (0, 2));
    assert_eq!(record_one(&db, 1, "pedido-1"), Recorded::Duplicate(first));
    assert_eq!(db.merge_dedup_log(10).expect("nothing left"), 0);
    let event = db.event(first).expect("event").0;
    assert_eq!(
        event.duplicates, 3,
        "each repeat counted on the first event"
    );
}

#[test]
fn a_burst_keeps_the_log_within_its_bound_and_every_key_deduplicated() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let db = fresh(tmp.path(), 100);
    let mut firsts = Vec::new();
    for batch in 0..30 {
        let deliveries: Vec<Delivery> = (0..10)
            .map(|n| delivery(1, &format!("k{batch}-{n}")))
            .collect();
        for recorded in db.record_deliveries(&deliveries).expect("batch") {
            let [Recorded::New(id)] = recorded[..] else {
                panic!("new: {recorded:?}");
            };
            firsts.push(id);
        }
        let backlog = db.dedup_backlog().expect("backlog");
        assert!(backlog <= 100, "batch {batch}: {backlog} keys in the log");
        let (log, merged) = stored(&db);
        assert_eq!(log as usize, backlog, "the copy is the log");
        assert_eq!(
            (log + merged) as usize,
            firsts.len(),
            "no key lost or doubled"
        );
    }
    // All 300 again, in one batch: each is its first event's duplicate.
    let again: Vec<Delivery> = (0..30)
        .flat_map(|b| (0..10).map(move |n| delivery(1, &format!("k{b}-{n}"))))
        .collect();
    let recorded = db.record_deliveries(&again).expect("again");
    let dup: Vec<Recorded> = firsts.into_iter().map(Recorded::Duplicate).collect();
    assert_eq!(recorded.concat(), dup);
}

#[test]
fn keys_of_a_transaction_that_does_not_commit_are_forgotten() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let db = fresh(tmp.path(), 1_000);
    {
        let txn = db.begin_write().expect("write");
        let mut keys = db.dedup_keys(&txn).expect("keys");
        let mut index = keys.index(&txn).expect("index");
        index.insert(1, "nunca", 999).expect("insert");
        assert_eq!(index.get(1, "nunca").expect("get"), Some(999));
        assert_eq!(index.log_len().expect("log"), 1);
        drop(index);
        drop(keys);
        txn.abort().expect("abort");
    }
    assert_eq!(db.dedup_backlog().expect("backlog"), 0);
    assert!(matches!(record_one(&db, 1, "nunca"), Recorded::New(_)));
}

#[test]
fn a_key_merged_before_the_log_existed_is_still_found() {
    // A file from before the log (schema 17) keeps its keys in `DEDUP` only.
    let tmp = tempfile::tempdir().expect("tempdir");
    let db = fresh(tmp.path(), 1_000);
    let Recorded::New(first) = record_one(&db, 1, "antigo") else {
        panic!("new");
    };
    db.merge_dedup_log(1).expect("merge");
    assert_eq!(stored(&db), (0, 1));
    assert_eq!(record_one(&db, 1, "antigo"), Recorded::Duplicate(first));
}

#[derive(Clone, Debug)]
enum Op {
    /// A batch of deliveries: (store, key number).
    Deliver(Vec<(u64, u8)>),
    Merge(usize),
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => prop::collection::vec((1u64..=2, 0u8..24), 1..6).prop_map(Op::Deliver),
        2 => (0usize..8).prop_map(Op::Merge),
        1 => Just(Op::Reopen),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 24,
        failure_persistence: None,
        rng_seed: proptest::test_runner::RngSeed::Fixed(0x0a71_5a00),
        ..ProptestConfig::default()
    })]

    /// Any sequence of batches, merges and reopens, with a log bound small enough to spill:
    /// every reading is new exactly when a plain map has not seen its key, and a repeat names
    /// the event that first carried it.
    #[test]
    fn deliveries_merges_and_reopens_deduplicate_like_a_map(
        ops in prop::collection::vec(op(), 1..24),
        bound in 1usize..6,
    ) {
        let tmp = tempfile::tempdir().expect("tempdir");
        let mut db = fresh(tmp.path(), bound);
        let mut model: HashMap<(u64, String), Recorded> = HashMap::new();
        for op in ops {
            match op {
                Op::Deliver(batch) => {
                    let deliveries: Vec<Delivery> = batch
                        .iter()
                        .map(|(store, k)| delivery(*store, &format!("chave-{k}")))
                        .collect();
                    let recorded = db.record_deliveries(&deliveries).expect("batch");
                    for ((store, k), got) in batch.iter().zip(recorded) {
                        let key = (*store, format!("chave-{k}"));
                        match model.get(&key) {
                            Some(Recorded::New(first)) => {
                                prop_assert_eq!(&got[..], &[Recorded::Duplicate(*first)][..]);
                            }
                            _ => {
                                prop_assert!(matches!(got[..], [Recorded::New(_)]), "{got:?}");
                                model.insert(key, got[0]);
                            }
                        }
                    }
                    prop_assert!(db.dedup_backlog().expect("backlog") <= bound);
                }
                Op::Merge(n) => {
                    let before = db.dedup_backlog().expect("backlog");
                    let moved = db.merge_dedup_log(n).expect("merge");
                    prop_assert_eq!(moved, n.min(before));
                }
                Op::Reopen => {
                    db.close().expect("close");
                    drop(db);
                    db = open(tmp.path(), bound);
                }
            }
            let (log, merged) = stored(&db);
            prop_assert_eq!(log as usize, db.dedup_backlog().expect("backlog"));
            prop_assert_eq!((log + merged) as usize, model.len());
        }
    }
}

#[test]
fn the_copy_is_read_again_from_the_file_after_a_reopen() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let db = fresh(tmp.path(), 1_000);
    let Recorded::New(first) = record_one(&db, 1, "reaberto") else {
        panic!("new");
    };
    // The copy loses track of the file (what a commit that failed after reaching the disk
    // would leave); the reopen after an I/O failure must not trust it.
    db.dedup.lock().expect("copy").forget_keys();
    db.note_failure(&super::DbError::Unavailable);
    assert_eq!(record_one(&db, 1, "reaberto"), Recorded::Duplicate(first));
}
