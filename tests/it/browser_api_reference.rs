//! Issue 19, the API reference (`/ajuda/api`) in a real Chromium, reached from Conta: grouped
//! by resource, Markdown-style `code` drawn as code (never as literal backticks), names and
//! types unbroken, nothing scrolling sideways (desktop and phone), and the outbound webhooks'
//! signature check shown from the files docs/API.md quotes. Screenshots:
//! target/screenshots/19-api-*.png.

use fantoccini::{Client, Locator};

use crate::browser::{ONE_BROWSER, arrive, click, logged_in, shot};
use crate::support::TestApp;

async fn run(c: &Client, script: &str) -> serde_json::Value {
    c.execute(script, vec![]).await.expect("script runs")
}

async fn scroll_to(c: &Client, id: &str) {
    run(
        c,
        &format!("document.getElementById('{id}').scrollIntoView({{block: 'start'}}); window.scrollBy(0, -64)"),
    )
    .await;
}

async fn sideways(c: &Client) -> f64 {
    run(
        c,
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth",
    )
    .await
    .as_f64()
    .expect("a number")
}

fn snippet(name: &str) -> String {
    std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("docs/snippets/{name}")),
    )
    .expect("the snippet")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_reference_reads_as_a_page_with_the_signature_check() {
    let _turn = ONE_BROWSER.lock().await;
    let app = TestApp::start().await;
    app.setup_admin().await;
    let (_driver, _profile, c) = logged_in(&app).await;
    c.goto(&app.at("/conta")).await.expect("open");
    click(&c, "[data-testid=api-reference-link]", "the link").await;
    arrive(&c, "/ajuda/api").await;
    shot(&c, "19-api-top").await;

    // Messages first: sending is what most integrations do.
    let groups = run(
        &c,
        "return [...document.querySelectorAll('h2.api-tag')].map(h => h.textContent.trim())",
    )
    .await;
    assert_eq!(groups[0], "Mensagens", "{groups}");
    assert!(
        groups
            .as_array()
            .expect("a list")
            .iter()
            .any(|g| g == "Webhooks de saída"),
        "{groups}"
    );

    // No literal backticks outside the code blocks (the JavaScript snippet has its own).
    let ticks = run(
        &c,
        "const main = document.getElementById('main').cloneNode(true);
         main.querySelectorAll('pre').forEach(p => p.remove());
         return main.textContent.split('`').length - 1",
    )
    .await;
    assert_eq!(ticks, 0, "Markdown backticks are drawn as code");
    assert!(
        c.find(Locator::Css(".api-intro p code"))
            .await
            .expect("code in the intro")
            .text()
            .await
            .expect("text")
            .starts_with("Authorization: Bearer")
    );

    // An operation's title stands above its subsections, and its section under its group.
    let sizes = run(
        &c,
        "const px = s => parseFloat(getComputedStyle(document.querySelector(s)).fontSize);
         return [px('h2.api-tag'), px('.api-op h3'), px('.api-op h4')]",
    )
    .await;
    let sizes: Vec<f64> = sizes
        .as_array()
        .expect("sizes")
        .iter()
        .map(|v| v.as_f64().expect("a size"))
        .collect();
    assert!(
        sizes[0] > sizes[1] && sizes[1] > sizes[2],
        "group > operation > subsection: {sizes:?}"
    );
    // Field names and types are never cut mid-word.
    let broken = run(
        &c,
        "return [...document.querySelectorAll('.api-op td code, .api-op h3 code')]
            .filter(e => e.getClientRects().length > 1).map(e => e.textContent)",
    )
    .await;
    assert_eq!(broken, serde_json::json!([]), "codes broken across lines");
    assert!(sideways(&c).await <= 0.0, "the page scrolls sideways");
    scroll_to(&c, "tag-messages").await;
    shot(&c, "19-api-messages").await;

    // The signature check, as docs/API.md has it, with the example to compare against.
    scroll_to(&c, "webhooks-de-saida").await;
    shot(&c, "19-api-outbound").await;
    for (testid, file) in [
        ("verify-sh", "verify-signature.sh"),
        ("verify-js", "verify-signature.js"),
    ] {
        let shown = c
            .find(Locator::Css(&format!("[data-testid={testid}]")))
            .await
            .expect("the snippet on the page")
            .text()
            .await
            .expect("text");
        assert_eq!(shown.trim(), snippet(file).trim(), "{file}");
    }
    let section = c
        .find(Locator::Css("[data-testid=api-outbound]"))
        .await
        .expect("the section")
        .text()
        .await
        .expect("text");
    assert!(
        section.contains("v1=14db2dcebcdceda0671fdfa464066530c770772215c545f69074df7c4a25f0b8"),
        "the known example"
    );
    scroll_to(&c, "verificar-assinatura").await;
    shot(&c, "19-api-verify").await;

    c.set_window_size(390, 844).await.expect("resize");
    c.refresh().await.expect("reload");
    assert!(
        sideways(&c).await <= 0.0,
        "the page scrolls sideways on a phone"
    );
    scroll_to(&c, "tag-messages").await;
    shot(&c, "19-api-phone").await;
}
