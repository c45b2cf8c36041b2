//! Outbox rules on the fake channel with a stepped clock: pacing, daily limit at local midnight,
//! quiet hours, retries, permanent failures, 48 h expiry, holding while disconnected, send-time
//! checks, lease recovery and receipts. No sleeps: time moves when a test says so.

use std::sync::Arc;

use serde_json::json;

use super::channel::{Channel, ChannelState, Receipt, SendError};
use super::outbox::{Outbox, wire_id};
use crate::channels::Channels;
use crate::channels::fake::FakeChannel;
use crate::db::{Db, DbOptions, Delivery, MessageFilter, RawDelivery};
use crate::domain::planning::QuietHours;
use crate::domain::{Instance, InstanceMode, Message, MessageSettings, NewStore, Store, StoreId};
use crate::domain::{ManualClock, MessageStatus, Platform};
use crate::ingest::{Request, recognise};

/// 2025-11-18 12:00 in Brasília (a Tuesday).
pub(super) const NOON: i64 = 1_763_478_000;
const HOUR: i64 = 3600;
const NO_QUIET: QuietHours = QuietHours {
    start_min: 0,
    end_min: 0,
};

pub(super) struct Rig {
    pub(super) _tmp: tempfile::TempDir,
    pub(super) db: Db,
    pub(super) fake: Arc<FakeChannel>,
    pub(super) clock: ManualClock,
    pub(super) outbox: Outbox,
    pub(super) store: Store,
    pub(super) instance: Instance,
    events: usize,
}

pub(super) fn rig(configure: impl FnOnce(&mut Instance)) -> Rig {
    let tmp = tempfile::tempdir().expect("tempdir");
    let db = Db::open(tmp.path(), &DbOptions::default()).expect("open");
    db.save_message_settings(&MessageSettings {
        quiet_hours: NO_QUIET,
        ..MessageSettings::default()
    })
    .expect("settings");
    let mut instance = Instance::new("Loja", InstanceMode::Whatsapp, NOON);
    instance.quiet_hours = NO_QUIET;
    configure(&mut instance);
    let instance = db.create_instance(instance).expect("instance");
    let store = db
        .create_store(NewStore {
            name: "Loja".into(),
            slug: "loja".into(),
            platform: Platform::Api,
            enabled: true,
            secret: None,
            webhook_token: "t".repeat(32),
            created_at: NOON,
        })
        .expect("store");
    let store = db
        .update_store(store.id, |s| s.instance_id = Some(instance.id))
        .expect("link");
    let channels = Arc::new(Channels::default());
    let fake = Arc::new(FakeChannel::connected("+5511900000000"));
    channels.insert(instance.id, fake.clone() as Arc<dyn Channel>);
    let clock = ManualClock::at(NOON);
    let outbox = Outbox::new(
        db.clone(),
        channels,
        Arc::new(clock.clone()),
        Arc::new(|| 0.5),
    );
    Rig {
        _tmp: tmp,
        db,
        fake,
        clock,
        outbox,
        store,
        instance,
        events: 0,
    }
}

impl Rig {
    /// An `order.paid` for `order` arrives now: one confirmation, due at once.
    pub(super) fn paid(&mut self, order: &str) {
        self.event(json!({ "kind": "order.paid", "order_id": order }));
    }

    pub(super) fn event(&mut self, mut body: serde_json::Value) {
        self.events += 1;
        body["event_id"] = json!(format!("e{}", self.events));
        body["customer"] = json!({ "name": "Ana", "phone": "11987654321" });
        body["products"] = json!([{ "name": "Curso" }]);
        let bytes = body.to_string().into_bytes();
        let readings = recognise(Platform::Api, &Request::new(&bytes, &[], ""));
        self.db
            .record_deliveries(&[Delivery {
                store_id: self.store.id,
                received_at: self.clock.now(),
                raw: RawDelivery::default(),
                readings,
            }])
            .expect("recorded");
    }

    pub(super) fn at(&self, unix: i64) {
        let now = self.clock.now();
        self.clock.advance(unix - now);
        self.fake.set_now(unix);
    }

