//! The store page's "API da plataforma" card for a platform of several credential fields
//! (VTEX: account, app key, app token) in real Chromium: the merchant fills the three fields,
//! saves, and sees them back, the app token masked and never in the page; the account typed as
//! the store's address is kept as its bare name. Screenshot: target/screenshots/19-store-api.png.
//!
//! Then the "API da plataforma" card in real Chromium for the two platforms whose credentials
//! are more than a token: a Mercado Livre merchant reads what to expect (the buyer's phone is
//! not shared) and saves the app's three fields; an Efí merchant pastes the certificate's PEM
//! text (with its line breaks) in the textarea, reads how to convert the .p12, and sees it
//! saved without the key on the page. Screenshots: `17d-…`.
//!
//! And a Tray notification that came before the store had credentials: its event page says
//! why it waits and its button leads to the card. Screenshot: `19b-event-needs-api.png`.

use fantoccini::{Client, Locator};

use crate::browser::{ONE_BROWSER, arrive, click, fill, logged_in, shot};
use crate::events::{create_store, post_webhook};
use crate::support::TestApp;
use avisa::domain::{Platform, StoreId};

const APP_TOKEN: &str = "XQJZKWPLMNBVCRTYUIOASDFGHJKLZXCVBNMQWERTYUIOPASDFG1234567890ABCD";

