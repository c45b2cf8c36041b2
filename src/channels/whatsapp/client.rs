//! A WhatsApp instance's channel: its state, receipts and incoming texts, its Pairing control
//! (commands to the instance's one supervisor task, `supervisor`), the event handler the client
//! calls, and sends through the client the supervisor currently runs. Two live clients on one
//! device state corrupt it, so nothing here builds one.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::JoinHandle;
use whatsapp_rust::Client;
use whatsapp_rust::http::HttpClient;
use whatsapp_rust::store::traits::Backend;
use whatsapp_rust::types::events::Event;

use super::events::{self, Account, Effect};
use super::send::{self, AddressBook};
use super::supervisor::Supervisor;
use crate::channels::WhatsappFactory;
use crate::db::Db;
use crate::domain::Clock;
use crate::domain::{Instance, InstanceId};
use crate::queue::channel::{
    Attachment, Channel, ChannelState, Incoming, Pairing, PhoneFuture, Receipt, SendError,
    SendFuture, SendReceipt, Unreachable,
};

/// The WhatsApp Web version the library ships with, used when the version is pinned (a test
/// server, or a relay without internet access for the version check).
pub const BUNDLED_VERSION: (u32, u32, u32) = (2, 3000, 1_042_742_319);

/// WhatsApp Web's WebSocket endpoint, the default for `--whatsapp-url`.
pub const WHATSAPP_WEB_URL: &str = whatsapp_rust::wacore::net::WHATSAPP_WEB_WS_URL;

/// Where and how clients connect.
#[derive(Clone)]
pub struct WhatsappConfig {
    /// The WebSocket URL (WhatsApp Web by default; a relay or a test server otherwise).
    pub url: String,
    /// `None`: the client asks web.whatsapp.com for the current version at connect (cached a
    /// day). `Some`: use this version and make no HTTP request.
    pub version: Option<(u32, u32, u32)>,
    /// The HTTP client for media uploads (and the version check). `None`: the library's own
    /// ureq client, to WhatsApp's media hosts; tests give one that reaches a loopback stand-in.
    pub http: Option<Arc<dyn HttpClient>>,
}

impl std::fmt::Debug for WhatsappConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WhatsappConfig")
            .field("url", &self.url)
            .field("version", &self.version)
            .field("http", &self.http.as_ref().map(|_| "custom"))
            .finish()
    }
}

impl Default for WhatsappConfig {
    fn default() -> Self {
        WhatsappConfig {
            url: WHATSAPP_WEB_URL.to_owned(),
            version: None,
            http: None,
        }
    }
}

/// The instance's device and Signal state, in avisa's redb file.
pub(super) fn backend(
    db: &Db,
    instance_id: InstanceId,
    clock: &Arc<dyn Clock>,
) -> Arc<dyn Backend> {
    super::backend::backend(Arc::new(db.clone()), instance_id, clock.clone())
}

/// Forgets the instance's device state (logged out from the phone: pair again).
pub(super) fn wipe_device_state(db: &Db, instance_id: InstanceId) {
    if let Err(e) = db.wa_wipe_instance(instance_id) {
        tracing::error!(instance = instance_id.0, error = %e, "could not wipe the WhatsApp device state");
    }
}

/// Every supervisor the factory started, so avisa can wait for them when it stops.
#[derive(Default)]
pub struct Supervisors {
    channels: Mutex<Vec<Arc<WhatsappChannel>>>,
}

impl Supervisors {
    /// Waits until every supervisor stopped (after `Channels::shutdown`), at most `limit`.
    pub async fn wait_stopped(&self, limit: Duration) {
        let all: Vec<_> = self.channels.lock().expect("lock").clone();
        let wait = async {
            for channel in all {
                channel.stopped().await;
            }
        };
        if tokio::time::timeout(limit, wait).await.is_err() {
            tracing::warn!("WhatsApp connections did not stop in time");
        }
    }
}

