//! Issue 19, item 5 in a real Chromium: the merchant answers a buyer who wrote, from the buyer's
//! conversation page; the reply appears in the conversation under the question, with who sent
//! it, and went out through the store's number (a fake channel). Screenshots land in
//! target/screenshots/ (`19-reply-…`).

use fantoccini::Locator;

use crate::browser::{ONE_BROWSER, arrive, click, fill, logged_in, shot};
use crate::support::TestApp;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merchant_answers_a_buyer_and_the_reply_appears_in_the_conversation() {
    let _turn = ONE_BROWSER.lock().await;
    let app = TestApp::start().await;
    app.setup_admin().await;
    let (_store, _instance, fake) = crate::replies::buyer_wrote(&app);
    let (_driver, _profile, c) = logged_in(&app).await;

    let path = "/mensagens/comprador?phone=11987654321";
    c.goto(&app.at(path)).await.expect("open");
    arrive(&c, path).await;
    shot(&c, "19-reply-before").await;
    fill(&c, "reply-text", "Oi, Ana! Seu pedido saiu hoje cedo.").await;
    click(&c, "[data-testid=reply-send]", "the send button").await;
    arrive(
        &c,
        "/mensagens/comprador?phone=%2B5511987654321&ok=reply_sent#resposta",
    )
    .await;

    let line = c
        .find(Locator::Css("[data-testid=line-attendant_reply]"))
        .await
        .expect("the reply in the conversation");
    let text = line.text().await.expect("text");
    assert!(
        text.contains("Oi, Ana! Seu pedido saiu hoje cedo."),
        "{text}"
    );
    assert!(
        text.contains("Resposta da equipe · Dona Maria · Loja Centro"),
        "{text}"
    );
    // Under the buyer's question, on the right (outgoing), as in WhatsApp.
    let question = c
        .find(Locator::Css("[data-testid=line-reply]"))
        .await
        .expect("the buyer's question");
    let (_, question_y, _, _) = question.rectangle().await.expect("box");
    let (reply_x, reply_y, _, _) = line.rectangle().await.expect("box");
    let (question_x, _, _, _) = question.rectangle().await.expect("box");
    assert!(reply_y > question_y, "the reply is below the question");
    assert!(reply_x > question_x, "the reply sits on the outgoing side");
    let flash = c
        .find(Locator::Css(".flash.ok"))
        .await
        .expect("a flash")
        .text()
        .await
        .expect("text");
    assert_eq!(flash, "Resposta enviada pelo WhatsApp.");
    assert_eq!(
        fake.sent().len(),
        1,
        "it went out through the store's number"
    );
    // The reply box stands apart from the conversation, and its text box spans the card.
    let chat = c
        .find(Locator::Css("[data-testid=buyer-conversation]"))
        .await
        .expect("the conversation");
    let (_, chat_y, _, chat_h) = chat.rectangle().await.expect("box");
    let card = c
        .find(Locator::Css("[data-testid=reply]"))
        .await
        .expect("the reply box");
    let (_, card_y, card_w, _) = card.rectangle().await.expect("box");
    assert!(
        card_y >= chat_y + chat_h + 8.0,
        "a gap between the two cards"
    );
    let (_, _, box_w, _) = c
        .find(Locator::Id("reply-text"))
        .await
        .expect("the text box")
        .rectangle()
        .await
        .expect("box");
    assert!(
        box_w > card_w * 0.8,
        "the text box uses the card's width ({box_w} of {card_w})"
    );
    c.execute(
        "document.querySelector('[data-testid=buyer-conversation]').scrollIntoView()",
        vec![],
    )
    .await
    .expect("scroll");
    shot(&c, "19-reply-sent").await;
}
