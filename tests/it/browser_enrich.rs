//! A store's "API da plataforma" card in real Chromium for the two platforms whose credentials
//! are more than a token: a Mercado Livre merchant reads what to expect (the buyer's phone is
//! not shared) and saves the app's three fields; an Efí merchant pastes the certificate's PEM
//! text (with its line breaks) in the textarea, reads how to convert the .p12, and sees it
//! saved without the key on the page. Screenshots: `17d-…`.

use fantoccini::{Client, Locator};

use crate::browser::{ONE_BROWSER, logged_in, shot};
use crate::events::create_store;
use crate::support::TestApp;
use avisa::domain::{Platform, StoreId};

async fn fill(c: &Client, css: &str, text: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|_| panic!("{css} on the page"))
        .send_keys(text)
        .await
        .expect("typed");
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

async fn submit(c: &Client) {
    c.find(Locator::Css("[data-testid=store-api] button[type=submit]"))
        .await
        .expect("the button")
        .click()
        .await
        .expect("saved");
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
    fill(&c, "#api-client_id", "5503910054141466").await;
    fill(&c, "#api-client_secret", "ml-secret-abcdefghijkl-0042").await;
    fill(&c, "#api-refresh_token", "TG-5f0c1d2e3b4a-468424240").await;
    submit(&c).await;
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
    fill(&c, "#api-client_id", "Client_Id_0123456789").await;
    fill(&c, "#api-client_secret", "Client_Secret_0123456789abcdef").await;
    fill(&c, "#api-certificate", &pem).await;
    shot(&c, "17d-store-efi-api-pasted").await;
    submit(&c).await;
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
