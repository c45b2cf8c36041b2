//! Deliverability through the outbox (issue 15), on the fake channel with a stepped clock:
//! WhatsApp-Web-shaped wire ids stored before the send and matched by receipts across a
//! restart (legacy `AVISA{id}` too), the warm-up ramp, a 463 nack that fails the message,
//! counts and slows the instance, a pause and the merchant's resume, unanswered sends.

use std::sync::Arc;

use super::channel::{Channel, Receipt};
use super::outbox::{Outbox, wire_id};
use super::outbox_tests::{NOON, Rig, rig};
use crate::channels::Channels;
use crate::db::{AttemptOutcome, ConversationKind, Db, DbOptions, NewConversationEntry};
use crate::domain::deliverability::{Level, WarmUp, looks_like_web_id};
use crate::domain::report::day_number;
use crate::domain::{Clock as _, MessageStatus};

const DAY: i64 = 24 * 3600;

fn health(rig: &Rig, at: i64) -> crate::domain::deliverability::HealthDay {
    let day = day_number(at);
    rig.db
        .health_days(rig.instance.id, day, day)
        .expect("health")
        .pop()
        .map(|(_, d)| d)
        .unwrap_or_default()
}

#[tokio::test]
async fn a_send_goes_out_under_a_web_id_stored_before_it_and_receipts_find_it_after_a_restart() {
    let mut rig = rig(|_| {});
    rig.paid("A");
    assert_eq!(rig.pass().await.sent, 1);
    let sent = rig.fake.sent();
    let on_wire = sent[0].message_id.clone();
    assert!(
        looks_like_web_id(&on_wire),
        "{on_wire} looks like WhatsApp Web's"
    );
    let message = rig.messages()[0].clone();
    assert_eq!(message.wire_id.as_deref(), Some(on_wire.as_str()));

    // avisa restarts: a new Db over the same file, a new outbox; the receipt arrives later.
    let Rig {
        _tmp: tmp,
        db,
        fake,
        clock,
        outbox,
        ..
    } = rig;
    drop(outbox);
    drop(db);
    let db = Db::open(tmp.path(), &DbOptions::default()).expect("reopen");
    let channels = Arc::new(Channels::default());
    let instance_id = message.instance_id.expect("sent through the instance");
    channels.insert(instance_id, fake.clone() as Arc<dyn Channel>);
    let outbox = Outbox::new(
        db.clone(),
        channels,
        Arc::new(clock.clone()),
        Arc::new(|| 0.5),
    );
    outbox.run_once().await.expect("the new outbox listens");
    fake.emit_receipt(Receipt::Delivered {
        message_id: on_wire,
        at: NOON + 5,
    });
    outbox.run_once().await.expect("pass");
    assert_eq!(
        db.message(message.id).expect("message").status,
        MessageStatus::Delivered
    );
    let day = day_number(NOON);
    let counted = db.health_days(instance_id, day, day).expect("health");
    assert_eq!(counted[0].1.delivered, 1, "the delivery is counted");
}

#[tokio::test]
async fn a_retry_after_a_crash_goes_out_under_the_id_stored_with_the_first_claim() {
    let mut rig = rig(|_| {});
    rig.paid("A");
    let id = rig.messages()[0].id;
    let first = "3EB0AAAAAAAAAAAAAAAAAA".to_owned();
    rig.db
        .claim_for_send(
            id,
            Some(rig.instance.id),
            Some(first.clone()),
            NOON + 120,
            NOON,
        )
        .expect("claim")
        .expect("claimed");
    // The process died before recording the outcome.
    rig.at(NOON + 300);
    assert_eq!(rig.outbox.recover().await.expect("recover"), 1);
    assert_eq!(rig.pass().await.sent, 1);
    assert_eq!(
        rig.fake.sent()[0].message_id,
        first,
        "same id, not a new one"
    );
    assert_eq!(rig.db.message_for_wire(&first).expect("read"), Some(id));
}

#[tokio::test]
async fn a_message_sent_as_avisa_n_before_the_upgrade_still_gets_its_receipts() {
    let mut rig = rig(|_| {});
    rig.paid("A");
    let id = rig.messages()[0].id;
    // Sent by the previous version: claimed without a stored wire id.
    rig.db
        .claim_message(id, Some(rig.instance.id), NOON + 120, NOON)
        .expect("claim")
        .expect("claimed");
    rig.db
        .record_attempt(
            id,
            NOON + 120,
            AttemptOutcome::Sent {
                at: NOON,
                sandbox: false,
                next_slot: NOON + 30,
                note: None,
            },
            NOON,
        )
        .expect("sent");
    let legacy = wire_id(&rig.messages()[0]);
    assert_eq!(legacy, format!("AVISA{id}"));
    rig.pass().await;
    rig.fake.emit_receipt(Receipt::Read {
        message_id: legacy,
        at: NOON + 9,
    });
    rig.pass().await;
    assert_eq!(rig.messages()[0].status, MessageStatus::Read);
    // An auto-reply's old id names no message: ignored, nothing breaks.
    rig.fake.emit_receipt(Receipt::Read {
        message_id: "AVISA-R1".into(),
        at: NOON + 9,
    });
    rig.pass().await;
}

