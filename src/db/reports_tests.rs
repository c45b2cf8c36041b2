//! Report counters as specs: attribution rules in table tests (paid within the window counts
//! once, paid before any message does not, a refund afterwards is shown), and the incremental
//! counters equal to a full recount after a randomised history through every status change.

use rand::{RngExt, SeedableRng};
use serde_json::json;

use super::*;
use crate::domain::planning::QuietHours;
use crate::domain::report::{Counter, Counters, day_number};
use crate::domain::{
    Instance, InstanceId, InstanceMode, Message, MessageId, MessageSettings, MessageStatus,
    NewStore, Platform, StoreId,
};
use crate::ingest::{Request, recognise};

/// 2025-11-18 12:00 in Brasília (a Tuesday).
const NOON: i64 = 1_763_478_000;
const DAY: i64 = 86_400;
const PHONE: &str = "11987654321";

struct Rig {
    _tmp: tempfile::TempDir,
    db: Db,
    stores: Vec<StoreId>,
    instances: Vec<InstanceId>,
    events: u64,
}

fn rig(stores: usize) -> Rig {
    let tmp = tempfile::tempdir().expect("tempdir");
    let db = Db::open(tmp.path(), &DbOptions::default()).expect("open");
    db.save_message_settings(&MessageSettings {
        quiet_hours: QuietHours {
            start_min: 0,
            end_min: 0,
        },
        ..MessageSettings::default()
    })
    .expect("settings");
    let mut ids = Vec::new();
    let mut instances = Vec::new();
    for i in 0..stores {
        let instance = db
            .create_instance(Instance::new(
                &format!("Número {i}"),
                InstanceMode::Whatsapp,
                NOON,
            ))
            .expect("instance");
        instances.push(instance.id);
        let store = db
            .create_store(NewStore {
                name: format!("Loja {i}"),
                slug: format!("loja-{i}"),
                platform: Platform::Api,
                enabled: true,
                secret: None,
                webhook_token: format!("{i}").repeat(32),
                created_at: NOON,
            })
            .expect("store");
        ids.push(store.id);
    }
    Rig {
        _tmp: tmp,
        db,
        stores: ids,
        instances,
        events: 0,
    }
}

impl Rig {
    /// An event of avisa's own format arrives at `at`.
    fn event(&mut self, store: usize, kind: &str, order: Option<&str>, phone: &str, at: i64) {
        self.events += 1;
        let mut body = json!({
            "kind": kind,
            "event_id": format!("e{}", self.events),
            "customer": { "name": "Ana Souza", "phone": phone },
            "products": [ { "name": "Curso", "quantity": 1, "price_cents": 19700 } ],
            "total_cents": 19700,
            "payment": { "boleto_url": "https://b.example/1", "pix_code": "000201PIX" }
        });
        if let Some(order) = order {
            body["order_id"] = json!(order);
        }
        let bytes = body.to_string().into_bytes();
        let readings = recognise(Platform::Api, &Request::new(&bytes, &[], ""));
        self.db
            .record_deliveries(&[Delivery {
                store_id: self.stores[store],
                received_at: at,
                raw: RawDelivery::default(),
                readings,
            }])
            .expect("recorded");
    }

    /// Sends every message due by `at` through the first instance.
    fn send_due(&self, at: i64) {
        for m in self.db.due_messages(at, 1000).expect("due") {
            self.db
                .claim_message(m.id, Some(self.instances[0]), at + 60, at)
                .expect("claim");
            self.db
                .record_attempt(
                    m.id,
                    at + 60,
                    AttemptOutcome::Sent {
                        at,
                        sandbox: false,
                        next_slot: at,
                        note: None,
                    },
                    at,
                )
                .expect("sent");
        }
    }

    fn totals(&self) -> Counters {
        self.db
            .report_rows(&ReportFilter {
                first_day: day_number(NOON) - 400,
                last_day: day_number(NOON) + 400,
                store_id: None,
                instance_id: None,
                kind: None,
                include_test: true,
            })
            .expect("report")
            .totals()
    }

    fn assert_counters_match_a_recount(&self) {
        let diffs = self.db.verify_report_counters().expect("recount");
        assert!(diffs.is_empty(), "counters drifted:\n{}", diffs.join("\n"));
    }
}

