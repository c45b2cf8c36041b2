//! Mapeamento in real Chromium: a `custom` store received a body no recogniser knows; the
//! merchant opens the mapping page, clicks the fields of the raw body, picks the kind, sees the
//! preview of the message, saves, and re-processes the held event. Screenshot:
//! target/screenshots/18-mapping.png.

use fantoccini::{Client, Locator};

use crate::browser::{ONE_BROWSER, arrive, logged_in, shot};
use crate::events::{create_store, post_webhook};
use crate::support::TestApp;

async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|_| panic!("{css} on the page"))
        .click()
        .await
        .unwrap_or_else(|_| panic!("click {css}"));
}

/// Focuses a path box, then clicks the body's field at `path`.
async fn map(c: &Client, field: &str, path: &str) {
    click(c, &format!("[data-testid=\"path-{field}\"]")).await;
    click(c, &format!("button.tree-leaf[data-path=\"{path}\"]")).await;
    let value = c
        .find(Locator::Css(&format!("[data-testid=\"path-{field}\"]")))
        .await
        .expect("the path box")
        .prop("value")
        .await
        .expect("its value");
    assert_eq!(
        value.as_deref(),
        Some(path),
        "{field} took the clicked path"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merchant_clicks_the_fields_of_a_raw_body_and_saves_a_mapping() {
    let _turn = ONE_BROWSER.lock().await;
    let app = TestApp::start().await;
    app.setup_admin().await;
    let (store, hook) = create_store(&app, avisa::domain::Platform::Custom, "Meu ERP");
    let body = serde_json::json!({
        "evento": "PEDIDO_PAGO",
        "pedido": { "numero": "1001", "valor": "197.90" },
        "cliente": { "nome": "Ana Souza", "fone": "(11) 98765-4321" },
        "itens": [{ "descricao": "Curso de Confeitaria" }],
    })
    .to_string();
    let (status, _) = post_webhook(&app, &hook, body, &[]).await;
    assert_eq!(status, 202);

    let (_driver, _profile, c) = logged_in(&app).await;
    c.goto(&app.at(&format!("/lojas/{store}")))
        .await
        .expect("open");
    click(&c, "[data-testid=open-mapping]").await;
    arrive(&c, &format!("/lojas/{store}/mapeamento")).await;

    map(&c, "event_field", "evento").await;
    map(&c, "customer.phone", "cliente.fone").await;
    map(&c, "customer.name", "cliente.nome").await;
    map(&c, "order_id", "pedido.numero").await;
    map(&c, "total", "pedido.valor").await;
    map(&c, "products.name", "itens.0.descricao").await;

    // The preview reads the event name; its kind is picked in the names table.
    click(&c, "[data-testid=mapping-preview-button]").await;
    arrive(&c, &format!("/lojas/{store}/mapeamento/previa")).await;
    c.find(Locator::Css("[data-testid=kind-PEDIDO_PAGO]"))
        .await
        .expect("the name read from the body")
        .select_by_value("order.paid")
        .await
        .expect("pick Compra aprovada");
    // The live preview renders the message this body would send.
    let message = c
        .wait()
        .at_most(std::time::Duration::from_secs(20))
        .for_element(Locator::Css("[data-testid=preview-message]"))
        .await
        .expect("a message in the preview")
        .text()
        .await
        .expect("text");
    assert!(message.contains("Ana"), "{message}");
    shot(&c, "18-mapping").await;

    click(&c, "[data-testid=mapping-save]").await;
    arrive(&c, &format!("/lojas/{store}?ok=mapping_saved#mapeamento")).await;
    let card = c
        .find(Locator::Css("[data-testid=store-mapping]"))
        .await
        .expect("the mapping card")
        .text()
        .await
        .expect("text");
    assert!(
        card.contains("PEDIDO_PAGO") && card.contains("Compra aprovada"),
        "{card}"
    );

    click(&c, "[data-testid=reprocess]").await;
    arrive(
        &c,
        &format!("/lojas/{store}?ok=reprocessed_one&n=1#mapeamento"),
    )
    .await;
    let flash = c
        .find(Locator::Css(".flash.ok"))
        .await
        .expect("a flash")
        .text()
        .await
        .expect("text");
    assert_eq!(flash, "1 evento passou a ser reconhecido e foi planejado.");
    shot(&c, "18-mapping-saved").await;
    c.close().await.expect("close browser");
}
