//! A test-only stand-in for WhatsApp's server on 127.0.0.1, just enough for pairing: it accepts
//! the WebSocket upgrade (actix-http's WebSocket codec does the framing), plays the server side
//! of the Noise XX handshake with wacore-noise's test certificate chain (the client accepts it
//! only with whatsapp-rust's `danger-skip-cert-chain-verify`, enabled for tests alone), sends the
//! encrypted `<pair-device>` request with its refs and answers keep-alive pings. The client on
//! the other end is the real, unmodified library inside avisa.

use actix_codec::Framed;
use actix_http::ws::{Codec, Frame, Message};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
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

/// A listening stand-in; every connection is served until the client goes away.
pub struct WaServer {
    /// `ws://127.0.0.1:PORT/ws/chat`, for `WhatsappConfig::url`.
    pub url: String,
    /// The `os` of the device props each unpaired client announced in its handshake (what the
    /// phone's "Aparelhos conectados" shows), in connection order.
    pub device_names: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for WaServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub async fn start() -> WaServer {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let url = format!(
        "ws://{}/ws/chat",
        listener.local_addr().expect("local address")
    );
    let device_names = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let names = device_names.clone();
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let names = names.clone();
            tokio::spawn(async move {
                if let Err(e) = serve(stream, names).await {
                    eprintln!("wa_server: connection ended: {e}");
                }
            });
        }
    });
    WaServer {
        url,
        device_names,
        task,
    }
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

async fn serve(
    mut stream: TcpStream,
    device_names: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
) -> Result<()> {
    upgrade(&mut stream).await?;
    let mut wire = Wire {
        ws: Framed::new(stream, Codec::new().max_size(4 << 20)),
        decoder: FrameDecoder::new(),
        header_seen: false,
    };
    let (from_client, to_client, payload) = handshake(&mut wire).await?;
    let props = wa::ClientPayload::decode_from_slice(&payload)?
        .device_pairing_data
        .into_option()
        .and_then(|d| d.device_props);
    if let Some(props) = props {
        let os = wa::DeviceProps::decode_from_slice(&props)?
            .os
            .unwrap_or_default();
        device_names.lock().expect("lock").push(os);
    }
    let mut sent: u32 = 0;
    let mut received: u32 = 0;

    let pair_device = NodeBuilder::new("iq")
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
        .build();
    send_node(&mut wire, &to_client, &mut sent, &pair_device).await?;

    loop {
        let mut frame = wire.next_frame().await?;
        from_client.decrypt_in_place_with_counter(received, &mut frame)?;
        received += 1;
        let plain = unpack(&frame)?;
        let node = unmarshal_ref(&plain)?;
        let is_ping = node.tag.as_ref() == "iq"
            && node.get_attr("type").is_some_and(|t| t == "get")
            && node
                .children()
                .is_some_and(|c| c.iter().any(|n| n.tag.as_ref() == "ping"));
        if is_ping {
            let id = node
                .get_attr("id")
                .map(|v| v.as_str().to_string())
                .unwrap_or_default();
            let pong = NodeBuilder::new("iq")
                .attrs([
                    ("from", "s.whatsapp.net".to_string()),
                    ("type", "result".to_string()),
                    ("id", id),
                ])
                .build();
            send_node(&mut wire, &to_client, &mut sent, &pong).await?;
        }
    }
}

async fn send_node(
    wire: &mut Wire,
    cipher: &NoiseCipher,
    counter: &mut u32,
    node: &whatsapp_rust::wacore_binary::Node,
) -> Result<()> {
    let plain = marshal(node)?;
    let encrypted = cipher.encrypt_with_counter(*counter, &plain)?;
    *counter += 1;
    wire.send_frame(&encrypted).await
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
