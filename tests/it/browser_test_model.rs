//! One model of "teste" (issue 13, item 7; docs/ARCHITECTURE.md, "Teste"): an instância de
//! teste, a store in modo teste and a número de teste all end in the caixa de teste, and every
//! page says so in the same words — the instance is not "conectado", the dashboard's "Enviadas"
//! leaves them out and says where they went, Mensagens and the caixa de teste list the same
//! stores in teste with why. Real Chromium; screenshots land in target/screenshots/ (`13-test-…`).

use std::time::Duration;

use avisa::domain::planning::QuietHours;
use avisa::domain::{Instance, InstanceMode, MessageStatus, Platform, StoreId};
use fantoccini::{Client, Locator};
use serde_json::json;

use crate::browser::{ONE_BROWSER, arrive, click, heading, logged_in, shot};
use crate::support::TestApp;

const NO_QUIET: QuietHours = QuietHours {
    start_min: 0,
    end_min: 0,
};

/// A paid order of avisa's own format: one confirmation, due at once.
fn paid(order: &str, phone: &str, name: &str) -> String {
    json!({
        "kind": "order.paid", "event_id": order, "order_id": order,
        "customer": { "name": name, "phone": phone },
        "products": [ { "name": "Curso", "quantity": 1, "price_cents": 19700 } ],
        "total_cents": 19700
    })
    .to_string()
}

/// The element's text as shown, lower-cased (badges are drawn in capitals).
async fn text_of(c: &Client, css: &str) -> String {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|_| panic!("{css} is on the page"))
        .text()
        .await
        .expect("text")
        .to_lowercase()
}

