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

const PDF: &[u8] = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n";
const PIX: &str = "00020126580014br.gov.bcb.pix0136123e4567-e12b-12d1-a456-4266554400005204000053039865802BR5913Loja da Ana6009SAO PAULO62070503***6304ABCD";

/// The store's file server on loopback: `/boleto.pdf` is the boleto.
fn boleto_server() -> u16 {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("bound").port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                head.push(byte[0]);
            }
            let mut out = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                PDF.len()
            )
            .into_bytes();
            out.extend_from_slice(PDF);
            let _ = stream.write_all(&out);
        }
    });
    port
}

/// What the media endpoint received for `file_enc_sha256`, decrypted with the message's key.
fn uploaded(
    media: &MediaServer,
    path_prefix: &str,
    enc_sha256: &[u8],
    media_key: &[u8],
    kind: whatsapp_rust::wacore::download::MediaType,
) -> Vec<u8> {
    use sha2::Digest as _;
    let uploads = media.uploads.lock().expect("lock").clone();
    let upload = uploads
        .iter()
        .find(|u| sha2::Sha256::digest(&u.body).as_slice() == enc_sha256)
        .expect("the message names a file the media endpoint received");
    assert!(upload.path.starts_with(path_prefix), "{}", upload.path);
    whatsapp_rust::wacore::download::DownloadUtils::decrypt_stream(
        upload.body.as_slice(),
        media_key,
        kind,
    )
    .expect("the message's key opens the upload")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_parts_go_through_the_real_library_as_a_document_and_an_image() {
    use avisa::domain::EventKind;
    use avisa::domain::template::parse_template_file;
    use whatsapp_rust::wacore::download::MediaType;

    let mut rig = Rig::start(Script::default(), true).await;
    let port = boleto_server();
    rig.outbox.set_media_client(avisa::net::Client::with_hosts(
        avisa::net::Policy {
            allow_http: true,
            targets: avisa::net::Targets::PublicOnly {
                allowed_hosts: vec!["loja.example".into()],
            },
            ..avisa::net::Policy::media()
        },
        std::collections::HashMap::from([(
            "loja.example".to_owned(),
            vec!["127.0.0.1".parse().expect("ip")],
        )]),
    ));
    for (kind, file) in [
        (
            EventKind::BoletoGenerated,
            "# on\n=== delay 0m\n#documento {{ payment.boleto_url }}\nSeu boleto de {{ product_names }}.\n",
        ),
        (
            EventKind::PixGenerated,
            "# on\n=== delay 0m\n#qrcode {{ payment.pix_code }}\nPague com o PIX: aponte a câmera.\n",
        ),
    ] {
        let template = parse_template_file(kind, file).expect("a template file");
        rig.db
            .save_template(rig.store_id, &template)
            .expect("saved");
    }

    rig.event(json!({
        "kind": "boleto.generated", "order_id": "B1",
        "payment": { "boleto_url": format!("http://loja.example:{port}/boleto.pdf") }
    }));
    assert_eq!(rig.outbox.run_once().await.expect("pass").sent, 1);
    let seen = rig.server.seen(|s| !s.messages.is_empty()).await;
    let received = &seen.messages[0];
    assert_eq!(received.kind, "media");
    let document = received
        .message
        .as_ref()
        .and_then(|m| m.document_message.as_option().cloned())
        .expect("the buyer's phone gets a document message");
    assert_eq!(document.mimetype.as_deref(), Some("application/pdf"));
    assert_eq!(document.file_name.as_deref(), Some("boleto.pdf"));
    assert_eq!(
        document.caption.as_deref(),
        Some("Seu boleto de Curso de bolos.")
    );
    assert_eq!(document.file_length, Some(PDF.len() as u64));
    let opened = uploaded(
        rig.server.media.as_ref().expect("the media stand-in"),
        "/mms/document/",
        document.file_enc_sha256.as_deref().expect("hash"),
        document.media_key.as_deref().expect("key"),
        MediaType::Document,
    );
    assert_eq!(opened, PDF, "the buyer opens the boleto the store served");

    rig.event(json!({
        "kind": "pix.generated", "order_id": "P1",
        "payment": { "pix_code": PIX }
    }));
    rig.clock.advance(120);
    assert_eq!(rig.outbox.run_once().await.expect("pass").sent, 1);
    let seen = rig.server.seen(|s| s.messages.len() == 2).await;
    let image = seen.messages[1]
        .message
        .as_ref()
        .and_then(|m| m.image_message.as_option().cloned())
        .expect("the buyer's phone gets an image message");
    assert_eq!(image.mimetype.as_deref(), Some("image/png"));
    assert_eq!(
        image.caption.as_deref(),
        Some("Pague com o PIX: aponte a câmera.")
    );
    let png = uploaded(
        rig.server.media.as_ref().expect("the media stand-in"),
        "/mms/image/",
        image.file_enc_sha256.as_deref().expect("hash"),
        image.media_key.as_deref().expect("key"),
        MediaType::Image,
    );
    assert_eq!(
        png,
        avisa::media::pix_qr_png(PIX).expect("a QR"),
        "the QR avisa drew from the copia-e-cola"
    );
    let statuses: Vec<MessageStatus> = rig.messages().iter().map(|m| m.status).collect();
    assert_eq!(statuses, vec![MessageStatus::Sent, MessageStatus::Sent]);
    rig.channel.shutdown();
}

/// Waits until the channel kept `n` timelock answers on the instance.
async fn timelock_looks(rig: &Rig, n: u32) {
    let mut looks = rig.channel.timelock_looks();
    tokio::time::timeout(HANG_GUARD, looks.wait_for(|k| *k >= n))
        .await
        .expect("the timelock answer is kept in time")
        .expect("the channel runs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reachout_timelock_pauses_the_number_until_it_ends_and_a_463_asks_again() {
    const DAY: i64 = 24 * 3600;
    let mut rig = Rig::start(
        Script {
            timelock: Some((true, NOON + 3600)),
            ..Script::default()
        },
        false,
    )
    .await;
    // At login the channel asks WhatsApp and keeps the answer in the number's health.
    timelock_looks(&rig, 1).await;
    let health = rig.db.instance(rig.instance.id).expect("instance").health;
    assert_eq!(health.timelock_until, Some(NOON + 3600));
    assert_eq!(health.timelock_checked_at, Some(NOON));

    rig.event(json!({ "kind": "order.paid", "order_id": "T1" }));
    assert_eq!(rig.outbox.run_once().await.expect("pass").sent, 0);
    let instance = rig.db.instance(rig.instance.id).expect("instance");
    assert_eq!(
        (instance.health.level, instance.health.reason.as_str()),
        (Level::Paused, "timelock"),
        "paused with the reason while the timelock runs"
    );
    assert!(rig.server.seen(|_| true).await.messages.is_empty());

    // WhatsApp lifts it; the next message it refuses with 463 and locks the number again.
    rig.server.script(|s| {
        s.nack = Some("463".into());
        s.timelock = Some((true, NOON + 2 * DAY));
    });
    let mut receipts = rig.channel.receipts();
    rig.clock.advance(3601);
    assert_eq!(
        rig.outbox.run_once().await.expect("pass").sent,
        1,
        "the number resumed by itself when the timelock ended"
    );
    let instance = rig.db.instance(rig.instance.id).expect("instance");
    assert_eq!(
        (instance.health.level, instance.health.reason.as_str()),
        (Level::Slowed, "timelock_ended"),
        "and comes back slowly"
    );
    Rig::receipt(&mut receipts, |r| matches!(r, Receipt::ServerNack { .. })).await;
    timelock_looks(&rig, 2).await;
    assert_eq!(rig.server.seen(|_| true).await.timelock_queries, 2);
    rig.clock.advance(1);
    rig.outbox.run_once().await.expect("pass");
    let instance = rig.db.instance(rig.instance.id).expect("instance");
    assert_eq!(instance.health.timelock_until, Some(NOON + 2 * DAY));
    assert_eq!(
        (instance.health.level, instance.health.reason.as_str()),
        (Level::Paused, "timelock"),
        "the 463 made the channel ask, and the new timelock pauses the number"
    );
    assert_eq!(rig.messages()[0].status, MessageStatus::Failed);
    rig.channel.shutdown();
}
