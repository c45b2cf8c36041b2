//! LGPD: export, forget and retention, on a real data file.
use redb::{
    MultimapTableHandle, ReadableDatabase, ReadableMultimapTable, ReadableTable, TableHandle,
};

use crate::db::{AttemptOutcome, Db, DbOptions, Delivery, NewConversationEntry, RawDelivery};
use crate::db::{ConversationKind, ReportFilter, WaOp, tables};
use crate::domain::{InstanceId, MessageStatus, NewStore, Phone, Platform, StoreId};
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
    named_delivery(store_id, at, phone, "Ana Souza", n)
}

/// The same, with the buyer's name too.
fn named_delivery(store_id: StoreId, at: i64, phone: &str, name: &str, n: u32) -> Delivery {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(FIXTURE);
    let mut body: serde_json::Value =
        serde_json::from_slice(&std::fs::read(path).expect("fixture")).expect("json");
    body["data"]["buyer"]["checkout_phone"] = phone.into();
    body["data"]["buyer"]["name"] = name.into();
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
    assert_eq!((forgotten.events, forgotten.raw_bodies), (2, 2));
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

/// 2025-11-18 12:00 in Brasília (a Tuesday, outside quiet hours).
const NOON: i64 = 1_763_478_000;

/// Every row of every table, as the bytes redb stores (key then value), by table name.
fn every_row(db: &Db) -> Vec<(String, Vec<u8>)> {
    fn rows<K: redb::Key + 'static, V: redb::Value + 'static>(
        read: &redb::ReadTransaction,
        def: redb::TableDefinition<K, V>,
        out: &mut Vec<(String, Vec<u8>)>,
    ) {
        let table = match read.open_table(def) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return,
            Err(e) => panic!("{}: {e}", def.name()),
        };
        for row in table.iter().expect("iter") {
            let (k, v) = row.expect("row");
            let mut bytes = K::as_bytes(&k.value()).as_ref().to_vec();
            bytes.extend_from_slice(V::as_bytes(&v.value()).as_ref());
            out.push((def.name().to_owned(), bytes));
        }
    }
    fn multimap_rows<K: redb::Key + 'static, V: redb::Key + 'static>(
        read: &redb::ReadTransaction,
        def: redb::MultimapTableDefinition<K, V>,
        out: &mut Vec<(String, Vec<u8>)>,
    ) {
        let table = read.open_multimap_table(def).expect("multimap");
        for row in table.iter().expect("iter") {
            let (k, values) = row.expect("row");
            for v in values {
                let mut bytes = K::as_bytes(&k.value()).as_ref().to_vec();
                bytes.extend_from_slice(V::as_bytes(&v.expect("value").value()).as_ref());
                out.push((def.name().to_owned(), bytes));
            }
        }
    }
    let read = db.redb().begin_read().expect("read");
    let mut out = Vec::new();
    let mut walked = Vec::new();
    macro_rules! walk {
        ($($table:ident),* $(,)?) => {$(
            walked.push(tables::$table.name().to_owned());
            rows(&read, tables::$table, &mut out);
        )*};
    }
    walk!(
        META,
        SEQUENCES,
        USERS,
        USERS_BY_EMAIL,
        SESSIONS,
        API_TOKENS,
        SETTINGS,
        STORES,
        STORE_TOKENS,
        EVENTS,
        RAW_BODIES,
        DEDUP,
        DEDUP_LOG,
        COUNTERS,
        MESSAGES,
        OUTBOX,
        MESSAGES_BY_DUE,
        TEMPLATES,
        CLOSED_ORDERS,
        CLOSED_PURCHASES,
        OPT_OUTS,
        ERASED_BUYERS,
        INSTANCES,
        LEASES,
        OUTBOX_DEPTH,
        WA_STATE,
        CONVERSATIONS,
        INCOMING_SEEN,
        AUTO_REPLIES,
        REPORT_DAYS,
        EVENT_DAYS,
        BUYER_DAYS,
        RECOVERED_ORDERS,
        WIRE_IDS,
        ON_WHATSAPP,
        HEALTH_DAYS,
        STORE_MAPPINGS,
        MEDIA_BLOBS,
        MESSAGE_MEDIA,
        ORDER_BUYERS,
        CUSTOM_KINDS,
        OUTBOUND_ENDPOINTS,
        OUTBOUND_DELIVERIES,
        OUTBOUND_DUE,
        OUTBOUND_LOG,
        OUTBOUND_META,
        STORE_API_CREDENTIALS,
        ENRICH_JOBS,
        ENRICH_DUE,
    );
    walked.push(tables::MESSAGES_BY_ORDER.name().to_owned());
    walked.push(tables::MESSAGES_BY_PHONE.name().to_owned());
    multimap_rows(&read, tables::MESSAGES_BY_ORDER, &mut out);
    multimap_rows(&read, tables::MESSAGES_BY_PHONE, &mut out);
    // A table added to the file must be added to the walk.
    let names = read
        .list_tables()
        .expect("tables")
        .map(|t| t.name().to_owned())
        .chain(
            read.list_multimap_tables()
                .expect("multimap tables")
                .map(|t| t.name().to_owned()),
        );
    for name in names {
        assert!(walked.contains(&name), "table {name} is not walked");
    }
    out
}