#[tokio::test]
async fn a_463_nack_fails_the_message_counts_it_and_slows_the_instance() {
    let mut rig = rig(|i| i.daily_limit = 100);
    rig.paid("A");
    rig.pass().await;
    let wire = wire_id(&rig.messages()[0]);
    rig.fake.emit_receipt(Receipt::ServerNack {
        message_id: wire,
        reason: "server_nack 463: WhatsApp refused a message to someone who never wrote to this \
                 number (missing privacy token)"
            .into(),
    });
    rig.at(NOON + 1);
    rig.pass().await;
    assert_eq!(rig.messages()[0].status, MessageStatus::Failed);
    assert_eq!(health(&rig, NOON).nacks.get("463"), Some(&1));
    let instance = rig.db.instance(rig.instance.id).expect("instance");
    assert_eq!(instance.health.level, Level::Slowed);
    assert_eq!(instance.health.reason, "nacks_463");
    assert_eq!(
        instance
            .health
            .log
            .last()
            .map(|l| (l.at, l.reason.as_str())),
        Some((NOON + 1, "nacks_463")),
        "the decision is in the instance's log"
    );
    assert_eq!(
        instance.allowance(NOON),
        Some(50),
        "half the day's allowance"
    );

    // The next send waits twice the interval (30 s doubled, jitter 0.5 = none).
    rig.paid("B");
    rig.at(NOON + 30);
    assert_eq!(rig.pass().await.sent, 1);
    let next_slot = rig
        .db
        .instance(rig.instance.id)
        .expect("instance")
        .next_slot;
    assert_eq!(next_slot, NOON + 30 + 60);
}

#[tokio::test]
async fn repeated_463s_pause_the_instance_until_the_merchant_resumes_it() {
    let mut rig = rig(|_| {});
    for (i, order) in ["A", "B", "C"].iter().enumerate() {
        rig.paid(order);
        rig.at(NOON + 120 * i as i64);
        rig.pass().await;
        let wire = wire_id(&rig.messages()[i]);
        rig.fake.emit_receipt(Receipt::ServerNack {
            message_id: wire,
            reason: "server_nack 463".into(),
        });
    }
    rig.at(NOON + 600);
    rig.pass().await;
    let instance = rig.db.instance(rig.instance.id).expect("instance");
    assert_eq!(
        (instance.health.level, instance.health.reason.as_str()),
        (Level::Paused, "nacks_463")
    );
    rig.paid("D");
    assert_eq!(rig.pass().await.sent, 0, "a paused instance holds");
    rig.at(NOON + 2 * DAY - 3600);
    assert_eq!(
        rig.pass().await.sent,
        0,
        "and stays paused: the merchant decides"
    );
    rig.db
        .resume_instance(rig.instance.id, rig.clock.now())
        .expect("resume");
    assert_eq!(rig.pass().await.sent, 1);
    let instance = rig.db.instance(rig.instance.id).expect("instance");
    assert_eq!(instance.health.level, Level::Normal);
    assert_eq!(
        instance.health.log.last().map(|l| l.reason.as_str()),
        Some("merchant")
    );
}

#[tokio::test]
async fn a_new_number_sends_no_more_than_its_warm_up_allows_each_day() {
    let mut rig = rig(|i| {
        i.warmup = WarmUp {
            schedule: vec![2, 3],
            ..WarmUp::starting(NOON)
        };
    });
    for order in ["A", "B", "C", "D", "E", "F"] {
        rig.paid(order);
    }
    let mut sent_per_day = Vec::new();
    for day in 0..3 {
        let mut sent = 0;
        for step in 0..10 {
            rig.at(NOON + day * DAY + step * 60);
            sent += rig.pass().await.sent;
        }
        sent_per_day.push(sent);
    }
    assert_eq!(
        sent_per_day,
        vec![2, 3, 1],
        "2, then 3, then the daily limit"
    );
}

#[tokio::test]
async fn a_send_to_a_quiet_buyer_is_unanswered_until_they_write() {
    let mut rig = rig(|_| {});
    rig.paid("A");
    rig.pass().await;
    let day = health(&rig, NOON);
    assert_eq!((day.sent, day.unanswered), (1, 1));
    let buyer = rig.messages()[0].phone.clone();
    rig.db
        .record_reply(
            &NewConversationEntry {
                instance_id: rig.instance.id,
                buyer: &buyer,
                kind: ConversationKind::Reply,
                text: "obrigado",
                at: NOON + DAY,
                opt_out: false,
                error: None,
            },
            Some("3EB0REPLY"),
        )
        .expect("reply");
    assert_eq!(health(&rig, NOON).unanswered, 0, "the send was answered");
    assert_eq!(health(&rig, NOON + DAY).replies, 1);
    // A buyer who wrote recently is not cold: the next send is not counted unanswered.
    rig.paid("B");
    rig.at(NOON + DAY + 60);
    rig.pass().await;
    let next = health(&rig, NOON + DAY);
    assert_eq!((next.sent, next.unanswered), (1, 0));
}
