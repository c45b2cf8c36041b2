//! Store mappings in a real data file: saved, cached, removed with the store; re-processing held
//! unmapped events plans them as if just arrived, late steps canceled ("chegou tarde").

use serde_json::json;

use crate::db::{Db, DbError, Delivery, MessageFilter, RawDelivery, Reprocessed};
use crate::domain::{MessageStatus, NewStore, Platform, StoreId};
use crate::ingest::mapping::Mapping;
use crate::ingest::{Request, Status, recognise_with};

/// 2025-11-18 12:00 in Brasília (a Tuesday, outside quiet hours).
const NOON: i64 = 1_763_478_000;

fn open() -> (tempfile::TempDir, Db) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let db = Db::open(tmp.path(), &crate::db::DbOptions::default()).expect("opens");
    (tmp, db)
}

fn store(db: &Db, platform: Platform) -> StoreId {
    db.create_store(NewStore {
        name: "Loja".into(),
        slug: "loja".into(),
        platform,
        enabled: true,
        secret: None,
        webhook_token: "t0k3n".into(),
        created_at: 0,
    })
    .expect("store")
    .id
}

fn pix_body(order: &str) -> Vec<u8> {
    json!({"tipo": "pix_gerado", "pedido": order, "fone": "11987654321", "nome": "Ana",
        "pix": "00020126PIX", "produto": "Curso"})
    .to_string()
    .into_bytes()
}

fn mapping() -> Mapping {
    serde_json::from_value(json!({
        "event_field": "tipo",
        "kinds": {"pix_gerado": "pix.generated"},
        "fields": {"customer.phone": "fone", "customer.name": "nome", "order_id": "pedido",
            "payment.pix_code": "pix", "products.name": "produto"},
    }))
    .expect("a mapping")
}

/// Receives `body` at `at` with the store's mapping as it is now.
fn receive(db: &Db, id: StoreId, body: Vec<u8>, at: i64) -> Status {
    let mapping = db.store_mapping(id).expect("read");
    let readings = recognise_with(
        Platform::Custom,
        mapping.as_deref(),
        &Request::new(&body, &[], ""),
    );
    let status = readings[0].status;
    db.record_deliveries(&[Delivery {
        store_id: id,
        received_at: at,
        raw: RawDelivery {
            body,
            ..RawDelivery::default()
        },
        readings,
    }])
    .expect("recorded");
    status
}

fn statuses(db: &Db, id: StoreId) -> Vec<(u32, MessageStatus, Option<String>)> {
    let mut all = db
        .list_messages(&MessageFilter {
            store_id: Some(id),
            limit: 100,
            ..MessageFilter::default()
        })
        .expect("messages");
    all.sort_by_key(|m| m.id);
    all.into_iter()
        .map(|m| (m.step, m.status, m.reason().map(str::to_owned)))
        .collect()
}

#[test]
fn mapping_reprocess_plans_held_events_and_cancels_the_steps_that_arrived_late() {
    use MessageStatus::{Canceled, Scheduled};
    let late = Some("arrived_late".to_owned());
    // (minutes between arrival and re-processing, the PIX template's messages: step 0 at 2 min in
    // two parts, step 1 at 30 min)
    let table = [
        (
            10,
            vec![
                (0, Scheduled, None),
                (0, Scheduled, None),
                (1, Scheduled, None),
            ],
        ),
        (
            61,
            vec![
                (0, Scheduled, None),
                (0, Scheduled, None),
                (1, Scheduled, None),
            ],
        ),
        (
            63,
            vec![
                (0, Canceled, late.clone()),
                (0, Canceled, late.clone()),
                (1, Scheduled, None),
            ],
        ),
        (
            91,
            vec![
                (0, Canceled, late.clone()),
                (0, Canceled, late.clone()),
                (1, Canceled, late.clone()),
            ],
        ),
    ];
    for (minutes, expected) in table {
        let (_tmp, db) = open();
        let id = store(&db, Platform::Custom);
        assert_eq!(receive(&db, id, pix_body("P1"), NOON), Status::Unmapped);
        assert_eq!(db.unacknowledged_unmapped().expect("count"), 1);
        assert!(statuses(&db, id).is_empty());
        db.set_store_mapping(id, Some(&mapping())).expect("saved");
        let done = db
            .reprocess_unmapped(id, NOON + minutes * 60)
            .expect("reprocessed");
        assert_eq!(done.recognised, 1, "{minutes} min");
        assert_eq!(statuses(&db, id), expected, "{minutes} min");
        assert_eq!(db.unacknowledged_unmapped().expect("count"), 0);
        // Nothing is held any more: a second run plans nothing twice.
        let again = db
            .reprocess_unmapped(id, NOON + minutes * 60)
            .expect("again");
        assert_eq!(again, Reprocessed::default());
        assert_eq!(statuses(&db, id).len(), 3);
    }
}

#[test]
fn mapping_reprocess_leaves_unknown_names_held_and_counts_ignored_ones() {
    let (_tmp, db) = open();
    let id = store(&db, Platform::Custom);
    receive(&db, id, pix_body("P1"), NOON);
    let other = json!({"tipo": "desconhecido", "fone": "11987654321"}).to_string();
    receive(&db, id, other.into_bytes(), NOON);
    let ping = json!({"tipo": "ping"}).to_string();
    receive(&db, id, ping.into_bytes(), NOON);
    let mut m = mapping();
    m.kinds
        .insert("ping".into(), crate::ingest::mapping::Choice::Ignore);
    db.set_store_mapping(id, Some(&m)).expect("saved");
    let done = db.reprocess_unmapped(id, NOON + 60).expect("reprocessed");
    assert_eq!(
        done,
        Reprocessed {
            recognised: 1,
            ignored: 1,
            invalid: 0,
            still_unmapped: 1
        }
    );
    let held = db.held_events(id, 10).expect("held");
    assert_eq!(held.count, 1);
    // A body of the same shape is recognised on arrival now.
    assert_eq!(receive(&db, id, pix_body("P2"), NOON + 120), Status::Ok);
}

#[test]
fn a_mapping_is_cached_replaced_and_removed_with_its_store() {
    let (_tmp, db) = open();
    let id = store(&db, Platform::Custom);
    assert_eq!(db.store_mapping(id).expect("read"), None);
    db.set_store_mapping(id, Some(&mapping())).expect("saved");
    assert_eq!(
        db.store_mapping(id).expect("read").as_deref(),
        Some(&mapping())
    );
    db.set_store_mapping(id, None).expect("removed");
    assert_eq!(db.store_mapping(id).expect("read"), None);
    db.set_store_mapping(id, Some(&mapping())).expect("saved");
    db.delete_store(id, NOON).expect("deleted");
    assert_eq!(db.store_mapping(id).expect("read"), None);
    assert!(matches!(
        db.set_store_mapping(id, Some(&mapping())),
        Err(DbError::NotFound)
    ));
}
