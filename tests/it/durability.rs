//! Persist, then acknowledge: every delivery answered 2xx is in the data file even when the
//! process is killed right after (SIGKILL, no shutdown), and concurrent deliveries share commits.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use avisa::db::{Db, DbOptions};

use avisa::domain::Platform;
use avisa::domain::{EventId, NewStore};

const FIXTURE: &str = "tests/fixtures/hotmart/purchase-approved-test.json";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_event_survives_a_kill() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("data");
    let token = "d".repeat(32);
    {
        let db = Db::open(&dir, &DbOptions::default()).expect("open");
        db.create_store(NewStore {
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

    let db = Db::open(&dir, &DbOptions::default()).expect("reopen after the kill");
    for id in &acknowledged {
        let (record, raw) = db
            .event(EventId(*id))
            .expect("an acknowledged event is in the file");
        assert!(raw.body.starts_with(b"{"), "its raw body too");
        assert_eq!(record.platform, "hotmart");
    }
    acknowledged.sort_unstable();
    acknowledged.dedup();
    assert_eq!(acknowledged.len(), 200, "every delivery got its own event");
}

/// Starts `avisa serve` on `dir`; returns the child and its base URL.
fn serve(dir: &std::path::Path) -> (std::process::Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_avisa"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
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
    (child, base)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_while_ingesting_and_sending_loses_nothing_and_sends_nothing_twice_unflagged() {
    use avisa::db::MessageFilter;
    use avisa::domain::MessageStatus;
    use avisa::domain::{Instance, InstanceMode, MessageSettings};

    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("data");
    let token = "c".repeat(32);
    let api_token = "avisa_crash_test_token";
    {
        let db = Db::open(&dir, &DbOptions::default()).expect("open");
        let admin = db
            .create_user(avisa::db::NewUser {
                email: "dona@loja.com.br".into(),
                name: "Dona".into(),
                role: avisa::db::Role::Admin,
                password_hash: "unused".into(),
                lang: "pt-BR".into(),
                must_change_password: false,
                created_at: 0,
            })
            .expect("admin");
        db.create_api_token(
            &avisa::http::password::secret_hash(api_token),
            admin.id,
            "test",
            "avisa_crash",
            None,
            0,
        )
        .expect("token");
        let no_quiet = avisa::domain::planning::QuietHours {
            start_min: 0,
            end_min: 0,
        };
        db.save_message_settings(&MessageSettings {
            quiet_hours: no_quiet,
            ..MessageSettings::default()
        })
        .expect("settings");
        let mut sandbox = Instance::new("Sandbox", InstanceMode::Sandbox, 0);
        sandbox.pacing.interval_s = 0;
        sandbox.pacing.jitter_pct = 0;
        sandbox.daily_limit = 0;
        sandbox.quiet_hours = no_quiet;
        let sandbox = db.create_instance(sandbox).expect("instance");
        let store = db
            .create_store(NewStore {
                name: "Loja".into(),
                slug: "loja".into(),
                platform: Platform::Api,
                enabled: true,
                secret: None,
                webhook_token: token.clone(),
                created_at: 0,
            })
            .expect("store");
        db.update_store(store.id, |s| s.instance_id = Some(sandbox.id))
            .expect("link");
    }

    let (mut child, base) = serve(&dir);
    let client = reqwest::Client::new();
    let mut sends = Vec::new();
    for n in 0..100 {
        let client = client.clone();
        let url = format!("{base}/webhook/{token}/loja");
        let body = serde_json::json!({
            "kind": "order.paid", "event_id": format!("crash-{n}"), "order_id": format!("O{n}"),
            "customer": { "name": "Ana", "phone": format!("119876{:05}", n) },
            "products": [ { "name": "Curso" } ],
        })
        .to_string();
        sends.push(tokio::spawn(async move {
            let response = client.post(url).body(body).send().await.expect("post");
            assert_eq!(response.status(), 202);
            response.json::<serde_json::Value>().await.expect("json")["event_ids"][0]
                .as_u64()
                .expect("id")
        }));
    }
    let mut acknowledged = Vec::new();
    for send in sends {
        acknowledged.push(send.await.expect("send task"));
    }
    // Killed while the outbox is sending those confirmations.
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");

    let (mut child, base) = serve(&dir);
    // Wait for the restarted outbox to drain the queue (a condition, polled; not a timing guess):
    // no message waiting, queued, or in the middle of its send (a busy machine stretches that).
    let mut drained = false;
    let mut last = serde_json::Value::Null;
    'poll: for _ in 0..1200 {
        for status in ["scheduled", "queued", "sending"] {
            let page: serde_json::Value = client
                .get(format!("{base}/api/v1/messages?status={status}"))
                .bearer_auth(api_token)
                .send()
                .await
                .expect("list")
                .json()
                .await
                .expect("json");
            if !page["messages"].as_array().is_some_and(|m| m.is_empty()) {
                last = page;
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue 'poll;
            }
        }
        drained = true;
        break;
    }
    assert!(
        drained,
        "the queue drains after the restart: {}",
        &last.to_string()[..last.to_string().len().min(1500)]
    );
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");

    let db = Db::open(&dir, &DbOptions::default()).expect("reopen");
    for id in &acknowledged {
        db.event(EventId(*id))
            .expect("every acknowledged event is in the file");
    }
    let messages = db
        .list_messages(&MessageFilter {
            limit: 1000,
            ..MessageFilter::default()
        })
        .expect("messages");
    assert_eq!(messages.len(), 100, "one confirmation per event, none lost");
    for m in &messages {
        assert!(
            matches!(m.status, MessageStatus::Sent),
            "message {} is {:?}",
            m.id,
            m.status
        );
        let sends = m
            .history
            .iter()
            .filter(|h| h.status == MessageStatus::Sent)
            .count();
        assert!(
            sends == 1 || m.maybe_sent,
            "message {} was sent {sends} times without the maybe-sent flag",
            m.id
        );
    }
}

/// Opens the data file the way avisa does and says whether redb had to repair it (a file not
/// closed cleanly is scanned in full on open: seconds for gigabytes).
fn opens_with_repair(dir: &std::path::Path) -> bool {
    let repaired = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let seen = repaired.clone();
    let db = redb::Builder::new()
        .set_repair_callback(move |_| seen.store(true, std::sync::atomic::Ordering::SeqCst))
        .open(dir.join(avisa::db::DATA_FILE))
        .expect("the data file opens");
    drop(db);
    repaired.load(std::sync::atomic::Ordering::SeqCst)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_closes_the_data_file_so_the_next_start_needs_no_repair() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("data");
    let token = "t".repeat(32);
    {
        let db = Db::open(&dir, &DbOptions::default()).expect("open");
        db.create_store(NewStore {
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
    assert!(!opens_with_repair(&dir), "a dropped Db closes the file");

    let (mut child, base) = serve(&dir);
    let body = std::fs::read_to_string(FIXTURE).expect("fixture");
    let client = reqwest::Client::new();
    for n in 0..20 {
        let body = body.replacen("\"id\": \"", &format!("\"id\": \"term-{n}-"), 1);
        let response = client
            .post(format!("{base}/webhook/{token}/loja"))
            .body(body)
            .send()
            .await
            .expect("post");
        assert_eq!(response.status(), 202);
    }
    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(term.success());
    let status = child.wait().expect("reaped");
    assert!(status.success(), "a SIGTERM stop exits 0: {status:?}");
    assert!(
        !opens_with_repair(&dir),
        "after SIGTERM the file was closed cleanly: no repair on the next open"
    );
}
