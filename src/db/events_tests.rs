//! The intake's group commit as a spec: a batch of deliveries leaves exactly the events,
//! messages and counters that the same deliveries committed one at a time leave, and a process
//! killed between two batches (the data file never closed) loses no count and counts nothing
//! twice: counters commit in the same transaction as the events they count.

use serde_json::json;

use super::*;
use crate::db::{DATA_FILE, DbOptions, MessageFilter};
use crate::domain::planning::QuietHours;
use crate::domain::{Message, MessageSettings, NewStore, Platform};
use crate::ingest::{Request, recognise};

/// 2025-11-18 12:00 in Brasília.
const NOON: i64 = 1_763_478_000;

fn open(dir: &std::path::Path) -> Db {
    Db::open(dir, &DbOptions::default()).expect("open")
}

/// A data file with two stores of avisa's own format and no quiet hours.
fn fresh(dir: &std::path::Path) -> Db {
    let db = open(dir);
    db.save_message_settings(&MessageSettings {
        quiet_hours: QuietHours {
            start_min: 0,
            end_min: 0,
        },
        ..MessageSettings::default()
    })
    .expect("settings");
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

/// 60 deliveries over two days and two stores: boletos, PIX and carts (several on the same
/// counter rows), payments and refunds of the same orders (cancels and credits move counters
/// already written in the same batch), repeated deliveries (duplicates), a kind avisa does
/// not know (unmapped) and a body that is not JSON (invalid).
fn script() -> Vec<Delivery> {
    let kinds = [
        "boleto.generated",
        "pix.generated",
        "checkout.abandoned",
        "order.paid",
        "boleto.generated",
        "order.refunded",
        "no.such.kind",
    ];
    let phones = ["11987654321", "11911112222", "21999998888"];
    let mut out = Vec::new();
    for n in 0..60usize {
        let at = NOON + (n as i64) * 1_800;
        // Every eighth delivery repeats the one before it (same event id, same store).
        let event_id = if n % 8 == 7 { n - 1 } else { n };
        let store_id = StoreId(1 + (event_id % 2) as u64);
        let bytes = if n == 31 {
            b"{not json".to_vec()
        } else {
            json!({
                "kind": kinds[event_id % kinds.len()],
                "event_id": format!("e{event_id}"),
                "order_id": format!("O{}", event_id % 5),
                "customer": { "name": "Ana Souza", "phone": phones[event_id % phones.len()] },
                "products": [ { "name": "Curso", "quantity": 1, "price_cents": 19700 } ],
                "total_cents": 19700,
                "payment": { "boleto_url": "https://b.example/1", "pix_code": "000201PIX" }
            })
            .to_string()
            .into_bytes()
        };
        let readings = recognise(Platform::Api, &Request::new(&bytes, &[], ""));
        out.push(Delivery {
            store_id,
            received_at: at,
            raw: RawDelivery {
                body: bytes,
                ..RawDelivery::default()
            },
            readings,
        });
    }
    out
}

/// Everything the intake writes that a batch could count differently.
#[derive(Debug)]
struct Written {
    counters: crate::db::report_ledger::Recount,
    outbox_depth: Vec<(StoreId, u64)>,
    unmapped: u64,
    store_counts: Vec<(StoreId, u64, Option<i64>, Option<i64>)>,
    events: Vec<EventRecord>,
    messages: Vec<Message>,
}

/// Field by field, so that a difference reads as one.
fn assert_same(got: &Written, want: &Written) {
    assert_eq!(got.counters.days, want.counters.days, "report rows");
    assert_eq!(got.counters.buyers, want.counters.buyers, "buyer rows");
    assert_eq!(got.counters.events, want.counters.events, "event-day rows");
    assert_eq!(got.outbox_depth, want.outbox_depth, "outbox depth");
    assert_eq!(got.unmapped, want.unmapped, "unmapped count");
    assert_eq!(got.store_counts, want.store_counts, "store counters");
    assert_eq!(got.events.len(), want.events.len(), "events");
    for (g, w) in got.events.iter().zip(&want.events) {
        assert_eq!(g, w);
    }
    assert_eq!(got.messages.len(), want.messages.len(), "messages");
    for (g, w) in got.messages.iter().zip(&want.messages) {
        assert_eq!(g, w);
    }
}

fn written(db: &Db) -> Written {
    let diffs = db.verify_report_counters().expect("recount");
    assert!(diffs.is_empty(), "counters drifted:\n{}", diffs.join("\n"));
    let read = db.begin_read().expect("read");
    let counters = crate::db::report_ledger::stored(
        &read.open_table(tables::REPORT_DAYS).expect("days"),
        &read.open_table(tables::BUYER_DAYS).expect("buyers"),
        &read.open_table(tables::EVENT_DAYS).expect("event days"),
    )
    .expect("counters");
    Written {
        counters,
        outbox_depth: db.outbox_depth_by_store().expect("depth"),
        unmapped: db.unacknowledged_unmapped().expect("unmapped"),
        store_counts: db
            .list_stores()
            .expect("stores")
            .into_iter()
            .map(|s| (s.id, s.event_count, s.first_event_at, s.last_event_at))
            .collect(),
        events: db
            .list_events(&EventFilter {
                limit: 1_000,
                ..EventFilter::default()
            })
            .expect("events"),
        messages: db
            .list_messages(&MessageFilter {
                limit: 1_000,
                ..MessageFilter::default()
            })
            .expect("messages"),
    }
}

#[test]
fn one_group_commit_counts_exactly_what_one_commit_per_delivery_counts() {
    let script = script();

    let one_by_one = tempfile::tempdir().expect("tempdir");
    let db = fresh(one_by_one.path());
    for delivery in &script {
        db.record_deliveries(std::slice::from_ref(delivery))
            .expect("recorded");
    }
    let expected = written(&db);

    let batched = tempfile::tempdir().expect("tempdir");
    let db = fresh(batched.path());
    db.record_deliveries(&script).expect("recorded");
    assert_same(&written(&db), &expected);

    // The script exercises the summing: rows counted more than once, cancels and credits of
    // messages planned earlier, a queue that is not empty, both odd outcomes.
    assert!(expected.counters.events.values().any(|n| *n >= 3));
    assert!(
        expected.counters.days.len() >= 4,
        "{:?}",
        expected.counters.days
    );
    assert!(expected.outbox_depth.iter().all(|(_, n)| *n > 0) && !expected.outbox_depth.is_empty());
    assert!(
        expected
            .messages
            .iter()
            .any(|m| m.status == crate::domain::MessageStatus::Canceled)
    );
    assert!(expected.unmapped > 0);
    assert!(expected.events.iter().any(|e| e.duplicates > 0));
    assert!(
        expected
            .events
            .iter()
            .any(|e| e.status == crate::ingest::Status::Invalid)
    );
}

#[test]
fn a_process_killed_between_group_commits_keeps_exact_counters() {
    let script = script();

    let reference = tempfile::tempdir().expect("tempdir");
    let db = fresh(reference.path());
    for delivery in &script {
        db.record_deliveries(std::slice::from_ref(delivery))
            .expect("recorded");
    }
    let expected = written(&db);
    drop(db);

    // Batches of 7; after the third the process dies (the file is never closed) and a new one
    // opens what is on disk.
    let first = tempfile::tempdir().expect("tempdir");
    let db = fresh(first.path());
    let (before, after) = script.split_at(21);
    for batch in before.chunks(7) {
        db.record_deliveries(batch).expect("recorded");
    }
    std::mem::forget(db);
    let second = tempfile::tempdir().expect("tempdir");
    std::fs::copy(first.path().join(DATA_FILE), second.path().join(DATA_FILE)).expect("copy");
    let db = open(second.path());
    assert!(
        db.repaired_on_open(),
        "the file was left as a killed process leaves it"
    );
    for batch in after.chunks(7) {
        db.record_deliveries(batch).expect("recorded");
    }
    assert_same(&written(&db), &expected);
}

#[test]
fn the_planned_count_moves_only_when_a_commit_plans_messages() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let db = fresh(tmp.path());
    let script = script();
    assert_eq!(db.messages_planned(), 0);
    // A boleto with a phone: its reminders are planned.
    db.record_deliveries(&script[..1]).expect("boleto");
    let after_boleto = db.messages_planned();
    assert!(after_boleto > 0, "the boleto planned its messages");
    assert_eq!(after_boleto, written(&db).messages.len() as u64);
    // The same delivery again is a duplicate, and a body that is not JSON is invalid:
    // nothing new for the outbox.
    db.record_deliveries(&script[..1]).expect("duplicate");
    db.record_deliveries(&script[31..32]).expect("invalid");
    assert_eq!(db.messages_planned(), after_boleto);
}

