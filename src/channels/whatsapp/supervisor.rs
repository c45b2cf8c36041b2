//! The supervisor loop of one WhatsApp instance (started by `client::WhatsappChannel`): builds,
//! rebuilds and stops the whatsapp-rust client, and is the only code that does. Commands from the
//! console and terminal events from the client arrive on one queue.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::mpsc;
use whatsapp_rust::bot::{Bot, BotHandle, EventDelivery};
use whatsapp_rust::http::{HttpClient, HttpRequest, HttpResponse};
use whatsapp_rust::pair_code::PairCodeOptions;
use whatsapp_rust::store::traits::Backend;
use whatsapp_rust::transport::{
    TokioWebSocketTransportFactory, Transport, TransportEvent, TransportFactory,
};
use whatsapp_rust::types::events::Event;
use whatsapp_rust::wacore::store::DevicePropsOverride;
use whatsapp_rust::{Client, anyhow, async_channel, async_trait};

use super::client::{Command, Shared, WhatsappConfig, backend, wipe_device_state};
use super::events::{self, Account, Effect};
use super::timelock::{self, AbortOnDrop};
use crate::queue::channel::{ChannelState, Unreachable};

/// The name the phone's "Aparelhos conectados" shows for avisa's linked device (the library's
/// device props `os`), instead of the library's generic one.
pub const DEVICE_NAME: &str = "avisa";

/// How long a stopping client may take to flush its state before it is aborted.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// How long one dial may take before it counts as "nothing answered" (the library gives up at
/// 20 s without telling why; this is shorter so the reason is ours to say).
const DIAL_TIMEOUT: Duration = Duration::from_secs(15);

/// The running client and its daily timelock look (aborted when this goes).
struct Live {
    handle: BotHandle,
    _daily: AbortOnDrop,
}

pub(super) struct Supervisor {
    shared: Arc<Shared>,
    config: WhatsappConfig,
    backend: Arc<dyn Backend>,
    live: Option<Live>,
    /// Banned: no client before this time.
    paused_until: Option<i64>,
}

impl Supervisor {
    pub(super) fn new(shared: Arc<Shared>, config: WhatsappConfig) -> Supervisor {
        let backend = backend(&shared.db, shared.instance_id, &shared.clock);
        Supervisor {
            shared,
            config,
            backend,
            live: None,
            paused_until: None,
        }
    }

