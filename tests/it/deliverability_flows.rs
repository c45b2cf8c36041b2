//! "Pedir resposta" through the real server (issue 15), on a stepped clock with a fake channel on
//! the registry's side: the merchant switches it on in the template editor, a boleto webhook
//! sends only the invitation, the buyer's "1" brings the link and the barcode at once and shows
//! in their conversation and the message's history; another buyer who stays silent gets the
//! rest when the ten minutes are over. And the warm-up that an instance's first pairing starts,
//! on the instance page.

use std::sync::Arc;

use avisa::channels::fake::FakeChannel;
use avisa::domain::{Clock as _, Instance, InstanceMode, ManualClock, Platform, StoreId};
use avisa::queue::channel::Incoming;

use crate::events::{create_store, post_webhook};
use crate::support::TestApp;

/// 2025-11-18 12:00 in Brasília (a Tuesday).
const NOON: i64 = 1_763_478_000;

fn boleto(phone: &str, order: &str) -> Vec<u8> {
    serde_json::json!({
        "kind": "boleto.generated",
        "event_id": format!("bol-{order}"),
        "order_id": order,
        "customer": { "name": "Ana Souza", "phone": phone },
        "products": [{ "name": "Curso de Confeitaria", "quantity": 1, "price_cents": 19700 }],
        "payment": {
            "method": "boleto",
            "boleto_url": format!("https://loja.example/boleto/{order}"),
            "boleto_barcode": "23793.38128 60000.000003",
        },
    })
    .to_string()
    .into_bytes()
}

/// Waits until the fake has sent `n` messages and avisa has recorded them as sent (the fake
/// sees a send before its record commits, and an answer counts only for an invitation
/// recorded as gone); the timeout only guards against a hang.
async fn sent(app: &TestApp, fake: &FakeChannel, n: usize) -> Vec<String> {
    use avisa::domain::MessageStatus::{Delivered, Read, Sent};
    let recorded = || {
        app.db
            .list_messages(&avisa::db::MessageFilter {
                limit: 100,
                ..Default::default()
            })
            .expect("messages")
            .iter()
            .filter(|m| matches!(m.status, Sent | Delivered | Read))
            .count()
    };
    let waited = tokio::time::timeout(std::time::Duration::from_secs(60), async {
        while fake.sent().len() < n || recorded() < n {
            tokio::task::yield_now().await;
        }
    })
    .await;
    let texts: Vec<String> = fake.sent().into_iter().map(|s| s.text).collect();
    assert!(waited.is_ok(), "{n} sends expected, got {texts:?}");
    texts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliverability_an_answer_to_the_invitation_brings_the_rest_and_silence_brings_it_later() {
    let clock = ManualClock::at(NOON);
    let app = TestApp::start_on(Arc::new(clock.clone())).await;
    let admin = app.setup_admin().await;
    let mut instance = Instance::new("Número da loja", InstanceMode::Whatsapp, NOON);
    // No pacing: each pass may send the next part without the clock moving.
    instance.pacing.interval_s = 0;
    instance.pacing.jitter_pct = 0;
    let instance = app.db.create_instance(instance).expect("instance");
    let fake = Arc::new(FakeChannel::connected("+5511900000000"));
    fake.set_now(NOON);
    app.channels.insert(instance.id, fake.clone());
    let (store, token) = create_store(&app, Platform::Api, "Loja Centro");
    app.db
        .update_store(StoreId(store), |s| s.instance_id = Some(instance.id))
        .expect("linked");

    // The merchant switches "Pedir resposta" on in the editor, keeping the shipped invitation.
    let path = format!("/templates/{store}/boleto.generated");
    let editor = app.html(&admin, &path).await;
    assert!(editor.contains("Pedir resposta"), "the card is there");
    assert!(
        editor.contains("Em troca, quem não responde recebe o resto só depois da espera"),
        "the trade-off in two lines"
    );
    let csrf = app.csrf(&admin, &path).await;
    let saved = admin
        .post(app.at(&path))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("enabled", "1"),
            ("delay.0", "na hora"),
            ("part.0.0", "Seu boleto: {{ payment.boleto_url }}"),
            ("part.0.1", "{{ payment.boleto_barcode }}"),
            ("ask_reply", "1"),
            (
                "ask_reply.invite",
                avisa::domain::deliverability::ask_reply::default_invite(
                    avisa::domain::EventKind::BoletoGenerated,
                ),
            ),
            ("ask_reply.wait", "10"),
            ("action", "save"),
        ])
        .send()
        .await
        .expect("saved");
    assert_eq!(saved.status(), 303);
    let template = app
        .db
        .template(StoreId(store), avisa::domain::EventKind::BoletoGenerated)
        .expect("read")
        .expect("stored");
    assert!(template.ask_reply.enabled && template.ask_reply.timeout_min == 10);

    // Ana's boleto: only the invitation goes.
    let (status, _) = post_webhook(&app, &token, boleto("11987654321", "7781"), &[]).await;
    assert_eq!(status, 202);
    let texts = sent(&app, &fake, 1).await;
    assert_eq!(
        texts[0],
        "Olá, Ana! Seu boleto de Curso de Confeitaria foi gerado. Responda *1* para receber o link do seu boleto aqui."
    );

    // She answers "1": the link and the barcode follow at once, the clock unmoved.
    while fake.incoming_listeners() == 0 {
        tokio::task::yield_now().await;
    }
    fake.emit_incoming(Incoming {
        from: "+5511987654321".into(),
        text: "1".into(),
        at: NOON + 60,
        id: Some("3EB0ANSWER1".into()),
    });
    let texts = sent(&app, &fake, 3).await;
    assert_eq!(
        texts[1..],
        [
            "Seu boleto: https://loja.example/boleto/7781",
            "23793.38128 60000.000003"
        ]
    );
    // Her answer is in her conversation, and the part's history says why it went.
    let buyer = app
        .html(&admin, "/mensagens/comprador?phone=11987654321")
        .await;
    assert!(buyer.contains("Olá, Ana! Seu boleto"), "the invitation");
    assert!(
        buyer.contains("data-testid=\"line-reply\"")
            && buyer.contains("<div class=\"bubble-text\">1</div>"),
        "her answer"
    );
    let link = app
        .db
        .list_messages(&avisa::db::MessageFilter {
            limit: 10,
            ..Default::default()
        })
        .expect("list")
        .into_iter()
        .find(|m| m.part == 1)
        .expect("the link's part");
    let page = app.html(&admin, &format!("/mensagens/{}", link.id)).await;
    assert!(
        page.contains("o comprador respondeu ao convite"),
        "the history says it"
    );

    // Bruno stays silent: his rest goes when the ten minutes are over.
    let (status, _) = post_webhook(&app, &token, boleto("11976543210", "7782"), &[]).await;
    assert_eq!(status, 202);
    sent(&app, &fake, 4).await;
    clock.advance(10 * 60 + 10);
    fake.set_now(clock.now());
    // The platform re-sends the event (a duplicate, 200): the outbox looks again.
    let (status, _) = post_webhook(&app, &token, boleto("11976543210", "7782"), &[]).await;
    assert_eq!(status, 200);
    let texts = sent(&app, &fake, 6).await;
    assert_eq!(texts[5], "23793.38128 60000.000003");
    assert!(texts[4].ends_with("/boleto/7782"));
}

