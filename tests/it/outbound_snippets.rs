//! The signature checks docs/API.md gives merchants (in shell with `openssl`, in JavaScript for
//! n8n's Code node) run against a real delivery from a real server: they accept it, and refuse
//! it with one byte changed or five minutes and a second late. The snippets live in
//! `docs/snippets/` (the console's API page shows those files); docs/API.md must quote them as
//! they are. The clock the snippets read (`date`, `Date.now`) is pinned to the delivery's.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use avisa::domain::{ManualClock, Platform};
use avisa::queue::outbound::signature::sign;
use serde_json::json;

use crate::events::{create_store, post_webhook};
use crate::outbound::{Received, Receiver};
use crate::support::TestApp;

const T0: i64 = 1_796_601_600;

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn snippet(name: &str) -> String {
    std::fs::read_to_string(repo(&format!("docs/snippets/{name}"))).expect("the snippet")
}

/// Whether a program is on this machine (the snippets need `openssl` and `node`).
fn installed(program: &str, arg: &str) -> bool {
    Command::new(program)
        .arg(arg)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// One real delivery: its headers and body, and the endpoint's secret.
async fn a_delivery() -> (Received, String) {
    let app = TestApp::start_on(Arc::new(ManualClock::at(T0))).await;
    let admin = app.setup_admin().await;
    let token = app.api_token(&admin).await;
    let (_, hook) = create_store(&app, Platform::Api, "Loja Integrada");
    let mut receiver = Receiver::start();
    let created: serde_json::Value = app
        .client()
        .post(app.at("/api/v1/webhooks"))
        .bearer_auth(&token)
        .json(&json!({ "url": receiver.url, "events": ["event.received"] }))
        .send()
        .await
        .expect("API answers")
        .json()
        .await
        .expect("JSON");
    let secret = created["secret"].as_str().expect("secret").to_owned();
    let body = std::fs::read(repo("tests/fixtures/api/order.paid.json")).expect("fixture");
    let (status, _) = post_webhook(&app, &hook, body, &[]).await;
    assert_eq!(status, 202);
    (receiver.next().await, secret)
}

#[test]
fn docs_api_quotes_the_snippets_and_the_known_vector() {
    let doc = std::fs::read_to_string(repo("docs/API.md")).expect("docs/API.md");
    for name in ["verify-signature.sh", "verify-signature.js"] {
        assert!(
            doc.contains(&snippet(name)),
            "docs/API.md quotes docs/snippets/{name} as it is"
        );
    }
    let vector = sign(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        T0,
        br#"{"id":"whd_1","type":"message.sent"}"#,
    );
    assert!(
        doc.contains(&format!("`v1={vector}`")),
        "the documented example is what avisa computes"
    );
    // The n8n recipe: the HTTP Request node to send, the Webhook node (raw body) and the Code
    // node to verify.
    let recipe = doc.split("### Receita n8n").nth(1).expect("the n8n recipe");
    for step in [
        "**HTTP Request**",
        "/api/v1/messages",
        "Idempotency-Key",
        "**Webhook**",
        "**Raw Body**",
        "**Code**",
        "NODE_FUNCTION_ALLOW_BUILTIN=crypto",
    ] {
        assert!(recipe.contains(step), "the n8n recipe says {step}");
    }
}

/// Runs the shell snippet in a directory holding `corpo.json`, with `date` answering `now`.
fn run_shell(received: &Received, secret: &str, body: &[u8], now: i64) -> String {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("corpo.json"), body).expect("body");
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).expect("bin");
    let date = bin.join("date");
    std::fs::write(&date, format!("#!/bin/sh\necho {now}\n")).expect("fake date");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&date, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("sh")
        .arg("-c")
        .arg(snippet("verify-signature.sh"))
        .current_dir(dir.path())
        .env("PATH", path)
        .env("SECRET", secret)
        .env("SIG", received.header("X-Avisa-Signature"))
        .output()
        .expect("sh runs");
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("UTF-8")
        .trim()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shell_snippet_verifies_a_real_delivery_with_openssl() {
    assert!(
        installed("openssl", "version"),
        "openssl is needed to run docs/snippets/verify-signature.sh"
    );
    let (received, secret) = a_delivery().await;
    assert_eq!(received.header("X-Avisa-Timestamp"), T0.to_string());
    assert_eq!(
        run_shell(&received, &secret, &received.body, T0 + 10),
        "válida"
    );
    let mut changed = received.body.clone();
    changed[10] ^= 1;
    assert_eq!(run_shell(&received, &secret, &changed, T0), "inválida");
    assert_eq!(
        run_shell(&received, "whsec_outro", &received.body, T0),
        "inválida"
    );
    assert_eq!(
        run_shell(&received, &secret, &received.body, T0 + 301),
        "inválida",
        "too old"
    );
    assert_eq!(
        run_shell(&received, &secret, &received.body, T0 - 301),
        "inválida",
        "from the future"
    );
}

/// Runs the Code node snippet the way n8n does (an async function with `$env`, `$json` and
/// `this.helpers.getBinaryDataBuffer`), `Date.now()` answering `now`. Prints the item it returns
/// or the error it throws.
fn run_code_node(received: &Received, secret: &str, body: &[u8], now: i64) -> String {
    let dir = tempfile::tempdir().expect("temp dir");
    let raw = dir.path().join("raw");
    std::fs::write(&raw, body).expect("body");
    let headers: serde_json::Map<String, serde_json::Value> = received
        .headers
        .iter()
        .map(|(n, v)| (n.to_ascii_lowercase(), json!(v)))
        .collect();
    let harness = format!(
        r#"
const $env = {{ AVISA_WEBHOOK_SECRET: {secret} }};
const $json = {{ headers: {headers} }};
Date.now = () => {now} * 1000;
const helpers = {{ getBinaryDataBuffer: async (item, name) => {{
  if (item !== 0 || name !== 'data') throw new Error('binary ' + item + ' ' + name);
  return require('fs').readFileSync({raw});
}} }};
(async function () {{
{code}
}}).call({{ helpers }})
  .then((item) => console.log('ok ' + item.json.id))
  .catch((e) => console.log('error ' + e.message));
"#,
        secret = json!(secret),
        headers = serde_json::Value::Object(headers),
        raw = json!(raw.display().to_string()),
        code = snippet("verify-signature.js"),
    );
    let out = Command::new("node")
        .arg("-e")
        .arg(harness)
        .output()
        .expect("node runs");
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("UTF-8")
        .trim()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_n8n_code_node_snippet_verifies_a_real_delivery() {
    assert!(
        installed("node", "--version"),
        "node is needed to run docs/snippets/verify-signature.js"
    );
    let (received, secret) = a_delivery().await;
    let id = received.header("X-Avisa-Id").to_owned();
    assert_eq!(
        run_code_node(&received, &secret, &received.body, T0 + 10),
        format!("ok {id}"),
        "a good delivery passes, parsed"
    );
    let mut changed = received.body.clone();
    changed[10] ^= 1;
    let refused = "error assinatura do avisa inválida";
    assert_eq!(run_code_node(&received, &secret, &changed, T0), refused);
    assert_eq!(
        run_code_node(&received, "whsec_outro", &received.body, T0),
        refused
    );
    assert_eq!(
        run_code_node(&received, &secret, &received.body, T0 + 301),
        refused,
        "too old"
    );
}
