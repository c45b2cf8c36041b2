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
        .unwrap_or_else(|e| panic!("click {css}: {e}"));
}

/// Clicks the body's field at `path` and checks that the path box `field` took it.
async fn pick(c: &Client, field: &str, path: &str) {
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

/// Focuses a path box, brings the body's field at `path` into sight under the sticky top bar
/// (as the merchant scrolls back up to the tree), then clicks it.
async fn map(c: &Client, field: &str, path: &str) {
    click(c, &format!("[data-testid=\"path-{field}\"]")).await;
    let leaf = c
        .find(Locator::Css(&format!(
            "button.tree-leaf[data-path=\"{path}\"]"
        )))
        .await
        .expect("the field in the tree");
    c.execute(
        "arguments[0].scrollIntoView({ block: 'center' })",
        vec![serde_json::to_value(&leaf).expect("element as JSON")],
    )
    .await
    .expect("scroll the tree");
    pick(c, field, path).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merchant_clicks_the_fields_of_a_raw_body_and_saves_a_mapping() {
    let _turn = ONE_BROWSER.lock().await;
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let token = app.api_token(&admin).await;
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

    // Click, click, click: after a pick the next empty box is the target, and the tree stays
    // where it was (the page used to scroll to that box, hiding the tree under the top bar).
    map(&c, "event_field", "evento").await;
    pick(&c, "customer.phone", "cliente.fone").await;
    pick(&c, "customer.name", "cliente.nome").await;
    map(&c, "order_id", "pedido.numero").await;
    map(&c, "total", "pedido.valor").await;
    map(&c, "products.name", "itens.0.descricao").await;

    // The preview reads the event name; its kind is picked in the names table.
    // The page reads the latest held event, so the preview posts to `…/previa?evento=N`.
    let preview = c
        .find(Locator::Css("[data-testid=mapping-preview-button]"))
        .await
        .expect("the preview button")
        .attr("formaction")
        .await
        .expect("its action")
        .expect("a form action");
    assert!(
        preview.starts_with(&format!("/lojas/{store}/mapeamento/previa?evento=")),
        "{preview}"
    );
    click(&c, "[data-testid=mapping-preview-button]").await;
    arrive(&c, &preview).await;
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
    // The screenshot shows the clicked tree beside the previewed message.
    c.execute("window.scrollTo(0, 0)", vec![])
        .await
        .expect("back to the top");
    shot(&c, "18-mapping").await;
    // The body and its preview share the page's width (the title's): the form is not held to a
    // narrow column.
    let spare: serde_json::Value = c
        .execute(
            "return document.querySelector('h1').getBoundingClientRect().width \
             - document.getElementById('mapping-form').getBoundingClientRect().width;",
            vec![],
        )
        .await
        .expect("widths");
    assert!(
        spare.as_f64().expect("a number") < 1.0,
        "the mapping form leaves {spare} px of the page unused"
    );

    click(&c, "[data-testid=mapping-save]").await;
    arrive(&c, &format!("/lojas/{store}?ok=mapping_saved#mapeamento")).await;
    // The anchor lands the card's heading below the sticky top bar, not under it.
    let hidden: serde_json::Value = c
        .execute(
            "return document.getElementById('mapeamento').getBoundingClientRect().top \
             - document.querySelector('.topbar').getBoundingClientRect().bottom",
            vec![],
        )
        .await
        .expect("measure");
    assert!(
        hidden.as_f64().expect("a number") >= 0.0,
        "the card starts {hidden}px under the top bar"
    );
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

    // Saved in the data file: the API reads back what the clicks wrote.
    let saved: serde_json::Value = reqwest::Client::new()
        .get(app.at(&format!("/api/v1/stores/{store}/mapping")))
        .bearer_auth(&token)
        .send()
        .await
        .expect("API answers")
        .json()
        .await
        .expect("json");
    assert_eq!(saved["event_field"], "evento", "{saved}");
    assert_eq!(
        saved["kinds"],
        serde_json::json!({ "PEDIDO_PAGO": "order.paid" }),
        "{saved}"
    );
    assert_eq!(
        saved["fields"],
        serde_json::json!({
            "customer.phone": "cliente.fone",
            "customer.name": "cliente.nome",
            "order_id": "pedido.numero",
            "total": "pedido.valor",
            "products.name": "itens.0.descricao",
        }),
        "{saved}"
    );
    assert_eq!(saved["amount_unit"], "reais", "{saved}");

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