    pub(super) async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Command>) {
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
                    self.shared.pairing_by_code.store(false, Ordering::SeqCst);
                    self.start_client(None).await;
                }
            }
            Command::PairWithCode(phone) => {
                if self.paused_until.is_some() {
                    return;
                }
                let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
                self.shared.pairing_by_code.store(true, Ordering::SeqCst);
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
            Command::Cancel => {
                // Stop trying (a dial that does not get through, a QR nobody will scan).
                self.stop_client().await;
                self.shared.terminal.store(true, Ordering::SeqCst);
                self.shared.state.send_replace(ChannelState::Disconnected);
            }
            Command::Unreachable(generation) => {
                // The failed state is already published; stop the client's retries.
                if self.shared.current(generation) {
                    self.stop_client().await;
                }
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
        wipe_device_state(&self.shared.db, self.shared.instance_id);
        self.backend = backend(&self.shared.db, self.shared.instance_id, &self.shared.clock);
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
            backend: self.backend.clone(),
            generation,
            tries: AtomicU64::new(0),
        };
        let handler_shared = shared.clone();
        let mut builder = Bot::builder()
            .with_backend_arc(self.backend.clone())
            .with_transport_factory(transport)
            .with_event_delivery(EventDelivery::Ordered { capacity: 1024 })
            .skip_history_sync()
            // The phone's "Aparelhos conectados" lists this device as "avisa".
            .with_device_props(DevicePropsOverride::new().with_os(DEVICE_NAME))
            .on_event(move |event: Arc<Event>, client: Arc<Client>| {
                let account = Account {
                    number: client.pn().map(|j| events::e164(&j)).unwrap_or_default(),
                    name: client.push_name(),
                };
                handler_shared.on_event(generation, &event, &account);
                if let Some(check) = events::timelock_check(&event) {
                    tokio::spawn(timelock::check(handler_shared.clone(), client, check));
                }
                async {}
            });
        if let Some(version) = self.config.version {
            builder = builder.with_version(version);
        }
        if let Some(http) = &self.config.http {
            builder = builder.with_http_client(SharedHttp(http.clone()));
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
                let daily = tokio::spawn(timelock::daily(shared.clone(), handle.client()));
                self.live = Some(Live {
                    handle,
                    _daily: AbortOnDrop(daily),
                });
            }
            Err(e) => {
                tracing::error!(instance = shared.instance_id.0, error = %e, "WhatsApp client not built");
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

/// The configured HTTP client, shared by every client the supervisor builds.
struct SharedHttp(Arc<dyn HttpClient>);

#[async_trait]
impl HttpClient for SharedHttp {
    async fn execute(&self, request: HttpRequest) -> Result<HttpResponse, anyhow::Error> {
        self.0.execute(request).await
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
/// first one and "reconectando" on the retries (a refused dial raises no library event). A dial
/// that fails for a number never connected (no paired device) ends the attempt with the failed
/// state and its reason instead of retrying forever; a paired number keeps reconnecting.
struct CountingTransport {
    inner: TokioWebSocketTransportFactory,
    shared: Arc<Shared>,
    backend: Arc<dyn Backend>,
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
        let dialed = match tokio::time::timeout(DIAL_TIMEOUT, self.inner.create_transport()).await {
            Ok(dialed) => dialed,
            Err(_) => Err(anyhow::anyhow!("timed out after {DIAL_TIMEOUT:?}")),
        };
        if let Err(e) = &dialed {
            let detail = format!("{e:#}");
            let paired = matches!(self.backend.load().await, Ok(Some(d)) if d.is_registered());
            tracing::warn!(instance = self.shared.instance_id.0, paired, error = %detail, "WhatsApp not reached");
            if !paired {
                self.shared
                    .fail(self.generation, unreachable(&detail), detail);
            }
        }
        dialed
    }
}

/// What a dial error means for the merchant, from the error text the library passes on (it
/// formats the I/O error into a string, so there is no error kind left to match).
pub(super) fn unreachable(error: &str) -> Unreachable {
    let e = error.to_lowercase();
    let has = |needles: &[&str]| needles.iter().any(|n| e.contains(n));
    if has(&[
        "lookup address",
        "name or service",
        "name resolution",
        "nodename",
        "dns",
    ]) {
        Unreachable::Dns
    } else if has(&[
        "network is unreachable",
        "no route to host",
        "os error 101",
        "os error 113",
    ]) {
        Unreachable::NoInternet
    } else if has(&["connection refused", "os error 111", "connection reset"]) {
        Unreachable::Refused
    } else if has(&["timed out", "os error 110"]) {
        Unreachable::Timeout
    } else if has(&["tls", "certificate", "handshake"]) {
        Unreachable::Tls
    } else {
        Unreachable::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dial_errors_are_told_apart() {
        for (error, reason) in [
            (
                "WebSocket connect failed: IO error: failed to lookup address information: \
                 Temporary failure in name resolution",
                Unreachable::Dns,
            ),
            (
                "WebSocket connect failed: IO error: Network is unreachable (os error 101)",
                Unreachable::NoInternet,
            ),
            (
                "WebSocket connect failed: IO error: Connection refused (os error 111)",
                Unreachable::Refused,
            ),
            ("timed out after 15s", Unreachable::Timeout),
            (
                "WebSocket connect failed: TLS error: invalid peer certificate",
                Unreachable::Tls,
            ),
            (
                "WebSocket connect failed: HTTP error: 403 Forbidden",
                Unreachable::Other,
            ),
        ] {
            assert_eq!(unreachable(error), reason, "{error}");
        }
    }
}
