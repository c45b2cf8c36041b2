//! Outbound webhooks end to end, against a receiver on loopback: a webhook posted to a store
//! reaches the receiver as a signed `event.received` and, once the outbox sends its message,
//! `message.sent`; a receiver that is down gets the retries on the schedule (a stepped clock);
//! the API registers, lists and removes endpoints and refuses what it cannot use.

use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use avisa::domain::outbound::{DeliveryState, next_retry_at, spread};
use avisa::domain::{DeliveryId, EndpointId, ManualClock, Platform};
use avisa::queue::outbound::signature::verify;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::events::{create_store, post_webhook};
use crate::support::TestApp;

/// One POST the receiver got.
#[derive(Debug)]
pub struct Received {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Received {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("header {name} in {:?}", self.headers))
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

/// A loopback receiver (n8n's Webhook node stands here): answers `status` and hands each POST
/// to the test.
pub struct Receiver {
    pub url: String,
    pub status: Arc<AtomicU16>,
    rx: mpsc::UnboundedReceiver<Received>,
}

struct Shared {
    tx: mpsc::UnboundedSender<Received>,
    status: Arc<AtomicU16>,
}

async fn receive(req: HttpRequest, body: web::Bytes, shared: web::Data<Shared>) -> HttpResponse {
    let headers = req
        .headers()
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or_default().to_owned()))
        .collect();
    // The answer is chosen before the test hears of the POST: a test that changes it after
    // receiving this one changes the next answer, never this one.
    let status = shared.status.load(Ordering::SeqCst);
    let _ = shared.tx.send(Received {
        headers,
        body: body.to_vec(),
    });
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).expect("status"))
        .body(format!("receiver answered {status}"))
}

impl Receiver {
    pub fn start() -> Receiver {
        let (tx, rx) = mpsc::unbounded_channel();
        let status = Arc::new(AtomicU16::new(200));
        let shared = web::Data::new(Shared {
            tx,
            status: status.clone(),
        });
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let url = format!(
            "http://{}/webhook/avisa",
            listener.local_addr().expect("addr")
        );
        let server = HttpServer::new(move || {
            App::new()
                .app_data(shared.clone())
                .default_service(web::to(receive))
        })
        .workers(1)
        .listen(listener)
        .expect("listen")
        .run();
        tokio::spawn(server);
        Receiver { url, status, rx }
    }

    /// The next POST. The timeout is a safety net for a broken build, not a wait the test needs:
    /// each delivery is sent as soon as its change commits.
    pub async fn next(&mut self) -> Received {
        tokio::time::timeout(Duration::from_secs(60), self.rx.recv())
            .await
            .expect("the receiver gets a POST")
            .expect("the receiver runs")
    }

    /// The next POST of this event type, skipping others.
    pub async fn next_of(&mut self, event: &str) -> Received {
        loop {
            let received = self.next().await;
            if received.header("X-Avisa-Event") == event {
                return received;
            }
        }
    }
}