#[test]
fn a_large_raw_delivery_is_stored_compressed_and_read_back_whole() {
    let body = std::fs::read("tests/fixtures/hotmart/purchase-billet-printed-boleto.json")
        .expect("fixture");
    let raw = RawDelivery {
        content_type: Some("application/json".into()),
        query: "a=1".into(),
        headers: vec![("x-hotmart-webhook".into(), "1".into())],
        body: body.clone(),
    };
    let stored = encode_raw(&raw).expect("encode");
    assert_eq!(stored[0], COMPRESSED);
    assert!(
        stored.len() * 10 < body.len() * 7,
        "a 2.3 KB Hotmart body shrinks by more than 30 %: {} of {}",
        stored.len(),
        body.len()
    );
    let back = decode_raw(&stored).expect("decode");
    assert_eq!(back.body, body);
    assert_eq!(back.headers, raw.headers);
    assert_eq!(back.query, "a=1");
    assert_eq!(back.content_type.as_deref(), Some("application/json"));
    // The stored bytes are the format every earlier build wrote: the marker, then lz4_flex's
    // size-prepended block of the plain record.
    let mut plain = serde_json::to_vec(&raw).expect("header");
    plain.push(0);
    plain.extend_from_slice(&body);
    let mut earlier = vec![COMPRESSED];
    earlier.extend(lz4_flex::compress_prepend_size(&plain));
    assert_eq!(stored, earlier);
}

#[test]
fn raw_records_written_before_compression_still_read() {
    // The format of every record before compression: JSON header, a zero byte, the body.
    let mut old = br#"{"content_type":"application/json","query":"","headers":[]}"#.to_vec();
    old.push(0);
    old.extend_from_slice(&[b'x'; 4096]);
    let raw = decode_raw(&old).expect("plain record");
    assert_eq!(raw.body, vec![b'x'; 4096]);
    // A small delivery is still written plain.
    let small = RawDelivery {
        body: b"{}".to_vec(),
        ..RawDelivery::default()
    };
    assert_eq!(encode_raw(&small).expect("encode")[0], b'{');
}

#[test]
fn a_damaged_compressed_record_is_an_error_not_a_panic() {
    let raw = RawDelivery {
        body: vec![b'a'; 10_000],
        ..RawDelivery::default()
    };
    let mut stored = encode_raw(&raw).expect("encode");
    stored.truncate(stored.len() / 2);
    assert!(decode_raw(&stored).is_err());
    // A length prefix claiming far more than the record holds.
    assert!(decode_raw(&[COMPRESSED, 0xff, 0xff, 0xff, 0x7f, 0x00]).is_err());
}
