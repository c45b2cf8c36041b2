//! Attendants' replies through the real server: an attendant answers a buyer who wrote, from the
//! buyer's conversation page; the reply leaves at once through the store's instance (a fake
//! channel on loopback's side of the registry), shows in the conversation with the attendant's
//! name and counts in the instance's day; an opted-out buyer and a disconnected number are
//! refused with the reason in Portuguese, nothing sent; a store in modo teste delivers it to the
//! caixa de teste.

use std::sync::Arc;

use avisa::channels::fake::FakeChannel;
use avisa::db::{ConversationKind, NewConversationEntry};
use avisa::domain::{Instance, InstanceId, InstanceMode, Platform, StoreId};
use avisa::queue::channel::ChannelState;

use crate::support::TestApp;

const ANA: &str = "+5511987654321";

/// A store linked to a WhatsApp instance whose channel is a connected fake, and a reply Ana
/// wrote to that number. Returns the store's and instance's ids and the fake.
pub fn buyer_wrote(app: &TestApp) -> (StoreId, InstanceId, Arc<FakeChannel>) {
    let instance = app
        .db
        .create_instance(Instance::new("Número da loja", InstanceMode::Whatsapp, 0))
        .expect("instance");
    let fake = Arc::new(FakeChannel::connected("+5511900000000"));
    app.channels.insert(instance.id, fake.clone());
    let (store, _) = crate::events::create_store(app, Platform::Api, "Loja Centro");
    let store = StoreId(store);
    app.db
        .update_store(store, |s| s.instance_id = Some(instance.id))
        .expect("linked");
    app.db
        .record_reply(
            &NewConversationEntry {
                instance_id: instance.id,
                buyer: ANA,
                kind: ConversationKind::Reply,
                text: "Meu pedido já saiu?",
                at: 1_750_000_000,
                opt_out: false,
                error: None,
            },
            Some("3EB0AAA1"),
        )
        .expect("reply kept");
    (store, instance.id, fake)
}

async fn page(app: &TestApp, client: &reqwest::Client, path: &str) -> String {
    app.html(client, path).await
}

async fn reply(
    app: &TestApp,
    client: &reqwest::Client,
    store: StoreId,
    text: &str,
) -> reqwest::Response {
    let csrf = app
        .csrf(client, "/mensagens/comprador?phone=11987654321")
        .await;
    client
        .post(app.at("/mensagens/comprador/responder"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("phone", ANA),
            ("store_id", &store.to_string()),
            ("text", text),
        ])
        .send()
        .await
        .expect("reply answers")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attendant_replies_from_the_conversation_and_the_reply_goes_out_with_their_name() {
    let app = TestApp::start().await;
    app.setup_admin().await;
    let (store, instance, fake) = buyer_wrote(&app);
    let attendant = app.attendant("carla@loja.com.br").await;

    let before = page(&app, &attendant, "/mensagens/comprador?phone=11987654321").await;
    assert!(before.contains(r#"data-testid="reply-form""#), "{before}");
    assert!(before.contains("Responder como <strong>Loja Centro</strong>"));

    let response = reply(&app, &attendant, store, "Oi, Ana! Saiu hoje cedo.").await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        response.headers()["location"],
        "/mensagens/comprador?phone=%2B5511987654321&ok=reply_sent#resposta"
    );
    let sent = fake.sent();
    assert_eq!(sent.len(), 1, "out at once, no outbox pass needed");
    assert_eq!(
        (sent[0].to.as_str(), sent[0].text.as_str()),
        (ANA, "Oi, Ana! Saiu hoje cedo.")
    );
    // The raw counter (its day is the server's today; no clock read here).
    let counted = app.db.instance(instance).expect("instance").sent_today;
    assert_eq!(counted, 1, "counted in the instance's day");

    let after = page(
        &app,
        &attendant,
        "/mensagens/comprador?phone=%2B5511987654321&ok=reply_sent",
    )
    .await;
    assert!(after.contains("Resposta enviada pelo WhatsApp."), "{after}");
    assert!(after.contains(r#"data-testid="line-attendant_reply""#));
    assert!(
        after.contains(
            r#"Resposta da equipe · <span data-testid="reply-by">Atendente</span> · Loja Centro"#
        ),
        "{after}"
    );
    let question = after.find("Meu pedido já saiu?").expect("the buyer's line");
    let answer = after.find("Oi, Ana! Saiu hoje cedo.").expect("the reply");
    assert!(question < answer, "the reply follows the question");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_is_refused_with_the_reason_for_an_opted_out_buyer_and_a_disconnected_number() {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let (store, _, fake) = buyer_wrote(&app);

    fake.set_state(ChannelState::Reconnecting);
    let response = reply(&app, &admin, store, "Oi, Ana!").await;
    assert_eq!(response.status(), 422);
    let html = response.text().await.expect("body");
    assert!(
        html.contains("Não enviada: a instância desta loja não está conectada ao WhatsApp agora."),
        "{html}"
    );
    assert!(
        html.contains(">Oi, Ana!</textarea>"),
        "the text stays in the box"
    );

    fake.set_state(ChannelState::Connected {
        number: "+5511900000000".into(),
        name: "Loja".into(),
    });
    app.db
        .add_opt_out(ANA, "console", 1_750_000_100)
        .expect("opt-out");
    let response = reply(&app, &admin, store, "Oi, Ana!").await;
    assert_eq!(response.status(), 422);
    let html = response.text().await.expect("body");
    assert!(
        html.contains("Não enviada: este comprador se descadastrou e não recebe mais mensagens."),
        "{html}"
    );
    assert!(fake.sent().is_empty(), "nothing went out");
    let lines = app.db.conversation(ANA, 10).expect("conversation");
    assert_eq!(lines.len(), 1, "nothing kept but the buyer's own line");
    // The page itself says so before anyone types.
    let page = page(&app, &admin, "/mensagens/comprador?phone=11987654321").await;
    assert!(page.contains(r#"data-testid="reply-opted-out""#));
    assert!(!page.contains(r#"data-testid="reply-form""#));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_for_a_store_in_modo_teste_lands_in_the_caixa_de_teste_not_on_whatsapp() {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let (store, _, fake) = buyer_wrote(&app);
    app.db
        .update_store(store, |s| s.test_mode = true)
        .expect("modo teste");
    let response = reply(&app, &admin, store, "Resposta de ensaio").await;
    assert_eq!(response.status(), 303);
    assert!(
        response.headers()["location"]
            .to_str()
            .expect("ascii")
            .contains("ok=reply_sent_test")
    );
    assert!(fake.sent().is_empty(), "nothing reaches WhatsApp");
    let sandbox = page(&app, &admin, "/mensagens/sandbox").await;
    assert!(sandbox.contains(r#"data-testid="test-reply""#), "{sandbox}");
    assert!(sandbox.contains("Resposta de ensaio"));
    assert!(sandbox.contains("Resposta da equipe · Dona Maria · Loja Centro"));
}