/// The factory `Channels::with_whatsapp` takes: one supervised channel per WhatsApp instance.
pub fn factory(
    db: Db,
    clock: Arc<dyn Clock>,
    config: WhatsappConfig,
    supervisors: Arc<Supervisors>,
) -> WhatsappFactory {
    Box::new(move |instance: &Instance| {
        let channel =
            WhatsappChannel::start(instance.id, db.clone(), clock.clone(), config.clone());
        supervisors
            .channels
            .lock()
            .expect("lock")
            .push(channel.clone());
        (
            channel.clone() as Arc<dyn Channel>,
            channel as Arc<dyn Pairing>,
        )
    })
}

pub(super) enum Command {
    Connect,
    /// Stop the current attempt (connecting, reconnecting, showing a QR): disconnected.
    Cancel,
    /// The client of this generation could not reach WhatsApp and is failed: stop it.
    Unreachable(u64),
    PairWithCode(String),
    Logout,
    Shutdown,
    /// A terminal event from the client of this generation.
    Terminal(u64, Effect),
}

/// What the supervisor, the event handler and the sender share.
pub(super) struct Shared {
    pub(super) instance_id: InstanceId,
    pub(super) db: Db,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) state: watch::Sender<ChannelState>,
    pub(super) receipts: broadcast::Sender<Receipt>,
    pub(super) incoming: broadcast::Sender<Incoming>,
    pub(super) commands: mpsc::UnboundedSender<Command>,
    /// The running client, for sends.
    pub(super) client: Mutex<Option<Arc<Client>>>,
    /// Which client is current; events of older ones are ignored.
    pub(super) generation: AtomicU64,
    /// The current client reached a terminal state: its late reconnect noise is not shown.
    pub(super) terminal: AtomicBool,
    /// The current pairing is by phone number (set by the supervisor).
    pub(super) pairing_by_code: AtomicBool,
    /// Connection attempts of all clients so far.
    pub(super) attempts: watch::Sender<u32>,
    /// Timelock answers kept so far (`timelock::check`).
    pub(super) timelock_looks: watch::Sender<u32>,
    pub(super) addresses: AddressBook,
    /// Upload results by file hash (a file is uploaded once while its upload is reusable).
    pub(super) uploads: super::media::Uploads,
}

impl Shared {
    fn new(
        instance_id: InstanceId,
        db: Db,
        clock: Arc<dyn Clock>,
    ) -> (Arc<Shared>, mpsc::UnboundedReceiver<Command>) {
        let (commands, rx) = mpsc::unbounded_channel();
        let addresses = AddressBook::new(db.clone(), instance_id, clock.clone());
        let uploads = super::media::Uploads::new(db.clone(), instance_id);
        let shared = Arc::new(Shared {
            instance_id,
            db,
            clock,
            state: watch::channel(ChannelState::Disconnected).0,
            receipts: broadcast::channel(256).0,
            incoming: broadcast::channel(256).0,
            commands,
            client: Mutex::new(None),
            generation: AtomicU64::new(0),
            terminal: AtomicBool::new(false),
            pairing_by_code: AtomicBool::new(false),
            attempts: watch::channel(0).0,
            timelock_looks: watch::channel(0).0,
            addresses,
            uploads,
        });
        (shared, rx)
    }

    /// The client's event handler: maps one library event and applies what it means.
    pub(super) fn on_event(&self, generation: u64, event: &Event, account: &Account) {
        for effect in events::effects(event, account, self.clock.now()) {
            self.apply(generation, effect);
        }
    }

    pub(super) fn current(&self, generation: u64) -> bool {
        self.generation.load(Ordering::SeqCst) == generation
    }

    /// Publishes a state of the client `generation`, unless that client is done.
    pub(super) fn publish(&self, generation: u64, state: ChannelState) {
        if self.current(generation) && !self.terminal.load(Ordering::SeqCst) {
            self.state.send_replace(state);
        }
    }