    pub(super) async fn pass(&self) -> super::outbox::Pass {
        let pass = self.outbox.run_once().await.expect("pass");
        self.assert_depth_matches_the_outbox();
        pass
    }

    /// The per-store depth counters equal a recount of the outbox, after every pass.
    fn assert_depth_matches_the_outbox(&self) {
        let mut recount: std::collections::BTreeMap<StoreId, u64> =
            std::collections::BTreeMap::new();
        for m in self.db.due_messages(i64::MAX, usize::MAX).expect("outbox") {
            *recount.entry(m.store_id).or_default() += 1;
        }
        let counted: std::collections::BTreeMap<StoreId, u64> = self
            .db
            .outbox_depth_by_store()
            .expect("depth")
            .into_iter()
            .collect();
        assert_eq!(counted, recount, "depth counters drifted from the outbox");
    }

    pub(super) fn messages(&self) -> Vec<Message> {
        let mut all = self
            .db
            .list_messages(&MessageFilter {
                limit: 1000,
                ..MessageFilter::default()
            })
            .expect("list");
        all.sort_by_key(|m| m.id);
        all
    }

    fn sent_orders(&self) -> Vec<String> {
        let messages = self.messages();
        self.fake
            .sent()
            .iter()
            .map(|s| {
                let m = messages
                    .iter()
                    .find(|m| wire_id(m) == s.message_id)
                    .expect("sent message exists");
                m.order_id.clone().unwrap_or_default()
            })
            .collect()
    }
}

use crate::domain::Clock as _;

#[tokio::test]
async fn sends_are_paced_by_the_instance_interval() {
    let mut rig = rig(|_| {});
    for order in ["A", "B", "C"] {
        rig.paid(order);
    }
    assert_eq!(rig.pass().await.sent, 1);
    rig.at(NOON + 29);
    assert_eq!(
        rig.pass().await.sent,
        0,
        "30 s (jitter 0.5) have not passed"
    );
    rig.at(NOON + 30);
    assert_eq!(rig.pass().await.sent, 1);
    rig.at(NOON + 60);
    assert_eq!(rig.pass().await.sent, 1);
    assert_eq!(rig.sent_orders(), ["A", "B", "C"], "in due order");
    assert!(
        rig.messages()
            .iter()
            .all(|m| m.status == MessageStatus::Sent)
    );
}

#[tokio::test]
async fn the_daily_limit_rolls_over_at_midnight_in_brasilia() {
    let mut rig = rig(|i| i.daily_limit = 1);
    rig.at(NOON + 11 * HOUR + 50 * 60); // 23:50
    rig.paid("A");
    rig.paid("B");
    assert_eq!(rig.pass().await.sent, 1);
    rig.at(NOON + 11 * HOUR + 59 * 60); // 23:59
    let pass = rig.pass().await;
    assert_eq!((pass.sent, pass.held), (0, 1), "today's one send is spent");
    rig.at(NOON + 12 * HOUR + 30); // 00:00:30 the next day
    assert_eq!(rig.pass().await.sent, 1);
}

#[tokio::test]
async fn quiet_hours_hold_messages_until_morning() {
    let mut rig = rig(|i| i.quiet_hours = QuietHours::default());
    rig.at(NOON + 9 * HOUR + 30 * 60); // 21:30
    rig.paid("A");
    assert_eq!(rig.pass().await.held, 1);
    rig.at(NOON + 20 * HOUR); // 08:00
    assert_eq!(rig.pass().await.sent, 1);
}

#[tokio::test]
async fn a_transient_failure_retries_on_the_schedule_and_a_permanent_one_fails() {
    let mut rig = rig(|_| {});
    rig.paid("A");
    rig.fake.fail_next(SendError::Transient("timeout".into()));
    assert_eq!(rig.pass().await.retried, 1);
    let m = &rig.messages()[0];
    assert_eq!(
        (m.status, m.attempts, m.due_at),
        (MessageStatus::Scheduled, 1, NOON + 33)
    );
    rig.at(NOON + 33);
    assert_eq!(rig.pass().await.sent, 1);

    rig.paid("B");
    rig.at(NOON + 70);
    rig.fake
        .fail_next(SendError::Permanent("not on WhatsApp".into()));
    assert_eq!(rig.pass().await.failed, 1);
    let b = rig
        .messages()
        .into_iter()
        .find(|m| m.order_id.as_deref() == Some("B"))
        .expect("B");
    assert_eq!(
        (b.status, b.reason()),
        (MessageStatus::Failed, Some("not on WhatsApp"))
    );
}

