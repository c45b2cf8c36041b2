//! The outbound webhook sender on a real data file with a stepped clock and a scripted
//! transport: the signature against a known vector, the retry schedule, a restart mid-delivery,
//! and an endpoint disabled after failing for three days.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use super::signature::{self, SIGNATURE_HEADER, sign, verify};
use super::{Pass, Sender, Transport};
use crate::db::{Db, DbOptions, NewEndpoint};
use crate::domain::outbound::{DeliveryState, EndpointDisabled, LEASE_S, OutboundEvent};
use crate::domain::{Clock, ManualClock};
use crate::net::{NetError, Request, Response};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// 07/12/2026 00:00 UTC.
const T0: i64 = 1_796_601_600;

#[test]
fn the_signature_matches_a_known_vector() {
    // printf '%s' '1796601600.{"id":"whd_1","type":"message.sent"}' \
    //   | openssl dgst -sha256 -hmac 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'
    let body = br#"{"id":"whd_1","type":"message.sent"}"#;
    assert_eq!(
        sign(SECRET, T0, body),
        "14db2dcebcdceda0671fdfa464066530c770772215c545f69074df7c4a25f0b8"
    );
    assert_eq!(
        signature::header_value(SECRET, T0, body),
        "t=1796601600,v1=14db2dcebcdceda0671fdfa464066530c770772215c545f69074df7c4a25f0b8"
    );
}

