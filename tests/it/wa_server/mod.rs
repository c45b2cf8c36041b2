//! A test-only stand-in for WhatsApp's server on 127.0.0.1. It accepts the WebSocket upgrade
//! (actix-http's WebSocket codec does the framing), plays the server side of the Noise XX
//! handshake with wacore-noise's test certificate chain (the client accepts it only with
//! whatsapp-rust's `danger-skip-cert-chain-verify`, enabled for tests alone) and then:
//!
//! - a new device gets the encrypted `<pair-device>` request with its refs (real QR codes);
//! - a paired device (`pair` seeds one) logs in: `<success>`, the IQs the client sends after
//!   login and before a send are answered the way WhatsApp answers them (`answers`): device
//!   lists, contact lookups, pre-key bundles of devices the stand-in plays (`peer`, so it can
//!   open what the client encrypted), the media connection (pointing at `media`, a loopback
//!   stand-in of the upload endpoint) and the reachout-timelock mex query;
//! - every `<message>` is recorded, opened as its recipient's phone would, and acknowledged
//!   with an `<ack class="message">`, carrying the error code the test scripted (463: WhatsApp
//!   refusing a cold message) — the library's send call returns Ok either way.
//!
//! The client on the other end is the real, unmodified library inside avisa.

mod answers;
pub mod media;
mod peer;

use std::sync::{Arc, Mutex};

use actix_codec::Framed;
use actix_http::ws::{Codec, Frame, Message};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use whatsapp_rust::NodeBuilder;
use whatsapp_rust::buffa::Message as _;
use whatsapp_rust::bytes::Bytes;
use whatsapp_rust::futures::{SinkExt, StreamExt};
use whatsapp_rust::wacore::framing::{FrameDecoder, encode_frame};
use whatsapp_rust::wacore::handshake::NoiseHandshake;
use whatsapp_rust::wacore::libsignal::protocol::KeyPair;
use whatsapp_rust::wacore::noise::NoiseCipher;
use whatsapp_rust::wacore_binary::consts::{NOISE_PATTERN_XX, WA_CONN_HEADER};
use whatsapp_rust::wacore_binary::marshal::{marshal, unmarshal_ref};
use whatsapp_rust::wacore_binary::util::unpack;
use whatsapp_rust::wacore_binary::{Node, NodeRef};
use whatsapp_rust::waproto::whatsapp as wa;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// The refs every pair-device request carries (WhatsApp sends six; the client shows one QR each).
pub const REFS: [&str; 6] = [
    "2@avisa-ref-0",
    "2@avisa-ref-1",
    "2@avisa-ref-2",
    "2@avisa-ref-3",
    "2@avisa-ref-4",
    "2@avisa-ref-5",
];

/// The merchant's number of a device `pair` seeds (E.164 without the plus).
pub const MERCHANT: &str = "5511900001111";

/// What the stand-in answers where WhatsApp's answer depends on the account; tests change it
/// while the server runs.
#[derive(Clone, Debug, Default)]
pub struct Script {
    /// The error code every `<message>` is acknowledged with (`None`: accepted).
    pub nack: Option<String>,
    /// The reachout-timelock state the mex query answers: `(is_active, ends at unix seconds)`;
    /// `None` answers the query with a GraphQL error, as for an account WhatsApp has no
    /// state for.
    pub timelock: Option<(bool, i64)>,
}

/// One `<message>` the stand-in received.
#[derive(Clone, Debug)]
pub struct Received {
    pub id: String,
    /// The chat it was addressed to (`5511987654321@s.whatsapp.net`).
    pub to: String,
    /// The stanza's `type` (`text`, `media`).
    pub kind: String,
    /// What the recipient's phone reads from it, opened with the keys the stand-in gave out.
    pub message: Option<wa::Message>,
}

/// Everything the stand-in saw, in order; tests wait on it (`WaServer::seen`).
#[derive(Clone, Debug, Default)]
pub struct Seen {
    pub messages: Vec<Received>,
    /// How many reachout-timelock queries were answered.
    pub timelock_queries: u32,
    /// Logins of paired devices.
    pub logins: u32,
}

/// What every connection shares.
struct Shared {
    device_names: Arc<Mutex<Vec<String>>>,
    script: Arc<Mutex<Script>>,
    seen: watch::Sender<Seen>,
    /// `127.0.0.1:PORT` of the media stand-in, the host the media connection names.
    media_host: Option<String>,
}

