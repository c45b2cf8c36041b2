//! Operations: a backup taken under write load restores every acknowledged event, the console
//! download restores, restores refuse live and non-empty directories, scheduled backups prune,
//! and the LGPD tools export and forget a buyer from the console and the command line.

use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use avisa::db::{Db, DbOptions};

use avisa::domain::{ConsoleSettings, NewStore, OpsSettings};
use avisa::domain::{EventId, Platform};
use avisa::http::password::secret_hash;

use crate::support::{ADMIN_EMAIL, TestApp};

const FIXTURE: &str = "tests/fixtures/hotmart/purchase-approved-test.json";
const TOKEN: &str = "avisa_test-backup-token-0123456789";

fn avisa(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_avisa"))
        .args(args)
        .env_remove("AVISA_DATA_DIR")
        .env_remove("AVISA_LISTEN")
        .env_remove("AVISA_TOKEN")
        .output()
        .expect("the avisa binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A Hotmart purchase for `phone` with its own delivery id (so it is not a duplicate).
fn purchase(n: usize, phone: &str) -> String {
    let mut body: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(FIXTURE).expect("fixture")).expect("json");
    body["id"] = format!("load-{n}").into();
    body["data"]["purchase"]["transaction"] = format!("HP{n:010}").into();
    body["data"]["buyer"]["checkout_phone"] = phone.into();
    body.to_string()
}

fn new_store(token: &str) -> NewStore {
    NewStore {
        name: "Loja da Ana".into(),
        slug: "loja-da-ana".into(),
        platform: Platform::Hotmart,
        enabled: true,
        secret: None,
        webhook_token: token.into(),
        created_at: 1,
    }
}

/// An admin, a store, settings and an admin API token on a running avisa.
async fn arranged() -> (TestApp, reqwest::Client, String) {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let hook = "h".repeat(32);
    app.db.create_store(new_store(&hook)).expect("store");
    app.db
        .save_console_settings(&ConsoleSettings {
            company_name: "Ana Doces".into(),
            ..ConsoleSettings::default()
        })
        .expect("settings");
    app.db
        .save_ops_settings(&OpsSettings {
            backup_keep: 3,
            retention_days: 90,
            ..OpsSettings::default()
        })
        .expect("ops settings");
    let user = app.db.user_by_email(ADMIN_EMAIL).expect("admin");
    app.db
        .create_api_token(
            &secret_hash(TOKEN),
            user.id,
            "backup",
            &TOKEN[..12],
            None,
            1,
        )
        .expect("token");
    let url = app.at(&format!("/webhook/{hook}/loja-da-ana"));
    (app, admin, url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_under_write_load_restores_every_acknowledged_event() {
    let (app, _admin, url) = arranged().await;
    let acknowledged = Arc::new(Mutex::new(Vec::<u64>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let client = reqwest::Client::new();
    let mut posters = Vec::new();
    for worker in 0..4 {
        let (client, url, acknowledged, stop) = (
            client.clone(),
            url.clone(),
            acknowledged.clone(),
            stop.clone(),
        );
        posters.push(tokio::spawn(async move {
            let mut n = worker * 1_000_000;
            while !stop.load(Ordering::SeqCst) {
                n += 1;
                let response = client
                    .post(&url)
                    .body(purchase(n, "11987654321"))
                    .send()
                    .await
                    .expect("post");
                assert_eq!(response.status(), 202);
                let json: serde_json::Value = response.json().await.expect("json");
                let id = json["event_ids"][0].as_u64().expect("an event id");
                acknowledged.lock().expect("lock").push(id);
            }
        }));
    }
    // Let the load build up, then take the backup while it goes on.
    while acknowledged.lock().expect("lock").len() < 100 {
        tokio::task::yield_now().await;
    }
    let before: Vec<u64> = acknowledged.lock().expect("lock").clone();
    let out = app.data_dir.path().join("load.redb.zst");
    let data = app.data_path();
    let server = app.url.trim_start_matches("http://").to_owned();
    let (out_arg, data_arg) = (out.clone(), data.clone());
    let backup = tokio::task::spawn_blocking(move || {
        avisa(&[
            "backup",
            "--out",
            out_arg.to_str().expect("utf-8"),
            "--data-dir",
            data_arg.to_str().expect("utf-8"),
            "--server",
            &server,
            "--token",
            TOKEN,
        ])
    })
    .await
    .expect("join");
    let during = acknowledged.lock().expect("lock").len() - before.len();
    stop.store(true, Ordering::SeqCst);
    for poster in posters {
        poster.await.expect("poster");
    }
    assert!(backup.status.success(), "{}", text(&backup.stderr));
    assert!(
        text(&backup.stdout).contains("made by the running avisa"),
        "{}",
        text(&backup.stdout)
    );
    assert!(
        during > 0,
        "webhooks kept being acknowledged during the backup"
    );

    let fresh = app.data_dir.path().join("restored");
    let restored = avisa(&[
        "restore",
        out.to_str().expect("utf-8"),
        "--data-dir",
        fresh.to_str().expect("utf-8"),
    ]);
    assert!(restored.status.success(), "{}", text(&restored.stderr));
    let copy = Db::open(&fresh, &DbOptions::default()).expect("restored data opens");
    for id in &before {
        let (record, raw) = copy
            .event(EventId(*id))
            .expect("an event acknowledged before the backup");
        assert_eq!(record.platform, "hotmart");
        assert!(raw.body.starts_with(b"{"), "with its raw body");
    }
    let live = &app.db;
    let names = |s: &Db| -> Vec<(u64, String, String)> {
        s.list_stores()
            .expect("stores")
            .into_iter()
            .map(|r| (r.id.0, r.name, r.webhook_token))
            .collect()
    };
    assert_eq!(names(&copy), names(live), "stores intact");
    assert_eq!(
        copy.list_users().expect("users"),
        live.list_users().expect("users"),
        "users intact"
    );
    assert_eq!(
        copy.console_settings().expect("settings"),
        live.console_settings().expect("settings")
    );
    assert_eq!(
        copy.ops_settings().expect("ops"),
        live.ops_settings().expect("ops")
    );
    assert!(
        copy.api_token(&secret_hash(TOKEN))
            .expect("token")
            .is_some(),
        "API tokens intact"
    );
    println!(
        "backup under load: {} events acknowledged before, {during} during; {} bytes",
        before.len(),
        std::fs::metadata(&out).expect("backup").len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_and_restore_refuse_with_clear_messages() {
    let (app, _admin, _url) = arranged().await;
    let data = app.data_path();
    let data = data.to_str().expect("utf-8");
    let out = app.data_dir.path().join("x.redb.zst");
    let out = out.to_str().expect("utf-8");
    let server = app.url.trim_start_matches("http://").to_owned();

    let no_token = avisa(&["backup", "--out", out, "--data-dir", data]);
    assert_eq!(no_token.status.code(), Some(1));
    assert!(
        text(&no_token.stderr).contains("pass an admin API token"),
        "{}",
        text(&no_token.stderr)
    );
    let bad_token = avisa(&[
        "backup",
        "--out",
        out,
        "--data-dir",
        data,
        "--server",
        &server,
        "--token",
        "nope",
    ]);
    assert_eq!(bad_token.status.code(), Some(1));
    assert!(text(&bad_token.stderr).contains("token was refused"));
    assert!(!std::path::Path::new(out).exists(), "no partial file left");

    let live = avisa(&["restore", out, "--data-dir", data]);
    assert_eq!(live.status.code(), Some(1));
    assert!(
        text(&live.stderr).contains("a running avisa is using"),
        "{}",
        text(&live.stderr)
    );
    let busy = app.data_dir.path().join("busy");
    std::fs::create_dir_all(&busy).expect("dir");
    std::fs::write(busy.join("notes.txt"), "x").expect("file");
    let not_empty = avisa(&["restore", out, "--data-dir", busy.to_str().expect("utf-8")]);
    assert!(
        text(&not_empty.stderr).contains("is not empty"),
        "{}",
        text(&not_empty.stderr)
    );
    let missing = avisa(&[
        "backup",
        "--out",
        out,
        "--data-dir",
        busy.to_str().expect("utf-8"),
    ]);
    assert!(text(&missing.stderr).contains("no data file"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_downloads_a_backup_that_restores() {
    let (app, admin, _url) = arranged().await;
    let csrf = app.csrf(&admin, "/configuracoes").await;
    let response = admin
        .post(app.at("/configuracoes/backup"))
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .expect("download");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/zstd");
    let disposition = response.headers()["content-disposition"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(
        disposition.starts_with("attachment; filename=\"avisa-"),
        "{disposition}"
    );
    let bytes = response.bytes().await.expect("body");
    let file = app.data_dir.path().join("console.redb.zst");
    std::fs::write(&file, &bytes).expect("save");
    let counts = avisa::db::restore(&file, &app.data_dir.path().join("fresh")).expect("restore");
    assert_eq!((counts.users, counts.stores), (1, 1));
    let leftovers: Vec<_> = std::fs::read_dir(app.data_path())
        .expect("data dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name())
        // The data file and its disk-full reserve (db::handle) are meant to be there.
        .filter(|n| n != "avisa.redb" && n != "avisa.reserve")
        .collect();
    assert!(leftovers.is_empty(), "no staging files left: {leftovers:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_and_retention_settings_are_validated_and_saved() {
    let (app, admin, _url) = arranged().await;
    let csrf = app.csrf(&admin, "/configuracoes").await;
    let page = app.html(&admin, "/configuracoes").await;
    assert!(page.contains("Baixar backup") && page.contains("Privacidade (LGPD)"));
    let post = |fields: Vec<(&'static str, String)>| {
        let mut form = fields;
        form.push(("_csrf", csrf.clone()));
        admin
            .post(app.at("/configuracoes/manutencao"))
            .form(&form)
            .send()
    };
    let bad = post(vec![
        ("backup_keep", "0".into()),
        ("retention_days", "30".into()),
        ("backup_dir", String::new()),
    ])
    .await
    .expect("post");
    assert_eq!(bad.status(), 422);
    let bad_dir = post(vec![
        ("backup_keep", "5".into()),
        ("retention_days", "30".into()),
        ("backup_dir", "relativo/backups".into()),
    ])
    .await
    .expect("post");
    assert_eq!(bad_dir.status(), 422);
    assert!(
        bad_dir
            .text()
            .await
            .expect("html")
            .contains("value=\"relativo")
    );
    let ok = post(vec![
        ("backup_enabled", "1".into()),
        ("backup_keep", "5".into()),
        ("retention_days", "30".into()),
        ("backup_dir", "/var/backups/avisa".into()),
    ])
    .await
    .expect("post");
    assert_eq!(ok.status(), 303);
    assert_eq!(
        app.db.ops_settings().expect("ops"),
        OpsSettings {
            backup_enabled: true,
            backup_dir: "/var/backups/avisa".into(),
            backup_keep: 5,
            retention_days: 30,
        }
    );
}

#[test]
fn scheduled_backups_run_daily_and_keep_the_newest() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let db = Db::open(&tmp.path().join("data"), &DbOptions::default()).expect("open");
    db.create_store(new_store(&"s".repeat(32))).expect("store");
    let backups = tmp.path().join("backups");
    db.save_ops_settings(&OpsSettings {
        backup_enabled: true,
        backup_dir: backups.to_str().expect("utf-8").into(),
        backup_keep: 2,
        retention_days: 180,
    })
    .expect("settings");
    let day = 24 * 3600;
    let start = 1_746_112_731;
    let first = avisa::jobs::run_housekeeping(&db, start, true);
    assert!(
        first.backup.is_some() && first.errors.is_empty(),
        "{first:?}"
    );
    let hour_later = avisa::jobs::run_housekeeping(&db, start + 3600, false);
    assert!(hour_later.backup.is_none(), "one a day");
    for n in 1..=3 {
        let report = avisa::jobs::run_housekeeping(&db, start + n * day, false);
        assert!(report.backup.is_some(), "day {n}");
    }
    let mut names: Vec<String> = std::fs::read_dir(&backups)
        .expect("dir")
        .map(|e| e.expect("entry").file_name().into_string().expect("utf-8"))
        .collect();
    names.sort();
    assert_eq!(
        names,
        vec![
            avisa::domain::housekeeping::backup_file_name(start + 2 * day),
            avisa::domain::housekeeping::backup_file_name(start + 3 * day),
        ]
    );
    let counts =
        avisa::db::restore(&backups.join(&names[1]), &tmp.path().join("r")).expect("restore");
    assert_eq!(counts.stores, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_exports_and_forgets_a_buyer() {
    let (app, admin, url) = arranged().await;
    let client = reqwest::Client::new();
    for (n, phone) in [
        (1, "11987654321"),
        (2, "21912345678"),
        (3, "(11) 98765-4321"),
    ] {
        let response = client
            .post(&url)
            .body(purchase(n, phone))
            .send()
            .await
            .expect("post");
        assert_eq!(response.status(), 202);
    }
    let csrf = app.csrf(&admin, "/configuracoes").await;
    let export = admin
        .post(app.at("/configuracoes/lgpd/exportar"))
        .form(&[("_csrf", csrf.as_str()), ("phone", "+55 11 98765-4321")])
        .send()
        .await
        .expect("export");
    assert_eq!(export.status(), 200);
    let json: serde_json::Value = export.json().await.expect("json");
    assert_eq!(json["buyer"], "+5511987654321");
    assert_eq!(json["events"].as_array().expect("events").len(), 2);
    assert!(
        json["events"][0]["raw"]["body"]
            .as_str()
            .expect("raw")
            .contains("load-")
    );

    let unconfirmed = admin
        .post(app.at("/configuracoes/lgpd/esquecer"))
        .form(&[("_csrf", csrf.as_str()), ("phone", "11987654321")])
        .send()
        .await
        .expect("forget");
    assert_eq!(unconfirmed.status(), 422);
    let bad_phone = admin
        .post(app.at("/configuracoes/lgpd/exportar"))
        .form(&[("_csrf", csrf.as_str()), ("phone", "12")])
        .send()
        .await
        .expect("export");
    assert_eq!(bad_phone.status(), 422);

    // Ana's messages (one of them still waiting) and her conversation are in the export too.
    let ana_messages = app
        .db
        .list_messages(&avisa::db::MessageFilter {
            phone: Some("+5511987654321".into()),
            limit: 100,
            ..Default::default()
        })
        .expect("messages");
    assert!(ana_messages.iter().any(|m| m.status.is_pending()));
    assert_eq!(
        json["messages"].as_array().expect("messages").len(),
        ana_messages.len()
    );
    assert!(json["conversation"].as_array().is_some());
    let event_id = ana_messages[0].event_id;
    let message_id = ana_messages[0].id;

    let forgotten = admin
        .post(app.at("/configuracoes/lgpd/esquecer"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("phone", "11987654321"),
            ("confirm", "1"),
        ])
        .send()
        .await
        .expect("forget");
    // Post/redirect/get: the answer is a redirect to the page with the notice.
    assert_eq!(forgotten.status(), 303);
    let location = forgotten.headers()["location"].to_str().expect("location");
    assert!(
        location.starts_with("/configuracoes?ok=buyer_forgotten_many&n="),
        "{location}"
    );
    let page = app.html(&admin, location).await;
    assert!(page.contains("Dados do comprador apagados"), "{page}");
    // Nothing of hers is left to send, and the pages show she was erased.
    for m in app
        .db
        .list_messages(&avisa::db::MessageFilter {
            limit: 100,
            ..Default::default()
        })
        .expect("messages")
        .into_iter()
        .filter(|m| m.is_erased())
    {
        assert!(!m.status.is_pending(), "message {} still waits", m.id);
    }
    let message_page = admin
        .get(app.at(&format!("/mensagens/{message_id}")))
        .send()
        .await
        .expect("message");
    assert_eq!(message_page.status(), 200);
    let html = message_page.text().await.expect("html");
    assert!(html.contains("comprador apagado (LGPD)"), "{html}");
    assert!(
        !html.contains("9****-4321"),
        "no trace of her phone: {html}"
    );
    let event_page = admin
        .get(app.at(&format!("/eventos/{event_id}")))
        .send()
        .await
        .expect("event");
    assert_eq!(event_page.status(), 200, "Ver o evento still opens");
    let html = event_page.text().await.expect("html");
    assert!(html.contains("data-testid=\"event-erased\""), "{html}");
    let ana = avisa::domain::Phone::parse("11987654321").expect("phone");
    assert!(app.db.is_erased_buyer(&ana).expect("erased"));
    let after = app.db.export_buyer(&ana, 0).expect("export");
    assert!(after.events.is_empty() && after.erased);
    let other = avisa::domain::Phone::parse("21912345678").expect("phone");
    assert_eq!(
        app.db.export_buyer(&other, 0).expect("export").events.len(),
        1
    );
}

#[test]
fn the_command_line_exports_and_forgets_a_buyer_on_a_stopped_avisa() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("data");
    {
        let db = Db::open(&dir, &DbOptions::default()).expect("open");
        let id = db
            .create_store(new_store(&"c".repeat(32)))
            .expect("store")
            .id;
        let deliveries: Vec<_> = [(1, "11987654321"), (2, "21912345678")]
            .iter()
            .map(|(n, phone)| {
                let body = purchase(*n, phone).into_bytes();
                let readings = avisa::ingest::recognise(
                    Platform::Hotmart,
                    &avisa::ingest::Request::new(&body, &[], ""),
                );
                avisa::db::Delivery {
                    store_id: id,
                    received_at: 10,
                    raw: avisa::db::RawDelivery {
                        body,
                        ..Default::default()
                    },
                    readings,
                }
            })
            .collect();
        db.record_deliveries(&deliveries).expect("record");
    }
    let dir = dir.to_str().expect("utf-8");
    let export = avisa(&["export", "--buyer", "+5511987654321", "--data-dir", dir]);
    assert!(export.status.success(), "{}", text(&export.stderr));
    let json: serde_json::Value = serde_json::from_slice(&export.stdout).expect("JSON on stdout");
    assert_eq!(json["events"].as_array().expect("events").len(), 1);
    assert_eq!(
        json["events"][0]["event"]["customer"]["phone"],
        "+5511987654321"
    );

    let forget = avisa(&["forget", "--buyer", "(11) 98765-4321", "--data-dir", dir]);
    assert!(forget.status.success(), "{}", text(&forget.stderr));
    assert!(
        text(&forget.stdout).contains("1 events and 1 raw bodies erased"),
        "{}",
        text(&forget.stdout)
    );
    let again = avisa(&["export", "--buyer", "11987654321", "--data-dir", dir]);
    let json: serde_json::Value = serde_json::from_slice(&again.stdout).expect("JSON");
    assert_eq!(json["events"].as_array().expect("events").len(), 0);
    assert_eq!(json["erased"], true);

    let bad = avisa(&["forget", "--buyer", "abc", "--data-dir", dir]);
    assert_eq!(bad.status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_line_sends_lgpd_requests_on_a_running_avisa_to_the_console() {
    let app = TestApp::start().await;
    let data = app.data_path();
    let output = avisa(&[
        "forget",
        "--buyer",
        "11987654321",
        "--data-dir",
        data.to_str().expect("utf-8"),
    ]);
    assert_eq!(output.status.code(), Some(1));
    let err = text(&output.stderr);
    assert!(
        err.contains("a running avisa is using") && err.contains("Privacidade"),
        "{err}"
    );
}
