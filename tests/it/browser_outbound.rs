//! Issue 19, the outbound webhooks' delivery log in a real Chromium: the merchant registers their
//! n8n (a loopback receiver) in Configurações → Integrações; the receiver is down, and the log
//! shows each delivery with its status code, the receiver's answer and the body sent; "Reenviar"
//! sends the same delivery again, signed, with the same id and event, once the receiver is back.
//! A stepped clock that never moves keeps the scheduled retries still. Screenshots:
//! target/screenshots/19-outbound-*.png.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use avisa::domain::{ManualClock, Platform};
use avisa::queue::outbound::signature::verify;
use fantoccini::{Client, Locator};

use crate::browser::{ONE_BROWSER, arrive, fill, logged_in, shot};
use crate::events::{create_store, post_webhook};
use crate::outbound::{Received, Receiver};
use crate::support::TestApp;

const T0: i64 = 1_796_601_600; // 07/12/2026 00:00 UTC: 06/12/2026 21:00 in Brasília

async fn text(c: &Client, css: &str) -> String {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|_| panic!("{css} on the page"))
        .text()
        .await
        .expect("text")
}

/// Clicks an element scrolled to the middle of the window (never under the sticky top bar).
async fn click(c: &Client, css: &str) {
    let element = c
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|_| panic!("{css} on the page"));
    c.execute(
        "arguments[0].scrollIntoView({block: 'center'})",
        vec![serde_json::to_value(&element).expect("an element reference")],
    )
    .await
    .expect("scroll");
    element.click().await.expect("click");
}

/// A script's answer as a number.
async fn number(c: &Client, script: &str) -> f64 {
    c.execute(script, vec![])
        .await
        .expect("script runs")
        .as_f64()
        .unwrap_or_else(|| panic!("a number from {script}"))
}

/// The page does not scroll sideways, and every Reenviar button lies inside the window.
async fn assert_fits(c: &Client, when: &str) {
    let overflow = number(
        c,
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth",
    )
    .await;
    assert!(
        overflow <= 0.0,
        "{when}: the page scrolls sideways by {overflow}px"
    );
    let outside = number(
        c,
        "return [...document.querySelectorAll('[data-testid=resend]')]
            .filter(b => b.getBoundingClientRect().right > document.documentElement.clientWidth)
            .length",
    )
    .await;
    assert_eq!(outside, 0.0, "{when}: a Reenviar button is off the window");
}

fn order(n: u32) -> String {
    serde_json::json!({
        "kind": "order.paid",
        "event_id": format!("pedido-{n}"),
        "order_id": format!("{n}"),
        "customer": { "name": "Bruno Lima", "phone": "+55 21 99876-5432" },
        "total_cents": 13970,
    })
    .to_string()
}

