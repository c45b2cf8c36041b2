//! The real WhatsApp adapter on loopback: a closed port (a new number fails with the reason and
//! stops; a paired one backs off until Cancelar; stopping cleanly) and the stand-in server of `wa_server` (real QR codes from the library reach the
//! pairing page's event stream).

use std::sync::Arc;
use std::time::Duration;

use avisa::channels::whatsapp::{BUNDLED_VERSION, WhatsappChannel, WhatsappConfig};
use avisa::db::{Db, DbOptions};
use avisa::domain::ManualClock;
use avisa::domain::{Instance, InstanceId, InstanceMode};
use avisa::queue::channel::{ChannelState, Pairing, Unreachable};
use serde_json::Value;

use crate::support::TestApp;
use crate::wa_server;

/// A loopback port nobody listens on: bound, then released.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// A channel for instance 1 over a fresh data file, dialing a loopback port nobody listens on.
fn unreachable_channel(db: &Db) -> Arc<WhatsappChannel> {
    let config = WhatsappConfig {
        url: format!("ws://127.0.0.1:{}/ws/chat", closed_port()),
        version: Some(BUNDLED_VERSION),
        http: None,
    };
    WhatsappChannel::start(
        InstanceId(1),
        db.clone(),
        Arc::new(ManualClock::at(0)),
        config,
    )
}

fn refused(state: &ChannelState) -> bool {
    matches!(
        state,
        ChannelState::Failed {
            reason: Unreachable::Refused,
            ..
        }
    )
}

// Paused time: the library's backoff sleeps run instantly and the stop waits are virtual, so the
// tests neither sleep nor depend on the machine's speed.
#[tokio::test(start_paused = true)]
async fn connecting_a_new_number_without_reaching_whatsapp_fails_with_the_reason_and_stops() {
    let dir = tempfile::tempdir().expect("data dir");
    let db = Db::open(&dir.path().join("data"), &DbOptions::default()).expect("store");
    let channel = unreachable_channel(&db);
    let mut state = avisa::queue::channel::Channel::state(channel.as_ref());
    let mut attempts = channel.attempts();
    tokio::task::yield_now().await;
    assert_eq!(
        *state.borrow(),
        ChannelState::Disconnected,
        "an unpaired instance waits for Conectar"
    );

    for (round, start) in [("Conectar", 0), ("código", 1)] {
        if start == 0 {
            channel.connect();
        } else {
            channel.pair_with_code("+5511987654321");
        }
        // The dial counts after "conectando" is shown: from then on, the state is this round's.
        tokio::time::timeout(Duration::from_secs(600), attempts.wait_for(|n| *n > start))
            .await
            .expect("Conectar dials")
            .expect("the channel is alive");
        let waited = tokio::time::timeout(Duration::from_secs(600), state.wait_for(refused))
            .await
            .map(|r| r.expect("the channel is alive").clone());
        let failed = waited
            .unwrap_or_else(|_| panic!("{round}: no failed state; now {:?}", *state.borrow()));
        let ChannelState::Failed { detail, .. } = failed else {
            unreachable!("waited for it")
        };
        assert!(detail.contains("refused"), "{round}: {detail}");
        let dialed = *attempts.borrow();
        assert_eq!(dialed, start + 1, "{round}: one dial, no retries");
        tokio::time::sleep(Duration::from_secs(3600)).await; // virtual
        assert_eq!(
            *attempts.borrow(),
            dialed,
            "{round}: nothing dials after the failure"
        );
        assert!(
            refused(&state.borrow()),
            "{round}: the reason stays on screen"
        );
    }

    channel.shutdown();
    tokio::time::timeout(Duration::from_secs(30), channel.stopped())
        .await
        .expect("shutdown does not hang");
}

