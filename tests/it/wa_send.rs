//! Sending through the real WhatsApp library on loopback (issues 15 and 16): avisa's outbox and
//! channel, the unmodified whatsapp-rust client logged in to the stand-in (`wa_server`), which
//! answers the way WhatsApp does and reads what a buyer's phone would get. Time on avisa's side
//! is a stepped clock; the library's own timers run on the machine's (its crypto and sockets
//! are real), and every wait is on an event with a hang guard, never a sleep.

use std::sync::Arc;
use std::time::Duration;

use avisa::channels::Channels;
use avisa::channels::whatsapp::{BUNDLED_VERSION, WhatsappChannel, WhatsappConfig};
use avisa::db::{Db, DbOptions, Delivery, RawDelivery};
use avisa::domain::deliverability::Level;
use avisa::domain::planning::QuietHours;
use avisa::domain::report::day_number;
use avisa::domain::{
    Clock as _, Instance, InstanceMode, ManualClock, Message, MessageSettings, MessageStatus,
    NewStore, Platform,
};
use avisa::ingest::{Request, recognise};
use avisa::queue::channel::{Channel, ChannelState, Pairing as _, Receipt};
use avisa::queue::outbox::Outbox;
use serde_json::json;

use crate::wa_server::{self, Script, WaServer, media::MediaServer};

/// 2025-11-18 12:00 in Brasília (a Tuesday).
pub const NOON: i64 = 1_763_478_000;
const HANG_GUARD: Duration = Duration::from_secs(60);

pub struct Rig {
    _dir: tempfile::TempDir,
    pub db: Db,
    pub clock: ManualClock,
    pub server: WaServer,
    pub channel: Arc<WhatsappChannel>,
    pub outbox: Outbox,
    pub instance: Instance,
    pub store_id: avisa::domain::StoreId,
    events: usize,
}

impl Rig {
    /// A store on the `api` platform linked to a paired WhatsApp instance, logged in to a
    /// stand-in answering by `script` (with the media endpoint's stand-in when `media`).
    pub async fn start(script: Script, media: bool) -> Rig {
        let media = if media {
            Some(MediaServer::start().await)
        } else {
            None
        };
        let http = media.as_ref().map(MediaServer::client);
        let server = wa_server::start_with(script, media).await;
        let dir = tempfile::tempdir().expect("tempdir");
        let db = Db::open(dir.path(), &DbOptions::default()).expect("open");
        let no_quiet = QuietHours {
            start_min: 0,
            end_min: 0,
        };
        db.save_message_settings(&MessageSettings {
            quiet_hours: no_quiet,
            ..MessageSettings::default()
        })
        .expect("settings");
        let mut instance = Instance::new("Loja da Ana", InstanceMode::Whatsapp, NOON);
        instance.quiet_hours = no_quiet;
        instance.typing_seconds = 0;
        instance.daily_limit = 100;
        let instance = db.create_instance(instance).expect("instance");
        let store = db
            .create_store(NewStore {
                name: "Loja da Ana".into(),
                slug: "loja".into(),
                platform: Platform::Api,
                enabled: true,
                secret: None,
                webhook_token: "t".repeat(32),
                created_at: NOON,
            })
            .expect("store");
        db.update_store(store.id, |s| s.instance_id = Some(instance.id))
            .expect("link");
        wa_server::pair(&db, instance.id).await;

        let clock = ManualClock::at(NOON);
        let channel = WhatsappChannel::start(
            instance.id,
            db.clone(),
            Arc::new(clock.clone()),
            WhatsappConfig {
                url: server.url.clone(),
                version: Some(BUNDLED_VERSION),
                http,
            },
        );
        let mut state = channel.state();
        tokio::time::timeout(HANG_GUARD, state.wait_for(ChannelState::is_connected))
            .await
            .expect("the paired number logs in")
            .expect("the channel runs");
        let channels = Arc::new(Channels::default());
        channels.insert(instance.id, channel.clone() as Arc<dyn Channel>);
        let outbox = Outbox::new(
            db.clone(),
            channels,
            Arc::new(clock.clone()),
            Arc::new(|| 0.5),
        );
        Rig {
            _dir: dir,
            db,
            clock,
            server,
            channel,
            outbox,
            instance,
            store_id: store.id,
            events: 0,
        }
    }

