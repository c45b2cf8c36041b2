//! Pairing a WhatsApp-mode instance from its page, and buyers' replies: the routes' refusals
//! (sandbox, no pairing control, attendants), the calls that reach the pairing control, the QR
//! (as SVG) only for admins on the live stream, and a reply that opts a buyer out, confirmed
//! once and shown in their conversation.

use std::sync::Arc;
use std::time::Duration;

use avisa::channels::fake::{FakeChannel, FakePairing, PairingCall};
use avisa::domain::{Instance, InstanceId, InstanceMode};
use avisa::queue::channel::{Channel, ChannelState, Incoming};
use serde_json::Value;

use crate::support::TestApp;

/// Posts a console form with the CSRF token of `from`.
async fn post_form(
    app: &TestApp,
    client: &reqwest::Client,
    from: &str,
    path: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let csrf = app.csrf(client, from).await;
    let mut form = vec![("_csrf", csrf.as_str())];
    form.extend_from_slice(fields);
    client
        .post(app.at(path))
        .form(&form)
        .send()
        .await
        .expect("form answers")
}

fn instance(app: &TestApp, mode: InstanceMode) -> u64 {
    app.db
        .create_instance(Instance::new("Número da loja", mode, 0))
        .expect("instance")
        .id
        .0
}

/// A WhatsApp-mode instance whose channel and pairing control are fakes.
pub fn paired_fake(app: &TestApp) -> (u64, Arc<FakeChannel>, Arc<FakePairing>) {
    let id = instance(app, InstanceMode::Whatsapp);
    let fake = Arc::new(FakeChannel::in_state(ChannelState::Disconnected));
    let pairing = Arc::new(FakePairing::new(fake.clone()));
    app.channels.insert(InstanceId(id), fake.clone());
    app.channels.insert_pairing(InstanceId(id), pairing.clone());
    (id, fake, pairing)
}

