//! The Integrações page and a store's page in real Chromium: a merchant on Shopify finds how to
//! set it up, how avisa checks the deliveries, whether UTMs come along and the table of
//! notifications, on both pages. Screenshots: `17b-…`.

use fantoccini::{Client, Locator};

use crate::browser::{ONE_BROWSER, click, heading, logged_in, shot};
use crate::events::create_store;
use crate::support::TestApp;
use avisa::domain::Platform;

async fn text_of(c: &Client, css: &str) -> String {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|_| panic!("{css} on the page"))
        .text()
        .await
        .expect("text")
}

async fn scroll_to(c: &Client, css: &str) {
    let script = format!("document.querySelector('{css}').scrollIntoView()");
    c.execute(&script, vec![]).await.expect("scroll");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shopify_merchant_reads_its_integration_guide() {
    let _turn = ONE_BROWSER.lock().await;
    let app = TestApp::start().await;
    let _admin = app.setup_admin().await;
    let (store, _) = create_store(&app, Platform::Shopify, "Loja da Ana");

    let (_driver, _profile, c) = logged_in(&app).await;
    c.goto(&app.at("/integracoes")).await.expect("open");
    assert_eq!(heading(&c).await, "Integrações");
    shot(&c, "17b-integrations-top").await;

    let shopify = "[data-testid=integration-shopify]";
    scroll_to(&c, shopify).await;
    let guide = text_of(&c, shopify).await;
    for wanted in [
        "X-Shopify-Topic",
        "Variáveis de rastreamento",
        "landing_site",
        "orders/paid",
        "shipment_status: out_for_delivery",
    ] {
        assert!(guide.contains(wanted), "{wanted} in {guide}");
    }
    assert!(
        !guide.contains('`'),
        "no Markdown backticks on the page: {guide}"
    );
    shot(&c, "17b-integrations-shopify").await;

    // The store's own page carries the same guide, folded under its setup steps.
    c.goto(&app.at(&format!("/lojas/{store}")))
        .await
        .expect("open");
    let folded = "[data-testid=integration-guide]";
    scroll_to(&c, folded).await;
    click(&c, &format!("{folded} summary"), "the guide's summary").await;
    let guide = text_of(&c, folded).await;
    for wanted in [
        "X-Shopify-Hmac-Sha256",
        "orders/create",
        "PIX gerado",
        "Pedido entregue",
    ] {
        assert!(
            guide.contains(wanted),
            "{wanted} on the store page: {guide}"
        );
    }
    scroll_to(&c, folded).await;
    shot(&c, "17b-store-shopify").await;
}