#[tokio::test(start_paused = true)]
async fn a_paired_number_reconnects_with_backoff_until_canceled() {
    let dir = tempfile::tempdir().expect("data dir");
    let db = Db::open(&dir.path().join("data"), &DbOptions::default()).expect("store");
    let backend = avisa::channels::whatsapp::backend::backend(
        Arc::new(db.clone()),
        InstanceId(1),
        Arc::new(ManualClock::at(0)),
    );
    let mut device = whatsapp_rust::wacore::store::Device::new();
    device.pn = Some("5511987654321@s.whatsapp.net".parse().expect("jid"));
    backend.save(&device).await.expect("a paired device");

    let channel = unreachable_channel(&db);
    let mut state = avisa::queue::channel::Channel::state(channel.as_ref());
    let mut attempts = channel.attempts();
    let mut seen = Vec::new();
    let mut times = Vec::new();
    while times.len() < 5 {
        tokio::time::timeout(Duration::from_secs(600), attempts.changed())
            .await
            .expect("a paired number keeps retrying")
            .expect("the channel is alive");
        times.push(tokio::time::Instant::now());
        seen.push(state.borrow().clone());
    }
    assert_eq!(seen[0], ChannelState::Connecting, "{seen:?}");
    assert!(
        seen[1..].iter().all(|s| *s == ChannelState::Reconnecting),
        "reconectando, for a number that was connected: {seen:?}"
    );
    // The library backs off (Fibonacci from 1 s, ±10% jitter): never a hot loop, and growing.
    let gaps: Vec<Duration> = times.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(
        gaps.iter().all(|g| *g >= Duration::from_millis(900)),
        "{gaps:?}"
    );
    assert!(gaps[3] > gaps[0], "the waits grow: {gaps:?}");

    channel.cancel();
    tokio::time::timeout(
        Duration::from_secs(30),
        state.wait_for(|s| *s == ChannelState::Disconnected),
    )
    .await
    .expect("Cancelar stops the attempt")
    .expect("the channel is alive");
    let before = *attempts.borrow();
    tokio::time::sleep(Duration::from_secs(3600)).await; // virtual: nothing dials after Cancelar
    assert_eq!(*attempts.borrow(), before, "a canceled channel stays quiet");

    channel.shutdown();
    tokio::time::timeout(Duration::from_secs(30), channel.stopped())
        .await
        .expect("shutdown does not hang");
    assert_eq!(*state.borrow(), ChannelState::Disconnected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_qr_codes_reach_the_pairing_page_event_stream() {
    let server = wa_server::start().await;
    let app = TestApp::start_with(WhatsappConfig {
        url: server.url.clone(),
        version: Some(BUNDLED_VERSION),
        http: None,
    })
    .await;
    let admin = app.setup_admin().await;
    let instance = app
        .db
        .create_instance(Instance::new("Loja", InstanceMode::Whatsapp, 0))
        .expect("instance");
    app.channels.ensure(&instance);
    let pairing = app
        .channels
        .pairing(instance.id)
        .expect("a WhatsApp instance has a pairing control");

    let mut events = admin
        .get(app.at(&format!("/instancias/{}/eventos", instance.id)))
        .send()
        .await
        .expect("stream answers");
    assert_eq!(events.status(), 200);
    pairing.connect();

    // Events until the first QR; the timeout only guards against a hang.
    let mut states = Vec::new();
    let mut buffer = String::new();
    let qr = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            let chunk = events
                .chunk()
                .await
                .expect("body")
                .expect("the stream stays open");
            buffer.push_str(std::str::from_utf8(&chunk).expect("UTF-8"));
            while let Some(end) = buffer.find("\n\n") {
                let event: String = buffer.drain(..end + 2).collect();
                let Some(data) = event.trim().strip_prefix("data: ") else {
                    continue; // keep-alive comment
                };
                let state: Value = serde_json::from_str(data).expect("JSON state");
                states.push(state["state"].as_str().unwrap_or_default().to_owned());
                if state["state"] == "waiting_for_qr" {
                    return state;
                }
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no QR event; states seen: {states:?}"));

    let payload = qr["qr"].as_str().expect("admins see the QR payload");
    let parts: Vec<&str> = payload.split(',').collect();
    assert_eq!(
        parts[0],
        wa_server::REFS[0],
        "the library's payload starts with the server's first ref: {payload}"
    );
    assert!(
        parts.len() >= 4 && parts[1..].iter().all(|p| !p.is_empty()),
        "ref, noise key, identity key and secret: {payload}"
    );
    assert!(qr["expires_at"].as_i64().expect("expiry") > 0);

    pairing.shutdown();
}
