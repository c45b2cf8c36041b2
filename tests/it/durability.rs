//! Persist, then acknowledge: every delivery answered 2xx is in the data file even when the
//! process is killed right after (SIGKILL, no shutdown), and concurrent deliveries share commits.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use avisa::domain::Platform;
use avisa::store::{NewStore, Store, StoreOptions};

const FIXTURE: &str = "tests/fixtures/hotmart/purchase-approved-test.json";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_event_survives_a_kill() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("data");
    let token = "d".repeat(32);
    {
        let store = Store::open(&dir, &StoreOptions::default()).expect("open");
        store
            .create_store(NewStore {
                name: "Loja".into(),
                slug: "loja".into(),
                platform: Platform::Hotmart,
                enabled: true,
                secret: None,
                webhook_token: token.clone(),
                created_at: 0,
            })
            .expect("store");
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_avisa"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&dir)
        .env("AVISA_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("avisa starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("avisa prints its URL");
    let base = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .expect("URL on the first line")
        .to_owned();

    let body = std::fs::read_to_string(FIXTURE).expect("fixture");
    let client = reqwest::Client::new();
    let mut sends = Vec::new();
    for n in 0..200 {
        let client = client.clone();
        let url = format!("{base}/webhook/{token}/loja");
        let body = body.replacen("\"id\": \"", &format!("\"id\": \"kill-{n}-"), 1);
        sends.push(tokio::spawn(async move {
            let response = client.post(url).body(body).send().await.expect("post");
            assert_eq!(response.status(), 202);
            let json: serde_json::Value = response.json().await.expect("json");
            json["event_ids"][0].as_u64().expect("an event id")
        }));
    }
    let mut acknowledged = Vec::new();
    for send in sends {
        acknowledged.push(send.await.expect("send task"));
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");

    let store = Store::open(&dir, &StoreOptions::default()).expect("reopen after the kill");
    for id in &acknowledged {
        let (record, raw) = store
            .event(*id)
            .expect("an acknowledged event is in the file");
        assert!(raw.body.starts_with(b"{"), "its raw body too");
        assert_eq!(record.platform, "hotmart");
    }
    acknowledged.sort_unstable();
    acknowledged.dedup();
    assert_eq!(acknowledged.len(), 200, "every delivery got its own event");
}