/// The tables where any of `needles` appears.
fn tables_holding(db: &Db, needles: &[Vec<u8>]) -> Vec<String> {
    let mut found: Vec<String> = every_row(db)
        .into_iter()
        .filter(|(_, bytes)| {
            needles
                .iter()
                .any(|n| bytes.windows(n.len()).any(|w| w == n.as_slice()))
        })
        .map(|(name, _)| name)
        .collect();
    found.dedup();
    found.sort();
    found.dedup();
    found
}

/// Ana's phone and name in every form avisa may store them: E.164 digits, national number,
/// masked, WhatsApp address, the number as a report key, her name.
fn ana_needles() -> Vec<Vec<u8>> {
    let mut needles: Vec<Vec<u8>> = [
        "5511987654321",
        "11987654321",
        "9****-4321",
        "5511987654321@s.whatsapp.net",
        "Quitéria Bernardes",
        "Bernardes",
        "Quitéria",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    needles.push(5_511_987_654_321u64.to_le_bytes().to_vec());
    needles.push(5_511_987_654_321u64.to_be_bytes().to_vec());
    needles
}

#[test]
fn after_forgetting_a_buyer_no_table_holds_their_phone_or_name_and_counts_stay() {
    let (_tmp, db, id) = open();
    let ana_raw = "(11) 98765-4321";
    db.record_deliveries(&[
        named_delivery(id, NOON, ana_raw, "Quitéria Bernardes", 1),
        named_delivery(id, NOON, "21912345678", "Bruno Lima", 2),
        named_delivery(id, NOON + 60, ana_raw, "Quitéria Bernardes", 3),
    ])
    .expect("record");
    // Ana's first boleto message goes out, then she pays that order: a recovery is credited.
    let first = db
        .list_messages(&crate::db::MessageFilter {
            phone: Some("+5511987654321".into()),
            limit: 100,
            ..Default::default()
        })
        .expect("messages")
        .into_iter()
        .filter(|m| m.order_id.as_deref() == Some("HP0000000001"))
        .min_by_key(|m| (m.step, m.part))
        .expect("a message for Ana's first order");
    let lease = NOON + 600;
    db.claim_message(first.id, Some(InstanceId(1)), lease, NOON + 100)
        .expect("claim")
        .expect("claimed");
    let sent = AttemptOutcome::Sent {
        at: NOON + 100,
        sandbox: false,
        next_slot: 0,
        note: None,
    };
    db.record_attempt(first.id, lease, sent, NOON + 100)
        .expect("sent");
    db.mark_order_paid(id, "HP0000000001", NOON + 200)
        .expect("paid");
    assert!(
        db.recovery(id, "HP0000000001").expect("recovery").is_some(),
        "the payment is credited to the message"
    );
    // She writes back, under her phone and under a WhatsApp address avisa could not map.
    for buyer in ["+5511987654321", "5511987654321@s.whatsapp.net"] {
        let reply = NewConversationEntry {
            instance_id: InstanceId(1),
            buyer,
            kind: ConversationKind::Reply,
            text: "Oi, aqui é a Quitéria Bernardes",
            at: NOON + 300,
            opt_out: false,
            error: None,
        };
        db.record_reply(&reply, None).expect("reply");
    }
    db.claim_auto_reply(InstanceId(1), "+5511987654321", NOON + 300, |_| true)
        .expect("auto-reply");
    // The WhatsApp library's per-contact state, and another contact's.
    let session = |jid: &str| WaOp::Put {
        space: 3,
        key: format!("{jid}.0").into_bytes(),
        value: b"session".to_vec(),
    };
    db.wa_apply(
        InstanceId(1),
        &[
            session("5511987654321@s.whatsapp.net"),
            session("5521912345678"),
        ],
    )
    .expect("wa state");
    // She is also on the opt-out list (which cancels her second boleto's reminders).
    db.add_opt_out("+5511987654321", "console", NOON + 400)
        .expect("opt-out");
    // What WhatsApp said about her number (kept a week).
    db.save_on_whatsapp(
        InstanceId(1),
        "+5511987654321",
        &crate::domain::deliverability::OnWhatsapp {
            user: Some("5511987654321".into()),
            checked_at: NOON,
        },
    )
    .expect("lookup");
    let filter = ReportFilter {
        first_day: i32::MIN,
        last_day: i32::MAX,
        store_id: None,
        instance_id: None,
        kind: None,
        include_test: true,
    };
    let report_before = db.report_rows(&filter).expect("report");
    let buyers_before = db.buyer_frequency(&filter, 10).expect("buyers");

    let held = tables_holding(&db, &ana_needles());
    for table in [
        "events_v1",
        "raw_bodies_v1",
        "messages_v1",
        "messages_by_phone_v1",
        "conversations_v1",
        "auto_replies_v1",
        "buyer_days_v1",
        "wa_state_v1",
        "opt_outs_v1",
        "on_whatsapp_v1",
        "order_buyers_v1",
    ] {
        assert!(
            held.contains(&table.to_owned()),
            "{table} held Ana: {held:?}"
        );
    }
    let orders = [b"HP0000000001".to_vec(), b"HP0000000003".to_vec()];
    let held = tables_holding(&db, &orders);
    for table in [
        "messages_by_order_v1",
        "closed_orders_v1",
        "recovered_orders_v1",
        "order_buyers_v1",
    ] {
        assert!(
            held.contains(&table.to_owned()),
            "{table} held her orders: {held:?}"
        );
    }

    let ana = Phone::parse(ana_raw).expect("phone");
    let done = db.forget_buyer(&ana, NOON + 500).expect("forget");
    assert_eq!(done.events, 2);
    assert_eq!(done.conversation_lines, 2);
    assert!(done.messages > 1, "{done:?}");

    assert_eq!(tables_holding(&db, &ana_needles()), Vec::<String>::new());
    assert_eq!(tables_holding(&db, &orders), Vec::<String>::new());
    assert_eq!(
        db.verify_report_counters().expect("recount"),
        Vec::<String>::new()
    );
    let report_after = db.report_rows(&filter).expect("report");
    assert_eq!(report_after.totals(), report_before.totals(), "counts stay");
    assert_eq!(
        report_after.events, report_before.events,
        "event counts stay"
    );
    let buyers_after = db.buyer_frequency(&filter, 10).expect("buyers");
    assert_eq!(buyers_after.histogram, buyers_before.histogram);
    // Bruno is untouched.
    let bruno = [b"5521912345678".to_vec(), "Bruno Lima".as_bytes().to_vec()];
    let bruno_tables = tables_holding(&db, &bruno);
    for table in ["events_v1", "messages_v1", "wa_state_v1"] {
        assert!(
            bruno_tables.contains(&table.to_owned()),
            "{table}: {bruno_tables:?}"
        );
    }
    assert!(db.is_erased_buyer(&ana).expect("erased"));
}

#[test]
fn forgetting_cancels_pending_messages_at_once_and_export_holds_messages_and_conversation() {
    let (_tmp, db, id) = open();
    db.record_deliveries(&[named_delivery(
        id,
        NOON,
        "11987654321",
        "Quitéria Bernardes",
        1,
    )])
    .expect("record");
    let reply = NewConversationEntry {
        instance_id: InstanceId(1),
        buyer: "+5511987654321",
        kind: ConversationKind::Reply,
        text: "Já paguei",
        at: NOON + 30,
        opt_out: false,
        error: None,
    };
    db.record_reply(&reply, None).expect("reply");
    let ana = Phone::parse("11987654321").expect("phone");
    let export = db.export_buyer(&ana, NOON + 40).expect("export");
    assert!(!export.messages.is_empty(), "the export holds her messages");
    assert!(
        export
            .messages
            .iter()
            .all(|m| m.text.contains("Quitéria") || m.part > 0)
    );
    assert_eq!(export.conversation.len(), 1);
    assert_eq!(export.conversation[0].text, "Já paguei");

    let planned = export.messages.len() as u64;
    assert!(db.outbox_len().expect("outbox") > 0);
    let done = db.forget_buyer(&ana, NOON + 50).expect("forget");
    assert_eq!((done.messages, done.canceled), (planned, planned));
    assert_eq!(db.outbox_len().expect("outbox"), 0, "nothing left to send");
    for m in db
        .list_messages(&crate::db::MessageFilter {
            limit: 100,
            ..Default::default()
        })
        .expect("messages")
    {
        assert_eq!(m.status, MessageStatus::Canceled);
        assert_eq!(m.reason(), Some("buyer_erased"));
        assert!(m.is_erased() && m.text.is_empty() && m.buyer_name.is_none());
    }
    let event = db
        .list_events(&crate::db::EventFilter {
            limit: 10,
            ..Default::default()
        })
        .expect("events")
        .remove(0);
    assert_eq!(
        event.erased_at,
        Some(NOON + 50),
        "the event stays, marked erased"
    );
    assert!(event.event.as_ref().is_some_and(|e| e.customer.is_empty()));
    let after = db.export_buyer(&ana, NOON + 60).expect("export");
    assert!(after.erased && after.events.is_empty() && after.messages.is_empty());
    assert!(after.conversation.is_empty());
}

#[test]
fn a_buyer_found_only_in_a_compressed_raw_body_is_forgotten_too() {
    let (_tmp, store, id) = open();
    // A delivery avisa could not read (no event, so no parsed phone) whose body names Ana's
    // phone: only the stored raw body, compressed, links it to her.
    let mut unread = delivery(id, 100, "11987654321", 1);
    unread.readings = vec![ingest::Reading::invalid(
        ingest::ReasonCode::BadJson,
        "test",
    )];
    assert!(
        unread.raw.body.len() > 1_000,
        "large enough to be compressed"
    );
    store.record_deliveries(&[unread]).expect("record");
    let ana = phone("+5511987654321");
    assert_eq!(
        store.export_buyer(&ana, 200).expect("export").events.len(),
        1
    );
    let forgotten = store.forget_buyer(&ana, 300).expect("forget");
    assert_eq!((forgotten.events, forgotten.raw_bodies), (1, 1));
}