#[tokio::test]
async fn the_retry_schedule_runs_out_into_a_failure() {
    let mut rig = rig(|_| {});
    rig.paid("A");
    for _ in 0..6 {
        rig.fake
            .fail_next(SendError::RateLimited("slow down".into()));
    }
    for _ in 0..6 {
        let due = rig.messages()[0].due_at;
        rig.at(due.max(rig.clock.now()));
        rig.pass().await;
    }
    let m = &rig.messages()[0];
    assert_eq!(m.status, MessageStatus::Failed);
    assert!(
        m.reason()
            .expect("reason")
            .starts_with("gave up after 6 attempts"),
        "{:?}",
        m.reason()
    );
}

#[tokio::test]
async fn messages_wait_while_disconnected_then_drain_in_due_order_or_expire() {
    let mut rig = rig(|_| {});
    rig.fake.set_state(ChannelState::Disconnected);
    rig.paid("A");
    rig.at(NOON + 10);
    rig.paid("B");
    assert_eq!(rig.pass().await.held, 2);
    rig.fake.set_state(ChannelState::Connected {
        number: "+5511900000000".into(),
        name: "Loja".into(),
    });
    rig.at(NOON + HOUR);
    assert_eq!(rig.pass().await.sent, 1);
    rig.at(NOON + HOUR + 30);
    assert_eq!(rig.pass().await.sent, 1);
    assert_eq!(rig.sent_orders(), ["A", "B"]);

    rig.fake.set_state(ChannelState::LoggedOut);
    rig.paid("C");
    rig.at(rig.clock.now() + 48 * HOUR + 1);
    assert_eq!(
        rig.pass().await.expired,
        1,
        "not sent within 48 h of being due"
    );
}

#[tokio::test]
async fn a_message_no_longer_wanted_is_canceled_at_send_time() {
    let mut rig = rig(|_| {});
    rig.event(
        json!({ "kind": "pix.generated", "order_id": "P", "payment": { "pix_code": "000201" } }),
    );
    let mut template = crate::render::default_template(crate::domain::EventKind::PixGenerated);
    template.enabled = false;
    rig.db
        .save_template(rig.store.id, &template)
        .expect("template off");
    rig.at(NOON + 200);
    let pass = rig.pass().await;
    assert_eq!(pass.canceled, 2, "both parts of the first step were due");
    assert!(
        rig.messages()
            .iter()
            .filter(|m| m.status == MessageStatus::Canceled)
            .all(|m| m.reason() == Some("template_off"))
    );

    rig.paid("Q");
    rig.db
        .update_store(rig.store.id, |s| s.enabled = false)
        .expect("disable");
    assert_eq!(
        rig.pass().await.canceled,
        1,
        "the confirmation of a store switched off"
    );
    rig.at(NOON + 1800);
    assert_eq!(
        rig.pass().await.canceled,
        1,
        "and the PIX follow-up when it falls due"
    );
    assert_eq!(
        rig.messages()
            .iter()
            .filter(|m| m.reason() == Some("store_disabled"))
            .count(),
        2
    );
    assert!(rig.fake.sent().is_empty());
}

#[tokio::test]
async fn a_send_interrupted_by_a_crash_is_requeued_once_as_maybe_sent() {
    let mut rig = rig(|_| {});
    rig.paid("A");
    let id = rig.messages()[0].id;
    // The process claimed it and died before recording the outcome.
    rig.db
        .claim_message(id, Some(rig.instance.id), NOON + 120, NOON)
        .expect("claim")
        .expect("claimed");
    rig.at(NOON + 300);
    assert_eq!(rig.outbox.recover().await.expect("recover"), 1);
    rig.assert_depth_matches_the_outbox();
    let m = &rig.messages()[0];
    assert!(m.maybe_sent && m.status == MessageStatus::Scheduled);
    assert_eq!(rig.pass().await.sent, 1);
}

