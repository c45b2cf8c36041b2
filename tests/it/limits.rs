//! Slow and greedy clients cannot take webhook intake down: a body must arrive within its
//! deadline, one peer holds only so many connections, and bodies are refused (503) from their
//! first byte once the intake's byte budget is taken, before they are buffered.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use avisa::domain::{NewStore, Platform};
use avisa::http::Limits;

use crate::support::{TestApp, offline_whatsapp};

const TOKEN: &str = "ssssssssssssssssssssssssssssssss";

async fn app_with(limits: Limits) -> TestApp {
    let data_dir = tempfile::tempdir().expect("tempdir");
    let app = TestApp::start_limited(data_dir, offline_whatsapp(), limits).await;
    app.db
        .create_store(NewStore {
            name: "Loja".into(),
            slug: "loja".into(),
            platform: Platform::Hotmart,
            enabled: true,
            secret: None,
            webhook_token: TOKEN.into(),
            created_at: 0,
        })
        .expect("store");
    app
}

/// A connection that sent a webhook's head announcing `length` bytes and then `sent` of them.
fn trickle(app: &TestApp, length: usize, sent: usize) -> TcpStream {
    let addr = app.url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).expect("connect");
    // A safety net only: the server answers long before (or the test fails, never hangs).
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    write!(
        stream,
        "POST /webhook/{TOKEN}/loja HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    )
    .expect("head");
    stream.write_all(&vec![b' '; sent]).expect("first bytes");
    stream
}

/// The status line's code and the whole answer, read until the server closes the connection.
fn answer(mut stream: TcpStream) -> (u16, String) {
    let mut text = String::new();
    stream
        .read_to_string(&mut text)
        .expect("the server answers and closes");
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_stops_arriving_is_answered_408_and_its_connection_closed() {
    let app = app_with(Limits {
        body_deadline: Duration::from_secs(1),
        ..Limits::default()
    })
    .await;
    let stream = trickle(&app, 100_000, 10);
    let (status, text) = tokio::task::spawn_blocking(move || answer(stream))
        .await
        .expect("join");
    assert_eq!(status, 408, "{text}");
    assert!(text.contains("\"body_timeout\""), "{text}");
    // Intake still answers.
    let response = app
        .client()
        .post(app.at(&format!("/webhook/{TOKEN}/loja")))
        .body(std::fs::read("tests/fixtures/hotmart/purchase-approved-test.json").expect("fixture"))
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), 202);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_peer_over_its_connection_limit_is_refused_503_and_closed() {
    let app = app_with(Limits {
        connections_per_peer: 3,
        exempt_loopback: false,
        body_deadline: Duration::from_secs(2),
        ..Limits::default()
    })
    .await;
    // Four slow connections from one peer: the one (or two, with the test client's own) past
    // the limit are refused at once; the others are held until the body deadline.
    let held: Vec<TcpStream> = (0..4).map(|_| trickle(&app, 100_000, 1)).collect();
    let answers =
        tokio::task::spawn_blocking(move || held.into_iter().map(answer).collect::<Vec<_>>())
            .await
            .expect("join");
    let refused: Vec<&String> = answers
        .iter()
        .filter(|(status, _)| *status == 503)
        .map(|(_, text)| text)
        .collect();
    assert!(!refused.is_empty(), "{answers:?}");
    for text in &refused {
        assert!(
            text.to_ascii_lowercase().contains("retry-after: 5"),
            "{text}"
        );
        assert!(text.contains("\"busy\""), "{text}");
    }
    let timed_out = answers.iter().filter(|(status, _)| *status == 408).count();
    assert_eq!(refused.len() + timed_out, 4, "{answers:?}");
    assert!(
        timed_out >= 2,
        "the peer keeps connections up to its limit: {answers:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_beyond_the_intake_budget_are_refused_before_they_are_read() {
    let app = app_with(Limits {
        body_deadline: Duration::from_secs(5),
        ..Limits::default()
    })
    .await;
    // 40 connections announce 1 MiB each and send one byte: the 32 MiB budget holds 31 of them;
    // the others are refused at once, without the server reading (or buffering) their bodies.
    let held: Vec<TcpStream> = (0..40).map(|_| trickle(&app, 1024 * 1024, 1)).collect();
    let answers =
        tokio::task::spawn_blocking(move || held.into_iter().map(answer).collect::<Vec<_>>())
            .await
            .expect("join");
    let refused = answers
        .iter()
        .filter(|(status, text)| *status == 503 && text.contains("\"busy\""))
        .count();
    let timed_out = answers.iter().filter(|(status, _)| *status == 408).count();
    assert_eq!(refused + timed_out, 40, "{answers:?}");
    assert!(
        refused >= 9,
        "{refused} refused, {timed_out} held to the deadline"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_connections_each_worker_serves_a_new_connection_waits_for_a_free_one() {
    let app = app_with(Limits {
        connections_per_worker: 1,
        body_deadline: Duration::from_secs(60),
        ..Limits::default()
    })
    .await;
    // Two slow webhooks take both workers' only connection.
    let held: Vec<TcpStream> = (0..2).map(|_| trickle(&app, 100_000, 1)).collect();
    let addr = app.url.trim_start_matches("http://").to_owned();
    let probe = tokio::task::spawn_blocking(move || {
        let mut probe = TcpStream::connect(&addr).expect("the kernel queues the connection");
        write!(probe, "GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")
            .expect("request");
        // Not served while both are held (a busy machine could only make this pass wrongly,
        // never fail wrongly).
        probe
            .set_read_timeout(Some(Duration::from_millis(500)))
            .expect("timeout");
        let mut byte = [0u8; 1];
        let early = probe.read(&mut byte);
        assert!(
            matches!(&early, Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut)),
            "answered while every connection slot was taken: {early:?}"
        );
        // One held connection ends: the waiting one is served.
        drop(held);
        probe
            .set_read_timeout(Some(Duration::from_secs(60)))
            .expect("timeout");
        answer(probe)
    })
    .await
    .expect("join");
    assert_eq!(probe.0, 200, "{}", probe.1);
}
