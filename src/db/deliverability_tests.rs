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

/// The warm-up starts by itself at an instance's first pairing (issue 15), day by day with a
/// stepped clock: re-pairing the same number does not restart it, a different number does, an
/// instance that sent before avisa remembered pairings is established, a teste instance never
/// warms up, and it all survives a reopen.
#[test]
fn the_first_pairing_starts_the_warm_up_and_only_another_number_restarts_it() {
    use crate::domain::deliverability::warmup::DEFAULT_SCHEDULE;
    use crate::domain::{Clock as _, Instance, InstanceMode, ManualClock};
    const DAY: i64 = 24 * 3600;
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = ManualClock::at(NOON);
    let (new, established, sandbox) = {
        let db = Db::open(dir.path(), &DbOptions::default()).expect("open");
        let new = db
            .create_instance(Instance::new("Nova", InstanceMode::Whatsapp, NOON))
            .expect("instance")
            .id;
        let mut old = Instance::new("Antiga", InstanceMode::Whatsapp, NOON);
        old.last_sent_at = Some(NOON - 90 * DAY);
        let established = db.create_instance(old).expect("instance").id;
        let sandbox = db
            .create_instance(Instance::new("Teste", InstanceMode::Sandbox, NOON))
            .expect("instance")
            .id;
        assert_eq!(db.instance(new).expect("read").allowance(NOON), Some(1000));
        assert_eq!(
            db.note_pairing(new, "+5511900000001", clock.now())
                .expect("noted"),
            Some("warmup_first_pairing")
        );
        assert_eq!(
            db.note_pairing(established, "+5511900000002", clock.now())
                .expect("noted"),
            None,
            "a number that sent before is not new"
        );
        assert_eq!(
            db.note_pairing(sandbox, "+5511900000003", clock.now())
                .expect("noted"),
            None
        );
        (new, established, sandbox)
    };
    let db = Db::open(dir.path(), &DbOptions::default()).expect("reopen");
    let allowance = |id| db.instance(id).expect("read").allowance(clock.now());
    assert_eq!(
        allowance(new),
        Some(DEFAULT_SCHEDULE[0]),
        "day 1 of the ramp"
    );
    assert_eq!(allowance(established), Some(1000));
    assert_eq!(allowance(sandbox), Some(1000));

    clock.advance(3 * DAY);
    assert_eq!(allowance(new), Some(DEFAULT_SCHEDULE[3]));
    // Disconnected and paired again with the same number: the ramp goes on.
    assert_eq!(
        db.note_pairing(new, "+5511900000001", clock.now())
            .expect("noted"),
        None
    );
    assert_eq!(allowance(new), Some(DEFAULT_SCHEDULE[3]));
    // Another number (another account) starts from day 1.
    assert_eq!(
        db.note_pairing(new, "+5511911111111", clock.now())
            .expect("noted"),
        Some("warmup_other_number")
    );
    assert_eq!(allowance(new), Some(DEFAULT_SCHEDULE[0]));
    let instance = db.instance(new).expect("read");
    assert!(instance.warmup.by_pairing);
    let logged: Vec<&str> = instance
        .health
        .log
        .iter()
        .map(|l| l.reason.as_str())
        .collect();
    assert_eq!(logged, ["warmup_first_pairing", "warmup_other_number"]);
    clock.advance(DEFAULT_SCHEDULE.len() as i64 * DAY);
    assert_eq!(
        allowance(new),
        Some(1000),
        "after the ramp, the daily limit"
    );
}