/// Issue 14: a buyer whose answer comes under a LID only (no phone on the message) is matched to
/// the held invitation through the phone the channel learnt for that LID (the WhatsApp client
/// learns it when it sends to the phone): the rest goes at once, and the answer is in the
/// buyer's conversation under the phone. A LID nobody knows releases nothing: that buyer's rest
/// waits for the timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliverability_an_answer_under_a_known_lid_brings_the_rest() {
    use avisa::domain::deliverability::AskReply;
    use avisa::domain::template::{MessageTemplate, StepDelay, TemplateStep};
    use avisa::domain::{EventKind, MessageStatus};

    let clock = ManualClock::at(NOON);
    let app = TestApp::start_on(Arc::new(clock.clone())).await;
    let mut instance = Instance::new("Número da loja", InstanceMode::Whatsapp, NOON);
    instance.pacing.interval_s = 0;
    instance.pacing.jitter_pct = 0;
    let instance = app.db.create_instance(instance).expect("instance");
    let fake = Arc::new(FakeChannel::connected("+5511900000000"));
    fake.set_now(NOON);
    app.channels.insert(instance.id, fake.clone());
    let (store, token) = create_store(&app, Platform::Api, "Loja Centro");
    app.db
        .update_store(StoreId(store), |s| s.instance_id = Some(instance.id))
        .expect("linked");
    let template = MessageTemplate {
        kind: EventKind::BoletoGenerated,
        enabled: true,
        ask_reply: AskReply {
            enabled: true,
            invite: String::new(),
            timeout_min: 10,
        },
        steps: vec![TemplateStep {
            delay: StepDelay::After { minutes: 0 },
            parts: vec![
                "Seu boleto: {{ payment.boleto_url }}".into(),
                "{{ payment.boleto_barcode }}".into(),
            ],
        }],
    };
    app.db
        .save_template(StoreId(store), &template)
        .expect("saved");
    while fake.incoming_listeners() == 0 {
        tokio::task::yield_now().await;
    }

    // Ana's invitation goes to her phone; the channel knows her LID from that send.
    let (status, _) = post_webhook(&app, &token, boleto("11987654321", "7781"), &[]).await;
    assert_eq!(status, 202);
    sent(&app, &fake, 1).await;
    fake.learn_address("99887766@lid", "+5511987654321");
    fake.emit_incoming(Incoming {
        from: "99887766@lid".into(),
        text: "1".into(),
        at: NOON + 60,
        id: Some("3EB0LIDANSWER".into()),
    });
    let texts = sent(&app, &fake, 3).await;
    assert_eq!(
        texts[1..],
        [
            "Seu boleto: https://loja.example/boleto/7781",
            "23793.38128 60000.000003"
        ]
    );
    assert!(fake.sent()[1..].iter().all(|s| s.to == "+5511987654321"));
    let ana = app.db.conversation("+5511987654321", 10).expect("read");
    assert!(ana.iter().any(|e| e.text == "1"), "{ana:?}");

    // Bruno answers under a LID the channel never learnt: his rest keeps its timer.
    let (status, _) = post_webhook(&app, &token, boleto("11976543210", "7782"), &[]).await;
    assert_eq!(status, 202);
    sent(&app, &fake, 4).await;
    fake.emit_incoming(Incoming {
        from: "55443322@lid".into(),
        text: "1".into(),
        at: NOON + 90,
        id: Some("3EB0LIDUNKNOWN".into()),
    });
    while app
        .db
        .conversation("55443322@lid", 10)
        .expect("read")
        .is_empty()
    {
        tokio::task::yield_now().await;
    }
    let held: Vec<_> = app
        .db
        .list_messages(&avisa::db::MessageFilter {
            limit: 20,
            ..Default::default()
        })
        .expect("list")
        .into_iter()
        .filter(|m| m.phone == "+5511976543210" && m.part > 0)
        .collect();
    assert_eq!(held.len(), 2);
    assert!(
        held.iter()
            .all(|m| m.status == MessageStatus::Scheduled && m.due_at >= NOON + 600),
        "{held:?}"
    );
}