#[test]
fn verification_refuses_a_changed_body_another_secret_and_an_old_timestamp() {
    let body = br#"{"id":"whd_1"}"#;
    let header = signature::header_value(SECRET, T0, body);
    assert_eq!(verify(SECRET, &header, body, T0 + 10, 300), Ok(()));
    assert!(verify(SECRET, &header, br#"{"id":"whd_2"}"#, T0, 300).is_err());
    assert!(verify("whsec_other", &header, body, T0, 300).is_err());
    assert_eq!(
        verify(SECRET, &header, body, T0 + 301, 300),
        Err("timestamp outside the tolerance")
    );
    assert_eq!(verify(SECRET, "v1=abc", body, T0, 300), Err("no timestamp"));
}

/// Answers each POST with the next scripted status (200 once the script runs out) and keeps
/// what it was sent.
#[derive(Default)]
struct Script {
    answers: Mutex<VecDeque<Result<u16, NetError>>>,
    seen: Mutex<Vec<Request>>,
}

impl Script {
    fn answering(answers: impl IntoIterator<Item = Result<u16, NetError>>) -> Arc<Script> {
        Arc::new(Script {
            answers: Mutex::new(answers.into_iter().collect()),
            seen: Mutex::default(),
        })
    }

    fn seen(&self) -> Vec<Request> {
        self.seen.lock().unwrap().clone()
    }
}

impl Transport for Script {
    fn send(&self, request: Request) -> Result<Response, NetError> {
        self.seen.lock().unwrap().push(request.clone());
        let status = self
            .answers
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or(Ok(200))?;
        Ok(Response {
            status,
            headers: Vec::new(),
            body: format!("answer {status}").into_bytes(),
            final_url: request.url,
        })
    }
}

struct Setup {
    _dir: tempfile::TempDir,
    db: Db,
    clock: ManualClock,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(&dir.path().join("data"), &DbOptions::default()).expect("open");
    let clock = ManualClock::at(T0);
    Setup {
        _dir: dir,
        db,
        clock,
    }
}

fn endpoint(db: &Db, events: &[OutboundEvent]) -> crate::domain::outbound::Endpoint {
    db.create_endpoint(
        NewEndpoint {
            url: "http://127.0.0.1:5678/webhook/avisa".into(),
            description: "n8n".into(),
            events: events.to_vec(),
            store_id: None,
            secret: SECRET.into(),
        },
        T0,
    )
    .expect("endpoint")
}

fn sender(s: &Setup, transport: Arc<Script>) -> Sender {
    Sender::new(
        s.db.clone(),
        transport,
        Arc::new(s.clock.clone()),
        Arc::new(|_| 0.0),
    )
}

/// An opt-out is a change every installation-wide endpoint hears about.
fn opt_out(s: &Setup, phone: &str) {
    s.db.add_opt_out(phone, "console", s.clock.now())
        .expect("opt-out");
}

#[test]
fn a_delivery_is_signed_over_timestamp_and_body_and_carries_its_id() {
    let s = setup();
    endpoint(&s.db, &[OutboundEvent::BuyerOptedOut]);
    opt_out(&s, "+5511987654321");
    let script = Script::answering([]);
    let pass = sender(&s, script.clone()).run_once().expect("pass");
    assert_eq!((pass.delivered, pass.failed, pass.next_due), (1, 0, None));
    let seen = script.seen();
    let request = &seen[0];
    let header = |name: &str| {
        request
            .headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .expect(name)
    };
    assert_eq!(header("X-Avisa-Event"), "buyer.opted_out");
    assert_eq!(header("X-Avisa-Id"), "whd_1");
    assert_eq!(
        verify(SECRET, &header(SIGNATURE_HEADER), &request.body, T0, 300),
        Ok(())
    );
    let body: serde_json::Value = serde_json::from_slice(&request.body).expect("JSON");
    assert_eq!(body["id"], "whd_1");
    assert_eq!(body["type"], "buyer.opted_out");
    assert_eq!(body["occurred_at"], "2026-12-07T00:00:00Z");
    assert_eq!(body["data"]["phone"], "+5511987654321");
}

#[test]
fn a_down_receiver_gets_the_retries_on_the_schedule_then_the_delivery_fails() {
    let s = setup();
    let e = endpoint(&s.db, &[OutboundEvent::BuyerOptedOut]);
    opt_out(&s, "+5511987654321");
    let script = Script::answering((0..7).map(|_| Ok(503)));
    let sender = sender(&s, script.clone());
    let mut passes: Vec<(i64, Pass)> = Vec::new();
    for wait in [0, 29, 1, 120, 600, 3_600, 21_600, 86_400] {
        s.clock.advance(wait);
        passes.push((s.clock.now() - T0, sender.run_once().expect("pass")));
    }
    let attempts: Vec<(i64, usize)> = passes.iter().map(|(t, p)| (*t, p.failed)).collect();
    assert_eq!(
        attempts,
        [
            (0, 1),
            (29, 0),
            (30, 1),
            (150, 1),
            (750, 1),
            (4_350, 1),
            (25_950, 1),
            (112_350, 1)
        ],
        "an attempt at 0, then 30 s, 2 min, 10 min, 1 h, 6 h and 24 h later"
    );
    assert_eq!(
        passes.last().unwrap().1.next_due,
        None,
        "the schedule ran out"
    );
    let log = s.db.endpoint_deliveries(e.id, 10).expect("log");
    assert_eq!(log[0].state, DeliveryState::Failed);
    assert_eq!(log[0].attempts.len(), 7);
    assert_eq!(log[0].attempts[0].status, Some(503));
    assert_eq!(log[0].attempts[0].response, "answer 503");
    let bodies: Vec<Vec<u8>> = script.seen().into_iter().map(|r| r.body).collect();
    assert!(
        bodies.windows(2).all(|w| w[0] == w[1]),
        "every retry sends the same body"
    );

    // Reenviar: due at once, delivered.
    s.db.resend_delivery(log[0].id, s.clock.now())
        .expect("resend");
    assert_eq!(sender.run_once().expect("pass").delivered, 1);
    let log = s.db.endpoint_deliveries(e.id, 10).expect("log");
    assert_eq!(log[0].state, DeliveryState::Delivered);
    assert_eq!(log[0].attempts.last().unwrap().status, Some(200));
}

#[test]
fn a_restart_mid_delivery_resumes_when_the_lease_ends() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("data");
    let clock = ManualClock::at(T0);
    let db = Db::open(&path, &DbOptions::default()).expect("open");
    let e = endpoint(&db, &[OutboundEvent::BuyerOptedOut]);
    db.add_opt_out("+5511987654321", "console", T0)
        .expect("opt-out");
    // The process claims the delivery, then dies before the receiver answers.
    assert_eq!(db.claim_deliveries(T0, 10).expect("claim").len(), 1);
    db.close().expect("close");
    drop(db);

    let db = Db::open(&path, &DbOptions::default()).expect("reopen");
    let script = Script::answering([]);
    let sender = Sender::new(
        db.clone(),
        script.clone(),
        Arc::new(clock.clone()),
        Arc::new(|_| 0.0),
    );
    let pass = sender.run_once().expect("pass");
    assert_eq!(
        (pass.delivered, pass.next_due),
        (0, Some(T0 + LEASE_S)),
        "held while the lease runs"
    );
    clock.advance(LEASE_S);
    assert_eq!(sender.run_once().expect("pass").delivered, 1);
    assert_eq!(script.seen().len(), 1);
    let log = db.endpoint_deliveries(e.id, 10).expect("log");
    assert_eq!(log[0].state, DeliveryState::Delivered);
}

#[test]
fn an_endpoint_failing_for_three_days_is_disabled_and_gets_nothing_more() {
    let s = setup();
    let e = endpoint(&s.db, &[OutboundEvent::BuyerOptedOut]);
    let script = Script::answering((0..100).map(|_| Err(NetError::Timeout)));
    let sender = sender(&s, script.clone());
    // A new failing delivery every 12 hours, for 60 hours.
    for n in 0..6 {
        opt_out(&s, &format!("+55119876543{n:02}"));
        sender.run_once().expect("pass");
        assert_eq!(
            s.db.endpoint(e.id).expect("endpoint").disabled,
            None,
            "after {} hours",
            n * 12
        );
        s.clock.advance(12 * 3_600);
    }
    // 3 days after the first failure.
    opt_out(&s, "+5511987654399");
    sender.run_once().expect("pass");
    let after = s.db.endpoint(e.id).expect("endpoint");
    assert_eq!(after.disabled, Some(EndpointDisabled::Failing));
    assert_eq!(after.failing_since, Some(T0));
    assert_eq!(s.db.failing_endpoints().expect("failing").len(), 1);
    assert_eq!(
        s.db.next_delivery_due().expect("due"),
        None,
        "its pending retries are dropped"
    );

    let count = s.db.endpoint_deliveries(e.id, 100).expect("log").len();
    opt_out(&s, "+5511987654398");
    assert_eq!(
        s.db.endpoint_deliveries(e.id, 100).expect("log").len(),
        count,
        "a disabled endpoint gets no new deliveries"
    );
    let attempts = script.seen().len();
    s.clock.advance(86_400);
    sender.run_once().expect("pass");
    assert_eq!(script.seen().len(), attempts, "and nothing is sent to it");

    // Switched back on, it hears about new changes again.
    s.db.set_endpoint_enabled(e.id, true, s.clock.now())
        .expect("enable");
    opt_out(&s, "+5511987654397");
    assert_eq!(
        s.db.endpoint_deliveries(e.id, 100).expect("log").len(),
        count + 1
    );
}
