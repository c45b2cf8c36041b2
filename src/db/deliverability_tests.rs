//! Deliverability's storage (issue 15): what survives a reopen of the data file.

use super::{Db, DbOptions};
use crate::domain::InstanceId;
use crate::domain::deliverability::{ON_WHATSAPP_TTL_S, OnWhatsapp};

const NOON: i64 = 1_763_478_000;

#[test]
fn is_on_whatsapp_answers_survive_a_reopen_for_seven_days() {
    let dir = tempfile::tempdir().expect("tempdir");
    let one = InstanceId(1);
    {
        let db = Db::open(dir.path(), &DbOptions::default()).expect("open");
        let registered = OnWhatsapp {
            user: Some("551187654321".into()),
            checked_at: NOON,
        };
        let absent = OnWhatsapp {
            user: None,
            checked_at: NOON,
        };
        db.save_on_whatsapp(one, "+5511987654321", &registered)
            .expect("save");
        db.save_on_whatsapp(one, "+5511900000000", &absent)
            .expect("save");
    }
    let db = Db::open(dir.path(), &DbOptions::default()).expect("reopen");
    let later = NOON + 3 * 24 * 3600;
    assert_eq!(
        db.on_whatsapp(one, "+5511987654321", later)
            .expect("read")
            .and_then(|a| a.user),
        Some("551187654321".to_owned()),
        "the old account's spelling is remembered"
    );
    assert_eq!(
        db.on_whatsapp(one, "+5511900000000", later).expect("read"),
        Some(OnWhatsapp {
            user: None,
            checked_at: NOON
        }),
        "not on WhatsApp is remembered too"
    );
    assert_eq!(
        db.on_whatsapp(one, "+5511987654321", NOON + ON_WHATSAPP_TTL_S)
            .expect("read"),
        None,
        "after a week WhatsApp is asked again"
    );
    assert_eq!(
        db.on_whatsapp(InstanceId(2), "+5511987654321", later)
            .expect("read"),
        None,
        "another number asks for itself"
    );
    db.clear_on_whatsapp(one).expect("clear");
    assert_eq!(
        db.on_whatsapp(one, "+5511987654321", later).expect("read"),
        None,
        "a new pairing forgets"
    );
}

#[test]
fn a_wire_id_names_its_message_after_a_reopen_and_legacy_ids_by_their_prefix() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let db = Db::open(dir.path(), &DbOptions::default()).expect("open");
        let txn = db.begin_write().expect("txn");
        txn.open_table(super::tables::WIRE_IDS)
            .expect("table")
            .insert("3EB0AAAAAAAAAAAAAAAAAA", 7)
            .expect("insert");
        txn.commit().expect("commit");
    }
    let db = Db::open(dir.path(), &DbOptions::default()).expect("reopen");
    assert_eq!(
        db.message_for_wire("3EB0AAAAAAAAAAAAAAAAAA").expect("read"),
        Some(crate::domain::MessageId(7))
    );
    assert_eq!(
        db.message_for_wire("AVISA12").expect("read"),
        Some(crate::domain::MessageId(12))
    );
    assert_eq!(db.message_for_wire("3EB0BBBB").expect("read"), None);
}