    /// A webhook of avisa's own format arrives now, for Ana.
    pub fn event(&mut self, mut body: serde_json::Value) {
        self.events += 1;
        body["event_id"] = json!(format!("e{}", self.events));
        body["customer"] = json!({ "name": "Ana Souza", "phone": "11987654321" });
        body["products"] = json!([{ "name": "Curso de bolos" }]);
        let bytes = body.to_string().into_bytes();
        let readings = recognise(Platform::Api, &Request::new(&bytes, &[], ""));
        self.db
            .record_deliveries(&[Delivery {
                store_id: self.store_id,
                received_at: self.clock.now(),
                raw: RawDelivery::default(),
                readings,
            }])
            .expect("recorded");
    }

    pub fn messages(&self) -> Vec<Message> {
        let mut all = self
            .db
            .list_messages(&avisa::db::MessageFilter {
                limit: 1000,
                ..avisa::db::MessageFilter::default()
            })
            .expect("messages");
        all.sort_by_key(|m| m.id);
        all
    }

    /// Waits for the channel to report a receipt `matches` accepts.
    pub async fn receipt(
        receipts: &mut tokio::sync::broadcast::Receiver<Receipt>,
        mut matches: impl FnMut(&Receipt) -> bool,
    ) -> Receipt {
        tokio::time::timeout(HANG_GUARD, async {
            loop {
                let receipt = receipts.recv().await.expect("the channel runs");
                if matches(&receipt) {
                    return receipt;
                }
            }
        })
        .await
        .expect("the receipt in time")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_463_nack_from_whatsapp_fails_the_message_counts_it_and_slows_the_number() {
    let mut rig = Rig::start(
        Script {
            nack: Some("463".into()),
            ..Script::default()
        },
        false,
    )
    .await;
    let mut receipts = rig.channel.receipts();
    rig.event(json!({ "kind": "order.paid", "order_id": "A1" }));
    let pass = rig.outbox.run_once().await.expect("pass");
    assert_eq!(pass.sent, 1, "the library's send returned Ok");

    let seen = rig.server.seen(|s| !s.messages.is_empty()).await;
    let on_wire = &seen.messages[0];
    let message = rig.messages().pop().expect("the message");
    assert_eq!(Some(on_wire.id.as_str()), message.wire_id.as_deref());
    assert_eq!(on_wire.to, "5511987654321@s.whatsapp.net");
    let text = on_wire
        .message
        .as_ref()
        .and_then(|m| m.conversation.clone())
        .expect("the buyer's phone reads a text");
    assert_eq!(text, message.text, "what was planned is what went out");

    Rig::receipt(&mut receipts, |r| matches!(r, Receipt::ServerNack { .. })).await;
    rig.clock.advance(1);
    rig.outbox.run_once().await.expect("pass");
    let message = rig.db.message(message.id).expect("message");
    assert_eq!(message.status, MessageStatus::Failed);
    let reason = message.history.last().and_then(|h| h.reason.clone());
    assert!(
        reason
            .as_deref()
            .is_some_and(|r| r.contains("463") && r.contains("never wrote to this number")),
        "the merchant reads why: {reason:?}"
    );
    let day = day_number(NOON);
    let health = rig
        .db
        .health_days(rig.instance.id, day, day)
        .expect("health");
    assert_eq!(health[0].1.nacks.get("463"), Some(&1), "counted by code");
    let instance = rig.db.instance(rig.instance.id).expect("instance");
    assert_eq!(
        (instance.health.level, instance.health.reason.as_str()),
        (Level::Slowed, "nacks_463"),
        "the number slows down"
    );
    assert_eq!(
        instance.effective_pacing().interval_s,
        60,
        "twice the interval"
    );
    assert_eq!(
        instance.allowance(NOON + 1),
        Some(50),
        "half the day's sends"
    );
    rig.channel.shutdown();
}