/// A listening stand-in; every connection is served until the client goes away.
pub struct WaServer {
    /// `ws://127.0.0.1:PORT/ws/chat`, for `WhatsappConfig::url`.
    pub url: String,
    /// The `os` of the device props each unpaired client announced in its handshake (what the
    /// phone's "Aparelhos conectados" shows), in connection order.
    pub device_names: Arc<Mutex<Vec<String>>>,
    script: Arc<Mutex<Script>>,
    seen: watch::Receiver<Seen>,
    /// The media endpoint's stand-in, when started with one.
    pub media: Option<media::MediaServer>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for WaServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl WaServer {
    /// Waits until what the stand-in saw satisfies `done` (a hang guard of a minute, real
    /// time: the client's crypto runs on the machine's clock, not on a paused one).
    pub async fn seen(&self, done: impl FnMut(&Seen) -> bool) -> Seen {
        let mut seen = self.seen.clone();
        tokio::time::timeout(std::time::Duration::from_secs(60), seen.wait_for(done))
            .await
            .expect("the stand-in saw it in time")
            .expect("the stand-in runs")
            .clone()
    }

    /// Changes the script for what comes next.
    pub fn script(&self, change: impl FnOnce(&mut Script)) {
        change(&mut self.script.lock().expect("lock"));
    }
}

pub async fn start() -> WaServer {
    start_with(Script::default(), None).await
}

/// A stand-in answering by `script`; with `media`, the media connection names that endpoint.
pub async fn start_with(script: Script, media: Option<media::MediaServer>) -> WaServer {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let url = format!(
        "ws://{}/ws/chat",
        listener.local_addr().expect("local address")
    );
    let device_names = Arc::new(Mutex::new(Vec::new()));
    let script = Arc::new(Mutex::new(script));
    let (seen_tx, seen) = watch::channel(Seen::default());
    let shared = Arc::new(Shared {
        device_names: device_names.clone(),
        script: script.clone(),
        seen: seen_tx,
        media_host: media.as_ref().map(|m| m.host.clone()),
    });
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let shared = shared.clone();
            tokio::spawn(async move {
                if let Err(e) = serve(stream, shared).await {
                    eprintln!("wa_server: connection ended: {e}");
                }
            });
        }
    });
    WaServer {
        url,
        device_names,
        script,
        seen,
        media,
        task,
    }
}

/// Seeds `instance`'s device state in `db` as a paired device of `MERCHANT` (device 7), so the
/// channel logs in at start instead of showing a QR code.
pub async fn pair(db: &avisa::db::Db, instance: avisa::domain::InstanceId) {
    let backend = avisa::channels::whatsapp::backend::backend(
        Arc::new(db.clone()),
        instance,
        Arc::new(avisa::domain::ManualClock::at(0)),
    );
    let mut device = whatsapp_rust::wacore::store::Device::new();
    device.pn = Some(format!("{MERCHANT}:7@s.whatsapp.net").parse().expect("jid"));
    device.push_name = "Loja da Ana".into();
    // The pairing's signed identity: its bytes travel with each first message to a device.
    device.account = Some(Arc::new(wa::ADVSignedDeviceIdentity {
        details: Some(vec![1, 2, 3]),
        account_signature_key: Some(vec![0; 32]),
        account_signature: Some(vec![0; 64]),
        device_signature: Some(vec![0; 64]),
    }));
    backend.save(&device).await.expect("a paired device");
}

/// Reads the HTTP upgrade request and accepts it.
async fn upgrade(stream: &mut TcpStream) -> Result<()> {
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Err("closed before the upgrade".into());
        }
        request.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&request);
    let key = text
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("sec-websocket-key")
                .then(|| value.trim().to_owned())
        })
        .ok_or("no Sec-WebSocket-Key")?;
    let accept = actix_http::ws::hash_key(key.as_bytes());
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n\r\n",
        std::str::from_utf8(&accept)?
    );
    stream.write_all(response.as_bytes()).await?;
    Ok(())
}

/// The WebSocket side: whole Noise frames in, whole frames out.
struct Wire {
    ws: Framed<TcpStream, Codec>,
    decoder: FrameDecoder,
    header_seen: bool,
}

impl Wire {
    async fn next_frame(&mut self) -> Result<Vec<u8>> {
        loop {
            if let Some(frame) = self.decoder.decode_frame() {
                return Ok(frame.to_vec());
            }
            match self.ws.next().await.ok_or("client went away")?? {
                Frame::Binary(data) => {
                    let mut data = &data[..];
                    if !self.header_seen {
                        // The client opens with the connection header, then its first frame.
                        data = data.strip_prefix(&WA_CONN_HEADER).ok_or("no WA header")?;
                        self.header_seen = true;
                    }
                    self.decoder.feed(data);
                }
                Frame::Ping(p) => self.ws.send(Message::Pong(p)).await?,
                Frame::Close(_) => return Err("client closed".into()),
                _ => {}
            }
        }
    }

    async fn send_frame(&mut self, payload: &[u8]) -> Result<()> {
        let framed = encode_frame(payload, None)?;
        self.ws.send(Message::Binary(Bytes::from(framed))).await?;
        Ok(())
    }
}

