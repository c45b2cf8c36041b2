//! Mensagens: webhooks posted to a real store URL plan messages that show up on the page and in
//! the API; people cancel, reschedule, send now and dar baixa; the happy path, opt-outs, test
//! numbers and test mode do what the console says; and who may do which.

use std::path::Path;

use avisa::domain::{Clock, Platform, StoreId, SystemClock};
use serde_json::{Value, json};

use crate::events::{create_store, post_webhook};
use crate::support::TestApp;

/// The PIX fixture's buyer, order and copia-e-cola code.
const PIX_PHONE: &str = "+5511987654321";
const PIX_ORDER: &str = "10442";

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/api")
        .join(name);
    std::fs::read(path).expect("fixture readable")
}

fn pix_code() -> String {
    let body: Value = serde_json::from_slice(&fixture("pix.generated.json")).expect("json");
    body["payment"]["pix_code"]
        .as_str()
        .expect("the fixture has a PIX code")
        .to_owned()
}

/// A hand-written api body for the PIX buyer.
fn api_body(kind: &str, order_id: &str, event_id: &str) -> Vec<u8> {
    json!({
        "kind": kind,
        "event_id": event_id,
        "order_id": order_id,
        "customer": { "name": "Ana Souza", "phone": "(11) 98765-4321" },
        "products": [{ "name": "Curso de Confeitaria", "quantity": 1, "price_cents": 19700 }],
        "total_cents": 19700,
        "payment": { "method": "pix", "pix_code": "00020101PIX-OUTRO" },
    })
    .to_string()
    .into_bytes()
}

async fn webhook(app: &TestApp, token: &str, body: Vec<u8>) {
    let (status, answer) = post_webhook(app, token, body, &[]).await;
    assert_eq!(status, 202, "webhook accepted: {answer}");
}

/// A page's status and its text with the HTML escapes the tests look through undone.
async fn page(client: &reqwest::Client, app: &TestApp, path: &str) -> (u16, String) {
    let response = client.get(app.at(path)).send().await.expect("page answers");
    let status = response.status().as_u16();
    let html = response.text().await.expect("body");
    (status, html.replace("&#x2f;", "/").replace("&amp;", "&"))
}

/// The messages the API lists for a query string, newest first.
async fn listed(client: &reqwest::Client, app: &TestApp, query: &str) -> Vec<Value> {
    let response = client
        .get(app.at(&format!("/api/v1/messages{query}")))
        .send()
        .await
        .expect("API answers");
    assert_eq!(response.status(), 200, "GET /api/v1/messages{query}");
    let body: Value = response.json().await.expect("json");
    body["messages"].as_array().expect("a list").clone()
}

async fn post_form(
    client: &reqwest::Client,
    app: &TestApp,
    path: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let csrf = app.csrf(client, "/mensagens").await;
    let mut form = vec![("_csrf", csrf.as_str())];
    form.extend_from_slice(fields);
    client
        .post(app.at(path))
        .form(&form)
        .send()
        .await
        .expect("form answers")
}

fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

fn id_of(m: &Value) -> u64 {
    m["id"].as_u64().expect("message id")
}

/// The first message of the PIX fixture (step 0, part 0).
fn first_pix(messages: &[Value]) -> &Value {
    messages
        .iter()
        .find(|m| m["kind"] == "pix.generated" && m["step"] == 0 && m["part"] == 0)
        .expect("the first PIX message")
}