    /// The client `generation` could not reach WhatsApp for a number never connected: publish
    /// the failed state with its reason and have the supervisor stop the client.
    pub(super) fn fail(&self, generation: u64, reason: Unreachable, detail: String) {
        if self.current(generation) && !self.terminal.swap(true, Ordering::SeqCst) {
            self.state
                .send_replace(ChannelState::Failed { reason, detail });
            let _ = self.commands.send(Command::Unreachable(generation));
        }
    }

    fn apply(&self, generation: u64, effect: Effect) {
        let by_code = self.pairing_by_code.load(Ordering::SeqCst);
        match effect {
            // Pairing by phone number: the library keeps rotating QR codes alongside; the page
            // shows the code, and the end of the QR codes does not end the code's client.
            Effect::State(ChannelState::WaitingForQr { .. }) | Effect::QrExhausted if by_code => {}
            Effect::State(state) => self.publish(generation, state),
            Effect::Receipt(receipt) => {
                let _ = self.receipts.send(receipt);
            }
            Effect::Incoming(incoming) => {
                let _ = self.incoming.send(incoming);
            }
            terminal => {
                if self.current(generation) {
                    self.state.send_replace(terminal_state(&terminal));
                    self.terminal.store(true, Ordering::SeqCst);
                    let _ = self.commands.send(Command::Terminal(generation, terminal));
                }
            }
        }
    }
}

fn terminal_state(effect: &Effect) -> ChannelState {
    match effect {
        Effect::QrExhausted => ChannelState::PairingExpired,
        Effect::LoggedOut => ChannelState::LoggedOut,
        Effect::Banned { reason, until } => ChannelState::TemporarilyBanned {
            reason: reason.clone(),
            until: *until,
        },
        Effect::Replaced => ChannelState::Replaced,
        Effect::State(s) => s.clone(),
        Effect::Receipt(_) | Effect::Incoming(_) => ChannelState::Disconnected,
    }
}

/// A WhatsApp instance's channel and pairing control; its supervisor task runs until shutdown.
pub struct WhatsappChannel {
    shared: Arc<Shared>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl WhatsappChannel {
    /// Starts the supervisor. A device that was paired reconnects at once; an unpaired one stays
    /// disconnected until `connect` (or `pair_with_code`).
    pub fn start(
        instance_id: InstanceId,
        db: Db,
        clock: Arc<dyn Clock>,
        config: WhatsappConfig,
    ) -> Arc<WhatsappChannel> {
        let (shared, rx) = Shared::new(instance_id, db, clock);
        let supervisor = Supervisor::new(shared.clone(), config);
        let task = tokio::spawn(supervisor.run(rx));
        Arc::new(WhatsappChannel {
            shared,
            task: Mutex::new(Some(task)),
        })
    }

    /// Connection attempts so far (each one dials the server).
    pub fn attempts(&self) -> watch::Receiver<u32> {
        self.shared.attempts.subscribe()
    }

    /// Reachout-timelock answers kept on the instance so far (tests wait on it).
    pub fn timelock_looks(&self) -> watch::Receiver<u32> {
        self.shared.timelock_looks.subscribe()
    }

    /// Resolves when the supervisor has stopped (after `shutdown`).
    pub async fn stopped(&self) {
        let task = self.task.lock().expect("lock").take();
        if let Some(task) = task {
            let _ = task.await;
        }
    }
}

impl WhatsappChannel {
    fn live_client(&self) -> Result<Arc<Client>, SendError> {
        let client = self.shared.client.lock().expect("lock").clone();
        client.ok_or_else(|| SendError::SessionUnavailable("not connected".into()))
    }

    /// The instance's "digitando…" time before a send.
    async fn typing(&self) -> Duration {
        let db = self.shared.db.clone();
        let id = self.shared.instance_id;
        let seconds = tokio::task::spawn_blocking(move || db.instance(id))
            .await
            .ok()
            .and_then(Result::ok)
            .map_or(0, |i| i.typing_seconds);
        Duration::from_secs(u64::from(seconds))
    }
}

impl Pairing for WhatsappChannel {
    fn connect(&self) {
        let _ = self.shared.commands.send(Command::Connect);
    }

