//! What anonymous malformed requests leave in the log of a real `avisa serve`: requests that do
//! not parse, heads too large, bodies cut short. actix-http logs each of these at ERROR; avisa's
//! log shows them as one WARN line a minute with the count folded into it, never at ERROR.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

/// One malformed request per kind, each on its own connection.
fn malformed(token: &str) -> Vec<Vec<u8>> {
    let webhook = format!("/webhook/{token}/loja");
    let mut huge_head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Filler: ".to_vec();
    huge_head.extend(std::iter::repeat_n(b'a', 64 * 1024));
    vec![
        b"THIS IS NOT HTTP\r\n\r\n".to_vec(),
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header Line\r\n\r\n".to_vec(),
        b"GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n".to_vec(),
        huge_head,
        // A body cut short: 100 bytes announced, 10 sent, then the client stops writing.
        format!("POST {webhook} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789")
            .into_bytes(),
        // A chunked body whose chunk size is not a number.
        format!(
            "POST {webhook} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\nxx\r\n"
        )
        .into_bytes(),
        // Both lengths at once (request smuggling).
        format!(
            "POST {webhook} HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
        )
        .into_bytes(),
    ]
}

/// Sends `bytes` on a new connection, stops writing and reads whatever comes back until the
/// server closes it (the read timeout only bounds a server that would hang).
fn send_raw(addr: &str, bytes: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    // The server may close before it has read everything (a head too large): that is fine.
    let _ = stream.write_all(bytes);
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

#[test]
fn anonymous_malformed_requests_are_never_logged_at_error_and_warned_once() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("data");
    let token = "m".repeat(32);
    {
        let db = avisa::db::Db::open(&dir, &avisa::db::DbOptions::default()).expect("open");
        db.create_store(avisa::domain::NewStore {
            name: "Loja".into(),
            slug: "loja".into(),
            platform: avisa::domain::Platform::Hotmart,
            enabled: true,
            secret: None,
            webhook_token: token.clone(),
            created_at: 0,
        })
        .expect("store");
    }
    let log_path = tmp.path().join("avisa.log");
    let log = std::fs::File::create(&log_path).expect("log file");
    let mut child = Command::new(env!("CARGO_BIN_EXE_avisa"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&dir)
        .env("AVISA_LOG", "info")
        .env_remove("AVISA_LOG_FORMAT")
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log))
        .spawn()
        .expect("avisa starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("avisa prints its URL");
    let addr = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("http://"))
        .expect("URL on the first line")
        .trim_end_matches('/')
        .to_owned();

    let requests = malformed(&token);
    let rounds = 10;
    for _ in 0..rounds {
        for request in &requests {
            send_raw(&addr, request);
        }
    }
    // Still serving.
    let health = send_raw(
        &addr,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    child.kill().expect("stop");
    child.wait().expect("reaped");

    let log = std::fs::read_to_string(&log_path).expect("log");
    let errors: Vec<&str> = log.lines().filter(|l| l.contains("ERROR")).collect();
    assert!(errors.is_empty(), "ERROR lines:\n{}", errors.join("\n"));
    let warnings: Vec<&str> = log.lines().filter(|l| l.contains("WARN")).collect();
    // One a minute: two more allow for a run that crosses minute boundaries on a slow machine,
    // against the 70 malformed connections sent.
    assert!(
        (1..=3).contains(&warnings.len()),
        "{} WARN lines for {} malformed connections:\n{log}",
        warnings.len(),
        rounds * requests.len()
    );
    assert!(
        warnings[0].contains("malformed or cut HTTP connection"),
        "{}",
        warnings[0]
    );
}
