//! Order memory on a real data file, with real Appmax bodies: Appmax's sandbox order events carry
//! no buyer except `OrderApproved`, which is what order memory is for.

use crate::db::{Db, DbOptions, Delivery, MessageFilter, RawDelivery, tables};
use crate::domain::{EventId, NewStore, Platform, StoreId};
use crate::ingest::{self, ReasonCode, Request, Status};
use crate::queue::simulate::{Input, Outcome, simulate};

/// 2025-11-18 12:00 in Brasília (a Tuesday, outside quiet hours).
const NOON: i64 = 1_763_478_000;

fn fixture(name: &str) -> serde_json::Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/appmax")
        .join(name);
    serde_json::from_slice(&std::fs::read(path).expect("fixture")).expect("json")
}

/// Appmax's `OrderBilletCreated` (order 1, boleto) with the `customer` block of its
/// `OrderApproved` (the same sandbox order's buyer, in Appmax's own shape) and a boleto line:
/// the full "boleto gerado" a live store receives.
fn full_boleto() -> Vec<u8> {
    let mut body = fixture("OrderBilletCreated.json");
    body["data"]["customer"] = fixture("OrderApproved.json")["data"]["customer"].clone();
    body["data"]["billet_url"] = "https://appmax.example/boleto/1".into();
    body["data"]["billet_digitable_line"] =
        "34191.79001 01043.510047 91020.150008 5 84460000019700".into();
    serde_json::to_vec(&body).expect("json")
}

/// A real Appmax body as it came.
fn thin(name: &str) -> Vec<u8> {
    serde_json::to_vec(&fixture(name)).expect("json")
}

fn input(name: &str, body: Vec<u8>) -> Input {
    Input {
        name: name.to_owned(),
        platform: Platform::Appmax,
        headers: Vec::new(),
        body,
    }
}

fn lines(outcomes: &[Outcome]) -> Vec<String> {
    outcomes
        .iter()
        .map(|o| match o {
            Outcome::Planned {
                file, kind, step, ..
            } => format!("{file} planned {kind}#{step}"),
            Outcome::Canceled {
                file,
                kind,
                step,
                reason,
            } => format!("{file} canceled {kind}#{step} {reason}"),
            Outcome::Ignored { file, status, .. } => format!("{file} ignored {status}"),
        })
        .collect()
}

#[test]
fn a_thin_paid_after_a_full_boleto_takes_its_buyer_closes_the_order_and_confirms() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let got = simulate(
        tmp.path(),
        &[
            input("boleto", full_boleto()),
            input("paid", thin("OrderPaid.json")),
        ],
        NOON,
        3600,
    )
    .expect("simulates");
    let got = lines(&got);
    assert!(
        got.iter().any(|l| l == "paid planned order.paid#0"),
        "the paid event is planned: {got:#?}"
    );
    let boleto_steps = got
        .iter()
        .filter(|l| l.starts_with("boleto planned boleto.generated"))
        .count();
    assert!(boleto_steps > 0, "{got:#?}");
    let closed = got
        .iter()
        .filter(|l| l.starts_with("paid canceled boleto.generated") && l.ends_with("order_closed"))
        .count();
    assert!(closed > 0, "the happy path cancels the reminders: {got:#?}");
}

#[test]
fn without_an_earlier_event_the_thin_paid_stays_without_a_phone() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let got = simulate(
        tmp.path(),
        &[input("paid", thin("OrderPaid.json"))],
        NOON,
        3600,
    )
    .expect("simulates");
    assert_eq!(lines(&got), ["paid ignored invalid"]);
}

fn open() -> (tempfile::TempDir, Db, StoreId, StoreId) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let db = Db::open(&tmp.path().join("data"), &DbOptions::default()).expect("open");
    let store = |slug: &str, token: &str| {
        db.create_store(NewStore {
            name: slug.into(),
            slug: slug.into(),
            platform: Platform::Appmax,
            enabled: true,
            secret: None,
            webhook_token: token.repeat(32),
            created_at: 0,
        })
        .expect("store")
        .id
    };
    let a = store("loja-a", "a");
    let b = store("loja-b", "b");
    (tmp, db, a, b)
}

fn delivery(store_id: StoreId, at: i64, body: Vec<u8>) -> Delivery {
    let readings = ingest::recognise(Platform::Appmax, &Request::new(&body, &[], ""));
    Delivery {
        store_id,
        received_at: at,
        raw: RawDelivery {
            body,
            ..RawDelivery::default()
        },
        readings,
    }
}

fn recorded_id(db: &Db, delivery: Delivery) -> EventId {
    match db.record_deliveries(&[delivery]).expect("record")[0][0] {
        crate::db::Recorded::New(id) => id,
        other => panic!("not new: {other:?}"),
    }
}