/// The first server-sent event of an instance's stream, as JSON.
async fn first_event(client: &reqwest::Client, app: &TestApp, id: u64) -> Value {
    let mut response = client
        .get(app.at(&format!("/instancias/{id}/eventos")))
        .send()
        .await
        .expect("stream answers");
    // A timeout only guards against a hang; the first event is sent at once (a QR event may
    // span several chunks).
    let mut text = String::new();
    while !text.ends_with("\n\n") {
        let chunk = tokio::time::timeout(Duration::from_secs(10), response.chunk())
            .await
            .expect("the first event comes at once")
            .expect("body")
            .expect("a chunk");
        text.push_str(std::str::from_utf8(&chunk).expect("UTF-8"));
    }
    let data = text
        .strip_prefix("data: ")
        .and_then(|t| t.strip_suffix("\n\n"))
        .unwrap_or_else(|| panic!("one SSE event: {text:?}"));
    serde_json::from_str(data).expect("JSON state")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pairing_is_refused_for_sandbox_instances_and_without_a_pairing_control() {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let sandbox = instance(&app, InstanceMode::Sandbox);
    let unmanaged = instance(&app, InstanceMode::Whatsapp);
    for (id, says) in [
        (sandbox, "é uma instância de teste"),
        (unmanaged, "ainda não está disponível"),
    ] {
        for action in ["conectar", "desconectar"] {
            let page = format!("/instancias/{id}");
            let path = format!("/instancias/{id}/{action}");
            let response = post_form(&app, &admin, &page, &path, &[("confirm", "1")]).await;
            assert_eq!(response.status(), 409, "{path}");
            assert!(
                response.text().await.expect("body").contains(says),
                "{path}"
            );
        }
    }
    let response = post_form(&app, &admin, "/instancias", "/instancias/999/conectar", &[]).await;
    assert_eq!(response.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_connect_pair_by_code_cancel_and_unlink_attendants_cannot() {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let (id, fake, pairing) = paired_fake(&app);
    let page = format!("/instancias/{id}");

    let attendant = app.attendant("atendente@example.com").await;
    let csrf = app.csrf(&attendant, &page).await;
    let refused = attendant
        .post(app.at(&format!("/instancias/{id}/conectar")))
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .expect("answers");
    assert_eq!(refused.status(), 403);
    assert!(pairing.calls().is_empty());

    let connect = post_form(&app, &admin, &page, &format!("{page}/conectar"), &[]).await;
    assert_eq!(connect.status(), 303);
    assert_eq!(connect.headers()["location"], format!("{page}#conexao"));
    let bad = post_form(
        &app,
        &admin,
        &page,
        &format!("{page}/codigo"),
        &[("phone", "12")],
    )
    .await;
    assert_eq!(bad.status(), 422);
    let code = post_form(
        &app,
        &admin,
        &page,
        &format!("{page}/codigo"),
        &[("phone", "(11) 98765-4321")],
    )
    .await;
    assert_eq!(code.status(), 303);
    let cancel = post_form(&app, &admin, &page, &format!("{page}/cancelar"), &[]).await;
    assert_eq!(cancel.status(), 303, "Cancelar stops the attempt");
    assert_eq!(*fake.state().borrow(), ChannelState::Disconnected);
    let unconfirmed = post_form(&app, &admin, &page, &format!("{page}/desconectar"), &[]).await;
    assert_eq!(
        unconfirmed.status(),
        422,
        "unlinking needs the confirmation"
    );
    let logout = post_form(
        &app,
        &admin,
        &page,
        &format!("{page}/desconectar"),
        &[("confirm", "1")],
    )
    .await;
    assert_eq!(logout.status(), 303);
    assert_eq!(
        pairing.calls(),
        [
            PairingCall::Connect,
            PairingCall::PairWithCode("+5511987654321".into()),
            PairingCall::Cancel,
            PairingCall::Logout
        ]
    );
    assert_eq!(*fake.state().borrow(), ChannelState::LoggedOut);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_qr_goes_to_admins_as_svg_and_never_to_attendants() {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let attendant = app.attendant("atendente@example.com").await;
    let (id, fake, _pairing) = paired_fake(&app);
    let payload = "2@Q5hV1+lK7y0f3bWcT9mZr4dXe8uNaJ2sPoI6gHvLkM=,Lw0u3Yb2xV7cN1mQ9rT4eS6dF8gH0jK2lZ5aP3oI7U=,7t9hH0pQkXf2Z4cVbN6mL8sD1aR3eW5yU7iO9pA2sD=,vB3nM5kJ7hG9fD1sA2qW4eR6tY8uI0oP";
    fake.set_state(ChannelState::WaitingForQr {
        qr: payload.into(),
        expires_at: 1_900_000_000,
    });

    let seen = first_event(&admin, &app, id).await;
    assert_eq!(seen["state"], "waiting_for_qr");
    assert_eq!(seen["qr"], payload);
    let svg = seen["qr_svg"].as_str().expect("an SVG for admins");
    assert!(
        svg.starts_with("<svg") && svg.ends_with("</svg>"),
        "{svg:.60}"
    );

    let hidden = first_event(&attendant, &app, id).await;
    assert_eq!(hidden["state"], "waiting_for_qr");
    assert!(
        hidden.get("qr").is_none() && hidden.get("qr_svg").is_none(),
        "{hidden}"
    );
    let page = app.html(&attendant, &format!("/instancias/{id}")).await;
    assert!(!page.contains("<svg") && !page.contains(&payload[..12]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_buyer_who_replies_sair_is_opted_out_confirmed_once_and_the_reply_shows_in_their_conversation()
 {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let (_id, fake, _pairing) = paired_fake(&app);
    fake.set_state(ChannelState::Connected {
        number: "+5511900000000".into(),
        name: "Loja".into(),
    });
    // The inbox picks the new channel up on its own; wait (without a timer) until it listens.
    while fake.incoming_listeners() == 0 {
        tokio::task::yield_now().await;
    }
    let sair = Incoming {
        from: "+5511987654321".into(),
        text: "Sair".into(),
        at: 1_750_000_000,
        id: Some("3EB0A1".into()),
    };
    fake.emit_incoming(sair.clone());
    while fake.sent().is_empty() {
        tokio::task::yield_now().await;
    }
    // WhatsApp redelivers it: nothing more happens (the next reply proves the first was done).
    fake.emit_incoming(sair);
    fake.emit_incoming(Incoming {
        from: "+5511987654321".into(),
        text: "ok obrigado".into(),
        at: 1_750_000_100,
        id: Some("3EB0A2".into()),
    });
    while app
        .db
        .conversation("+5511987654321", 10)
        .expect("conversation")
        .len()
        < 3
    {
        tokio::task::yield_now().await;
    }
    assert_eq!(fake.sent().len(), 1, "one confirmation");
    assert!(app.db.is_opted_out("+5511987654321").expect("read"));

    let html = app
        .html(&admin, "/mensagens/comprador?phone=11987654321")
        .await;
    assert!(html.contains("Resposta do comprador"), "{html}");
    assert!(html.contains("Confirmação de descadastro"));
    assert!(html.contains("ok obrigado"));
    assert!(html.contains(r#"data-testid="opted-out""#));
    let list = app.html(&admin, "/mensagens/descadastros").await;
    assert!(list.contains("4321"), "the buyer is on the opt-out list");
}
