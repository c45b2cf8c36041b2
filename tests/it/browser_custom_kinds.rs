//! Eventos personalizados in real Chromium: from a store's Templates, the merchant opens "Novo
//! evento personalizado", names it and its variables, lands in its template editor with the
//! variables offered, and finds it in the Templates list. Screenshots: `19c-custom-…`.

use fantoccini::{Client, Locator};

use crate::browser::{ONE_BROWSER, arrive, fill, heading, logged_in, shot};
use crate::events::create_store;
use crate::support::TestApp;

async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|_| panic!("{css} on the page"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("click {css}: {e}"));
}

async fn text_of(c: &Client, css: &str) -> String {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|_| panic!("{css} on the page"))
        .text()
        .await
        .expect("text")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merchant_creates_a_custom_event_and_writes_its_message() {
    let _turn = ONE_BROWSER.lock().await;
    let app = TestApp::start().await;
    let _admin = app.setup_admin().await;
    let (store, _) = create_store(&app, avisa::domain::Platform::Api, "Lives da Ana");

    let (_driver, _profile, c) = logged_in(&app).await;
    c.goto(&app.at(&format!("/templates?loja={store}")))
        .await
        .expect("open");
    assert!(
        text_of(&c, "[data-testid=custom-kinds-empty]")
            .await
            .contains("aniversário"),
        "the empty group says what it is for"
    );
    click(&c, "[data-testid=new-custom-kind]").await;
    arrive(&c, &format!("/templates/personalizados?loja={store}")).await;
    assert_eq!(heading(&c).await, "Eventos personalizados");

    // A malformed variable is refused with the reason, and what was typed stays.
    fill(&c, "ck-label", "Aviso de live").await;
    fill(&c, "ck-vars", "link, Horário").await;
    click(&c, "[data-testid=ck-submit]").await;
    let error = text_of(&c, "[data-testid=custom-kind-error]").await;
    assert!(error.contains("Horário"), "{error}");
    let label = c
        .find(Locator::Id("ck-label"))
        .await
        .expect("label field")
        .prop("value")
        .await
        .expect("value");
    assert_eq!(label.as_deref(), Some("Aviso de live"));
    shot(&c, "19c-custom-kind-refused").await;

    let vars = c.find(Locator::Id("ck-vars")).await.expect("vars field");
    vars.clear().await.expect("clear");
    vars.send_keys("link, horario").await.expect("type");
    click(&c, "[data-testid=ck-submit]").await;
    arrive(
        &c,
        &format!("/templates/{store}/custom.aviso-de-live?ok=custom_kind_created"),
    )
    .await;
    assert!(heading(&c).await.starts_with("Aviso de live"));
    let variables = text_of(&c, "[data-testid=variables]").await;
    for wanted in ["{{ vars.link }}", "{{ vars.horario }}", "{{ saudacao }}"] {
        assert!(variables.contains(wanted), "{wanted} in {variables}");
    }
    shot(&c, "19c-custom-kind-editor").await;

    // The kind is listed on its page and in the store's Templates, off until written.
    c.goto(&app.at(&format!("/templates/personalizados?loja={store}")))
        .await
        .expect("open");
    let row = text_of(&c, "[data-testid=custom-kind-row]").await;
    assert!(
        row.contains("Aviso de live")
            && row.contains("custom.aviso-de-live")
            && row.contains("vars.horario"),
        "{row}"
    );
    let form = c
        .find(Locator::Css("[data-testid=custom-kind-form]"))
        .await
        .expect("the form");
    c.execute(
        "arguments[0].scrollIntoView({ block: 'end' })",
        vec![serde_json::to_value(&form).expect("element as JSON")],
    )
    .await
    .expect("scroll to the form");
    shot(&c, "19c-custom-kinds").await;
    c.goto(&app.at(&format!("/templates?loja={store}")))
        .await
        .expect("open");
    let group = text_of(&c, "[data-testid=kinds-custom]").await;
    assert!(
        group.contains("Aviso de live") && group.contains("Desligado"),
        "{group}"
    );
}