/// Registers an endpoint through the API; returns its id and secret.
async fn register(app: &TestApp, token: &str, body: Value) -> (u64, String) {
    let response = app
        .client()
        .post(app.at("/api/v1/webhooks"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("API answers");
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.expect("JSON");
    (
        created["id"].as_u64().expect("id"),
        created["secret"].as_str().expect("secret").to_owned(),
    )
}

fn assert_signed(received: &Received, secret: &str, now: i64) {
    let header = received.header("X-Avisa-Signature");
    assert_eq!(
        verify(secret, header, &received.body, now, 300),
        Ok(()),
        "signed over timestamp.body: {header}"
    );
    assert!(header.starts_with(&format!("t={},", received.header("X-Avisa-Timestamp"))));
}

fn now() -> i64 {
    use avisa::domain::Clock;
    avisa::domain::SystemClock.now()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_reaches_the_receiver_as_event_received_then_message_sent() {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let token = app.api_token(&admin).await;
    let (store_id, store_token) = create_store(&app, Platform::Api, "Loja Integrada");
    // In test mode the first message "goes out" to the caixa de teste as soon as it is due.
    let csrf = app.csrf(&admin, "/mensagens").await;
    let on = admin
        .post(app.at(&format!("/lojas/{store_id}/modo-teste")))
        .form(&[("_csrf", csrf.as_str()), ("test_mode", "1")])
        .send()
        .await
        .expect("test mode");
    assert_eq!(on.status(), 303);
    let mut receiver = Receiver::start();
    let (_, secret) = register(
        &app,
        &token,
        json!({
            "url": receiver.url,
            "events": ["event.received", "message.planned", "message.sent"],
            "store_id": store_id,
            "description": "n8n",
        }),
    )
    .await;

    let body = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/api/pix.generated.json"),
    )
    .expect("fixture");
    let (status, answer) = post_webhook(&app, &store_token, body, &[]).await;
    assert_eq!(status, 202, "{answer}");
    let event_id = answer["event_ids"][0].as_u64().expect("event id");

    let received = receiver.next().await;
    assert_eq!(received.header("X-Avisa-Event"), "event.received");
    assert_signed(&received, &secret, now());
    let event = received.json();
    assert_eq!(event["type"], "event.received");
    assert_eq!(event["id"], received.header("X-Avisa-Id"));
    assert_eq!(event["data"]["event_id"], event_id);
    assert_eq!(event["data"]["store_id"], store_id);
    assert_eq!(event["data"]["kind"], "pix.generated");
    assert_eq!(event["data"]["status"], "ok");

    // Planning follows in the same transaction: the PIX reminders are planned.
    let planned = receiver.next().await;
    assert_eq!(planned.header("X-Avisa-Event"), "message.planned");
    let planned = planned.json();
    assert_eq!(planned["data"]["event_id"], event_id);
    assert_eq!(planned["data"]["status"], "scheduled");
    let message_id = planned["data"]["message_id"].as_u64().expect("message id");

    // The merchant sends it now; the outbox delivers it to the caixa de teste: message.sent.
    let csrf = app.csrf(&admin, "/mensagens").await;
    let now_please = admin
        .post(app.at(&format!("/mensagens/{message_id}/enviar-agora")))
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .expect("send now");
    assert_eq!(now_please.status(), 303);
    let sent = receiver.next_of("message.sent").await;
    assert_signed(&sent, &secret, now());
    let sent = sent.json();
    assert_eq!(sent["data"]["message_id"], message_id);
    assert_eq!(sent["data"]["event_id"], event_id);
    assert_eq!(sent["data"]["status"], "sent");
    assert_eq!(sent["data"]["test"], true);
    assert_ne!(sent["id"], event["id"], "each delivery has its own id");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_down_receiver_gets_the_retries_with_the_same_id_and_body() {
    const T0: i64 = 1_796_601_600;
    let clock = ManualClock::at(T0);
    let app = TestApp::start_on(Arc::new(clock.clone())).await;
    let admin = app.setup_admin().await;
    let token = app.api_token(&admin).await;
    let (_, store_token) = create_store(&app, Platform::Api, "Loja Fora do Ar");
    let mut receiver = Receiver::start();
    receiver.status.store(503, Ordering::SeqCst);
    let (endpoint_id, secret) = register(
        &app,
        &token,
        json!({ "url": receiver.url, "events": ["event.received"] }),
    )
    .await;

    let body = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/api/order.paid.json"),
    )
    .expect("fixture");
    let (status, _) = post_webhook(&app, &store_token, body, &[]).await;
    assert_eq!(status, 202);

    let first = receiver.next().await;
    assert_signed(&first, &secret, T0);
    let mut times = vec![first.header("X-Avisa-Timestamp").to_owned()];
    // The retries follow the schedule with the delivery's own jitter; the receiver is back for
    // the third attempt.
    let jitter = spread(DeliveryId(1));
    let second = next_retry_at(1, T0, jitter).expect("a second attempt");
    let third = next_retry_at(2, second, jitter).expect("a third attempt");
    for (at, back) in [(second, false), (third, true)] {
        if back {
            receiver.status.store(200, Ordering::SeqCst);
        }
        clock.advance(at - clock_now(&clock));
        avisa::db::ring_outbound();
        let retry = receiver.next().await;
        assert_eq!(retry.header("X-Avisa-Id"), first.header("X-Avisa-Id"));
        assert_eq!(retry.body, first.body, "the same body every time");
        assert_signed(&retry, &secret, at);
        times.push(retry.header("X-Avisa-Timestamp").to_owned());
    }
    assert_eq!(
        times,
        [T0, second, third].map(|t| t.to_string()),
        "each attempt signs its own time"
    );
    assert!((30..=36).contains(&(second - T0)), "30 s and its jitter");
    assert!(
        (120..=144).contains(&(third - second)),
        "2 min and its jitter"
    );
    // The sender is one thread: once the next delivery arrives, the third attempt is recorded.
    let next = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/api/checkout.abandoned.json"),
    )
    .expect("fixture");
    let (status, _) = post_webhook(&app, &store_token, next, &[]).await;
    assert_eq!(status, 202);
    assert_ne!(
        receiver.next().await.header("X-Avisa-Id"),
        first.header("X-Avisa-Id")
    );
    let log = app
        .db
        .endpoint_deliveries(EndpointId(endpoint_id), 10)
        .expect("log");
    let delivered = &log[1];
    assert_eq!(delivered.state, DeliveryState::Delivered);
    let codes: Vec<Option<u16>> = delivered.attempts.iter().map(|a| a.status).collect();
    assert_eq!(codes, [Some(503), Some(503), Some(200)]);
    assert_eq!(delivered.attempts[0].response, "receiver answered 503");
}

fn clock_now(clock: &ManualClock) -> i64 {
    use avisa::domain::Clock;
    clock.now()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_webhooks_api_is_for_admins_with_full_rights_only() {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let token = app.api_token(&admin).await;
    let (id, secret) = register(
        &app,
        &token,
        json!({ "url": "http://127.0.0.1:5678/webhook/avisa", "events": ["message.sent"] }),
    )
    .await;
    assert!(
        secret.starts_with("whsec_") && secret.len() == 70,
        "{secret}"
    );

    let list: Value = app
        .client()
        .get(app.at("/api/v1/webhooks"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("JSON");
    assert_eq!(list["webhooks"][0]["id"], id);
    assert_eq!(list["webhooks"][0]["events"], json!(["message.sent"]));
    assert!(
        list["webhooks"][0].get("secret").is_none(),
        "the list hides secrets"
    );

    let bad = app
        .client()
        .post(app.at("/api/v1/webhooks"))
        .bearer_auth(&token)
        .json(&json!({ "url": "ftp://x", "events": ["message.sent"] }))
        .send()
        .await
        .expect("answer");
    assert_eq!(bad.status(), 422);
    let bad = app
        .client()
        .post(app.at("/api/v1/webhooks"))
        .bearer_auth(&token)
        .json(&json!({ "url": "http://127.0.0.1:1/x", "events": ["message.exploded"] }))
        .send()
        .await
        .expect("answer");
    assert_eq!(bad.status(), 422);

    let gone = app
        .client()
        .delete(app.at(&format!("/api/v1/webhooks/{id}")))
        .bearer_auth(&token)
        .send()
        .await
        .expect("delete");
    assert_eq!(gone.status(), 204);
    let missing = app
        .client()
        .get(app.at(&format!("/api/v1/webhooks/{id}")))
        .bearer_auth(&token)
        .send()
        .await
        .expect("show");
    assert_eq!(missing.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_an_endpoint_in_the_console_needs_the_confirmation_box() {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let token = app.api_token(&admin).await;
    let (id, _) = register(
        &app,
        &token,
        json!({ "url": "http://127.0.0.1:5678/webhook/avisa", "events": ["message.sent"] }),
    )
    .await;
    let page = format!("/configuracoes/integracoes/{id}");
    let csrf = app.csrf(&admin, &page).await;
    let unticked = admin
        .post(app.at(&format!("{page}/excluir")))
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .expect("answer");
    assert_eq!(unticked.status(), 303);
    assert_eq!(
        unticked.headers()["location"],
        format!("{page}?confirmar=1").as_str()
    );
    assert_eq!(app.db.list_endpoints().expect("endpoints").len(), 1);
    let said = app.html(&admin, &format!("{page}?confirmar=1")).await;
    assert!(said.contains("Nada foi excluído"), "{said}");

    let ticked = admin
        .post(app.at(&format!("{page}/excluir")))
        .form(&[("_csrf", csrf.as_str()), ("confirm", "1")])
        .send()
        .await
        .expect("answer");
    assert_eq!(ticked.status(), 303);
    assert_eq!(ticked.headers()["location"], "/configuracoes/integracoes");
    assert!(app.db.list_endpoints().expect("endpoints").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daily_retention_deletes_finished_deliveries_older_than_the_raw_body_window() {
    const T0: i64 = 1_796_601_600;
    const DAY: i64 = 86_400;
    let app = TestApp::start_on(Arc::new(ManualClock::at(T0))).await;
    let admin = app.setup_admin().await;
    let token = app.api_token(&admin).await;
    let (_, store_token) = create_store(&app, Platform::Api, "Loja Antiga");
    let mut receiver = Receiver::start();
    let (endpoint_id, _) = register(
        &app,
        &token,
        json!({ "url": receiver.url, "events": ["event.received"] }),
    )
    .await;
    // The first delivery is answered 200; the second 503, so it stays pending (retrying).
    for (fixture, answer) in [("order.paid", 200), ("checkout.abandoned", 503)] {
        receiver.status.store(answer, Ordering::SeqCst);
        let body = std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join(format!("tests/fixtures/api/{fixture}.json")),
        )
        .expect("fixture");
        let (status, _) = post_webhook(&app, &store_token, body, &[]).await;
        assert_eq!(status, 202);
        receiver.next().await;
    }
    // The second delivery arrived: the first one's 200 is recorded (one sender thread).
    let endpoint = EndpointId(endpoint_id);
    let retention = app.db.ops_settings().expect("settings").retention_days;
    assert_eq!(retention, 180, "the default window");

    let within = avisa::jobs::run_housekeeping(&app.db, T0 + 180 * DAY, true);
    assert_eq!(within.deliveries_purged, 0, "{:?}", within.errors);
    let after = avisa::jobs::run_housekeeping(&app.db, T0 + 180 * DAY + 1, true);
    assert_eq!(after.deliveries_purged, 1, "{:?}", after.errors);
    let left = app.db.endpoint_deliveries(endpoint, 10).expect("log");
    assert_eq!(left.len(), 1);
    assert_eq!(
        left[0].id,
        DeliveryId(2),
        "a pending delivery stays, however old"
    );
}
