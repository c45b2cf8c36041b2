//! Eventos: every fixture posted to a real webhook URL lands in the list with the reference
//! status; bad bodies are kept with their reason and never crash; filters, the unmapped alert,
//! the detail page (raw beside normalised) and who may see any of it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use avisa::domain::NewStore;
use avisa::domain::Platform;
use serde_json::Value;

use crate::support::TestApp;

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// A new store of `platform` without a signing secret; returns its id and webhook token.
pub fn create_store(app: &TestApp, platform: Platform, name: &str) -> (u64, String) {
    let token = format!("{:032x}", rand_token(name));
    let record = app
        .db
        .create_store(NewStore {
            name: name.to_owned(),
            slug: name.to_lowercase().replace(' ', "-"),
            platform,
            enabled: true,
            secret: None,
            webhook_token: token.clone(),
            created_at: 0,
        })
        .expect("store created");
    (record.id.0, token)
}

/// A token unique per name within a test (names are unique), stable across runs.
fn rand_token(name: &str) -> u128 {
    name.bytes()
        .fold(0xcbf2_9ce4_8422_2325_u128, |h, b| {
            (h ^ u128::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
        .max(1)
}

/// Headers the platform would send: topic headers for platforms whose body has no event name.
fn topic_headers(platform: Platform, stem: &str) -> Vec<(&'static str, String)> {
    match platform {
        Platform::Shopify => vec![("X-Shopify-Topic", stem.replacen('_', "/", 1))],
        Platform::Woocommerce => vec![("X-WC-Webhook-Topic", stem.to_owned())],
        _ => Vec::new(),
    }
}

/// A fixture's headers: its topic headers, and the form content type for a `.form` body.
fn fixture_headers(platform: Platform, name: &str, stem: &str) -> Vec<(&'static str, String)> {
    let mut headers = topic_headers(platform, stem);
    if name.ends_with(".form") {
        headers.push((
            "Content-Type",
            "application/x-www-form-urlencoded".to_owned(),
        ));
    }
    headers
}

/// Posts a body to a store's webhook URL; returns the status and the JSON answer (or Null).
pub async fn post_webhook(
    app: &TestApp,
    token: &str,
    body: impl Into<reqwest::Body>,
    headers: &[(&str, String)],
) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .post(app.at(&format!("/webhook/{token}/x")))
        .body(body);
    if !headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
    {
        request = request.header("Content-Type", "application/json");
    }
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let response = request.send().await.expect("webhook answers");
    let status = response.status().as_u16();
    let json = response.json().await.unwrap_or(Value::Null);
    (status, json)
}

fn first_id(answer: &Value) -> u64 {
    answer["event_ids"][0]
        .as_u64()
        .unwrap_or_else(|| panic!("an event id in {answer}"))
}

async fn get_json(client: &reqwest::Client, url: &str) -> Value {
    let response = client.get(url).send().await.expect("API answers");
    assert_eq!(response.status(), 200, "GET {url}");
    response.json().await.expect("JSON")
}

async fn get_html(client: &reqwest::Client, url: &str) -> (u16, String) {
    let response = client.get(url).send().await.expect("page answers");
    let status = response.status().as_u16();
    (status, response.text().await.expect("body"))
}

/// Every fixture file: (`platform/file.json`, platform, file stem, body).
fn all_fixtures() -> Vec<(String, Platform, String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut dirs: Vec<_> = std::fs::read_dir(fixtures_dir())
        .expect("fixtures directory")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    for dir in dirs {
        let folder = dir
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        // `signatures/` holds signed bodies for the recognisers' unit tests, not a platform.
        let Some(platform) = Platform::parse(&folder) else {
            continue;
        };
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .expect("platform folder")
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "json" || e == "form"))
            .collect();
        files.sort();
        for file in files {
            let stem = file
                .file_stem()
                .expect("stem")
                .to_string_lossy()
                .into_owned();
            let ext = file.extension().expect("extension").to_string_lossy();
            let name = format!("{folder}/{stem}.{ext}");
            out.push((name, platform, stem, std::fs::read(&file).expect("fixture")));
        }
    }
    out
}

fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(fixtures_dir().join(path)).expect("fixture readable")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fixture_lands_in_the_list_with_its_reference_status() {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let expected: BTreeMap<String, Value> =
        serde_json::from_slice(&fixture("EXPECTED.json")).expect("EXPECTED.json parses");
    let fixtures = all_fixtures();
    assert!(fixtures.len() >= 141, "fixtures found: {}", fixtures.len());
    let mut wrong = Vec::new();
    for (name, platform, stem, body) in fixtures {
        // One store per fixture: test bodies share order ids, and dedup is per store.
        let (store_id, token) = create_store(&app, platform, &name);
        let (status, answer) =
            post_webhook(&app, &token, body, &fixture_headers(platform, &name, &stem)).await;
        assert_eq!(status, 202, "{name}: {answer}");
        let id = first_id(&answer);
        let detail = get_json(&admin, &app.at(&format!("/api/v1/events/{id}"))).await;
        let want = expected[&name]["status"]
            .as_str()
            .expect("reference status");
        if detail["event"]["status"] != want {
            wrong.push(format!("{name}: {} not {want}", detail["event"]["status"]));
        }
        let listed = get_json(&admin, &app.at(&format!("/api/v1/events?store={store_id}"))).await;
        assert!(
            listed["events"]
                .as_array()
                .expect("events")
                .iter()
                .any(|e| e["id"] == id),
            "{name} is in its store's list"
        );
    }
    assert!(wrong.is_empty(), "statuses differ:\n{}", wrong.join("\n"));
    // A few more than a page's worth, whatever the number of fixtures.
    let (_, token) = create_store(&app, Platform::Hotmart, "Mais eventos");
    for _ in 0..2 {
        assert_eq!(post_webhook(&app, &token, "", &[]).await.0, 400);
    }

    // The page shows 100 at a time, newest first, with a link further back.
    let (status, html) = get_html(&admin, &app.at("/eventos")).await;
    assert_eq!(status, 200);
    assert_eq!(html.matches("data-event-id=").count(), 100);
    assert!(html.contains("data-testid=\"older\""), "older events link");
    let page = get_json(&admin, &app.at("/api/v1/events")).await;
    let before = page["next_before"].as_u64().expect("a next page");
    let older = get_json(&admin, &app.at(&format!("/api/v1/events?before={before}"))).await;
    let first_older = older["events"][0]["id"].as_u64().expect("older events");
    assert!(first_older < before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_bodies_are_kept_with_their_reason_and_never_crash() {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let (store_id, token) = create_store(&app, Platform::Hotmart, "Curso da Ana");
    let good = fixture("hotmart/purchase-approved-test.json");

    let reason_of = |answer: Value| {
        let admin = admin.clone();
        let url = app.at(&format!("/api/v1/events/{}", first_id(&answer)));
        async move {
            let detail = get_json(&admin, &url).await;
            assert_eq!(detail["event"]["status"], "invalid", "{detail}");
            detail["event"]["reason"]["code"]
                .as_str()
                .expect("a reason")
                .to_owned()
        }
    };

    // Truncated JSON: refused, kept, and visible on the page.
    let (status, answer) = post_webhook(&app, &token, good[..good.len() / 2].to_vec(), &[]).await;
    assert_eq!(status, 400);
    let truncated_id = first_id(&answer);
    assert_eq!(reason_of(answer).await, "bad_json");
    let (_, html) = get_html(&admin, &app.at("/eventos")).await;
    assert!(html.contains(&format!("data-event-id=\"{truncated_id}\"")));
    assert!(html.contains("JSON inválido"), "the reason in words");

    // Wrong types in known fields: read as far as possible, no panic.
    let wrong_types = r#"{"event":"PURCHASE_APPROVED","data":{"buyer":{"name":42,"email":["x"],
        "checkout_phone":{"n":1}},"purchase":{"transaction":7,"price":{"value":"muito"},
        "payment":{"type":false}},"product":"nome"}}"#;
    let (status, answer) = post_webhook(&app, &token, wrong_types, &[]).await;
    assert_eq!(status, 202, "{answer}");

    // 100 levels deep: refused before parsing can blow the stack.
    let deep = format!("{}1{}", "{\"a\":".repeat(100), "}".repeat(100));
    let (status, answer) = post_webhook(&app, &token, deep, &[]).await;
    assert_eq!(status, 400);
    assert_eq!(reason_of(answer).await, "bad_json");

    // Not UTF-8.
    let (status, answer) =
        post_webhook(&app, &token, b"{\"event\":\"PURCHASE_\xff\"}".to_vec(), &[]).await;
    assert_eq!(status, 400);
    let latin1_id = first_id(&answer);
    assert_eq!(reason_of(answer).await, "not_utf8");
    let (_, html) = get_html(&admin, &app.at(&format!("/eventos/{latin1_id}"))).await;
    assert!(html.contains("não era UTF-8"), "the page says so");

    // Empty.
    let (status, answer) = post_webhook(&app, &token, "", &[]).await;
    assert_eq!(status, 400);
    assert_eq!(reason_of(answer).await, "empty_body");

    // 5 MB: refused before it is read, nothing stored.
    let before = get_json(&admin, &app.at(&format!("/api/v1/events?store={store_id}"))).await;
    let (status, _) = post_webhook(&app, &token, vec![b' '; 5 * 1024 * 1024], &[]).await;
    assert_eq!(status, 413);
    let after = get_json(&admin, &app.at(&format!("/api/v1/events?store={store_id}"))).await;
    assert_eq!(before["events"], after["events"], "nothing stored for 413");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_webhook_url_is_404_and_stores_nothing() {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let (status, answer) = post_webhook(
        &app,
        "0000000000000000deadbeef00000000",
        fixture("hotmart/purchase-approved-test.json"),
        &[],
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(answer["error"]["code"], "unknown_webhook");
    let listed = get_json(&admin, &app.at("/api/v1/events")).await;
    assert_eq!(listed["events"], serde_json::json!([]));
    let (_, html) = get_html(&admin, &app.at("/eventos")).await;
    assert!(html.contains("Nenhum evento ainda"), "honest empty state");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_filter_shows_only_unmapped_events() {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let (_, token) = create_store(&app, Platform::Hotmart, "Curso da Ana");
    let (_, ok) = post_webhook(
        &app,
        &token,
        fixture("hotmart/purchase-approved-test.json"),
        &[],
    )
    .await;
    let (_, unmapped) = post_webhook(
        &app,
        &token,
        fixture("hotmart/club-module-completed-test.json"),
        &[],
    )
    .await;
    let (ok, unmapped) = (first_id(&ok), first_id(&unmapped));

    // The help reads the right way round: if it matters, map it; if not, ignore or switch it off.
    let (_, event) = get_html(&admin, &app.at(&format!("/eventos/{unmapped}"))).await;
    assert!(
        event.contains("Se ele importa para você, use “Mapear este evento”")
            && event.contains("desative o envio dele na plataforma")
            && event.contains("data-testid=\"map-event\""),
        "unmapped help"
    );

    let listed = get_json(&admin, &app.at("/api/v1/events?status=unmapped")).await;
    let ids: Vec<u64> = listed["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["id"].as_u64().expect("id"))
        .collect();
    assert_eq!(ids, vec![unmapped]);

    let (status, html) = get_html(&admin, &app.at("/eventos?status=unmapped&period=today")).await;
    assert_eq!(status, 200);
    assert!(html.contains(&format!("data-event-id=\"{unmapped}\"")));
    assert!(!html.contains(&format!("data-event-id=\"{ok}\"")));
    assert!(html.contains("CLUB_MODULE_COMPLETED") || html.contains("Não mapeado"));

    let (_, html) = get_html(&admin, &app.at("/eventos?kind=order.paid")).await;
    assert!(html.contains(&format!("data-event-id=\"{ok}\"")));
    assert!(html.contains("Compra aprovada"));
    assert!(!html.contains(&format!("data-event-id=\"{unmapped}\"")));

    let (_, html) = get_html(&admin, &app.at("/eventos?store=deleted")).await;
    assert!(
        html.contains("Nenhum evento corresponde"),
        "no deleted stores yet"
    );

    let refused = admin
        .get(app.at("/api/v1/events?status=lost"))
        .send()
        .await
        .expect("answers");
    assert_eq!(refused.status(), 422);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_unmapped_badge_appears_and_goes_away_once_acknowledged() {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let (_, token) = create_store(&app, Platform::Hotmart, "Curso da Ana");
    let (_, html) = get_html(&admin, &app.at("/")).await;
    assert!(!html.contains("data-testid=\"unmapped-badge\""));

    for _ in 0..2 {
        // The same body twice is one event and one duplicate: the badge counts events.
        post_webhook(
            &app,
            &token,
            fixture("hotmart/club-module-completed-test.json"),
            &[],
        )
        .await;
    }
    let (_, html) = get_html(&admin, &app.at("/")).await;
    assert!(
        html.contains("data-testid=\"unmapped-badge\""),
        "badge shown"
    );
    let (_, html) = get_html(&admin, &app.at("/eventos")).await;
    assert!(html.contains("1 evento não mapeado chegou"), "banner");
    assert!(html.contains("fica guardado"), "explains that it is kept");
    assert!(html.contains("Duplicatas: 1"));

    let csrf = app.csrf(&admin, "/eventos").await;
    // One more arrives after the banner was drawn: acknowledging what was seen keeps it flagged.
    let (_, other) = create_store(&app, Platform::Hotmart, "Outra loja");
    post_webhook(
        &app,
        &other,
        fixture("hotmart/club-module-completed-test.json"),
        &[],
    )
    .await;
    let acknowledge = || {
        admin
            .post(app.at("/eventos/reconhecer"))
            .form(&[("_csrf", csrf.as_str()), ("seen", "1")])
            .send()
    };
    let response = acknowledge().await.expect("acknowledge answers");
    assert_eq!(response.status(), 303);
    let (_, html) = get_html(&admin, &app.at("/eventos")).await;
    assert!(
        html.contains("1 evento não mapeado chegou"),
        "the later one"
    );
    acknowledge().await.expect("acknowledge answers");
    let (_, html) = get_html(&admin, &app.at("/eventos?ok=unmapped_acknowledged")).await;
    assert!(
        !html.contains("data-testid=\"unmapped-badge\""),
        "badge gone"
    );
    assert!(
        !html.contains("data-testid=\"unmapped-alert\""),
        "banner gone"
    );
    assert!(html.contains("data-event-id="), "the event is still listed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_detail_page_shows_the_raw_body_beside_the_normalised_event_escaped() {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let (_, token) = create_store(&app, Platform::Api, "Loja própria");
    let body = r#"{"kind":"pix.generated","order_id":"PED-77","customer":{"name":"Ana <script>alert(1)</script> Souza","phone":"11987654321","email":"ana.souza@example.com"},"total_cents":19700,"payment":{"method":"pix","pix_code":"000201"}}"#;
    let (status, answer) = post_webhook(&app, &token, body, &[]).await;
    assert!(status == 202, "{status} {answer}");
    let id = first_id(&answer);
    let (status, html) = get_html(&admin, &app.at(&format!("/eventos/{id}"))).await;
    assert_eq!(status, 200);
    let block = |testid: &str| {
        let start = html
            .find(&format!("data-testid=\"{testid}\""))
            .unwrap_or_else(|| panic!("{testid} block"));
        let end = start + html[start..].find("</pre>").expect("block ends");
        html[start..end].to_owned()
    };
    assert!(block("raw-body").contains("ana.souza@example.com"));
    assert!(block("normalised-event").contains("ana.souza@example.com"));
    assert!(
        block("raw-body").contains(",&quot;customer&quot;:{"),
        "shown as received, not re-serialised"
    );
    assert!(!html.contains("<script>alert(1)"), "raw bodies are escaped");
    assert!(html.contains("&lt;script&gt;"));

    let (status, _) = get_html(&admin, &app.at("/eventos/999999")).await;
    assert_eq!(status, 404);
    let missing = admin
        .get(app.at("/api/v1/events/999999"))
        .send()
        .await
        .expect("answers");
    assert_eq!(missing.status(), 404);

    let detail = get_json(&admin, &app.at(&format!("/api/v1/events/{id}"))).await;
    assert_eq!(detail["event"]["store_name"], "Loja própria");
    assert!(
        detail["raw"]["body"]
            .as_str()
            .expect("body text")
            .contains("PED-77")
    );
    assert!(detail["raw"]["headers"].is_array());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_anonymous_visitor_is_sent_to_login_and_the_api_refuses() {
    let app = TestApp::start().await;
    app.setup_admin().await;
    let anonymous = app.client();
    for path in ["/eventos", "/eventos/1"] {
        let response = anonymous.get(app.at(path)).send().await.expect("answers");
        assert_eq!(response.status(), 303, "{path}");
        let location = response.headers()["location"].to_str().expect("location");
        assert!(location.starts_with("/login?next="), "{path}: {location}");
    }
    for path in ["/api/v1/events", "/api/v1/events/1"] {
        let response = anonymous.get(app.at(path)).send().await.expect("answers");
        assert_eq!(response.status(), 401, "{path}");
    }
}

/// The value of the first field named `key` anywhere in `value`.
fn find_field(value: &Value, key: &str) -> Option<String> {
    match value {
        Value::Object(map) => map.iter().find_map(|(k, v)| match v {
            Value::String(s) if k == key && !s.is_empty() => Some(s.clone()),
            _ => find_field(v, key),
        }),
        Value::Array(items) => items.iter().find_map(|v| find_field(v, key)),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_secrets_in_bodies_are_masked_in_every_raw_view_and_kept_in_storage() {
    let app = TestApp::start().await;
    app.setup_admin().await;
    let attendant = app.attendant("caixa@loja.com.br").await;
    let cases = [
        (Platform::Ticto, "ticto/pix_created.json", "token"),
        (
            Platform::Guru,
            "guru/transaction-abandoned.json",
            "api_token",
        ),
        (
            Platform::Perfectpay,
            "perfectpay/approved-subscription_started-real.json",
            "token",
        ),
        (
            Platform::Monetizze,
            "monetizze/postback-all-fields-tipoEvento-6-completa.json",
            "chave_unica",
        ),
        (
            Platform::Braip,
            "braip/ABANDONO-test.json",
            "basic_authentication",
        ),
        (
            Platform::Hotmart,
            "hotmart/purchase-approved-pix-real.json",
            "hottok",
        ),
    ];
    for (platform, file, key) in cases {
        let body = std::fs::read(fixtures_dir().join(file)).expect("fixture");
        let parsed: Value = serde_json::from_slice(&body).expect("JSON fixture");
        let Some(secret) = find_field(&parsed, key) else {
            // Hotmart's current fixtures carry the hottok in a header (never stored).
            assert_eq!(platform, Platform::Hotmart, "{file} has a {key}");
            continue;
        };
        let (_, token) = create_store(&app, platform, &format!("Loja {file}"));
        let headers = topic_headers(platform, "");
        let (status, answer) = post_webhook(&app, &token, body.clone(), &headers).await;
        assert!(matches!(status, 200 | 202), "{file}: {status} {answer}");
        let id = first_id(&answer);

        let (status, html) = get_html(&attendant, &app.at(&format!("/eventos/{id}"))).await;
        assert_eq!(status, 200);
        assert!(!html.contains(&secret), "{file}: the page shows its {key}");
        assert!(html.contains("••••••"), "{file}: the mask is shown");
        let detail = get_json(&attendant, &app.at(&format!("/api/v1/events/{id}"))).await;
        let shown = detail["raw"]["body"].as_str().expect("body text");
        assert!(!shown.contains(&secret), "{file}: the API shows its {key}");
        assert!(shown.contains("••••••"), "{file}");

        let stored = app.db.event(avisa::domain::EventId(id)).expect("stored").1;
        assert_eq!(
            stored.body, body,
            "{file}: the stored bytes are as received"
        );
    }
}

/// Order memory through the webhook door: Appmax's real `OrderApproved` names the buyer of
/// order 1; its real `OrderPaid`, thin in the sandbox, arrives later and takes that buyer. The
/// event page and the API say where the buyer came from.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thin_event_takes_its_orders_buyer_and_the_page_says_from_where() {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let (_, token) = create_store(&app, Platform::Appmax, "Loja Appmax");
    let (status, answer) =
        post_webhook(&app, &token, fixture("appmax/OrderApproved.json"), &[]).await;
    assert_eq!(status, 202, "{answer}");
    let full = first_id(&answer);
    let (status, answer) = post_webhook(&app, &token, fixture("appmax/OrderPaid.json"), &[]).await;
    assert_eq!(status, 202, "{answer}");
    let thin = first_id(&answer);

    let detail = get_json(&admin, &app.at(&format!("/api/v1/events/{thin}"))).await;
    assert_eq!(detail["event"]["status"], "ok", "{detail}");
    assert_eq!(detail["event"]["buyer_from"], full);
    let (status, html) = get_html(&admin, &app.at(&format!("/eventos/{thin}"))).await;
    assert_eq!(status, 200);
    let at = html
        .find("data-testid=\"buyer-from\"")
        .expect("the page says where the buyer came from");
    let note = &html[at..at + html[at..].find("</span>").expect("note ends")];
    assert!(
        note.contains(&format!("href=\"/eventos/{full}\"")),
        "links the earlier event: {note}"
    );
    assert!(note.contains("evento anterior do mesmo pedido"), "{note}");
    // The earlier event itself names its own buyer: no note.
    let (_, html) = get_html(&admin, &app.at(&format!("/eventos/{full}"))).await;
    assert!(!html.contains("data-testid=\"buyer-from\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_integrations_page_lists_every_platform_with_its_notifications() {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let (status, html) = get_html(&admin, &app.at("/integracoes")).await;
    assert_eq!(status, 200);
    for platform in Platform::ALL {
        assert!(
            html.contains(&format!("data-testid=\"integration-{}\"", platform.id())),
            "{platform}"
        );
    }
    assert!(html.contains("Prioridade no caminho feliz"));
    assert!(html.contains("<code>PURCHASE_BILLET_PRINTED</code>"));
    assert!(html.contains("<code>PAYMENT_RECEIVED</code>"));
}
