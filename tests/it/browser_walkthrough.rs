//! What a merchant's first hour found on the pages (issue 13), in real headless Chromium: list
//! pages that fit a phone, the LGPD forget that answers with a redirect and a notice on top and
//! leaves "Ver o evento" working. Screenshots land in target/screenshots/ (`13-…`).

use avisa::domain::{Instance, InstanceMode, Platform};
use fantoccini::{Client, Locator};

use crate::browser::{ONE_BROWSER, arrive, click, heading, logged_in, shot};
use crate::support::TestApp;

fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(path),
    )
    .expect("fixture")
}

/// A Hotmart boleto for `phone` from `name`, with its own delivery id and transaction.
fn boleto(n: u32, phone: &str, name: &str) -> Vec<u8> {
    let mut body: serde_json::Value =
        serde_json::from_slice(&fixture("hotmart/purchase-billet-printed-boleto.json"))
            .expect("json");
    body["id"] = format!("walk-{n}").into();
    body["data"]["purchase"]["transaction"] = format!("HP{n:010}").into();
    body["data"]["buyer"]["checkout_phone"] = phone.into();
    body["data"]["buyer"]["name"] = name.into();
    serde_json::to_vec(&body).expect("json")
}

/// The page's width beyond the viewport, in CSS pixels (0: nothing scrolls sideways).
async fn overflow(c: &Client) -> i64 {
    let value = c
        .execute(
            "const d = document.documentElement; return d.scrollWidth - d.clientWidth;",
            vec![],
        )
        .await
        .expect("script");
    value.as_i64().expect("a number")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_pages_show_cards_that_fit_a_phone_screen() {
    let _turn = ONE_BROWSER.lock().await;
    let app = TestApp::start().await;
    app.setup_admin().await;
    let (_, token) = crate::events::create_store(&app, Platform::Hotmart, "Curso de Confeitaria");
    for n in 1..=2 {
        let body = boleto(n, "11987654321", "Quitéria Bernardes da Silva Albuquerque");
        let (status, _) = crate::events::post_webhook(&app, &token, body, &[]).await;
        assert_eq!(status, 202);
    }
    app.db
        .create_instance(Instance::new(
            "Número principal da loja",
            InstanceMode::Sandbox,
            0,
        ))
        .expect("instance");
    app.attendant("atendente.com.um.endereco.bem.comprido@example.com")
        .await;

    let (_driver, _profile, c) = logged_in(&app).await;
    c.set_window_size(390, 844).await.expect("resize");
    for (path, table, name) in [
        ("/mensagens", "messages-table", "messages"),
        ("/eventos", "events-table", "events"),
        ("/templates", "", "templates"),
        ("/lojas", "", "stores"),
        ("/instancias", "", "instances"),
        ("/usuarios", "", "users"),
    ] {
        c.goto(&app.at(path)).await.expect("open");
        arrive(&c, path).await;
        heading(&c).await;
        let wider = overflow(&c).await;
        // Rows are cards: one row's cells sit one under the other, not side by side.
        let selector = if table.is_empty() {
            "main table tbody tr".to_owned()
        } else {
            format!("[data-testid={table}] tbody tr")
        };
        let row = c
            .find(Locator::Css(&selector))
            .await
            .unwrap_or_else(|_| panic!("{path} lists a row"));
        let arg = serde_json::to_value(&row).expect("element");
        c.execute("arguments[0].scrollIntoView();", vec![arg])
            .await
            .expect("scroll");
        shot(&c, &format!("13-phone-{name}")).await;
        assert!(wider <= 0, "{path} is {wider}px wider than a 390px phone");
        let cells = row.find_all(Locator::Css("td")).await.expect("cells");
        assert!(cells.len() >= 2, "{path}: a row has cells");
        let first = cells[0].rectangle().await.expect("rect");
        let second = cells[1].rectangle().await.expect("rect");
        assert!(
            second.1 >= first.1 + first.3 - 1.0,
            "{path}: the second cell is under the first ({first:?} / {second:?})"
        );
        // And it says which column it is.
        let label = cells[1].attr("data-label").await.expect("attr");
        assert!(
            label.is_some_and(|l| !l.is_empty()),
            "{path}: the cell is labelled"
        );
    }
    c.close().await.expect("close browser");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forgetting_a_buyer_lands_on_a_notice_on_top_and_her_event_link_says_it_was_erased() {
    let _turn = ONE_BROWSER.lock().await;
    let app = TestApp::start().await;
    app.setup_admin().await;
    let (_, token) = crate::events::create_store(&app, Platform::Hotmart, "Curso de Confeitaria");
    let body = boleto(1, "11987654321", "Quitéria Bernardes");
    let (status, _) = crate::events::post_webhook(&app, &token, body, &[]).await;
    assert_eq!(status, 202);
    let mut messages = app
        .db
        .list_messages(&avisa::db::MessageFilter {
            limit: 100,
            ..Default::default()
        })
        .expect("messages");
    let pending = messages.iter().filter(|m| m.status.is_pending()).count();
    assert!(pending > 1, "her reminders wait");
    let message = messages.remove(0);

    let (_driver, _profile, c) = logged_in(&app).await;
    c.goto(&app.at("/configuracoes")).await.expect("open");
    c.find(Locator::Id("forget_phone"))
        .await
        .expect("the forget form")
        .send_keys("(11) 98765-4321")
        .await
        .expect("type");
    click(
        &c,
        "form[action='/configuracoes/lgpd/esquecer'] input[name=confirm]",
        "confirm box",
    )
    .await;
    click(
        &c,
        "form[action='/configuracoes/lgpd/esquecer'] button[type=submit]",
        "button",
    )
    .await;
    arrive(
        &c,
        &format!("/configuracoes?ok=buyer_forgotten_many&n={pending}"),
    )
    .await;
    let flash = c
        .find(Locator::Css("main .flash.ok"))
        .await
        .expect("the notice");
    let text = flash.text().await.expect("text");
    assert!(
        text.contains("Dados do comprador apagados")
            && text.contains(&format!("{pending} mensagens pendentes foram canceladas")),
        "{text}"
    );
    let notice_top = flash.rectangle().await.expect("rect").1;
    let title_top = c
        .find(Locator::Css("main h1"))
        .await
        .expect("title")
        .rectangle()
        .await
        .expect("rect")
        .1;
    assert!(
        notice_top < title_top,
        "the notice is at the top, above the title"
    );
    shot(&c, "13-lgpd-forgotten").await;

    // Her message says she was erased, and its "Ver o evento" link opens.
    c.goto(&app.at(&format!("/mensagens/{}", message.id)))
        .await
        .expect("open");
    let page = c
        .find(Locator::Css("main"))
        .await
        .expect("main")
        .text()
        .await
        .expect("text");
    assert!(page.contains("comprador apagado (LGPD)"), "{page}");
    assert!(
        !page.contains("Quitéria") && !page.contains("4321"),
        "{page}"
    );
    assert!(page.contains("Cancelada"), "canceled at once: {page}");
    let link = c
        .find(Locator::Css("[data-testid=event-link]"))
        .await
        .expect("Ver o evento");
    let href = link.attr("href").await.expect("attr").expect("href");
    link.click().await.expect("click");
    arrive(&c, &href).await;
    let erased = c
        .find(Locator::Css("[data-testid=event-erased]"))
        .await
        .expect("the event says it was erased")
        .text()
        .await
        .expect("text");
    assert!(erased.contains("apagados"), "{erased}");
    shot(&c, "13-lgpd-event-erased").await;
    c.close().await.expect("close browser");
}