    fn pair_with_code(&self, phone: &str) {
        let _ = self
            .shared
            .commands
            .send(Command::PairWithCode(phone.to_owned()));
    }

    fn cancel(&self) {
        let _ = self.shared.commands.send(Command::Cancel);
    }

    fn logout(&self) {
        let _ = self.shared.commands.send(Command::Logout);
    }

    fn shutdown(&self) {
        let _ = self.shared.commands.send(Command::Shutdown);
    }
}

impl Channel for WhatsappChannel {
    fn state(&self) -> watch::Receiver<ChannelState> {
        self.shared.state.subscribe()
    }

    /// The live client's `generate_message_id()` (hashes the account, the second and random
    /// bytes); without a client the same generator without the account.
    fn new_message_id(&self) -> String {
        let client = self.shared.client.lock().expect("lock").clone();
        match client {
            Some(client) => client.generate_message_id(),
            None => whatsapp_rust::wacore::request::RequestUtils::message_id_at(
                None,
                self.shared.clock.now().max(0) as u64,
            ),
        }
    }

    fn send<'a>(&'a self, to: &'a str, text: &'a str, message_id: &'a str) -> SendFuture<'a> {
        Box::pin(async move {
            let client = self.live_client()?;
            let typing = self.typing().await;
            send::send_text(
                &client,
                &self.shared.addresses,
                to,
                text,
                message_id,
                typing,
            )
            .await?;
            Ok(SendReceipt {
                sent_at: self.shared.clock.now(),
            })
        })
    }

