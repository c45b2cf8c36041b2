//! The storage under stress: a disk that fills up. avisa refuses webhooks with 503 + Retry-After
//! while nothing can be written (the platforms retry), says "disco cheio" on the console and in
//! the log, and writes again by itself once space is freed, with nothing acknowledged lost.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use avisa::domain::{EventId, NewStore, Platform};

use crate::support::{TestApp, offline_whatsapp};

const FIXTURE: &str = "tests/fixtures/hotmart/purchase-approved-test.json";

/// A size-limited tmpfs mounted for one test (root only); unmounted when dropped.
struct SmallDisk {
    at: PathBuf,
}

impl SmallDisk {
    /// Mounts `megabytes` of tmpfs at `at`, or says why it cannot (not root, no mount).
    fn mount(at: &Path, megabytes: u32) -> Result<SmallDisk, String> {
        std::fs::create_dir_all(at).map_err(|e| format!("mkdir: {e}"))?;
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o"])
            .arg(format!("size={megabytes}m,mode=0700"))
            .arg("tmpfs")
            .arg(at)
            .output()
            .map_err(|e| format!("mount is unavailable: {e}"))?;
        if !status.status.success() {
            return Err(format!(
                "mount refused (root needed): {}",
                String::from_utf8_lossy(&status.stderr).trim()
            ));
        }
        Ok(SmallDisk {
            at: at.to_path_buf(),
        })
    }

    /// Writes a file until the disk refuses: from here on, nothing larger than a few pages fits.
    fn fill(&self) -> PathBuf {
        let path = self.at.join("filler");
        let mut file = std::fs::File::create(&path).expect("filler");
        let chunk = vec![0xA5u8; 64 * 1024];
        while file.write_all(&chunk).is_ok() {}
        let small = [0u8; 512];
        while file.write_all(&small).is_ok() {}
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        // Lazy: the server's threads may still hold the data file as the test ends.
        let _ = Command::new("umount").arg("-l").arg(&self.at).status();
    }
}

fn padded_delivery(n: usize) -> String {
    let body = std::fs::read_to_string(FIXTURE).expect("fixture");
    let body = body.replacen("\"id\": \"", &format!("\"id\": \"disk-{n}-"), 1);
    body.replacen(
        '{',
        &format!("{{\"padding\": \"{}\",", "x".repeat(200 * 1024)),
        1,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_webhooks_with_retry_after_and_avisa_writes_again_once_space_is_freed()
{
    let data_dir = tempfile::tempdir().expect("tempdir");
    let disk = match SmallDisk::mount(&data_dir.path().join("data"), 48) {
        Ok(disk) => disk,
        Err(why) => {
            eprintln!("skipped: a small filesystem is needed for this test: {why}");
            return;
        }
    };
    let app = TestApp::start_in(data_dir, offline_whatsapp()).await;
    let admin = app.setup_admin().await;
    let token = "f".repeat(32);
    app.db
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
    let client = reqwest::Client::new();
    let send = |n: usize| {
        let request = client
            .post(app.at(&format!("/webhook/{token}/loja")))
            .body(padded_delivery(n))
            .send();
        async move { request.await.expect("the webhook answers") }
    };
    let accepted_ids = |json: serde_json::Value| -> Vec<u64> {
        json["event_ids"]
            .as_array()
            .expect("event ids")
            .iter()
            .map(|id| id.as_u64().expect("an id"))
            .collect()
    };

    let mut acknowledged = accepted_ids(send(0).await.json().await.expect("json"));
    let filler = disk.fill();

    // Deliveries that still fit in pages the file already owns are stored; the first one that
    // needs new space is refused, and nothing is ever answered 500.
    let mut refused = None;
    for n in 1..=40 {
        let response = send(n).await;
        match response.status().as_u16() {
            202 => acknowledged.extend(accepted_ids(response.json().await.expect("json"))),
            503 => {
                refused = Some(response);
                break;
            }
            other => panic!("delivery {n} while the disk is full: {other}"),
        }
    }
    let refused = refused.expect("a delivery is refused once the disk is full");
    assert_eq!(
        refused
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().ok()),
        Some(Some("60"))
    );
    let error: serde_json::Value = refused.json().await.expect("json");
    assert_eq!(error["error"]["code"], "disk_full");

    // Still full: the next deliveries are refused the same way, before touching the data file.
    for n in 100..103 {
        let response = send(n).await;
        assert_eq!(response.status(), 503);
        assert!(response.headers().contains_key("retry-after"));
    }
    let ready = client.get(app.at("/readyz")).send().await.expect("readyz");
    assert_eq!(
        ready.status(),
        503,
        "not ready while nothing can be written"
    );
    assert!(
        ready
            .text()
            .await
            .expect("text")
            .contains("database: disk full")
    );
    let live = client
        .get(app.at("/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(
        live.status(),
        200,
        "alive: avisa recovers without a restart"
    );

    // The console still opens, and says what is wrong.
    let page = admin.get(app.at("/")).send().await.expect("dashboard");
    assert_eq!(page.status(), 200);
    assert!(page.text().await.expect("html").contains("Disco cheio"));

    // Space is freed: the next delivery is stored, without a restart.
    std::fs::remove_file(filler).expect("free the space");
    let response = send(200).await;
    assert_eq!(response.status(), 202);
    acknowledged.extend(accepted_ids(response.json().await.expect("json")));
    let ready = client.get(app.at("/readyz")).send().await.expect("readyz");
    assert_eq!(ready.status(), 200);
    let page = admin.get(app.at("/")).send().await.expect("dashboard");
    assert!(!page.text().await.expect("html").contains("Disco cheio"));

    // Nothing acknowledged was lost.
    for id in acknowledged {
        let (_, raw) = app.db.event(EventId(id)).expect("an acknowledged event");
        assert!(raw.body.starts_with(b"{\"padding\""));
    }
    drop(app);
    drop(disk);
}