#[test]
fn the_event_says_which_event_its_buyer_came_from_and_only_its_own_store_remembers() {
    let (_tmp, db, a, b) = open();
    let boleto = recorded_id(&db, delivery(a, NOON, full_boleto()));
    let refund_a = recorded_id(&db, delivery(a, NOON + 60, thin("OrderRefund.json")));
    let refund_b = recorded_id(&db, delivery(b, NOON + 60, thin("OrderRefund.json")));

    let (record, _) = db.event(refund_a).expect("event");
    assert_eq!(record.status, Status::Ok);
    assert_eq!(record.buyer_from, Some(boleto));
    let customer = &record.event.as_ref().expect("event").customer;
    assert_eq!(
        customer.phone.as_ref().map(|p| p.as_str()),
        Some("+5511999999999")
    );
    assert_eq!(customer.name.as_deref(), Some("Cliente Teste"));
    // The other store never saw order 1's buyer.
    let (record, _) = db.event(refund_b).expect("event");
    assert_eq!(record.status, Status::Invalid);
    assert_eq!(record.reason.map(|r| r.code), Some(ReasonCode::NoPhone));
    assert_eq!(record.buyer_from, None);
    // A thin event that took a buyer does not become the source: the boleto still is.
    assert_eq!(
        db.remembered_buyer(a, "1").expect("read").map(|(id, _)| id),
        Some(boleto)
    );
}

#[test]
fn a_full_and_a_thin_event_in_one_batch_are_read_in_order() {
    let (_tmp, db, a, _) = open();
    let got = db
        .record_deliveries(&[
            delivery(a, NOON, full_boleto()),
            delivery(a, NOON, thin("OrderPaid.json")),
        ])
        .expect("record");
    let crate::db::Recorded::New(paid) = got[1][0] else {
        panic!("new")
    };
    let (record, _) = db.event(paid).expect("event");
    assert_eq!(record.status, Status::Ok);
    let messages = db
        .list_messages(&MessageFilter {
            event_id: Some(paid),
            limit: 10,
            ..MessageFilter::default()
        })
        .expect("messages");
    assert!(
        messages
            .iter()
            .any(|m| m.phone == "+5511999999999" && m.status.is_pending()),
        "the confirmation is planned for the remembered buyer: {messages:?}"
    );
}

#[test]
fn retention_forgets_remembered_buyers_older_than_its_limit() {
    let (_tmp, db, a, _) = open();
    recorded_id(&db, delivery(a, NOON, full_boleto()));
    assert_eq!(db.purge_order_memory_before(NOON).expect("purge"), 0);
    assert!(db.remembered_buyer(a, "1").expect("read").is_some());
    assert_eq!(db.purge_order_memory_before(NOON + 1).expect("purge"), 1);
    assert!(db.remembered_buyer(a, "1").expect("read").is_none());
    let paid = recorded_id(&db, delivery(a, NOON + 60, thin("OrderPaid.json")));
    let (record, _) = db.event(paid).expect("event");
    assert_eq!(record.status, Status::Invalid, "sem telefone again");
}

#[test]
fn forgetting_the_buyer_forgets_the_orders_they_are_remembered_for() {
    let (_tmp, db, a, _) = open();
    recorded_id(&db, delivery(a, NOON, full_boleto()));
    let phone = crate::domain::Phone::parse("11999999999").expect("phone");
    db.forget_buyer(&phone, NOON + 10).expect("forget");
    assert!(db.remembered_buyer(a, "1").expect("read").is_none());
    let paid = recorded_id(&db, delivery(a, NOON + 60, thin("OrderPaid.json")));
    assert_eq!(db.event(paid).expect("event").0.status, Status::Invalid);
}

/// A file from before order memory (schema 13) opens with the memory filled from its events, so
/// an order begun before the upgrade is completed by a thin event after it.
#[test]
fn a_schema_13_file_opens_with_its_orders_buyers_remembered() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("data");
    let (a, boleto) = {
        let db = Db::open(&dir, &DbOptions::default()).expect("open");
        let a = db
            .create_store(NewStore {
                name: "Loja".into(),
                slug: "loja".into(),
                platform: Platform::Appmax,
                enabled: true,
                secret: None,
                webhook_token: "a".repeat(32),
                created_at: 0,
            })
            .expect("store")
            .id;
        let boleto = recorded_id(&db, delivery(a, NOON, full_boleto()));
        (a, boleto)
    };
    {
        let file = redb::Database::create(dir.join(crate::db::DATA_FILE)).expect("open");
        let txn = file.begin_write().expect("write");
        txn.delete_table(tables::ORDER_BUYERS).expect("drop");
        txn.open_table(tables::META)
            .expect("meta")
            .insert("schema_version", 13)
            .expect("version");
        txn.commit().expect("commit");
    }
    let db = Db::open(&dir, &DbOptions::default()).expect("a schema 13 file opens");
    assert_eq!(
        db.remembered_buyer(a, "1").expect("read").map(|(id, _)| id),
        Some(boleto)
    );
    let paid = recorded_id(&db, delivery(a, NOON + 60, thin("OrderPaid.json")));
    assert_eq!(db.event(paid).expect("event").0.buyer_from, Some(boleto));
}
