//! Custom event kinds (post-sale) through the real server: the merchant creates a kind in the
//! console and writes its template; the `api` platform's webhook and the send API's
//! `kind + vars` plan that template with the variables; a paid order leaves those messages alone.

use avisa::db::MessageFilter;
use avisa::domain::template::{MessageTemplate, StepDelay, TemplateStep};
use avisa::domain::{CustomKindDef, EventKind, ManualClock, Message, Platform, StoreId};
use serde_json::{Value, json};
use std::sync::Arc;

use crate::events::{create_store, post_webhook};
use crate::support::TestApp;
use crate::templates::{page, post_form};

const BUYER: &str = "+5511987654321";
/// 2025-11-18 12:00 in Brasília (a Tuesday).
const NOON: i64 = 1_763_478_000;

fn messages_of(app: &TestApp, kind: &str) -> Vec<Message> {
    let mut found: Vec<Message> = app
        .db
        .list_messages(&MessageFilter {
            limit: 50,
            ..Default::default()
        })
        .expect("messages listed")
        .into_iter()
        .filter(|m| m.kind.as_str() == kind)
        .collect();
    found.sort_by_key(|m| m.id);
    found
}

fn live_event(link: &str) -> Value {
    json!({
        "kind": "custom.aviso-de-live",
        "occurred_at": "2026-12-07T12:00:00Z",
        "customer": { "name": "Ana Souza", "email": "ana@example.com", "phone": "11987654321" },
        "vars": { "link": link, "horario": "20h" }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_custom_kind_through_the_api_platform_plans_its_template_with_vars() {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let (store_id, token) = create_store(&app, Platform::Api, "Lives da Ana");

    // Before the merchant creates the kind, its events are held as unmapped, nothing planned.
    let early = live_event("https://live.example/cedo").to_string();
    let (status, answer) = post_webhook(&app, &token, early, &[]).await;
    assert_eq!(status, 202, "{answer}");
    let held = app
        .db
        .list_events(&Default::default())
        .expect("events listed");
    assert_eq!(held[0].status, avisa::ingest::Status::Unmapped);
    assert!(
        held[0]
            .reason
            .as_ref()
            .is_some_and(|r| r.detail.contains("custom.aviso-de-live")),
        "{:?}",
        held[0].reason
    );
    assert!(messages_of(&app, "custom.aviso-de-live").is_empty());

    // The merchant creates the kind from the store's templates and lands in its editor.
    let loja = store_id.to_string();
    let (status, location, _) = post_form(
        &app,
        &admin,
        "/templates/personalizados",
        &[
            ("label", "Aviso de live"),
            ("name", ""),
            ("vars", "link, horario"),
            ("loja", &loja),
        ],
    )
    .await;
    assert_eq!(status, 303);
    let editor = format!("/templates/{store_id}/custom.aviso-de-live");
    assert_eq!(location, format!("{editor}?ok=custom_kind_created"));
    let html = app.html(&admin, &location).await;
    assert!(html.contains("<h1>Aviso de live"), "the kind's own label");
    assert!(html.contains("{{ vars.link }}") && html.contains("{{ vars.horario }}"));

    // A variable the kind does not declare is refused; the declared ones save.
    let text = "{{ saudacao }}! A live começa às {{ vars.horario }}: {{ vars.link }}";
    let undeclared = format!("{text} {{{{ vars.cupom }}}}");
    let fields = |part: &str| {
        vec![
            ("enabled", "1".to_owned()),
            ("delay.0", "0".to_owned()),
            ("part.0.0", part.to_owned()),
        ]
    };
    let as_refs = |f: &[(&'static str, String)]| -> Vec<(&'static str, String)> { f.to_vec() };
    let refused = as_refs(&fields(&undeclared));
    let refused: Vec<(&str, &str)> = refused.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, _, html) = post_form(&app, &admin, &editor, &refused).await;
    assert_eq!(status, 422);
    assert!(html.contains("vars.cupom"), "the error names the variable");
    let saved = fields(text);
    let saved: Vec<(&str, &str)> = saved.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, location, _) = post_form(&app, &admin, &editor, &saved).await;
    assert_eq!(
        (status, location.as_str()),
        (303, format!("{editor}?ok=saved").as_str())
    );

    // A PIX reminder and the live notice for the same buyer; then the order is paid.
    let pix = json!({ "kind": "pix.generated", "order_id": "A1",
        "customer": { "name": "Ana Souza", "phone": "11987654321" },
        "payment": { "pix_code": "000201" }, "total_cents": 9700 });
    let (status, _) = post_webhook(&app, &token, pix.to_string(), &[]).await;
    assert_eq!(status, 202);
    let live = live_event("https://live.example/ana").to_string();
    let (status, answer) = post_webhook(&app, &token, live, &[]).await;
    assert_eq!(status, 202, "{answer}");
    let paid = json!({ "kind": "order.paid", "order_id": "A1",
        "customer": { "name": "Ana Souza", "phone": "11987654321" }, "total_cents": 9700 });
    let (status, _) = post_webhook(&app, &token, paid.to_string(), &[]).await;
    assert_eq!(status, 202);

    let notices = messages_of(&app, "custom.aviso-de-live");
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert_eq!(
        notices[0].text,
        "Olá, Ana! A live começa às 20h: https://live.example/ana"
    );
    assert_eq!(notices[0].phone, BUYER);
    assert!(
        notices[0].status.is_pending(),
        "the paid order leaves the live notice alone: {:?}",
        notices[0].status
    );
    let reminders = messages_of(&app, "pix.generated");
    assert!(!reminders.is_empty());
    assert!(
        reminders.iter().all(|m| !m.status.is_pending()),
        "the PIX reminders stopped: {reminders:?}"
    );

    // The list of kinds and the Mensagens page show the merchant's label.
    let html = app.html(&admin, "/mensagens").await;
    assert!(html.contains("Aviso de live"), "Mensagens labels the kind");
}

/// An admin's API token, an `api` store and a created kind `custom.aniversario` (`vars.idade`).
async fn with_birthday_kind() -> (TestApp, String, u64) {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let token = app.api_token(&admin).await;
    let (store_id, _) = create_store(&app, Platform::Api, "Loja da Ana");
    app.db
        .create_custom_kind(&CustomKindDef {
            name: "aniversario".into(),
            label: "Aniversário".into(),
            vars: vec!["idade".into()],
            created_at: 0,
        })
        .expect("kind created");
    (app, token, store_id)
}

async fn send(app: &TestApp, token: &str, body: Value, key: Option<&str>) -> (u16, Value) {
    let mut request = app
        .client()
        .post(app.at("/api/v1/messages"))
        .bearer_auth(token)
        .json(&body);
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    let response = request.send().await.expect("API answers");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_send_api_sends_a_custom_kinds_template_with_kind_and_vars() {
    let (app, token, store_id) = with_birthday_kind().await;
    let body = json!({
        "store_id": store_id,
        "to": "11987654321",
        "name": "Ana Souza",
        "email": "ana@example.com",
        "kind": "custom.aniversario",
        "vars": { "idade": 30 },
    });

    // The template was never written: nothing would go out, and nothing is stored.
    let (status, answer) = send(&app, &token, body.clone(), Some("niver-ana-2026")).await;
    assert_eq!(status, 409, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("custom.aniversario")
    );

    let kind = EventKind::parse_with_custom("custom.aniversario").expect("custom kind");
    app.db
        .save_template(
            StoreId(store_id),
            &MessageTemplate {
                kind,
                enabled: true,
                ask_reply: Default::default(),
                steps: vec![TemplateStep {
                    delay: StepDelay::After { minutes: 0 },
                    parts: vec![
                        "Parabéns, {{ customer.first_name }}! {{ vars.idade }} anos!".into(),
                    ],
                }],
            },
        )
        .expect("template saved");
    let (status, first) = send(&app, &token, body.clone(), Some("niver-ana-2026")).await;
    assert_eq!(status, 202, "{first}");
    let message = &first["message"];
    assert_eq!(message["kind"], "custom.aniversario");
    assert_eq!(message["text"], "Parabéns, Ana! 30 anos!");
    assert_eq!(message["status"], "scheduled");
    assert_eq!(message["phone"], BUYER);
    let id = message["id"].clone();

    // The same key: the same message. The same key with other vars: a mistake.
    let (status, replay) = send(&app, &token, body.clone(), Some("niver-ana-2026")).await;
    assert_eq!((status, replay["replayed"].clone()), (202, json!(true)));
    assert_eq!(replay["message"]["id"], id);
    let mut other = body.clone();
    other["vars"] = json!({ "idade": 31 });
    let (status, answer) = send(&app, &token, other, Some("niver-ana-2026")).await;
    assert_eq!(status, 409, "{answer}");
    assert_eq!(messages_of(&app, "custom.aniversario").len(), 1);

    // Refusals that store nothing: an uncreated kind, a platform kind, text and kind together.
    for (change, says) in [
        (json!({ "kind": "custom.natal" }), "does not exist"),
        (json!({ "kind": "order.paid" }), "not a custom kind"),
        (json!({ "text": "Oi" }), "not both"),
        (json!({ "vars": { "Idade": 1 } }), "not a variable name"),
    ] {
        let mut bad = body.clone();
        for (k, v) in change.as_object().expect("object") {
            bad[k] = v.clone();
        }
        let (status, answer) = send(&app, &token, bad, None).await;
        assert_eq!(status, 422, "{change}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(says), "{message} should say {says}");
    }
    assert_eq!(messages_of(&app, "custom.aniversario").len(), 1);
}

/// The `<option>` of a filter select offering `kind`, if the page has one.
fn option_of<'a>(html: &'a str, kind: &str) -> Option<&'a str> {
    let start = html.find(&format!("<option value=\"{kind}\""))?;
    let end = start + html[start..].find("</option>")?;
    Some(&html[start..end])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eventos_and_relatorios_filter_by_a_custom_kind() {
    // Noon in Brasília: on the machine's clock, after 21:00 quiet hours would move the birthday
    // message to tomorrow, outside the report's seven days ending today.
    let app = TestApp::start_on(Arc::new(ManualClock::at(NOON))).await;
    let admin = app.setup_admin().await;
    let (store_id, token) = create_store(&app, Platform::Api, "Loja da Ana");
    app.db
        .create_custom_kind(&CustomKindDef {
            name: "aniversario".into(),
            label: "Aniversário".into(),
            vars: vec!["idade".into()],
            created_at: 0,
        })
        .expect("kind created");
    let kind = EventKind::parse_with_custom("custom.aniversario").expect("custom kind");
    app.db
        .save_template(
            StoreId(store_id),
            &MessageTemplate {
                kind,
                enabled: true,
                steps: vec![TemplateStep {
                    delay: StepDelay::After { minutes: 0 },
                    parts: vec!["Parabéns, {{ customer.first_name }}!".into()],
                }],
                ask_reply: Default::default(),
            },
        )
        .expect("template saved");
    let birthday = json!({ "kind": "custom.aniversario",
        "customer": { "name": "Ana Souza", "phone": "11987654321" }, "vars": { "idade": 30 } });
    let (status, answer) = post_webhook(&app, &token, birthday.to_string(), &[]).await;
    assert_eq!(status, 202, "{answer}");
    let birthday_event = answer["event_ids"][0].as_u64().expect("event id");
    let pix = json!({ "kind": "pix.generated", "order_id": "A1",
        "customer": { "name": "Bruno Lima", "phone": "21998765432" },
        "payment": { "pix_code": "000201" }, "total_cents": 9700 });
    let (status, _) = post_webhook(&app, &token, pix.to_string(), &[]).await;
    assert_eq!(status, 202);
    assert_eq!(messages_of(&app, "custom.aniversario").len(), 1);

    // Eventos offers the kind under the merchant's label and lists only its events.
    let (status, html) = page(&admin, &app, "/eventos").await;
    assert_eq!(status, 200);
    let option = option_of(&html, "custom.aniversario").expect("Eventos offers the kind");
    assert!(option.ends_with(">Aniversário"), "{option}");
    let (status, html) = page(&admin, &app, "/eventos?kind=custom.aniversario").await;
    assert_eq!(status, 200, "{html}");
    assert_eq!(
        html.matches("data-event-id=").count(),
        1,
        "only the birthday"
    );
    assert!(html.contains(&format!("data-event-id=\"{birthday_event}\"")));
    assert!(
        option_of(&html, "custom.aniversario").is_some_and(|o| o.contains("selected")),
        "the choice stays selected"
    );

    // Relatórios offers it too, and counts its message under its label.
    let (status, html) = page(&admin, &app, "/relatorios").await;
    assert_eq!(status, 200);
    let option = option_of(&html, "custom.aniversario").expect("Relatórios offers the kind");
    assert!(option.ends_with(">Aniversário"), "{option}");
    let (status, html) = page(&admin, &app, "/relatorios?tipo=custom.aniversario").await;
    assert_eq!(status, 200);
    assert!(!html.contains("data-testid=\"report-error\""), "{html}");
    let table = html
        .split("data-testid=\"report-templates\"")
        .nth(1)
        .expect("the per-template table");
    let table = &table[..table.find("</table>").expect("its end")];
    assert!(
        table.contains("<td>Aniversário</td>"),
        "the kind's row: {table}"
    );
    assert!(!table.contains("PIX"), "only the kind filtered: {table}");

    // The counters the reports read agree with a full recount.
    assert_eq!(
        app.db.verify_report_counters().expect("recount"),
        Vec::<String>::new()
    );
}
