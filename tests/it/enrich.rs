//! Thin notifications end to end through the real server: the store's API token is saved on its
//! page and shown back masked; an Asaas charge (its buyer only an id) is answered at once while
//! the platform's API (a loopback stand-in that answers only when the test lets it) has not
//! answered yet; the event shows "Aguardando dados da plataforma" on the list and its page; the
//! API refuses the token and the event ends invalid, "Token da API inválido".

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use actix_web::{App, HttpResponse, HttpServer, web};
use avisa::domain::{EventId, Platform};
use avisa::ingest::Status;
use tokio::sync::watch;

use crate::events::{create_store, post_webhook};
use crate::support::TestApp;

const FULL_TOKEN: &str = "$aact_YTU5YTE0M2M2N2I4MTliNzk0YTI5N2U5MzdjNWZmNDQ6OjAwMDAwMDAwMDAwMDA0MjI0ODU6OiRhYWNoXzAwMDAwMDAw";

struct StandIn {
    release: watch::Sender<bool>,
    calls: Arc<AtomicUsize>,
}

/// A stand-in of Asaas's API that holds every call until released, then answers 401 with the
/// body Asaas documents for a wrong key (docs.asaas.com "Códigos HTTP das respostas").
async fn stand_in() -> (String, StandIn) {
    let (release, released) = watch::channel(false);
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    let server = HttpServer::new(move || {
        let released = released.clone();
        let seen = seen.clone();
        App::new().default_service(web::to(move || {
            let mut released = released.clone();
            let seen = seen.clone();
            async move {
                seen.fetch_add(1, Ordering::SeqCst);
                let _ = released.wait_for(|r| *r).await;
                HttpResponse::Unauthorized().json(serde_json::json!({
                    "errors": [{"code": "invalid_access_token",
                                "description": "A chave de API fornecida é inválida"}]
                }))
            }
        }))
    })
    .workers(1)
    .bind("127.0.0.1:0")
    .expect("bind loopback");
    let url = format!("http://{}", server.addrs()[0]);
    tokio::spawn(server.run());
    (url, StandIn { release, calls })
}

