//! One supervisor task per WhatsApp instance: the only place a whatsapp-rust client is built,
//! rebuilt or stopped (two live clients on one device state corrupt it). The console's Pairing
//! commands and the library's terminal events (QR codes ran out, logged out, banned, replaced)
//! reach it through one queue; sends use the client it currently runs.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::JoinHandle;
use whatsapp_rust::bot::{Bot, BotHandle, EventDelivery};
use whatsapp_rust::pair_code::PairCodeOptions;
use whatsapp_rust::store::traits::Backend;
use whatsapp_rust::transport::{
    TokioWebSocketTransportFactory, Transport, TransportEvent, TransportFactory,
};
use whatsapp_rust::types::events::Event;
use whatsapp_rust::{Client, anyhow, async_channel, async_trait};

use super::events::{self, Account, Effect};
use super::send::{self, AddressBook};
use crate::domain::Clock;
use crate::queue::channel::{
    Channel, ChannelState, Incoming, Pairing, Receipt, SendError, SendFuture, SendReceipt,
};
use crate::queue::channels::WhatsappFactory;
use crate::store::{InstanceRecord, Store};

/// The WhatsApp Web version the library ships with, used when the version is pinned (a test
/// server, or a relay without internet access for the version check).
pub const BUNDLED_VERSION: (u32, u32, u32) = (2, 3000, 1_042_742_319);

/// WhatsApp Web's WebSocket endpoint, the default for `--whatsapp-url`.
pub const WHATSAPP_WEB_URL: &str = whatsapp_rust::wacore::net::WHATSAPP_WEB_WS_URL;

/// How long a stopping client may take to flush its state before it is aborted.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// Where and how clients connect.
#[derive(Clone, Debug)]
pub struct WhatsappConfig {
    /// The WebSocket URL (WhatsApp Web by default; a relay or a test server otherwise).
    pub url: String,
    /// `None`: the client asks web.whatsapp.com for the current version at connect (cached a
    /// day). `Some`: use this version and make no HTTP request.
    pub version: Option<(u32, u32, u32)>,
}

impl Default for WhatsappConfig {
    fn default() -> Self {
        WhatsappConfig {
            url: WHATSAPP_WEB_URL.to_owned(),
            version: None,
        }
    }
}

// INTEGRATION: replace with backend::backend (the redb-backed device state). Until then the
// device state lives in memory and a restart needs a new pairing.
fn backend(_store: &Store, _instance_id: u64) -> Arc<dyn Backend> {
    Arc::new(whatsapp_rust::wacore::store::InMemoryBackend::new())
}