async fn value_of(c: &Client, id: &str) -> String {
    c.find(Locator::Id(id))
        .await
        .unwrap_or_else(|_| panic!("#{id}"))
        .prop("value")
        .await
        .expect("its value")
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrich_the_store_page_saves_several_credential_fields_and_shows_the_secret_masked() {
    let _turn = ONE_BROWSER.lock().await;
    let app = TestApp::start().await;
    let _admin = app.setup_admin().await;
    let (store, _hook) = create_store(&app, Platform::Vtex, "Loja VTEX");

    let (_driver, _profile, c) = logged_in(&app).await;
    c.goto(&app.at(&format!("/lojas/{store}#api")))
        .await
        .expect("open");
    let card = c
        .find(Locator::Css("[data-testid=store-api]"))
        .await
        .expect("the API card")
        .text()
        .await
        .expect("text");
    for label in ["Nome da conta VTEX", "App key", "App token", "View order"] {
        assert!(card.contains(label), "{label} in {card}");
    }
    assert_eq!(
        c.find(Locator::Id("api-token"))
            .await
            .expect("the app token field")
            .attr("type")
            .await
            .expect("type")
            .as_deref(),
        Some("password"),
        "the secret is typed unseen"
    );
    fill(&c, "api-account", "https://MinhaLoja.myvtex.com/").await;
    fill(&c, "api-app_key", "vtexappkey-minhaloja-QWERTY").await;
    fill(&c, "api-token", APP_TOKEN).await;
    click(&c, "#api button[type=submit]", "Salvar credenciais").await;
    arrive(&c, &format!("/lojas/{store}?ok=api_token_saved#api")).await;

    let state = c
        .find(Locator::Css("[data-testid=api-token-state]"))
        .await
        .expect("what is saved")
        .text()
        .await
        .expect("text");
    assert!(state.contains("minhaloja"), "{state}");
    assert!(state.contains("vtexappkey-minhaloja-QWERTY"), "{state}");
    assert!(state.contains("••••ABCD"), "the app token masked: {state}");
    let html = c.source().await.expect("page source");
    assert!(
        !html.contains(&APP_TOKEN[..40]),
        "never the app token itself"
    );
    assert_eq!(value_of(&c, "api-account").await, "minhaloja");
    assert_eq!(
        value_of(&c, "api-token").await,
        "",
        "the secret is never put back"
    );

    // Saving again with the token left empty keeps it.
    click(&c, "#api button[type=submit]", "Salvar credenciais").await;
    arrive(&c, &format!("/lojas/{store}?ok=api_token_unchanged#api")).await;
    let saved = app
        .db
        .api_credentials(StoreId(store))
        .expect("read")
        .expect("saved");
    assert_eq!(saved.get("account"), Some("minhaloja"));
    assert_eq!(saved.get("app_key"), Some("vtexappkey-minhaloja-QWERTY"));
    assert_eq!(saved.get("token"), Some(APP_TOKEN));

    c.execute(
        "document.getElementById('api').scrollIntoView({ block: 'start' })",
        vec![],
    )
    .await
    .expect("scroll to the card");
    shot(&c, "19-store-api").await;
}

async fn card(c: &Client) -> String {
    c.execute(
        "document.querySelector('[data-testid=store-api]').scrollIntoView(); return 0;",
        vec![],
    )
    .await
    .expect("scroll");
    c.find(Locator::Css("[data-testid=store-api]"))
        .await
        .expect("the card")
        .text()
        .await
        .expect("text")
}

/// Saves the card's form and waits for the page it lands on: a click returns before its
/// navigation ends, and the card read from the old page would go stale.
async fn submit(c: &Client, store: u64) {
    click(
        c,
        "[data-testid=store-api] button[type=submit]",
        "the button",
    )
    .await;
    arrive(c, &format!("/lojas/{store}?ok=api_token_saved#api")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrich_mercadolivre_and_efi_credentials_are_saved_on_the_store_page() {
    let _turn = ONE_BROWSER.lock().await;
    let app = TestApp::start().await;
    let _admin = app.setup_admin().await;
    let (ml, _) = create_store(&app, Platform::Mercadolivre, "Loja ML");
    let (efi, _) = create_store(&app, Platform::Efi, "Loja Efi");
    let (_driver, _profile, c) = logged_in(&app).await;

    c.goto(&app.at(&format!("/lojas/{ml}")))
        .await
        .expect("open");
    let text = card(&c).await;
    assert!(text.contains("não compartilha o telefone"), "{text}");
    fill(&c, "api-client_id", "5503910054141466").await;
    fill(&c, "api-client_secret", "ml-secret-abcdefghijkl-0042").await;
    fill(&c, "api-refresh_token", "TG-5f0c1d2e3b4a-468424240").await;
    submit(&c, ml).await;
    let text = card(&c).await;
    assert!(text.contains("5503910054141466"), "{text}");
    assert!(!text.contains("TG-5f0c1d2e3b4a"), "{text}");
    shot(&c, "17d-store-mercadolivre-api").await;

    let dir = tempfile::tempdir().expect("tempdir");
    let out = std::process::Command::new("openssl")
        .current_dir(dir.path())
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
    assert!(out.status.success());
    let pem = ["cert.pem", "key.pem"]
        .map(|f| std::fs::read_to_string(dir.path().join(f)).expect("pem"))
        .concat();

    c.goto(&app.at(&format!("/lojas/{efi}")))
        .await
        .expect("open");
    let text = card(&c).await;
    assert!(
        text.contains("openssl pkcs12 -in certificado.p12"),
        "{text}"
    );
    fill(&c, "api-client_id", "Client_Id_0123456789").await;
    fill(&c, "api-client_secret", "Client_Secret_0123456789abcdef").await;
    fill(&c, "api-certificate", &pem).await;
    shot(&c, "17d-store-efi-api-pasted").await;
    submit(&c, efi).await;
    let text = card(&c).await;
    assert!(text.contains("certificado salvo"), "{text}");
    assert!(!text.contains("PRIVATE KEY"), "{text}");
    shot(&c, "17d-store-efi-api-saved").await;
    let saved = app
        .db
        .api_credentials(StoreId(efi))
        .expect("read")
        .expect("saved");
    assert!(
        saved
            .get("certificate")
            .is_some_and(|p| p.contains("-----END PRIVATE KEY-----")),
        "the whole PEM text arrived"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrich_a_thin_event_without_credentials_leads_to_the_card() {
    let _turn = ONE_BROWSER.lock().await;
    let app = TestApp::start().await;
    let _admin = app.setup_admin().await;
    let (store, hook) = create_store(&app, Platform::Tray, "Loja Tray");
    let body = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/tray/order-update-test.form"),
    )
    .expect("fixture");
    let headers = [(
        "Content-Type",
        "application/x-www-form-urlencoded".to_owned(),
    )];
    let (status, answer) = post_webhook(&app, &hook, body, &headers).await;
    assert!((200..300).contains(&status), "{status}: {answer}");
    let id = answer["event_ids"][0].as_u64().expect("an event id");

    let (_driver, _profile, c) = logged_in(&app).await;
    c.goto(&app.at(&format!("/eventos/{id}")))
        .await
        .expect("open");
    let hint = c
        .find(Locator::Css("[data-testid=event-needs-api]"))
        .await
        .expect("the hint")
        .text()
        .await
        .expect("text");
    assert!(hint.contains("Salve as credenciais da API"), "{hint}");
    assert!(
        c.find_all(Locator::Css("[data-testid=map-event]"))
            .await
            .expect("looked")
            .is_empty(),
        "no mapping offered"
    );
    shot(&c, "19b-event-needs-api").await;
    click(&c, "[data-testid=event-needs-api] a", "the button").await;
    arrive(&c, &format!("/lojas/{store}#api")).await;
    c.find(Locator::Css("[data-testid=store-api]"))
        .await
        .expect("the card");
}