/// One step of an attribution script.
#[derive(Clone, Copy, Debug)]
enum Step {
    Event(&'static str, Option<&'static str>, i64),
    Send(i64),
    MarkPaid(&'static str, i64),
}

use Step::*;

#[test]
fn payments_are_credited_to_recovery_messages_once_within_the_window() {
    let day = |d: i64| NOON + d * DAY;
    // Script, then (recovered orders, recovered cents, refunded orders).
    type Case<'a> = (&'a str, &'a [Step], (i64, i64, i64));
    let cases: &[Case] = &[
        (
            "paid a day after the boleto reminder: recovered",
            &[
                Event("boleto.generated", Some("O1"), day(0)),
                Send(day(0) + 3600),
                Event("order.paid", Some("O1"), day(1)),
            ],
            (1, 19700, 0),
        ),
        (
            "a second paid event for the same order counts once",
            &[
                Event("pix.generated", Some("O1"), day(0)),
                Send(day(0) + 3600),
                Event("order.paid", Some("O1"), day(1)),
                Event("order.paid", Some("O1"), day(2)),
            ],
            (1, 19700, 0),
        ),
        (
            "paid before any message went out: not recovered",
            &[
                Event("boleto.generated", Some("O1"), day(0)),
                Event("order.paid", Some("O1"), day(0) + 10),
                Send(day(1)),
            ],
            (0, 0, 0),
        ),
        (
            "paid after the 7-day window: not recovered",
            &[
                Event("payment.refused", Some("O1"), day(0)),
                Send(day(0) + 3600),
                Event("order.paid", Some("O1"), day(8)),
            ],
            (0, 0, 0),
        ),
        (
            "a confirmation is not a recovery message",
            &[
                Event("order.shipped", Some("O1"), day(0)),
                Send(day(0) + 3600),
                Event("order.paid", Some("O1"), day(1)),
            ],
            (0, 0, 0),
        ),
        (
            "refunded afterwards: still recovered, shown as refunded",
            &[
                Event("boleto.generated", Some("O1"), day(0)),
                Send(day(0) + 3600),
                Event("order.paid", Some("O1"), day(1)),
                Event("order.refunded", Some("O1"), day(3)),
                Event("order.chargeback", Some("O1"), day(4)),
            ],
            (1, 19700, 1),
        ),
        (
            "a refund of an order that was not recovered changes nothing",
            &[
                Event("order.paid", Some("O1"), day(0)),
                Event("order.refunded", Some("O1"), day(1)),
            ],
            (0, 0, 0),
        ),
        (
            "dar baixa counts, with the amount of the reminder's event",
            &[
                Event("boleto.generated", Some("O1"), day(0)),
                Send(day(0) + 3600),
                MarkPaid("O1", day(2)),
                Event("order.paid", Some("O1"), day(3)),
            ],
            (1, 19700, 0),
        ),
        (
            "an abandoned cart without an order id, then the buyer's order paid",
            &[
                Event("checkout.abandoned", None, day(0)),
                Send(day(0) + 3600),
                Event("order.paid", Some("O9"), day(1)),
            ],
            (1, 19700, 0),
        ),
        (
            "another order of the same buyer is not credited",
            &[
                Event("boleto.generated", Some("O1"), day(0)),
                Send(day(0) + 3600),
                Event("order.paid", Some("O2"), day(1)),
            ],
            (0, 0, 0),
        ),
    ];
    for (name, script, expected) in cases {
        let mut r = rig(1);
        for step in *script {
            match *step {
                Event(kind, order, at) => r.event(0, kind, order, PHONE, at),
                Send(at) => r.send_due(at),
                MarkPaid(order, at) => {
                    r.db.mark_order_paid(r.stores[0], order, at)
                        .expect("mark paid");
                }
            }
        }
        let t = r.totals();
        let got = (
            t.get(Counter::Recovered),
            t.get(Counter::RecoveredCents),
            t.get(Counter::Refunded),
        );
        assert_eq!(got, *expected, "{name}");
        r.assert_counters_match_a_recount();
    }
}

#[test]
fn a_recovery_is_credited_to_the_last_message_and_counted_on_the_paid_day() {
    let mut r = rig(1);
    r.event(0, "boleto.generated", Some("O1"), PHONE, NOON);
    r.send_due(NOON);
    // The follow-ups go out on their own days; the payment comes after the second.
    r.send_due(NOON + 3 * DAY);
    r.event(0, "order.paid", Some("O1"), PHONE, NOON + 3 * DAY + 3600);
    let recovery =
        r.db.recovery(r.stores[0], "O1")
            .expect("read")
            .expect("credited");
    assert_eq!(recovery.kind, crate::domain::EventKind::BoletoGenerated);
    assert!(recovery.step > 0, "credited to a follow-up, not the first");
    assert_eq!(recovery.instance_id, Some(r.instances[0]));
    let rows =
        r.db.report_rows(&ReportFilter {
            first_day: day_number(NOON + 3 * DAY),
            last_day: day_number(NOON + 3 * DAY),
            store_id: Some(r.stores[0]),
            instance_id: None,
            kind: None,
            include_test: false,
        })
        .expect("report");
    assert_eq!(rows.totals().get(Counter::Recovered), 1);
}

#[test]
fn counters_follow_statuses_and_days() {
    let mut r = rig(1);
    r.event(0, "pix.generated", Some("O1"), PHONE, NOON);
    r.event(0, "order.shipped", Some("O2"), "11911112222", NOON);
    r.send_due(NOON + 3600);
    let sent: Vec<Message> =
        r.db.list_messages(&MessageFilter {
            limit: 100,
            ..MessageFilter::default()
        })
        .expect("list")
        .into_iter()
        .filter(|m| m.status == MessageStatus::Sent)
        .collect();
    r.db.apply_receipt(sent[0].id, ReceiptStatus::Read, NOON + 3660)
        .expect("read");
    r.db.apply_nack(sent[1].id, "463", NOON + 3660)
        .expect("nack");
    let t = r.totals();
    assert_eq!(t.get(Counter::Sent), sent.len() as i64 - 1);
    assert_eq!(t.get(Counter::Read), 1);
    assert_eq!(t.get(Counter::Delivered), 1, "read implies delivered");
    assert_eq!(t.get(Counter::Failed), 1);
    assert_eq!(
        t.get(Counter::Planned),
        t.get(Counter::Pending) + t.get(Counter::Sent) + t.get(Counter::Failed)
    );
    let freq =
        r.db.buyer_frequency(
            &ReportFilter {
                first_day: day_number(NOON),
                last_day: day_number(NOON),
                store_id: None,
                instance_id: None,
                kind: None,
                include_test: false,
            },
            10,
        )
        .expect("frequency");
    let received: u64 = freq.top.iter().map(|b| b.messages).sum();
    assert_eq!(
        received as i64,
        t.get(Counter::Sent),
        "every send has a buyer"
    );
    assert_eq!(freq.top[0].phone, "+5511987654321");
    r.assert_counters_match_a_recount();
}

#[test]
fn counters_equal_a_full_recount_after_a_randomised_history() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x5eed1);
    let mut r = rig(2);
    let kinds = [
        "boleto.generated",
        "pix.generated",
        "checkout.abandoned",
        "payment.refused",
        "payment.overdue",
        "boleto.generated",
        "pix.generated",
        "checkout.abandoned",
        "order.paid",
        "order.refunded",
        "order.chargeback",
        "order.shipped",
        "subscription.renewed",
        "no.such.kind",
    ];
    let phones = ["11987654321", "11911112222", "21999998888", "31988887777"];
    let orders: Vec<String> = (1..=40).map(|i| format!("O{i}")).collect();
    let mut now = NOON;
    let mut leased: Vec<(MessageId, i64)> = Vec::new();
    for step in 0..600 {
        now += rng.random_range(0..2 * 3600);
        let pick = |rng: &mut rand::rngs::StdRng, n: usize| rng.random_range(0..n);
        let all =
            r.db.list_messages(&MessageFilter {
                limit: 10_000,
                ..MessageFilter::default()
            })
            .expect("list");
        let any = |rng: &mut rand::rngs::StdRng| {
            (!all.is_empty()).then(|| all[rng.random_range(0..all.len())].clone())
        };
        match rng.random_range(0..16) {
            0..=3 => {
                let store = pick(&mut rng, 2);
                let kind = kinds[pick(&mut rng, kinds.len())];
                let order = (rng.random_range(0..5) > 0)
                    .then(|| orders[pick(&mut rng, orders.len())].as_str());
                let phone = phones[pick(&mut rng, phones.len())];
                r.event(store, kind, order, phone, now);
            }
            4..=8 => {
                let due = r.db.due_messages(now, 20).expect("due");
                if let Some(m) = due.get(pick(&mut rng, due.len().max(1))) {
                    let instance = r.instances[pick(&mut rng, 2)];
                    let lease = now + 60;
                    if r.db
                        .claim_message(m.id, Some(instance), lease, now)
                        .expect("claim")
                        .is_some()
                    {
                        let outcome = match rng.random_range(0..6) {
                            0 => AttemptOutcome::Retry {
                                at: now + 120,
                                reason: "transient".into(),
                            },
                            1 => AttemptOutcome::Hold {
                                reason: "session_unavailable".into(),
                            },
                            2 => AttemptOutcome::Fail {
                                reason: "not_on_whatsapp".into(),
                            },
                            3 => {
                                leased.push((m.id, lease));
                                continue;
                            }
                            _ => AttemptOutcome::Sent {
                                at: now,
                                sandbox: rng.random_range(0..4) == 0,
                                next_slot: now,
                                note: None,
                            },
                        };
                        r.db.record_attempt(m.id, lease, outcome, now)
                            .expect("attempt");
                    }
                }
            }
            9 => {
                if let Some(m) = any(&mut rng) {
                    let receipt = if rng.random_range(0..2) == 0 {
                        ReceiptStatus::Delivered
                    } else {
                        ReceiptStatus::Read
                    };
                    r.db.apply_receipt(m.id, receipt, now).expect("receipt");
                }
            }
            10 => {
                let due = r.db.due_messages(i64::MAX, 50).expect("due");
                let m = if rng.random_range(0..2) == 0 {
                    any(&mut rng)
                } else {
                    due.get(pick(&mut rng, due.len().max(1))).cloned()
                };
                if let Some(m) = m {
                    match rng.random_range(0..4) {
                        0 => r.db.apply_nack(m.id, "463", now).expect("nack"),
                        1 => {
                            r.db.close_scheduled(
                                m.id,
                                MessageStatus::Expired,
                                "not_sent_within_48h",
                                now,
                            )
                            .expect("expire")
                        }
                        2 => {
                            r.db.close_scheduled(m.id, MessageStatus::Canceled, "template_off", now)
                                .expect("close")
                        }
                        _ => r
                            .db
                            .close_scheduled(m.id, MessageStatus::Canceled, "store_disabled", now)
                            .expect("close"),
                    }
                }
            }
            11 => {
                if let Some(m) = any(&mut rng) {
                    let _ = r.db.cancel_message(
                        m.id,
                        crate::domain::reason::Reason::ByUser.code(),
                        now,
                    );
                }
            }
            12 => {
                if let Some(m) = any(&mut rng) {
                    let _ =
                        r.db.reschedule_message(m.id, now + rng.random_range(0..3 * DAY), now);
                }
            }
            13 => {
                let order = orders[pick(&mut rng, orders.len())].as_str();
                r.db.mark_order_paid(r.stores[pick(&mut rng, 2)], order, now)
                    .expect("mark paid");
            }
            14 => {
                if rng.random_range(0..8) == 0 {
                    let phone = crate::domain::Phone::parse(phones[3]).expect("phone");
                    r.db.add_opt_out(phone.as_str(), "console", now)
                        .expect("opt out");
                }
            }
            _ => {
                // Leases run out: the process "died" mid-send.
                r.db.requeue_expired_leases(now).expect("requeue");
                leased.clear();
            }
        }
        if step % 100 == 99 {
            r.assert_counters_match_a_recount();
        }
    }
    // A new buyer's boleto, so that something is still pending at the end: paid renewals
    // close their orders too, and the random walk may have closed or sent everything else.
    r.event(0, "boleto.generated", Some("O-last"), "11900001111", now);
    r.db.delete_store(r.stores[1], now).expect("delete");
    r.assert_counters_match_a_recount();
    // The history went through the paths the counters follow.
    let t = r.totals();
    for c in [
        Counter::Sent,
        Counter::Read,
        Counter::Failed,
        Counter::Expired,
        Counter::Canceled,
        Counter::Pending,
        Counter::CancelOrderClosed,
        Counter::Recovered,
    ] {
        assert!(t.get(c) > 0, "{c:?} never happened in the random history");
    }
}
