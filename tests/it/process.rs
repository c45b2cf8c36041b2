//! The `avisa` executable as an operator meets it: a second process on the same data, a data file
//! from a newer avisa, the health check, the admin commands.

use std::process::{Command, Output};

use crate::support::TestApp;

fn avisa(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_avisa"))
        .args(args)
        .env_remove("AVISA_DATA_DIR")
        .env_remove("AVISA_LISTEN")
        .output()
        .expect("the avisa binary runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_avisa_on_the_same_data_directory_exits_with_a_clear_message() {
    let app = TestApp::start().await;
    let dir = app.data_path();
    let output = avisa(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        dir.to_str().expect("utf-8 path"),
    ]);
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(err.contains("another avisa is already running"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn a_data_file_from_a_newer_avisa_is_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    {
        let db = redb::Database::create(tmp.path().join("avisa.redb")).expect("create");
        let txn = db.begin_write().expect("write");
        let meta: redb::TableDefinition<&str, u64> = redb::TableDefinition::new("meta_v1");
        txn.open_table(meta)
            .expect("meta")
            .insert("schema_version", 999)
            .expect("insert");
        txn.commit().expect("commit");
    }
    let output = avisa(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        tmp.path().to_str().expect("utf-8"),
    ]);
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(
        err.contains("written by a newer avisa (schema 999"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthcheck_succeeds_against_a_running_avisa_and_fails_otherwise() {
    let app = TestApp::start().await;
    let url = app.at("/healthz");
    let ok = tokio::task::spawn_blocking(move || avisa(&["healthcheck", "--url", &url]))
        .await
        .expect("join");
    assert!(ok.status.success(), "{}", stderr(&ok));

    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = closed.local_addr().expect("addr").port();
    drop(closed);
    let down = avisa(&[
        "healthcheck",
        "--url",
        &format!("http://127.0.0.1:{port}/healthz"),
    ]);
    assert_eq!(down.status.code(), Some(1));
}

#[test]
fn version_and_help_name_every_command() {
    let version = avisa(&["--version"]);
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!("avisa {}", env!("CARGO_PKG_VERSION"))
    );
    let help = String::from_utf8_lossy(&avisa(&["serve", "--help"]).stdout).into_owned();
    for flag in [
        "--listen",
        "AVISA_LISTEN",
        "--data-dir",
        "AVISA_DATA_DIR",
        "--public-url",
        "AVISA_PUBLIC_URL",
        "--log-format",
        "AVISA_LOG_FORMAT",
        "--cache-mb",
    ] {
        assert!(help.contains(flag), "serve --help mentions {flag}");
    }
}

#[test]
fn admin_commands_print_one_time_passwords() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("data");
    let dir = dir.to_str().expect("utf-8");
    let created = avisa(&[
        "admin",
        "create",
        "--email",
        "Dono@Loja.com.br",
        "--data-dir",
        dir,
    ]);
    assert!(created.status.success(), "{}", stderr(&created));
    let out = String::from_utf8_lossy(&created.stdout).into_owned();
    assert!(
        out.contains("dono@loja.com.br: one-time password "),
        "{out}"
    );

    let again = avisa(&[
        "admin",
        "create",
        "--email",
        "dono@loja.com.br",
        "--data-dir",
        dir,
    ]);
    assert_eq!(again.status.code(), Some(1));
    assert!(stderr(&again).contains("already exists"));

    let reset = avisa(&[
        "admin",
        "reset-password",
        "--email",
        "dono@loja.com.br",
        "--data-dir",
        dir,
    ]);
    assert!(reset.status.success());
    let missing = avisa(&[
        "admin",
        "reset-password",
        "--email",
        "ninguem@loja.com.br",
        "--data-dir",
        dir,
    ]);
    assert!(stderr(&missing).contains("no user with that e-mail"));
}

#[test]
fn parse_prints_one_json_line_per_event() {
    let output = avisa(&[
        "parse",
        "--platform",
        "shopify",
        "--header",
        "X-Shopify-Topic: orders/paid",
        "tests/fixtures/shopify/orders_paid.json",
        "tests/fixtures/hotmart/purchase-billet-printed-boleto.json",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["file"], "tests/fixtures/shopify/orders_paid.json");
    assert_eq!(lines[0]["event"]["kind"], "order.paid");
    assert!(["ok", "unmapped", "invalid"].contains(&lines[1]["status"].as_str().expect("status")));

    let unknown = avisa(&["parse", "--platform", "nope", "x.json"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(stderr(&unknown).contains("unknown platform"));
}

#[test]
fn parse_reads_form_files_as_form_bodies() {
    let output = avisa(&[
        "parse",
        "--platform",
        "iugu",
        "tests/fixtures/iugu/invoice.status_changed-paid-pix-real.form",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let line: serde_json::Value = serde_json::from_slice(&output.stdout).expect("one JSON line");
    assert_eq!(line["event"]["kind"], "order.paid");
    assert_eq!(
        line["event"]["order_id"],
        "899E76B431864AAB854977026372A704"
    );
    assert_eq!(line["event"]["total_cents"], 5000);
}

#[test]
fn parse_reads_bodies_with_a_mapping_file() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mapping = tmp.path().join("mapping.json");
    let body = tmp.path().join("body.json");
    std::fs::write(
        &mapping,
        r#"{"event_field": "evento", "kinds": {"PAGO": "order.paid"},
            "fields": {"customer.phone": "fone", "total": "valor"}, "amount_unit": "cents"}"#,
    )
    .expect("write");
    std::fs::write(
        &body,
        r#"{"evento": "PAGO", "fone": "11987654321", "valor": 4990}"#,
    )
    .expect("write");
    let path = |p: &std::path::Path| p.to_str().expect("utf-8 path").to_owned();
    let output = avisa(&[
        "parse",
        "--platform",
        "custom",
        "--mapping",
        &path(&mapping),
        &path(&body),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let line: serde_json::Value = serde_json::from_slice(&output.stdout).expect("one JSON line");
    assert_eq!(line["status"], "ok", "{line}");
    assert_eq!(line["event"]["kind"], "order.paid");
    assert_eq!(line["event"]["total_cents"], 4990);

    std::fs::write(&mapping, r#"{"event_field": "a..b"}"#).expect("write");
    let refused = avisa(&[
        "parse",
        "--platform",
        "custom",
        "--mapping",
        &path(&mapping),
        &path(&body),
    ]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        stderr(&refused).contains("is not a path"),
        "{}",
        stderr(&refused)
    );
}

#[test]
fn simulate_shows_the_happy_path_on_a_virtual_clock() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let pix = tmp.path().join("1-pix.json");
    let paid = tmp.path().join("2-paid.json");
    let event = |kind: &str, id: &str| {
        serde_json::json!({
            "kind": kind, "event_id": id, "order_id": "A1",
            "customer": { "name": "Ana Souza", "phone": "11987654321" },
            "products": [ { "name": "Curso" } ],
            "payment": { "pix_code": "000201PIXCODE" }
        })
        .to_string()
    };
    std::fs::write(&pix, event("pix.generated", "e1")).expect("write");
    std::fs::write(&paid, event("order.paid", "e2")).expect("write");
    let output = avisa(&[
        "simulate",
        "--platform",
        "api",
        pix.to_str().expect("utf-8"),
        paid.to_str().expect("utf-8"),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    let planned_code = lines
        .iter()
        .any(|l| l["type"] == "planned" && l["text"] == "000201PIXCODE" && l["due_in_s"] == 125);
    assert!(
        planned_code,
        "the PIX code goes alone, 2 minutes and 5 seconds later: {lines:?}"
    );
    let canceled = lines
        .iter()
        .filter(|l| l["type"] == "canceled" && l["reason"] == "order_closed")
        .count();
    assert_eq!(
        canceled, 3,
        "both PIX parts and the follow-up stop once paid: {lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l["type"] == "planned" && l["kind"] == "order.paid")
    );
}