/// Three stores' worth of test: "Loja Vitrine" sends through an instância de teste, "Loja
/// Ensaio" is in modo teste, and the merchant's own phone is a número de teste. Returns the
/// instance's id once the outbox has delivered all three to the caixa de teste.
async fn arrange(app: &TestApp) -> u64 {
    let mut settings = app.db.message_settings().expect("settings");
    settings.quiet_hours = NO_QUIET;
    settings.test_numbers = vec!["+5521998765432".into()];
    app.db.save_message_settings(&settings).expect("saved");
    let mut instance = Instance::new("Número de ensaio", InstanceMode::Sandbox, 0);
    instance.quiet_hours = NO_QUIET;
    let instance = app.db.create_instance(instance).expect("instance");
    app.channels.ensure(&instance);
    let (vitrine, vitrine_token) = crate::events::create_store(app, Platform::Api, "Loja Vitrine");
    let (ensaio, ensaio_token) = crate::events::create_store(app, Platform::Api, "Loja Ensaio");
    app.db
        .update_store(StoreId(vitrine), |s| s.instance_id = Some(instance.id))
        .expect("linked");
    app.db
        .update_store(StoreId(ensaio), |s| s.test_mode = true)
        .expect("modo teste");
    for (token, body) in [
        (&vitrine_token, paid("V1", "11987654321", "Ana Souza")),
        (&ensaio_token, paid("E1", "11912345678", "Bia Lima")),
        (&vitrine_token, paid("V2", "21998765432", "Dona Maria")),
    ] {
        let (status, _) = crate::events::post_webhook(app, token, body, &[]).await;
        assert_eq!(status, 202);
    }
    // The outbox delivers them by itself (the instância de teste's one send needs no pacing
    // slot); wait for it without a timer, bounded so a regression fails instead of hanging.
    let db = app.db.clone();
    tokio::time::timeout(Duration::from_secs(120), async move {
        loop {
            let all = db
                .list_messages(&avisa::db::MessageFilter {
                    limit: 100,
                    ..Default::default()
                })
                .expect("messages");
            if all.len() == 3 && all.iter().all(|m| m.status == MessageStatus::Sent) {
                break;
            }
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the three test messages reach the caixa de teste");
    instance.id.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_tells_the_same_story_about_test_messages() {
    let _turn = ONE_BROWSER.lock().await;
    let app = TestApp::start().await;
    app.setup_admin().await;
    let instance = arrange(&app).await;
    let messages = app
        .db
        .list_messages(&avisa::db::MessageFilter {
            limit: 100,
            ..Default::default()
        })
        .expect("messages");
    assert!(
        messages.iter().all(|m| m.test),
        "all three are test messages"
    );
    let (_driver, _profile, c) = logged_in(&app).await;

    // The instance: a stand-in, never "conectado"; its counter says where the sends went.
    let path = format!("/instancias/{instance}");
    c.goto(&app.at(&path)).await.expect("open");
    arrive(&c, &path).await;
    let state = c
        .find(Locator::Css(
            "[data-testid=connection] [data-testid=instance-state]",
        ))
        .await
        .expect("state badge");
    assert_eq!(
        state.attr("data-state").await.expect("attr").as_deref(),
        Some("test")
    );
    let label = state.text().await.expect("text").to_lowercase();
    assert_eq!(label, "teste: entrega na caixa de teste");
    let counters = text_of(&c, "[data-testid=counters]").await;
    assert!(
        counters.contains("entregues na caixa de teste hoje"),
        "{counters}"
    );
    assert!(
        text_of(&c, "[data-testid=sent-today]")
            .await
            .starts_with("1 de")
    );
    assert!(
        text_of(&c, "h1").await.contains("teste"),
        "the mode badge says Teste"
    );
    shot(&c, "13-test-instance").await;

    // The dashboard: "Enviadas" leaves them out and says where the three went.
    c.goto(&app.at("/")).await.expect("open");
    arrive(&c, "/").await;
    let sent = text_of(&c, "[data-testid=dashboard-figures] [data-figure=sent]").await;
    assert_eq!(sent, "0", "test messages are not counted as sent");
    let hint = text_of(
        &c,
        "[data-testid=dashboard-figures] [data-testid=test-sent]",
    )
    .await;
    assert!(
        hint.contains("3 mensagens de teste foram para a caixa de teste"),
        "{hint}"
    );
    let steps = text_of(&c, "[data-testid=first-steps]").await;
    assert!(
        steps.contains("conecte um whatsapp"),
        "still to do: {steps}"
    );
    let step = c
        .find(Locator::Css("[data-step=instance]"))
        .await
        .expect("step");
    assert_eq!(
        step.attr("data-done").await.expect("attr").as_deref(),
        Some("false")
    );
    c.execute(
        "document.querySelector('[data-testid=test-sent]').scrollIntoView({block: 'center'})",
        vec![],
    )
    .await
    .expect("scroll to the figures");
    shot(&c, "13-test-dashboard").await;

    // Mensagens: both stores in teste, each with why; every row wears the badge.
    c.goto(&app.at("/mensagens")).await.expect("open");
    arrive(&c, "/mensagens").await;
    assert_eq!(heading(&c).await, "Mensagens");
    let note = text_of(&c, "[data-testid=test-mode-note]").await;
    assert!(
        note.contains("loja vitrine instância de teste") && note.contains("loja ensaio modo teste"),
        "{note}"
    );
    let badges = c
        .find_all(Locator::Css(
            "[data-testid=messages-table] [data-testid=test-badge]",
        ))
        .await
        .expect("badges");
    assert_eq!(badges.len(), 3, "every test message is marked");
    let reasons = c
        .find_all(Locator::Css(
            "[data-testid=messages-table] [data-testid=reason]",
        ))
        .await
        .expect("reasons");
    for reason in reasons {
        assert_eq!(
            reason.text().await.expect("text"),
            "entregue na caixa de teste, não foi ao WhatsApp"
        );
    }
    shot(&c, "13-test-messages").await;

    // The caixa de teste: the same stores, and all three conversations.
    click(&c, "[data-testid=sandbox-link]", "link").await;
    arrive(&c, "/mensagens/sandbox").await;
    assert_eq!(heading(&c).await, "Caixa de teste");
    let stores = text_of(&c, "[data-testid=test-stores]").await;
    assert!(
        stores.contains("loja vitrine instância de teste")
            && stores.contains("loja ensaio modo teste"),
        "{stores}"
    );
    let page = text_of(&c, "main").await;
    assert!(!page.contains("nenhuma loja está em"), "{page}");
    assert!(page.contains("números de teste cadastrados: 1."), "{page}");
    let chats = c
        .find_all(Locator::Css("[data-testid=conversation]"))
        .await
        .expect("conversations");
    assert_eq!(chats.len(), 3, "{page}");
    shot(&c, "13-test-inbox").await;

    // One word: the console never says "sandbox" to the merchant on these pages.
    for path in [
        &path as &str,
        "/",
        "/mensagens",
        "/mensagens/sandbox",
        "/instancias",
    ] {
        c.goto(&app.at(path)).await.expect("open");
        arrive(&c, path).await;
        let text = text_of(&c, "body").await;
        assert!(!text.contains("sandbox"), "{path} says sandbox: {text}");
    }
    c.close().await.expect("close browser");
}

#[test]
fn the_catalogs_say_teste_never_sandbox() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/i18n");
    for lang in ["pt-BR", "en"] {
        for file in std::fs::read_dir(dir.join(lang)).expect("catalogs") {
            let path = file.expect("entry").path();
            let catalog: std::collections::BTreeMap<String, String> =
                serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("json");
            for (key, text) in catalog {
                assert!(
                    !text.to_lowercase().contains("sandbox"),
                    "{lang} {key}: {text}"
                );
            }
        }
    }
}