#[tokio::test]
async fn receipts_move_messages_forward_by_their_id_and_a_nack_fails_them() {
    let mut rig = rig(|_| {});
    rig.paid("A");
    rig.pass().await;
    let first = wire_id(&rig.messages()[0]);
    rig.fake.emit_receipt(Receipt::Delivered {
        message_id: first.clone(),
        at: NOON + 5,
    });
    rig.fake.emit_receipt(Receipt::Read {
        message_id: first,
        at: NOON + 9,
    });
    rig.pass().await;
    assert_eq!(rig.messages()[0].status, MessageStatus::Read);

    rig.paid("B");
    rig.at(NOON + 30);
    rig.pass().await;
    let b = wire_id(&rig.messages()[1]);
    rig.fake.emit_receipt(Receipt::ServerNack {
        message_id: b,
        reason: "463".into(),
    });
    rig.pass().await;
    assert_eq!(rig.messages()[1].status, MessageStatus::Failed);
}

#[tokio::test]
async fn test_mode_messages_go_to_the_sandbox_and_never_to_the_channel() {
    let mut rig = rig(|_| {});
    rig.db
        .update_store(rig.store.id, |s| s.test_mode = true)
        .expect("test mode");
    rig.paid("A");
    assert_eq!(rig.pass().await.sent, 1);
    assert!(rig.fake.sent().is_empty(), "nothing reached the channel");
    let m = &rig.messages()[0];
    assert!(m.test && m.status == MessageStatus::Sent && m.reason() == Some("sandbox"));
}

#[tokio::test]
async fn an_unlinked_store_holds_its_messages_until_linked_again() {
    let mut rig = rig(|_| {});
    rig.db
        .update_store(rig.store.id, |s| s.instance_id = None)
        .expect("unlink");
    rig.paid("A");
    assert_eq!(rig.pass().await.held, 1);
    let instance = rig.instance.id;
    rig.db
        .update_store(rig.store.id, |s| s.instance_id = Some(instance))
        .expect("link");
    assert_eq!(rig.pass().await.sent, 1);
}

#[tokio::test]
async fn metrics_count_outcomes_and_the_due_to_sent_latency() {
    let mut rig = rig(|_| {});
    rig.paid("A");
    rig.at(NOON + 45);
    rig.pass().await;
    let text = rig.outbox.metrics().render();
    assert!(
        text.contains("avisa_outbox_attempts_total{outcome=\"sent\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("avisa_send_latency_seconds_bucket{le=\"30\"} 0"),
        "{text}"
    );
    assert!(
        text.contains("avisa_send_latency_seconds_bucket{le=\"60\"} 1"),
        "{text}"
    );
    assert!(text.contains("avisa_send_latency_seconds_sum 45"), "{text}");
}

#[tokio::test]
async fn without_an_interval_each_pass_sends_the_next_message() {
    let mut rig = rig(|i| {
        i.pacing.interval_s = 0;
        i.pacing.jitter_pct = 0;
    });
    for order in ["A", "B", "C"] {
        rig.paid(order);
    }
    for _ in 0..3 {
        assert_eq!(rig.pass().await.sent, 1);
    }
    assert_eq!(rig.sent_orders(), ["A", "B", "C"]);
}

#[tokio::test]
async fn deleting_a_store_cancels_its_pending_messages_at_once() {
    let mut rig = rig(|_| {});
    rig.event(
        json!({ "kind": "pix.generated", "order_id": "P", "payment": { "pix_code": "000201" } }),
    );
    rig.db
        .delete_store(rig.store.id, rig.clock.now())
        .expect("deleted");
    let messages = rig.messages();
    assert!(!messages.is_empty());
    assert!(
        messages
            .iter()
            .all(|m| m.status == MessageStatus::Canceled && m.reason() == Some("store_deleted"))
    );
    assert_eq!(rig.db.outbox_len().expect("depth"), 0);
    rig.assert_depth_matches_the_outbox();
}