/// Waits (on the worker's bell, with a safety net for a broken build) until the event is no
/// longer awaiting.
pub(crate) async fn ended(app: &TestApp, id: u64) -> avisa::db::EventRecord {
    for _ in 0..50 {
        let seen = avisa::db::enrichment_rings();
        let record = app.db.event(EventId(id)).expect("event").0;
        if record.status != Status::Awaiting {
            return record;
        }
        tokio::task::spawn_blocking(move || {
            avisa::db::wait_for_enrichment(seen, Duration::from_millis(200))
        })
        .await
        .expect("waited");
    }
    panic!("event {id} still awaiting");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrich_a_thin_webhook_is_answered_at_once_waits_visibly_and_ends_on_a_refused_token() {
    let (base, api) = stand_in().await;
    let app = TestApp::start_configured(|c| c.platform_api_stand_in = Some(base)).await;
    let admin = app.setup_admin().await;
    let (store, token) = create_store(&app, Platform::Asaas, "Loja Asaas");

    let page = format!("/lojas/{store}");
    let csrf = app.csrf(&admin, &page).await;
    let saved = admin
        .post(app.at(&format!("/lojas/{store}/api")))
        .form(&[("_csrf", csrf.as_str()), ("token", FULL_TOKEN)])
        .send()
        .await
        .expect("saved");
    assert_eq!(saved.status().as_u16(), 303);
    let html = app.html(&admin, &page).await;
    assert!(html.contains("data-testid=\"store-api\""));
    assert!(html.contains("••••MDAw"), "the token shown masked");
    assert!(!html.contains(&FULL_TOKEN[6..30]), "never the token itself");

    let body = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/asaas/PAYMENT_CREATED-pix-test.json"),
    )
    .expect("fixture");
    let (status, answer) = post_webhook(&app, &token, body, &[]).await;
    assert!(
        (200..300).contains(&status),
        "{status}: answered before the platform's API answers: {answer}"
    );
    let id = answer["event_ids"][0].as_u64().expect("an event id");
    assert_eq!(
        app.db.event(EventId(id)).expect("event").0.status,
        Status::Awaiting
    );
    let list = app.html(&admin, "/eventos").await;
    assert!(
        list.contains("Aguardando dados da plataforma"),
        "on the list"
    );
    let event_page = app.html(&admin, &format!("/eventos/{id}")).await;
    assert!(event_page.contains("data-testid=\"event-awaiting\""));
    assert!(event_page.contains("Aguardando dados da plataforma"));

    api.release.send(true).expect("released");
    let record = ended(&app, id).await;
    assert_eq!(record.status, Status::Invalid);
    assert!(api.calls.load(Ordering::SeqCst) >= 1);
    let event_page = app.html(&admin, &format!("/eventos/{id}")).await;
    assert!(
        event_page.contains("Token da API inválido"),
        "the reason in pt-BR"
    );
    assert!(
        !event_page.contains(FULL_TOKEN),
        "the token is never on the page"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrich_a_save_must_leave_every_field_filled_and_each_value_usable() {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let (store, _) = create_store(&app, Platform::Vtex, "Loja VTEX");
    let page = format!("/lojas/{store}");
    let save = |fields: Vec<(&'static str, &'static str)>| {
        let admin = admin.clone();
        let app = &app;
        let page = page.clone();
        async move {
            let csrf = app.csrf(&admin, &page).await;
            let mut form = vec![("_csrf", csrf)];
            form.extend(fields.into_iter().map(|(k, v)| (k, v.to_owned())));
            let answer = admin
                .post(app.at(&format!("/lojas/{store}/api")))
                .form(&form)
                .send()
                .await
                .expect("answered");
            (answer.status().as_u16(), answer.text().await.expect("body"))
        }
    };
    let (status, body) = save(vec![("account", "minhaloja")]).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("preencha: App key, App token"), "{body}");
    let (status, body) = save(vec![
        ("account", "minha loja"),
        ("app_key", "vtexappkey-x"),
        ("token", "t0k3n"),
    ])
    .await;
    assert_eq!(status, 422);
    assert!(body.contains("não é um nome de conta VTEX"), "{body}");
    assert_eq!(
        app.db
            .api_credentials(avisa::domain::StoreId(store))
            .expect("read"),
        None,
        "nothing saved"
    );
    let (status, _) = save(vec![
        ("account", "minhaloja"),
        ("app_key", "vtexappkey-x"),
        ("token", "t0k3n"),
    ])
    .await;
    assert_eq!(status, 303);
}

/// Saves a store's API credentials through its page's form.
pub(crate) async fn save_credentials(
    app: &TestApp,
    admin: &reqwest::Client,
    store: u64,
    fields: &[(&str, &str)],
) -> (u16, String) {
    let csrf = app.csrf(admin, &format!("/lojas/{store}")).await;
    let mut form = vec![("_csrf", csrf.as_str())];
    form.extend_from_slice(fields);
    let response = admin
        .post(app.at(&format!("/lojas/{store}/api")))
        .form(&form)
        .send()
        .await
        .expect("posted");
    let status = response.status().as_u16();
    (status, response.text().await.expect("body"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrich_mercadolivre_the_webhook_is_answered_before_any_call_and_a_refused_grant_says_so() {
    let (base, api) = stand_in().await;
    let app = TestApp::start_configured(|c| c.platform_api_stand_in = Some(base)).await;
    let admin = app.setup_admin().await;
    let (store, token) = create_store(&app, Platform::Mercadolivre, "Loja ML");
    let (status, _) = save_credentials(
        &app,
        &admin,
        store,
        &[
            ("client_id", "5503910054141466"),
            ("client_secret", "ml-secret-abcdefghijkl-0042"),
            ("refresh_token", "TG-5f0c1d2e3b4a-468424240"),
        ],
    )
    .await;
    assert_eq!(status, 303);
    let html = app.html(&admin, &format!("/lojas/{store}")).await;
    assert!(html.contains("5503910054141466"), "the app id is shown");
    assert!(!html.contains("ml-secret-abcdefghijkl"), "never the secret");
    assert!(!html.contains("TG-5f0c1d2e3b4a"), "never the refresh token");
    assert!(
        html.contains("não compartilha o telefone"),
        "the form says what to expect"
    );

    let body = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/mercadolivre/orders_v2-test.json"),
    )
    .expect("fixture");
    // Mercado Livre wants a 2xx within 500 ms: the answer comes once the notification is
    // stored, while the API (held by the stand-in) has not answered anything.
    let (status, answer) = post_webhook(&app, &token, body, &[]).await;
    assert!((200..300).contains(&status), "{status}: {answer}");
    let id = answer["event_ids"][0].as_u64().expect("an event id");
    assert_eq!(
        app.db.event(EventId(id)).expect("event").0.status,
        Status::Awaiting
    );

    // The token endpoint refuses the refresh token (the stand-in answers 401).
    api.release.send(true).expect("released");
    let record = ended(&app, id).await;
    assert_eq!(record.status, Status::Invalid);
    assert_eq!(
        record.reason.map(|r| r.detail).as_deref(),
        Some("token da API inválido")
    );
    let saved = app
        .db
        .api_credentials(avisa::domain::StoreId(store))
        .expect("read")
        .expect("kept");
    assert_eq!(
        saved.get("refresh_token"),
        Some("TG-5f0c1d2e3b4a-468424240"),
        "nothing replaced by a refused grant"
    );
}

/// A certificate and its key in one PEM text, as `openssl pkcs12 -nodes` writes them.
fn certificate_pem(dir: &Path) -> (String, String) {
    let out = std::process::Command::new("openssl")
        .current_dir(dir)
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "key.pem",
            "-out",
            "cert.pem",
            "-days",
            "2",
            "-subj",
            "/CN=loja-teste",
        ])
        .output()
        .expect("the openssl command line (CI installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).expect("pem");
    (read("cert.pem"), read("key.pem"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrich_efi_the_certificate_is_pasted_as_pem_checked_on_save_and_never_shown() {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let (store, _) = create_store(&app, Platform::Efi, "Loja Efi");
    let dir = tempfile::tempdir().expect("tempdir");
    let (cert, key) = certificate_pem(dir.path());
    let ids = [
        ("client_id", "Client_Id_0123456789"),
        ("client_secret", "Client_Secret_0123456789abcdef"),
    ];
    for (pasted, says) in [
        (
            "não é um certificado".to_owned(),
            "cole o conteúdo do arquivo .pem",
        ),
        (cert.clone(), "falta a chave privada"),
    ] {
        let mut fields = ids.to_vec();
        fields.push(("certificate", pasted.as_str()));
        let (status, body) = save_credentials(&app, &admin, store, &fields).await;
        assert_eq!(status, 422, "{body}");
        assert!(body.contains(says), "{says}: {body}");
    }
    assert_eq!(
        app.db
            .api_credentials(avisa::domain::StoreId(store))
            .expect("read"),
        None
    );

    let pem = format!("Bag Attributes\n    localKeyID: 01\n{cert}{key}");
    let mut fields = ids.to_vec();
    fields.push(("certificate", pem.as_str()));
    let (status, body) = save_credentials(&app, &admin, store, &fields).await;
    assert_eq!(status, 303, "{body}");
    let saved = app
        .db
        .api_credentials(avisa::domain::StoreId(store))
        .expect("read")
        .expect("saved");
    assert!(
        saved
            .get("certificate")
            .is_some_and(|c| c.contains("-----BEGIN PRIVATE KEY-----\n")),
        "kept with its line breaks"
    );
    let html = app.html(&admin, &format!("/lojas/{store}")).await;
    assert!(html.contains("certificado salvo"));
    assert!(!html.contains("PRIVATE KEY"), "never the key");
    assert!(
        html.contains("openssl pkcs12 -in certificado.p12"),
        "how to convert"
    );
    assert!(html.contains("<textarea id=\"api-certificate\""));
}