/// The warm-up starts by itself when an instance is first paired (issue 15): the channel comes
/// up as a number, and the instance page shows the ramp, when it started and why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliverability_the_first_pairing_starts_the_warm_up_and_the_instance_page_says_so() {
    use avisa::queue::channel::ChannelState;
    let clock = ManualClock::at(NOON);
    let app = TestApp::start_on(Arc::new(clock.clone())).await;
    let admin = app.setup_admin().await;
    let instance = app
        .db
        .create_instance(Instance::new(
            "Número da loja",
            InstanceMode::Whatsapp,
            NOON,
        ))
        .expect("instance");
    let fake = Arc::new(FakeChannel::in_state(ChannelState::WaitingForQr {
        qr: "2@qr".into(),
        expires_at: NOON + 60,
    }));
    app.channels.insert(instance.id, fake.clone());
    assert!(
        !app.db
            .instance(instance.id)
            .expect("read")
            .warmup
            .new_number
    );

    // The merchant scans the QR code: connected as the store's number.
    fake.set_state(ChannelState::Connected {
        number: "+5511900000000".into(),
        name: "Loja".into(),
    });
    let waited = tokio::time::timeout(std::time::Duration::from_secs(60), async {
        while !app
            .db
            .instance(instance.id)
            .expect("read")
            .warmup
            .new_number
        {
            tokio::task::yield_now().await;
        }
    })
    .await;
    assert!(waited.is_ok(), "the pairing is noted");
    let page = app
        .html(&admin, &format!("/instancias/{}", instance.id))
        .await
        .replace("&#x2f;", "/");
    assert!(
        page.contains("O aquecimento começou sozinho em 18/11/2025, quando o número +5511900000000 foi conectado pela primeira vez"),
        "why the ramp is on"
    );
    assert!(
        page.contains("data-testid=\"warmup-today\">20<"),
        "day 1 allows 20"
    );
    assert!(
        page.contains("aquecimento iniciado: primeira conexão do número."),
        "in the log"
    );
}

/// The editor's "Pedir resposta" card in real Chromium: the merchant ticks it, previews, and
/// sees the invitation first with what happens without an answer. Screenshot:
/// target/screenshots/deliverability-ask-reply.png.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliverability_the_editor_previews_the_invitation_before_the_boleto() {
    use crate::browser::{ONE_BROWSER, arrive, click, logged_in, shot};
    use fantoccini::Locator;
    let _turn = ONE_BROWSER.lock().await;
    let app = TestApp::start().await;
    app.setup_admin().await;
    let (store, _) = create_store(&app, Platform::Api, "Loja Centro");
    let (_driver, _profile, c) = logged_in(&app).await;
    let editor = format!("/templates/{store}/boleto.generated");
    c.goto(&app.at(&editor)).await.expect("editor");
    let tradeoff = c
        .find(Locator::Css("[data-testid=ask-reply-tradeoff]"))
        .await
        .expect("the trade-off")
        .text()
        .await
        .expect("text");
    assert!(
        tradeoff.contains("convida o comprador a responder"),
        "{tradeoff}"
    );
    click(&c, "[data-testid=ask-reply-on]", "the switch").await;
    click(&c, "[data-testid=preview]", "preview").await;
    arrive(&c, &format!("{editor}/previa")).await;
    let invite = c
        .find(Locator::Css("[data-testid=bubble-invite]"))
        .await
        .expect("the invitation's bubble")
        .text()
        .await
        .expect("text");
    assert!(
        invite.contains("Responda *1* para receber o link do seu boleto aqui."),
        "{invite}"
    );
    let wait = c
        .find(Locator::Css("[data-testid=bubble-wait]"))
        .await
        .expect("the wait")
        .text()
        .await
        .expect("text");
    assert_eq!(
        wait,
        "Sem resposta, o restante vai 10 min depois do convite."
    );
    shot(&c, "deliverability-ask-reply").await;
    c.close().await.expect("close browser");
}
