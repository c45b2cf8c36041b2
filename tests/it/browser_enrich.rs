//! The store page's "API da plataforma" card for a platform of several credential fields
//! (VTEX: account, app key, app token) in real Chromium: the merchant fills the three fields,
//! saves, and sees them back, the app token masked and never in the page; the account typed as
//! the store's address is kept as its bare name. Screenshot: target/screenshots/19-store-api.png.

use fantoccini::{Client, Locator};

use crate::browser::{ONE_BROWSER, arrive, fill, logged_in, shot};
use crate::events::create_store;
use crate::support::TestApp;

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
    let (store, _hook) = create_store(&app, avisa::domain::Platform::Vtex, "Loja VTEX");

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
    c.find(Locator::Css("#api button[type=submit]"))
        .await
        .expect("Salvar credenciais")
        .click()
        .await
        .expect("click");
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
    c.find(Locator::Css("#api button[type=submit]"))
        .await
        .expect("Salvar credenciais")
        .click()
        .await
        .expect("click");
    arrive(&c, &format!("/lojas/{store}?ok=api_token_unchanged#api")).await;
    let saved = app
        .db
        .api_credentials(avisa::domain::StoreId(store))
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
