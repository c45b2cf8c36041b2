//! The spawned outbox loop on tokio's paused time: the pace it keeps between sends, with its
//! jitter, and with the neighbours a first hour has (held stores, modo teste, arrivals mid-wait).

use std::sync::Arc;

use super::channel::Channel;
use super::outbox::Outbox;
use super::outbox_tests::{NOON, rig};
use crate::channels::Channels;
use crate::channels::fake::FakeChannel;
use crate::db::MessageFilter;
use crate::domain::Clock as _;
use crate::domain::{InstanceMode, Message, MessageStatus, NewStore, Platform};

/// A clock that follows tokio's paused (virtual) time, so the real loop of `Outbox::spawn` runs
/// on it: its sleeps advance the clock and nothing waits for the wall clock.
struct VirtualClock {
    base: i64,
    start: tokio::time::Instant,
}

impl crate::domain::Clock for VirtualClock {
    fn now(&self) -> i64 {
        self.base + self.start.elapsed().as_secs() as i64
    }
}

/// The spawned loop (not single passes) of a sandbox instance with five queued messages: the
/// time of each send, watched once a virtual second.
async fn spawned_send_times(jitter: f64) -> Vec<i64> {
    let mut rig = rig(|i| i.mode = InstanceMode::Sandbox);
    for order in ["A", "B", "C", "D", "E"] {
        rig.paid(order);
    }
    let clock = Arc::new(VirtualClock {
        base: NOON,
        start: tokio::time::Instant::now(),
    });
    let fake = Arc::new(FakeChannel::connected("sandbox"));
    let channels = Arc::new(Channels::default());
    channels.insert(rig.instance.id, fake.clone() as Arc<dyn Channel>);
    let outbox = Outbox::new(
        rig.db.clone(),
        channels,
        clock.clone(),
        Arc::new(move || jitter),
    );
    let task = outbox.spawn(Arc::new(tokio::sync::Notify::new()));
    let mut times = Vec::new();
    while times.len() < 5 && clock.now() < NOON + 600 {
        let before = fake.sent().len();
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        times.extend((before..fake.sent().len()).map(|_| clock.now() - NOON));
    }
    task.abort();
    times
}

#[tokio::test(start_paused = true)]
async fn the_running_loop_sends_at_the_configured_interval_with_its_jitter() {
    // 30 s ± 30 %: jitter 0.5 is the middle, 0.0 the shortest, 0.999 the longest wait.
    for (jitter, gap) in [(0.5, 30), (0.0, 21), (0.999, 39)] {
        let times = spawned_send_times(jitter).await;
        let gaps: Vec<i64> = times.windows(2).map(|w| w[1] - w[0]).collect();
        assert_eq!(gaps, vec![gap; 4], "jitter {jitter}: sends at {times:?}");
    }
}

/// Item 8 of issue 13 reported ~60 s between sends with 30 s ±30 % configured (sends at 18:28:21,
/// :58, 18:29:58, 18:30:58, 18:32:58: the loop slept its one-minute cap instead of waking at the
/// pacing slot). An attempt to reproduce it as a merchant met it: the spawned loop on virtual
/// time, a test instance, and around the paced queue what a first hour has — an unlinked store
/// whose due messages are held (earlier in due order), a modo teste store's message delivered
/// straight to the caixa de teste, and webhooks arriving while the loop waits (each one a
/// wake-up, as the intake gives). Every gap between the instance's sends is the configured 30 s.
#[tokio::test(start_paused = true)]
async fn the_pace_holds_with_held_neighbours_test_mode_messages_and_arrivals_mid_wait() {
    let mut rig = rig(|i| i.mode = InstanceMode::Sandbox);
    // Held: a store without an instance, its messages due before the paced ones.
    let paced_store = rig.store.clone();
    let held = rig
        .db
        .create_store(NewStore {
            name: "Sem instância".into(),
            slug: "sem".into(),
            platform: Platform::Api,
            enabled: true,
            secret: None,
            webhook_token: "u".repeat(32),
            created_at: NOON,
        })
        .expect("store");
    let rehearsal = rig
        .db
        .create_store(NewStore {
            name: "Ensaio".into(),
            slug: "ensaio".into(),
            platform: Platform::Api,
            enabled: true,
            secret: None,
            webhook_token: "v".repeat(32),
            created_at: NOON,
        })
        .expect("store");
    rig.db
        .update_store(rehearsal.id, |s| s.test_mode = true)
        .expect("modo teste");
    rig.store = held.clone();
    rig.paid("H1");
    rig.paid("H2");
    rig.store = paced_store.clone();
    for order in ["A", "B", "C"] {
        rig.paid(order);
    }
    let clock = Arc::new(VirtualClock {
        base: NOON,
        start: tokio::time::Instant::now(),
    });
    let fake = Arc::new(FakeChannel::connected("sandbox"));
    let channels = Arc::new(Channels::default());
    channels.insert(rig.instance.id, fake.clone() as Arc<dyn Channel>);
    let outbox = Outbox::new(rig.db.clone(), channels, clock.clone(), Arc::new(|| 0.5));
    let wake = Arc::new(tokio::sync::Notify::new());
    let task = outbox.spawn(wake.clone());
    let mut times = Vec::new();
    let mut arrivals = vec![
        (95, "F", true),
        (70, "T", false),
        (45, "E", true),
        (10, "D", true),
    ];
    while times.len() < 6 && clock.now() < NOON + 600 {
        let before = fake.sent().len();
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        times.extend((before..fake.sent().len()).map(|_| clock.now() - NOON));
        // Webhooks arrive while the loop waits for the slot, each waking it.
        if let Some(&(at, order, paced)) = arrivals.last()
            && clock.now() - NOON >= at
        {
            arrivals.pop();
            if !paced {
                rig.store = rehearsal.clone();
            }
            rig.paid(order);
            rig.store = paced_store.clone();
            wake.notify_one();
        }
    }
    task.abort();
    let gaps: Vec<i64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    assert_eq!(gaps, vec![30; 5], "sends at {times:?}");
    let waiting: Vec<Message> = rig
        .db
        .list_messages(&MessageFilter {
            store_id: Some(held.id),
            limit: 10,
            ..MessageFilter::default()
        })
        .expect("held");
    assert_eq!(waiting.len(), 2);
    assert!(waiting.iter().all(|m| m.status == MessageStatus::Scheduled));
}