fn assert_signed(received: &Received, secret: &str) {
    let header = received.header("X-Avisa-Signature");
    assert_eq!(
        verify(secret, header, &received.body, T0, 300),
        Ok(()),
        "signed over timestamp.body: {header}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_delivery_log_shows_codes_and_bodies_and_reenviar_sends_the_same_delivery_again() {
    let _turn = ONE_BROWSER.lock().await;
    let app = TestApp::start_on(Arc::new(ManualClock::at(T0))).await;
    app.setup_admin().await;
    let (_, hook) = create_store(&app, Platform::Api, "Loja Integrada");
    let mut receiver = Receiver::start();
    receiver.status.store(503, Ordering::SeqCst);

    let (_driver, _profile, c) = logged_in(&app).await;
    c.goto(&app.at("/configuracoes")).await.expect("open");
    click(&c, "[data-testid=integrations-link]").await;
    arrive(&c, "/configuracoes/integracoes").await;
    fill(&c, "url", &receiver.url).await;
    fill(&c, "description", "n8n pós-venda").await;
    // Only "evento recebido": every other event is unticked.
    for checkbox in c
        .find_all(Locator::Css(
            "input[name=events]:not([value='event.received'])",
        ))
        .await
        .expect("the event boxes")
    {
        checkbox.click().await.expect("untick");
    }
    shot(&c, "19-outbound-form").await;
    click(
        &c,
        "form[action='/configuracoes/integracoes'] button[type=submit]",
    )
    .await;
    // The secret is shown once the endpoint's page is there: the endpoint is stored by then.
    let shown = text(&c, "[data-testid=endpoint-secret]").await;
    let endpoint = app.db.list_endpoints().expect("endpoints")[0].clone();
    arrive(
        &c,
        &format!("/configuracoes/integracoes/{}?criado=1", endpoint.id),
    )
    .await;
    assert_eq!(shown, endpoint.secret);

    // Two orders: the second delivery reaching the receiver means the first one's 503 is
    // recorded (one sender thread, one delivery after the other).
    let mut first = Vec::new();
    for n in [1, 2] {
        let (status, _) = post_webhook(&app, &hook, order(n), &[]).await;
        assert_eq!(status, 202);
        let received = receiver.next().await;
        assert_eq!(received.header("X-Avisa-Id"), format!("whd_{n}"));
        assert_signed(&received, &endpoint.secret);
        first.push(received);
    }
    let event_id = first[0].json()["data"]["event_id"].clone();
    assert!(event_id.is_u64(), "{event_id}");
    c.refresh().await.expect("reload");

    let row = "tr[data-delivery=whd_1]";
    assert_eq!(
        text(&c, &format!("{row} [data-testid=delivery-code]")).await,
        "503"
    );
    let state = text(&c, &format!("{row} [data-testid=delivery-state]")).await;
    assert!(state.starts_with("Tentando de novo"), "{state}");
    assert!(
        state.contains("1 tentativa · próxima tentativa 06/12/2026 21:00"),
        "one attempt, the next one in Brasília time: {state}"
    );
    assert_eq!(
        text(&c, &format!("{row} [data-testid=delivery-excerpt]")).await,
        "receiver answered 503"
    );
    // The event reads in Portuguese, its wire name on one line.
    let event_cell = text(&c, &format!("{row} td:nth-child(2)")).await;
    assert_eq!(
        event_cell,
        "evento recebido de uma plataforma\nevent.received"
    );
    let code_lines = number(
        &c,
        "return document.querySelector('tr[data-delivery=whd_1] td:nth-child(2) code')
            .getClientRects().length",
    )
    .await;
    assert_eq!(code_lines, 1.0, "event.received is not broken across lines");

    // Its answer and the body sent, under the row.
    let detail = "tr[data-detail=whd_1]";
    click(&c, &format!("{detail} summary")).await;
    assert_eq!(
        text(&c, &format!("{detail} [data-testid=delivery-response]")).await,
        "receiver answered 503"
    );
    let body = text(&c, &format!("{detail} [data-testid=delivery-body]")).await;
    let sent: serde_json::Value = serde_json::from_str(&body).expect("the body sent, as JSON");
    assert_eq!(sent, first[0].json(), "the log shows what the receiver got");
    assert_fits(&c, "the log with a body open").await;
    c.execute(
        "document.querySelector('tr[data-delivery=whd_1]').scrollIntoView()",
        vec![],
    )
    .await
    .expect("scroll");
    shot(&c, "19-outbound-log").await;

    // On a phone each delivery is a card, and still nothing scrolls sideways (reloaded: the
    // menu's slide-away animation is not what the screenshot is for).
    c.set_window_size(390, 844).await.expect("resize");
    c.refresh().await.expect("reload");
    click(&c, &format!("{detail} summary")).await;
    assert_fits(&c, "the log on a phone").await;
    c.execute(
        "document.querySelector('tr[data-delivery=whd_1]').scrollIntoView()",
        vec![],
    )
    .await
    .expect("scroll");
    shot(&c, "19-outbound-log-phone").await;
    c.set_window_size(1280, 900).await.expect("resize");
    c.refresh().await.expect("reload");

    // The receiver is back: Reenviar sends whd_1 again, at once, with the same id and body,
    // signed again.
    receiver.status.store(200, Ordering::SeqCst);
    click(&c, &format!("{row} [data-testid=resend]")).await;
    arrive(
        &c,
        &format!("/configuracoes/integracoes/{}?reenviado=1", endpoint.id),
    )
    .await;
    assert_eq!(
        text(&c, "[data-testid=resent]").await,
        "Entrega whd_1 colocada na fila para reenvio."
    );
    let again = receiver.next().await;
    assert_eq!(again.header("X-Avisa-Id"), "whd_1");
    assert_eq!(again.header("X-Avisa-Event"), "event.received");
    assert_signed(&again, &endpoint.secret);
    assert_eq!(again.body, first[0].body, "the same body");
    assert_eq!(again.json()["data"]["event_id"], event_id, "the same event");

    // A third order's delivery arriving means the resend's 200 is recorded.
    let (status, _) = post_webhook(&app, &hook, order(3), &[]).await;
    assert_eq!(status, 202);
    assert_eq!(receiver.next().await.header("X-Avisa-Id"), "whd_3");
    c.refresh().await.expect("reload");
    assert_eq!(
        text(&c, &format!("{row} [data-testid=delivery-code]")).await,
        "200"
    );
    assert_eq!(
        text(&c, &format!("{row} [data-testid=delivery-state]")).await,
        "Entregue\n2 tentativas"
    );
    assert_eq!(
        text(&c, &format!("{row} [data-testid=delivery-excerpt]")).await,
        "receiver answered 200"
    );
    // whd_2 still waits for its retry: the clock has not moved.
    let other = text(&c, "tr[data-delivery=whd_2] [data-testid=delivery-state]").await;
    assert!(other.starts_with("Tentando de novo"), "{other}");
    assert_fits(&c, "the log after the resend").await;
    c.execute(
        "document.querySelector('tr[data-delivery=whd_1]').scrollIntoView({block: 'center'})",
        vec![],
    )
    .await
    .expect("scroll");
    shot(&c, "19-outbound-resent").await;

    // Deleting the endpoint asks for a confirmation.
    let delete = "form[action$='/excluir'] button[type=submit]";
    let confirm = number(
        &c,
        "return document.querySelector(\"form[action$='/excluir'] input[name=confirm]\").required ? 1 : 0",
    )
    .await;
    assert_eq!(confirm, 1.0, "the box must be ticked");
    click(&c, "form[action$='/excluir'] input[name=confirm]").await;
    click(&c, delete).await;
    arrive(&c, "/configuracoes/integracoes").await;
    assert!(app.db.list_endpoints().expect("endpoints").is_empty());
}