/// An admin with an `api` store that received the PIX fixture.
async fn with_pix() -> (TestApp, reqwest::Client, u64, String) {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let (store_id, token) = create_store(&app, Platform::Api, "Minha Loja");
    webhook(&app, &token, fixture("pix.generated.json")).await;
    (app, admin, store_id, token)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pix_event_plans_messages_with_the_code_on_its_own() {
    let (app, admin, store_id, _) = with_pix().await;
    let messages = listed(&admin, &app, "").await;
    assert_eq!(messages.len(), 3, "text, code, reminder: {messages:#?}");
    assert!(messages.iter().all(|m| m["status"] == "scheduled"));
    assert!(messages.iter().all(|m| m["phone"] == PIX_PHONE));
    assert!(messages.iter().all(|m| m["store_id"] == store_id));
    let code = pix_code();
    let alone = messages
        .iter()
        .find(|m| m["part"] == 1)
        .expect("a second part");
    assert_eq!(alone["text"], code.as_str(), "the code goes alone");

    let (status, html) = page(&admin, &app, "/mensagens").await;
    assert_eq!(status, 200);
    assert!(html.contains("data-testid=\"messages-table\""), "{html}");
    assert_eq!(html.matches("data-message-id=").count(), 3);
    assert!(html.contains("PIX gerado"));
    assert!(html.contains("lembrete 1"), "the follow-up is labelled");
    assert!(html.contains("Agendada"));
    assert!(html.contains("Minha Loja"));
    assert!(html.contains("+55 11 9****-4321"), "phones are masked");
    assert!(
        !html.contains(PIX_PHONE),
        "the full phone stays off the list"
    );
    assert!(
        html.contains("data-testid=\"sending-note\""),
        "sending is not live yet"
    );

    // Filters: the buyer as people type the number; another buyer; a bad number; the history.
    let (_, mine) = page(&admin, &app, "/mensagens?phone=%2811%29+98765-4321").await;
    assert_eq!(mine.matches("data-message-id=").count(), 3);
    let (_, other) = page(&admin, &app, "/mensagens?phone=21998765432").await;
    assert!(other.contains("data-testid=\"empty-state\""));
    let (status, bad) = page(&admin, &app, "/mensagens?phone=11+9c150-eeca").await;
    assert_eq!(status, 422);
    assert!(bad.contains("data-testid=\"filter-error\""));
    let (_, history) = page(&admin, &app, "/mensagens?view=historico").await;
    assert!(
        history.contains("data-testid=\"empty-state\""),
        "nothing left yet"
    );
    let (_, queue) = page(&admin, &app, "/mensagens?view=fila").await;
    assert_eq!(queue.matches("data-message-id=").count(), 3);

    // The detail: full text, the event link, the actions.
    let id = id_of(first_pix(&messages));
    let (status, detail) = page(&admin, &app, &format!("/mensagens/{id}")).await;
    assert_eq!(status, 200);
    assert!(detail.contains("data-testid=\"message-text\""));
    assert!(detail.contains("Olá, Ana!"), "{detail}");
    let event_id = first_pix(&messages)["event_id"].as_u64().expect("event id");
    assert!(detail.contains(&format!("href=\"/eventos/{event_id}\"")));
    assert!(detail.contains("data-testid=\"send-now\""));
    assert!(detail.contains("data-testid=\"mark-paid\""));
    let (status, _) = page(&admin, &app, "/mensagens/999999").await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_reschedule_and_send_now_change_status_and_history() {
    let (app, admin, _, _) = with_pix().await;
    let messages = listed(&admin, &app, "").await;
    let ids: Vec<u64> = messages.iter().map(id_of).collect();

    let canceled = post_form(
        &admin,
        &app,
        &format!("/mensagens/{}/cancelar", ids[0]),
        &[],
    )
    .await;
    assert_eq!(canceled.status(), 303);
    assert_eq!(
        location(&canceled),
        format!("/mensagens/{}?ok=message_canceled", ids[0])
    );
    let (_, html) = page(&admin, &app, &location(&canceled)).await;
    assert!(html.contains("Mensagem cancelada"));
    assert!(html.contains("cancelada no painel"), "the reason is shown");
    assert!(
        !html.contains("data-testid=\"message-actions\""),
        "no actions left"
    );
    let again = post_form(
        &admin,
        &app,
        &format!("/mensagens/{}/cancelar", ids[0]),
        &[],
    )
    .await;
    assert_eq!(again.status(), 409, "a canceled message cannot be canceled");
    assert!(
        again
            .text()
            .await
            .expect("body")
            .contains("não está mais na fila")
    );

    // Reschedule to a Brasília time a day ahead (minute precision, like the input).
    let target = jiff::Timestamp::from_second(SystemClock.now())
        .expect("now")
        .checked_add(jiff::SignedDuration::from_hours(24))
        .expect("tomorrow")
        .to_zoned(jiff::tz::TimeZone::get("America/Sao_Paulo").expect("tz"));
    let input = target.strftime("%Y-%m-%dT%H:%M").to_string();
    let path = format!("/mensagens/{}/reagendar", ids[1]);
    let moved = post_form(&admin, &app, &path, &[("due_at", input.as_str())]).await;
    assert_eq!(moved.status(), 303);
    let m = &listed(&admin, &app, "").await[1];
    let expected = target.timestamp().as_second() / 60 * 60;
    assert_eq!(m["due_at"], expected, "read as Brasília time");
    assert_eq!(m["status"], "scheduled");
    assert_eq!(m["reason"], "rescheduled");
    let past = post_form(&admin, &app, &path, &[("due_at", "2020-01-01T10:00")]).await;
    assert_eq!(past.status(), 422);
    let nonsense = post_form(&admin, &app, &path, &[("due_at", "amanhã")]).await;
    assert_eq!(nonsense.status(), 422);

    let now = SystemClock.now();
    let path = format!("/mensagens/{}/enviar-agora", ids[2]);
    let sent = post_form(&admin, &app, &path, &[]).await;
    assert_eq!(sent.status(), 303);
    let m = &listed(&admin, &app, "").await[2];
    let due = m["due_at"].as_i64().expect("due");
    assert!(
        (now - 5..=now + 5).contains(&due),
        "due now: {due} vs {now}"
    );
    let history = m["history"].as_array().expect("history");
    assert_eq!(history.len(), 2, "planned, then moved: {history:?}");
    let (_, list) = page(&admin, &app, "/mensagens?view=historico").await;
    assert_eq!(
        list.matches("data-message-id=").count(),
        1,
        "the canceled one"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dar_baixa_cancels_the_reminders_and_says_how_many() {
    let (app, admin, store_id, _) = with_pix().await;
    let messages = listed(&admin, &app, "").await;
    let id = id_of(first_pix(&messages));
    let done = post_form(&admin, &app, &format!("/mensagens/{id}/dar-baixa"), &[]).await;
    assert_eq!(done.status(), 303);
    let to = location(&done);
    assert!(to.ends_with("ok=marked_paid_many&n=3"), "{to}");
    let (_, html) = page(&admin, &app, &to).await;
    assert!(html.contains("3 lembretes pendentes"), "the count is shown");
    for m in listed(&admin, &app, "").await {
        assert_eq!(m["status"], "canceled");
        assert_eq!(m["reason"], "marked_paid");
    }
    let (_, list) = page(&admin, &app, "/mensagens").await;
    assert_eq!(list.matches("baixa manual").count(), 3);

    // A second baixa finds nothing to cancel and says so; the API does the same.
    let twice = post_form(&admin, &app, &format!("/mensagens/{id}/dar-baixa"), &[]).await;
    assert!(location(&twice).ends_with("ok=marked_paid_none&n=0"));
    let csrf = app.csrf(&admin, "/mensagens").await;
    let api = admin
        .post(app.at("/api/v1/orders/mark-paid"))
        .header("X-CSRF-Token", &csrf)
        .json(&json!({ "store_id": store_id, "order_id": PIX_ORDER }))
        .send()
        .await
        .expect("mark paid");
    assert_eq!(api.status(), 200);
    assert_eq!(api.json::<Value>().await.expect("json")["canceled"], 0);
    let unknown = admin
        .post(app.at("/api/v1/orders/mark-paid"))
        .header("X-CSRF-Token", &csrf)
        .json(&json!({ "store_id": 999, "order_id": PIX_ORDER }))
        .send()
        .await
        .expect("mark paid");
    assert_eq!(unknown.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_paid_webhook_cancels_the_pending_reminders() {
    let (app, admin, _, token) = with_pix().await;
    webhook(
        &app,
        &token,
        api_body("order.paid", PIX_ORDER, "paid-10442"),
    )
    .await;
    let messages = listed(&admin, &app, "").await;
    let reminders: Vec<&Value> = messages
        .iter()
        .filter(|m| m["kind"] == "pix.generated")
        .collect();
    assert_eq!(reminders.len(), 3);
    for m in &reminders {
        assert_eq!(m["status"], "canceled", "{m}");
        assert_eq!(m["reason"], "order_closed");
    }
    let confirmation = messages
        .iter()
        .find(|m| m["kind"] == "order.paid")
        .expect("a confirmation is planned");
    assert_eq!(confirmation["status"], "scheduled");

    let (_, history) = page(&admin, &app, "/mensagens?view=historico").await;
    assert_eq!(history.matches("pedido pago/encerrado").count(), 3);
    let (_, queue) = page(&admin, &app, "/mensagens?view=fila").await;
    assert_eq!(queue.matches("data-message-id=").count(), 1);
    assert!(queue.contains("Compra aprovada"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_opt_out_cancels_pending_messages_and_new_events_plan_them_canceled() {
    let (app, admin, _, token) = with_pix().await;
    let bad = post_form(&admin, &app, "/mensagens/descadastros", &[("phone", "123")]).await;
    assert_eq!(bad.status(), 422);
    assert!(bad.text().await.expect("body").contains("não é válido"));

    let added = post_form(
        &admin,
        &app,
        "/mensagens/descadastros",
        &[("phone", "(11) 98765-4321")],
    )
    .await;
    assert_eq!(added.status(), 303);
    let to = location(&added);
    assert!(to.ends_with("ok=opt_out_added_many&n=3"), "{to}");
    let (_, html) = page(&admin, &app, &to).await;
    assert!(html.contains("3 mensagens pendentes foram canceladas"));
    assert!(html.contains(PIX_PHONE), "the list shows the number");
    assert!(html.contains("Painel"), "and where it came from");
    assert!(
        listed(&admin, &app, "")
            .await
            .iter()
            .all(|m| m["reason"] == "opted_out")
    );

    // A new order from the same buyer is planned, but canceled from the start.
    webhook(
        &app,
        &token,
        api_body("pix.generated", "20001", "pix-20001"),
    )
    .await;
    let new: Vec<Value> = listed(&admin, &app, "")
        .await
        .into_iter()
        .filter(|m| m["order_id"] == "20001")
        .collect();
    assert!(!new.is_empty());
    for m in &new {
        assert_eq!(m["status"], "canceled");
        assert_eq!(m["reason"], "opted_out");
    }
    let (_, list) = page(&admin, &app, "/mensagens").await;
    assert!(list.contains("comprador descadastrado"));

    // Taking the buyer off the list lets the next events through.
    let removed = post_form(
        &admin,
        &app,
        "/mensagens/descadastros/remover",
        &[("phone", PIX_PHONE)],
    )
    .await;
    assert_eq!(
        location(&removed),
        "/mensagens/descadastros?ok=opt_out_removed"
    );
    webhook(
        &app,
        &token,
        api_body("pix.generated", "20002", "pix-20002"),
    )
    .await;
    let back = listed(&admin, &app, "").await;
    assert!(
        back.iter()
            .filter(|m| m["order_id"] == "20002")
            .all(|m| m["status"] == "scheduled")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_numbers_are_normalised_and_a_bad_line_is_named() {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let (status, html) = page(&admin, &app, "/mensagens/configuracoes").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("value=\"21:00\""),
        "quiet hours shown as HH:MM"
    );
    let fields = |numbers: &'static str| {
        vec![
            ("buyer_cap", "2"),
            ("cap_window_hours", "12"),
            ("quiet_start", "22:00"),
            ("quiet_end", "07:30"),
            ("test_numbers", numbers),
        ]
    };
    let refused = post_form(
        &admin,
        &app,
        "/mensagens/configuracoes",
        &fields("(11) 98765-4321\n11 9c150-eeca\n"),
    )
    .await;
    assert_eq!(refused.status(), 422);
    let html = refused.text().await.expect("body");
    assert!(html.contains("linha 2"), "{html}");
    assert!(
        html.contains("11 9c150-eeca"),
        "the bad value is echoed (escaped)"
    );
    assert_eq!(app.db.message_settings().expect("settings").buyer_cap, 3);

    let saved = post_form(
        &admin,
        &app,
        "/mensagens/configuracoes",
        &fields("(11) 98765-4321\n\n+55 21 99876-5432"),
    )
    .await;
    assert_eq!(saved.status(), 303);
    let settings = app.db.message_settings().expect("settings");
    assert_eq!(settings.buyer_cap, 2);
    assert_eq!(settings.cap_window_hours, 12);
    assert!(!settings.cross_store_happy_path, "unticked box means off");
    assert_eq!(settings.quiet_hours.start_min, 22 * 60);
    assert_eq!(settings.quiet_hours.end_min, 7 * 60 + 30);
    assert_eq!(settings.test_numbers, vec![PIX_PHONE, "+5521998765432"]);

    // A test number's messages are tests and land in the sandbox.
    let (_, token) = create_store(&app, Platform::Api, "Loja Real");
    webhook(&app, &token, fixture("pix.generated.json")).await;
    assert!(
        listed(&admin, &app, "")
            .await
            .iter()
            .all(|m| m["test"] == true)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_mode_sends_a_stores_messages_to_the_sandbox() {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let (store_id, token) = create_store(&app, Platform::Api, "Loja Teste");
    let (_, empty) = page(&admin, &app, "/mensagens/sandbox").await;
    assert!(empty.contains("data-testid=\"empty-state\""));
    assert!(empty.contains("nada disto chega ao WhatsApp"));

    let (_, store_page) = page(&admin, &app, &format!("/lojas/{store_id}")).await;
    assert!(store_page.contains("data-testid=\"test-mode-toggle\""));
    let on = post_form(
        &admin,
        &app,
        &format!("/lojas/{store_id}/modo-teste"),
        &[("test_mode", "1")],
    )
    .await;
    assert_eq!(location(&on), format!("/lojas/{store_id}?ok=test_mode_on"));
    assert!(app.db.store(StoreId(store_id)).expect("store").test_mode);

    webhook(&app, &token, fixture("pix.generated.json")).await;
    let messages = listed(&admin, &app, "").await;
    assert_eq!(messages.len(), 3);
    assert!(messages.iter().all(|m| m["test"] == true));
    let (_, sandbox) = page(&admin, &app, "/mensagens/sandbox").await;
    assert!(sandbox.contains("data-testid=\"sandbox-banner\""));
    assert!(sandbox.contains("Caixa de teste: nada disto chega ao WhatsApp."));
    assert_eq!(sandbox.matches("data-testid=\"conversation\"").count(), 1);
    assert_eq!(sandbox.matches("data-message-id=").count(), 3);
    assert!(sandbox.contains(&pix_code()), "the code bubble");
    let (_, list) = page(&admin, &app, "/mensagens").await;
    assert_eq!(list.matches("data-testid=\"test-badge\"").count(), 3);
    assert!(list.contains("data-testid=\"test-mode-note\""));

    let off = post_form(
        &admin,
        &app,
        &format!("/lojas/{store_id}/modo-teste"),
        &[("test_mode", "0")],
    )
    .await;
    assert_eq!(
        location(&off),
        format!("/lojas/{store_id}?ok=test_mode_off")
    );
    webhook(
        &app,
        &token,
        api_body("pix.generated", "30001", "pix-30001"),
    )
    .await;
    let real: Vec<Value> = listed(&admin, &app, "")
        .await
        .into_iter()
        .filter(|m| m["order_id"] == "30001")
        .collect();
    assert!(!real.is_empty() && real.iter().all(|m| m["test"] == false));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attendants_handle_messages_but_not_settings() {
    let (app, _admin, store_id, _) = with_pix().await;
    let bia = app.attendant("bia@loja.com.br").await;
    let messages = listed(&bia, &app, "").await;
    let id = id_of(first_pix(&messages));

    let canceled = post_form(&bia, &app, &format!("/mensagens/{id}/cancelar"), &[]).await;
    assert_eq!(canceled.status(), 303, "attendants cancel daily");
    let baixa = post_form(&bia, &app, &format!("/mensagens/{id}/dar-baixa"), &[]).await;
    assert_eq!(baixa.status(), 303, "and dar baixa");
    let opt_out = post_form(
        &bia,
        &app,
        "/mensagens/descadastros",
        &[("phone", PIX_PHONE)],
    )
    .await;
    assert_eq!(
        opt_out.status(),
        303,
        "and write down a buyer's request to stop"
    );

    let (status, settings) = page(&bia, &app, "/mensagens/configuracoes").await;
    assert_eq!(status, 403, "{settings}");
    let save = post_form(
        &bia,
        &app,
        "/mensagens/configuracoes",
        &[("buyer_cap", "9")],
    )
    .await;
    assert_eq!(save.status(), 403);
    let remove = post_form(
        &bia,
        &app,
        "/mensagens/descadastros/remover",
        &[("phone", PIX_PHONE)],
    )
    .await;
    assert_eq!(remove.status(), 403, "only admins undo a buyer's opt-out");
    let test_mode = post_form(
        &bia,
        &app,
        &format!("/lojas/{store_id}/modo-teste"),
        &[("test_mode", "1")],
    )
    .await;
    assert_eq!(test_mode.status(), 403);
    let (_, list) = page(&bia, &app, "/mensagens").await;
    assert!(!list.contains("data-testid=\"settings-link\""));
    let (_, opt_outs) = page(&bia, &app, "/mensagens/descadastros").await;
    assert!(!opt_outs.contains("data-testid=\"remove-opt-out\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_visitors_are_sent_to_login() {
    let (app, _, _, _) = with_pix().await;
    let anonymous = app.client();
    for path in [
        "/mensagens",
        "/mensagens/1",
        "/mensagens/sandbox",
        "/mensagens/descadastros",
    ] {
        let response = anonymous.get(app.at(path)).send().await.expect("answers");
        assert_eq!(response.status(), 303, "{path}");
        assert!(location(&response).starts_with("/login?next="), "{path}");
    }
    let api = anonymous
        .get(app.at("/api/v1/messages"))
        .send()
        .await
        .expect("answers");
    assert_eq!(api.status(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_messages_api_works_with_a_bearer_token() {
    let (app, admin, store_id, _) = with_pix().await;
    let token = app.api_token(&admin).await;
    let api = reqwest::Client::new();
    let call =
        |method: reqwest::Method, path: &str| api.request(method, app.at(path)).bearer_auth(&token);

    let list: Value = call(
        reqwest::Method::GET,
        &format!("/api/v1/messages?store={store_id}&phone=11987654321&view=fila&limit=2"),
    )
    .send()
    .await
    .expect("list")
    .json()
    .await
    .expect("json");
    let page = list["messages"].as_array().expect("messages");
    assert_eq!(page.len(), 2);
    let older = list["next_before"].as_u64().expect("another page");
    let rest: Value = call(
        reqwest::Method::GET,
        &format!("/api/v1/messages?before_id={older}"),
    )
    .send()
    .await
    .expect("list")
    .json()
    .await
    .expect("json");
    assert_eq!(rest["messages"].as_array().expect("messages").len(), 1);
    assert!(rest["next_before"].is_null());
    let bad = call(reqwest::Method::GET, "/api/v1/messages?status=perdida")
        .send()
        .await
        .expect("list");
    assert_eq!(bad.status(), 422);

    let id = id_of(&page[0]);
    let one: Value = call(reqwest::Method::GET, &format!("/api/v1/messages/{id}"))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(one["message"]["store_name"], "Minha Loja");
    assert_eq!(one["message"]["history"][0]["status"], "scheduled");

    let later = SystemClock.now() + 3600;
    let moved = call(
        reqwest::Method::POST,
        &format!("/api/v1/messages/{id}/reschedule"),
    )
    .json(&json!({ "due_at": later }))
    .send()
    .await
    .expect("reschedule");
    assert_eq!(moved.status(), 200);
    assert_eq!(
        moved.json::<Value>().await.expect("json")["message"]["due_at"],
        later
    );
    let past = call(
        reqwest::Method::POST,
        &format!("/api/v1/messages/{id}/reschedule"),
    )
    .json(&json!({ "due_at": 1 }))
    .send()
    .await
    .expect("reschedule");
    assert_eq!(past.status(), 422);

    let canceled = call(
        reqwest::Method::POST,
        &format!("/api/v1/messages/{id}/cancel"),
    )
    .send()
    .await
    .expect("cancel");
    assert_eq!(canceled.status(), 200);
    let body: Value = canceled.json().await.expect("json");
    assert_eq!(body["message"]["status"], "canceled");
    assert_eq!(body["message"]["reason"], "canceled_by_user");
    let again = call(
        reqwest::Method::POST,
        &format!("/api/v1/messages/{id}/cancel"),
    )
    .send()
    .await
    .expect("cancel");
    assert_eq!(again.status(), 409);
    assert_eq!(
        again.json::<Value>().await.expect("json")["error"]["code"],
        "conflict"
    );
    let missing = call(reqwest::Method::GET, "/api/v1/messages/999999")
        .send()
        .await
        .expect("get");
    assert_eq!(missing.status(), 404);

    let paid = call(reqwest::Method::POST, "/api/v1/orders/mark-paid")
        .json(&json!({ "store_id": store_id, "order_id": PIX_ORDER }))
        .send()
        .await
        .expect("mark paid");
    assert_eq!(paid.status(), 200);
    assert_eq!(paid.json::<Value>().await.expect("json")["canceled"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_show_the_queue_by_instance_and_its_state() {
    let (app, _admin, _store_id, _) = with_pix().await;
    let metrics = reqwest::get(app.at("/metrics"))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("body");
    assert!(
        metrics.contains(
            "avisa_outbox_scheduled_by_instance{instance=\"none\",state=\"disconnected\"} 3"
        ),
        "a store with no instance holds its 3 PIX messages: {metrics}"
    );
    assert!(metrics.contains("avisa_outbox_scheduled 3"), "{metrics}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_now_says_what_happens_next_without_or_with_a_connected_instance() {
    let (app, admin, store_id, _) = with_pix().await;
    let ids: Vec<u64> = listed(&admin, &app, "").await.iter().map(id_of).collect();

    let path = format!("/mensagens/{}/enviar-agora", ids[1]);
    let waiting = post_form(&admin, &app, &path, &[]).await;
    assert_eq!(
        location(&waiting),
        format!("/mensagens/{}?ok=message_send_now_waiting", ids[1])
    );
    let (_, html) = page(&admin, &app, &location(&waiting)).await;
    assert!(html.contains("só sai quando a loja tiver uma instância conectada"));

    // A connected instance whose pacing slot is far ahead: the message stays queued.
    let mut instance =
        avisa::domain::Instance::new("Número", avisa::domain::InstanceMode::Whatsapp, 0);
    instance.next_slot = i64::MAX / 2;
    let instance = app.db.create_instance(instance).expect("instance");
    app.channels.insert(
        instance.id,
        std::sync::Arc::new(avisa::channels::fake::FakeChannel::connected(
            "+5511900000000",
        )),
    );
    app.db
        .update_store(avisa::domain::StoreId(store_id), |s| {
            s.instance_id = Some(instance.id)
        })
        .expect("linked");
    let path = format!("/mensagens/{}/enviar-agora", ids[2]);
    let connected = post_form(&admin, &app, &path, &[]).await;
    assert_eq!(
        location(&connected),
        format!("/mensagens/{}?ok=message_send_now", ids[2])
    );
    let (_, html) = page(&admin, &app, &location(&connected)).await;
    assert!(
        html.contains("sai em instantes pela instância conectada"),
        "never 'assim que houver uma instância conectada' while one is"
    );
    assert!(!html.contains("assim que houver uma instância conectada"));

    // Through an instância de teste it goes to the caixa de teste, never "pela instância
    // conectada" (one model of teste, issue 13).
    app.db
        .update_instance(instance.id, |i| {
            i.mode = avisa::domain::InstanceMode::Sandbox
        })
        .expect("test instance");
    let path = format!("/mensagens/{}/enviar-agora", ids[0]);
    let test = post_form(&admin, &app, &path, &[]).await;
    assert_eq!(
        location(&test),
        format!("/mensagens/{}?ok=message_send_now_test_instance", ids[0])
    );
    let (_, html) = page(&admin, &app, &location(&test)).await;
    assert!(
        html.contains("vai para a caixa de teste, não para o WhatsApp"),
        "{html}"
    );
}