// INTEGRATION: replace with the backend module's wipe of this instance's device state.
fn wipe_device_state(_store: &Store, _instance_id: u64) {}

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
    store: Store,
    clock: Arc<dyn Clock>,
    config: WhatsappConfig,
    supervisors: Arc<Supervisors>,
) -> WhatsappFactory {
    Box::new(move |instance: &InstanceRecord| {
        let channel =
            WhatsappChannel::start(instance.id, store.clone(), clock.clone(), config.clone());
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

enum Command {
    Connect,
    PairWithCode(String),
    Logout,
    Shutdown,
    /// A terminal event from the client of this generation.
    Terminal(u64, Effect),
}

/// What the supervisor, the event handler and the sender share.
struct Shared {
    instance_id: u64,
    store: Store,
    clock: Arc<dyn Clock>,
    state: watch::Sender<ChannelState>,
    receipts: broadcast::Sender<Receipt>,
    incoming: broadcast::Sender<Incoming>,
    commands: mpsc::UnboundedSender<Command>,
    /// The running client, for sends.
    client: Mutex<Option<Arc<Client>>>,
    /// Which client is current; events of older ones are ignored.
    generation: AtomicU64,
    /// The current client reached a terminal state: its late reconnect noise is not shown.
    terminal: AtomicBool,
    /// Connection attempts of all clients so far.
    attempts: watch::Sender<u32>,
    addresses: AddressBook,
}

impl Shared {
    fn new(
        instance_id: u64,
        store: Store,
        clock: Arc<dyn Clock>,
    ) -> (Arc<Shared>, mpsc::UnboundedReceiver<Command>) {
        let (commands, rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            instance_id,
            store,
            clock,
            state: watch::channel(ChannelState::Disconnected).0,
            receipts: broadcast::channel(256).0,
            incoming: broadcast::channel(256).0,
            commands,
            client: Mutex::new(None),
            generation: AtomicU64::new(0),
            terminal: AtomicBool::new(false),
            attempts: watch::channel(0).0,
            addresses: AddressBook::default(),
        });
        (shared, rx)
    }

    /// The client's event handler: maps one library event and applies what it means.
    fn on_event(&self, generation: u64, event: &Event, account: &Account) {
        for effect in events::effects(event, account, self.clock.now()) {
            self.apply(generation, effect);
        }
    }

    fn current(&self, generation: u64) -> bool {
        self.generation.load(Ordering::SeqCst) == generation
    }

    /// Publishes a state of the client `generation`, unless that client is done.
    fn publish(&self, generation: u64, state: ChannelState) {
        if self.current(generation) && !self.terminal.load(Ordering::SeqCst) {
            self.state.send_replace(state);
        }
    }

    fn apply(&self, generation: u64, effect: Effect) {
        match effect {
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
        instance_id: u64,
        store: Store,
        clock: Arc<dyn Clock>,
        config: WhatsappConfig,
    ) -> Arc<WhatsappChannel> {
        let (shared, rx) = Shared::new(instance_id, store, clock);
        let supervisor = Supervisor {
            shared: shared.clone(),
            config,
            backend: backend(&shared.store, instance_id),
            live: None,
            paused_until: None,
        };
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

    /// Resolves when the supervisor has stopped (after `shutdown`).
    pub async fn stopped(&self) {
        let task = self.task.lock().expect("lock").take();
        if let Some(task) = task {
            let _ = task.await;
        }
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

    fn send<'a>(&'a self, to: &'a str, text: &'a str, message_id: &'a str) -> SendFuture<'a> {
        Box::pin(async move {
            let client = self.shared.client.lock().expect("lock").clone();
            let Some(client) = client else {
                return Err(SendError::SessionUnavailable("not connected".into()));
            };
            let store = self.shared.store.clone();
            let id = self.shared.instance_id;
            let typing = tokio::task::spawn_blocking(move || store.instance(id))
                .await
                .ok()
                .and_then(Result::ok)
                .map_or(0, |i| i.typing_seconds);
            send::send_text(
                &client,
                &self.shared.addresses,
                to,
                text,
                message_id,
                Duration::from_secs(u64::from(typing)),
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
}

/// The running client.
struct Live {
    handle: BotHandle,
}

struct Supervisor {
    shared: Arc<Shared>,
    config: WhatsappConfig,
    backend: Arc<dyn Backend>,
    live: Option<Live>,
    /// Banned: no client before this time.
    paused_until: Option<i64>,
}

impl Supervisor {
    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Command>) {
        if self.is_paired().await {
            self.start_client(None).await;
        }
        loop {
            let pause = self.paused_until.map(|until| {
                let wait = until.saturating_sub(self.shared.clock.now()).max(0);
                Duration::from_secs(u64::try_from(wait).unwrap_or(0))
            });
            tokio::select! {
                command = rx.recv() => match command {
                    None | Some(Command::Shutdown) => break,
                    Some(command) => self.handle(command).await,
                },
                () = ended(&mut self.live) => {
                    // The client stopped on its own (its run loop gave up).
                    self.live = None;
                    *self.shared.client.lock().expect("lock") = None;
                    if !self.shared.terminal.load(Ordering::SeqCst) {
                        self.shared.state.send_replace(ChannelState::Disconnected);
                    }
                }
                () = sleep_opt(pause) => {
                    self.paused_until = None;
                    self.start_client(None).await;
                }
            }
        }
        self.stop_client().await;
        self.shared.state.send_replace(ChannelState::Disconnected);
    }

    async fn handle(&mut self, command: Command) {
        match command {
            Command::Connect => {
                if self.live.is_none() && self.paused_until.is_none() {
                    self.start_client(None).await;
                }
            }
            Command::PairWithCode(phone) => {
                if self.paused_until.is_some() {
                    return;
                }
                let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
                match &self.live {
                    Some(live) if !live.handle.client().is_logged_in() => {
                        let client = live.handle.client();
                        // Failures arrive as PairingCodeError events; the QR flow keeps running.
                        tokio::spawn(async move {
                            let options = PairCodeOptions {
                                phone_number: digits,
                                ..Default::default()
                            };
                            if let Err(e) = client.pair_with_code(options).await {
                                tracing::warn!(error = %e, "pairing code not issued");
                            }
                        });
                    }
                    Some(_) => {}
                    None => self.start_client(Some(digits)).await,
                }
            }
            Command::Logout => {
                if let Some(live) = self.live.take() {
                    *self.shared.client.lock().expect("lock") = None;
                    let client = live.handle.client();
                    let _ = tokio::time::timeout(STOP_GRACE, client.logout()).await;
                    stop(live.handle).await;
                }
                self.wipe();
                self.shared.terminal.store(true, Ordering::SeqCst);
                self.shared.state.send_replace(ChannelState::LoggedOut);
            }
            Command::Terminal(generation, effect) => {
                // The client may already have ended by itself; the effect still applies.
                if !self.shared.current(generation) {
                    return;
                }
                self.stop_client().await;
                match effect {
                    Effect::LoggedOut => self.wipe(),
                    Effect::Banned { until, .. } => self.paused_until = Some(until),
                    _ => {}
                }
            }
            Command::Shutdown => unreachable!("handled by the loop"),
        }
    }

    async fn is_paired(&self) -> bool {
        matches!(self.backend.load().await, Ok(Some(device)) if device.is_registered())
    }

    fn wipe(&mut self) {
        wipe_device_state(&self.shared.store, self.shared.instance_id);
        self.backend = backend(&self.shared.store, self.shared.instance_id);
        self.shared.addresses.clear();
    }

    async fn start_client(&mut self, pair_phone: Option<String>) {
        self.stop_client().await;
        let shared = self.shared.clone();
        let generation = shared.generation.fetch_add(1, Ordering::SeqCst) + 1;
        shared.terminal.store(false, Ordering::SeqCst);
        shared.state.send_replace(ChannelState::Connecting);
        let transport = CountingTransport {
            inner: TokioWebSocketTransportFactory::new().with_url(self.config.url.clone()),
            shared: shared.clone(),
            generation,
            tries: AtomicU64::new(0),
        };
        let handler_shared = shared.clone();
        let mut builder = Bot::builder()
            .with_backend_arc(self.backend.clone())
            .with_transport_factory(transport)
            .with_event_delivery(EventDelivery::Ordered { capacity: 1024 })
            .skip_history_sync()
            .on_event(move |event: Arc<Event>, client: Arc<Client>| {
                let account = Account {
                    number: client.pn().map(|j| events::e164(&j)).unwrap_or_default(),
                    name: client.push_name(),
                };
                handler_shared.on_event(generation, &event, &account);
                async {}
            });
        if let Some(version) = self.config.version {
            builder = builder.with_version(version);
        }
        if let Some(phone) = pair_phone {
            builder = builder.with_pair_code(PairCodeOptions {
                phone_number: phone,
                ..Default::default()
            });
        }
        match builder.build().await {
            Ok(bot) => {
                let handle = bot.spawn();
                *shared.client.lock().expect("lock") = Some(handle.client());
                self.live = Some(Live { handle });
            }
            Err(e) => {
                tracing::error!(instance = shared.instance_id, error = %e, "WhatsApp client not built");
                shared.state.send_replace(ChannelState::Disconnected);
            }
        }
    }

    async fn stop_client(&mut self) {
        if let Some(live) = self.live.take() {
            *self.shared.client.lock().expect("lock") = None;
            stop(live.handle).await;
        }
    }
}

/// Disconnects a client (flushing its state) and waits for its run loop; aborts it if that
/// takes too long. The client is dead afterwards.
async fn stop(handle: BotHandle) {
    if tokio::time::timeout(STOP_GRACE, handle.shutdown())
        .await
        .is_err()
    {
        // Dropping the timed-out shutdown dropped the handle, which aborts the bot task.
        tracing::warn!("WhatsApp client did not stop in time; aborted");
    }
}

/// Resolves when the live client's run loop ended; never while there is none.
async fn ended(live: &mut Option<Live>) {
    match live {
        Some(live) => (&mut live.handle).await,
        None => std::future::pending().await,
    }
}

async fn sleep_opt(pause: Option<Duration>) {
    match pause {
        Some(d) => tokio::time::sleep(d).await,
        None => std::future::pending().await,
    }
}

/// The library's WebSocket transport, counting attempts so the page can say "conectando" on the
/// first one and "reconectando" on the retries (a refused dial raises no library event).
struct CountingTransport {
    inner: TokioWebSocketTransportFactory,
    shared: Arc<Shared>,
    generation: u64,
    tries: AtomicU64,
}

#[async_trait]
impl TransportFactory for CountingTransport {
    async fn create_transport(
        &self,
    ) -> Result<(Arc<dyn Transport>, async_channel::Receiver<TransportEvent>), anyhow::Error> {
        let tries = self.tries.fetch_add(1, Ordering::SeqCst);
        let state = if tries == 0 {
            ChannelState::Connecting
        } else {
            ChannelState::Reconnecting
        };
        // A paired client reconnecting after the post-pairing restart keeps showing "conectado".
        if !self.shared.state.borrow().is_connected() || tries == 0 {
            self.shared.publish(self.generation, state);
        }
        self.shared.attempts.send_modify(|n| *n += 1);
        self.inner.create_transport().await
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use whatsapp_rust::types::events::{
        LoggedOut, PairingQrCode, PairingQrCodesExhausted, ServerAck, StreamReplaced,
    };

    use super::*;
    use crate::domain::ManualClock;
    use crate::store::StoreOptions;

    fn shared() -> (
        Arc<Shared>,
        mpsc::UnboundedReceiver<Command>,
        tempfile::TempDir,
    ) {
        let dir = tempfile::tempdir().expect("data dir");
        let store = Store::open(&dir.path().join("data"), &StoreOptions::default()).expect("store");
        let (shared, rx) = Shared::new(7, store, Arc::new(ManualClock::at(1_000)));
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