    /// Uploads the file once (`media::upload_once`), then sends the library's media message.
    fn send_media<'a>(
        &'a self,
        to: &'a str,
        media: &'a Attachment,
        message_id: &'a str,
    ) -> SendFuture<'a> {
        Box::pin(async move {
            let client = self.live_client()?;
            let uploaded = super::media::upload_once(
                &client,
                &self.shared.uploads,
                media,
                self.shared.clock.now(),
            )
            .await?;
            let typing = self.typing().await;
            send::send_message(
                &client,
                &self.shared.addresses,
                to,
                super::media::message(&uploaded, media),
                message_id,
                typing,
            )
            .await?;
            Ok(SendReceipt {
                sent_at: self.shared.clock.now(),
            })
        })
    }

    fn receipts(&self) -> broadcast::Receiver<Receipt> {
        self.shared.receipts.subscribe()
    }

    fn incoming(&self) -> broadcast::Receiver<Incoming> {
        self.shared.incoming.subscribe()
    }

    /// A LID's phone from the library's LID↔phone mapping (`lid::phone_of`).
    fn phone_of<'a>(&'a self, address: &'a str) -> PhoneFuture<'a> {
        let client = self.shared.client.lock().expect("lock").clone();
        let shared = &self.shared;
        let rows = backend(&shared.db, shared.instance_id, &shared.clock);
        Box::pin(super::lid::phone_of(client, rows, address))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use whatsapp_rust::types::events::{
        LoggedOut, PairingQrCode, PairingQrCodesExhausted, ServerAck, StreamReplaced,
    };

    use super::*;
    use crate::db::DbOptions;
    use crate::domain::ManualClock;

    fn shared() -> (
        Arc<Shared>,
        mpsc::UnboundedReceiver<Command>,
        tempfile::TempDir,
    ) {
        let dir = tempfile::tempdir().expect("data dir");
        let db = Db::open(&dir.path().join("data"), &DbOptions::default()).expect("store");
        let (shared, rx) = Shared::new(InstanceId(7), db, Arc::new(ManualClock::at(1_000)));
        shared.generation.store(1, Ordering::SeqCst);
        (shared, rx, dir)
    }

    fn qr(code: &str) -> Event {
        Event::PairingQrCode(
            PairingQrCode::builder()
                .code(code.into())
                .timeout(Duration::from_secs(20))
                .build(),
        )
    }

    fn state(shared: &Shared) -> ChannelState {
        shared.state.borrow().clone()
    }

    #[test]
    fn exhausted_codes_stop_the_client_and_later_noise_is_not_shown() {
        let (shared, mut rx, _dir) = shared();
        let account = Account::default();
        shared.on_event(1, &qr("2@a,b,c,d"), &account);
        assert_eq!(
            state(&shared),
            ChannelState::WaitingForQr {
                qr: "2@a,b,c,d".into(),
                expires_at: 1_020
            }
        );
        let exhausted = PairingQrCodesExhausted::builder()
            .disconnected(true)
            .build();
        shared.on_event(1, &Event::PairingQrCodesExhausted(exhausted), &account);
        assert_eq!(state(&shared), ChannelState::PairingExpired);
        assert!(matches!(
            rx.try_recv(),
            Ok(Command::Terminal(1, Effect::QrExhausted))
        ));
        shared.publish(1, ChannelState::Reconnecting);
        assert_eq!(
            state(&shared),
            ChannelState::PairingExpired,
            "the page keeps \"gerar novo QR\""
        );
    }

    #[test]
    fn pairing_by_code_shows_the_code_not_the_qr_rotation() {
        let (shared, mut rx, _dir) = shared();
        shared.pairing_by_code.store(true, Ordering::SeqCst);
        let code = whatsapp_rust::types::events::PairingCode::builder()
            .code("ABCD1234".into())
            .timeout(Duration::from_secs(180))
            .build();
        shared.on_event(1, &Event::PairingCode(code), &Account::default());
        shared.on_event(1, &qr("2@a,b,c,d"), &Account::default());
        let exhausted = PairingQrCodesExhausted::builder()
            .disconnected(false)
            .build();
        shared.on_event(
            1,
            &Event::PairingQrCodesExhausted(exhausted),
            &Account::default(),
        );
        assert_eq!(
            state(&shared),
            ChannelState::WaitingForCode {
                code: "ABCD1234".into(),
                expires_at: 1_180
            }
        );
        assert!(rx.try_recv().is_err(), "the code's client keeps running");
    }

    #[test]
    fn events_of_a_replaced_client_are_ignored() {
        let (shared, mut rx, _dir) = shared();
        shared.on_event(0, &qr("2@old,b,c,d"), &Account::default());
        shared.on_event(
            0,
            &Event::StreamReplaced(StreamReplaced::builder().build()),
            &Account::default(),
        );
        assert_eq!(state(&shared), ChannelState::Disconnected);
        assert!(rx.try_recv().is_err(), "no command for a dead client");
    }

    #[test]
    fn logged_out_reaches_the_supervisor() {
        let (shared, mut rx, _dir) = shared();
        let logged_out = LoggedOut::builder()
            .on_connect(false)
            .reason(whatsapp_rust::types::events::ConnectFailureReason::LoggedOut)
            .build();
        shared.on_event(1, &Event::LoggedOut(logged_out), &Account::default());
        assert_eq!(state(&shared), ChannelState::LoggedOut);
        assert!(matches!(
            rx.try_recv(),
            Ok(Command::Terminal(1, Effect::LoggedOut))
        ));
    }

    #[test]
    fn receipts_are_broadcast_by_message_id_even_from_an_old_client() {
        let (shared, _rx, _dir) = shared();
        let mut receipts = shared.receipts.subscribe();
        let nack = ServerAck::builder()
            .id("AVISA9".into())
            .class("message".into())
            .error("463".into())
            .build();
        shared.on_event(0, &Event::ServerAck(nack), &Account::default());
        match receipts.try_recv() {
            Ok(Receipt::ServerNack { message_id, .. }) => assert_eq!(message_id, "AVISA9"),
            other => panic!("a nack is a failure receipt: {other:?}"),
        }
    }
}