async fn serve(mut stream: TcpStream, shared: Arc<Shared>) -> Result<()> {
    upgrade(&mut stream).await?;
    let mut wire = Wire {
        ws: Framed::new(stream, Codec::new().max_size(4 << 20)),
        decoder: FrameDecoder::new(),
        header_seen: false,
    };
    let (from_client, to_client, payload) = handshake(&mut wire).await?;
    let payload = wa::ClientPayload::decode_from_slice(&payload)?;
    let mut out = Out {
        cipher: to_client,
        counter: 0,
    };
    match payload.device_pairing_data.into_option() {
        Some(pairing) => {
            if let Some(props) = pairing.device_props {
                let os = wa::DeviceProps::decode_from_slice(&props)?
                    .os
                    .unwrap_or_default();
                shared.device_names.lock().expect("lock").push(os);
            }
            out.send(&mut wire, &pair_device()).await?;
        }
        None => {
            // A paired device logging in.
            shared.seen.send_modify(|s| s.logins += 1);
            let success = NodeBuilder::new("success")
                .attr("t", "1763478000")
                .attr("props", "1")
                .build();
            out.send(&mut wire, &success).await?;
        }
    }

    let mut peers = peer::Peers::default();
    let mut received: u32 = 0;
    loop {
        let mut frame = wire.next_frame().await?;
        from_client.decrypt_in_place_with_counter(received, &mut frame)?;
        received += 1;
        let plain = unpack(&frame)?;
        let node = unmarshal_ref(&plain)?;
        for answer in answers::answer(&node, &shared, &mut peers).await {
            out.send(&mut wire, &answer).await?;
        }
    }
}

fn pair_device() -> Node {
    NodeBuilder::new("iq")
        .attrs([
            ("from", "s.whatsapp.net".to_string()),
            ("type", "set".to_string()),
            ("id", "pair-1".to_string()),
            ("xmlns", "md".to_string()),
        ])
        .children([NodeBuilder::new("pair-device")
            .children(
                REFS.iter()
                    .map(|r| NodeBuilder::new("ref").bytes(r.as_bytes().to_vec()).build()),
            )
            .build()])
        .build()
}

/// The server's sending half: the cipher and its counter.
struct Out {
    cipher: NoiseCipher,
    counter: u32,
}

impl Out {
    async fn send(&mut self, wire: &mut Wire, node: &Node) -> Result<()> {
        let plain = marshal(node)?;
        let encrypted = self.cipher.encrypt_with_counter(self.counter, &plain)?;
        self.counter += 1;
        wire.send_frame(&encrypted).await
    }
}

/// An attribute as text (empty when absent).
fn attr(node: &NodeRef<'_>, name: &str) -> String {
    node.get_attr(name)
        .map(|v| v.as_str().into_owned())
        .unwrap_or_default()
}

/// Noise XX, server side: ← e; → e, ee, s, es (with the test cert chain); ← s, se.
/// Returns the (client→server, server→client) ciphers and the client's payload.
async fn handshake(wire: &mut Wire) -> Result<(NoiseCipher, NoiseCipher, Vec<u8>)> {
    let identity = KeyPair::generate(&mut rand::rng());
    let static_pub: [u8; 32] = identity.public_key.public_key_bytes().try_into()?;
    let cert_chain = wacore_noise::test_util::build_cert_chain_bytes(&static_pub);

    let hello = wa::HandshakeMessage::decode_from_slice(&wire.next_frame().await?)?;
    let client_ephemeral: [u8; 32] = hello
        .client_hello
        .into_option()
        .and_then(|h| h.ephemeral)
        .ok_or("no client ephemeral")?
        .try_into()
        .map_err(|_| "ephemeral is not 32 bytes")?;

    let mut noise = NoiseHandshake::new(NOISE_PATTERN_XX, &WA_CONN_HEADER)?;
    noise.authenticate(&client_ephemeral);
    let ephemeral = KeyPair::generate(&mut rand::rng());
    let ephemeral_pub: [u8; 32] = ephemeral.public_key.public_key_bytes().try_into()?;
    noise.authenticate(&ephemeral_pub);
    noise.mix_shared_secret(ephemeral.private_key.serialize(), &client_ephemeral)?;
    let encrypted_static = noise.encrypt(&static_pub)?;
    noise.mix_shared_secret(identity.private_key.serialize(), &client_ephemeral)?;
    let encrypted_chain = noise.encrypt(&cert_chain)?;
    let server_hello = wa::HandshakeMessage {
        server_hello: whatsapp_rust::buffa::MessageField::some(
            wa::handshake_message::ServerHello {
                ephemeral: Some(ephemeral_pub.to_vec()),
                r#static: Some(encrypted_static),
                payload: Some(encrypted_chain),
                ..Default::default()
            },
        ),
        ..Default::default()
    };
    wire.send_frame(&server_hello.encode_to_vec()).await?;

    let finish = wa::HandshakeMessage::decode_from_slice(&wire.next_frame().await?)?
        .client_finish
        .into_option()
        .ok_or("no client finish")?;
    let client_static: [u8; 32] = noise
        .decrypt(&finish.r#static.ok_or("no client static")?)?
        .try_into()
        .map_err(|_| "client static is not 32 bytes")?;
    noise.mix_shared_secret(ephemeral.private_key.serialize(), &client_static)?;
    let client_payload = noise.decrypt(&finish.payload.ok_or("no client payload")?)?;
    // The split is the initiator's view: its write key is what the server reads with.
    let (client_write, client_read) = noise.finish()?;
    Ok((client_write, client_read, client_payload))
}
