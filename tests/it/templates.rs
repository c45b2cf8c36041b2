//! Templates: the per-store list, the editor's validation, saving and resetting, the preview with
//! real fixture events, and the proof that what is saved is what the next webhook plans.

use avisa::db::MessageFilter;

use avisa::domain::Message;
use avisa::domain::{EventKind, Platform, StoreId};
use serde_json::{Value, json};

use crate::events::{create_store, post_webhook};
use crate::support::TestApp;

pub(crate) const API_PIX: &str = "api/pix.generated.json";

pub(crate) fn fixture(path: &str) -> Vec<u8> {
    let full = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(path);
    std::fs::read(&full).unwrap_or_else(|e| panic!("fixture {path}: {e}"))
}

pub(crate) async fn page(client: &reqwest::Client, app: &TestApp, path: &str) -> (u16, String) {
    let response = client.get(app.at(path)).send().await.expect("page answers");
    let status = response.status().as_u16();
    (status, response.text().await.expect("page body"))
}

/// Posts the editor form (`fields` after the CSRF token) to `path`.
pub(crate) async fn post_form(
    app: &TestApp,
    client: &reqwest::Client,
    path: &str,
    fields: &[(&str, &str)],
) -> (u16, String, String) {
    let csrf = app.csrf(client, "/templates").await;
    let mut form = vec![("_csrf", csrf.as_str())];
    form.extend_from_slice(fields);
    let response = client
        .post(app.at(path))
        .form(&form)
        .send()
        .await
        .expect("form answers");
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, location, response.text().await.expect("body"))
}

pub(crate) fn messages(app: &TestApp) -> Vec<Message> {
    app.db
        .list_messages(&MessageFilter {
            limit: 50,
            ..Default::default()
        })
        .expect("messages listed")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_list_shows_every_kind_of_the_chosen_store() {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let (status, html) = page(&admin, &app, "/templates").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("data-testid=\"empty-state\"") && html.contains("href=\"/lojas\""),
        "no store yet: an honest empty state that leads to Lojas"
    );

    let (first, _) = create_store(&app, Platform::Kiwify, "Curso A");
    let (second, _) = create_store(&app, Platform::Api, "Loja B");
    let (status, html) = page(&admin, &app, &format!("/templates?loja={second}")).await;
    assert_eq!(status, 200);
    assert_eq!(html.matches("data-testid=\"kind-row\"").count(), 22);
    for label in ["Carrinho abandonado", "PIX gerado", "Acesso liberado"] {
        assert!(html.contains(label), "{label} is listed");
    }
    assert!(html.contains(&format!("/templates/{second}/pix.generated")));
    assert!(!html.contains(&format!("/templates/{first}/pix.generated")));
    assert!(html.contains("padrão") && !html.contains("badge custom"));
    assert!(
        html.contains("depois de 2 min"),
        "the PIX first delay reads as words"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saving_an_unknown_variable_is_refused_with_the_step_part_and_line() {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let (id, _) = create_store(&app, Platform::Api, "Minha Loja");
    let path = format!("/templates/{id}/pix.generated");
    let (status, _, html) = post_form(
        &app,
        &admin,
        &path,
        &[
            ("enabled", "1"),
            ("delay.0", "2m"),
            ("part.0.0", "Olá {{ customer.first_name }}"),
            ("delay.1", "1d"),
            ("part.1.0", "Oi\r\nainda dá tempo\r\n{{ cliente.nome }}"),
            ("action", "save"),
        ],
    )
    .await;
    assert_eq!(status, 422);
    assert!(
        html.contains(
            "Passo 2, mensagem 1, linha 3: variável desconhecida <code>cliente.nome</code>"
        ),
        "the error names step, part and line"
    );
    assert!(
        html.contains("Oi\nainda dá tempo"),
        "the typed text is kept"
    );
    let stored = app
        .db
        .template(StoreId(id), EventKind::PixGenerated)
        .expect("read");
    assert!(stored.is_none(), "nothing was saved");

    let (status, _, html) = post_form(
        &app,
        &admin,
        &path,
        &[("delay.0", "amanhã"), ("part.0.0", "{% if %}")],
    )
    .await;
    assert_eq!(status, 422);
    assert!(html.contains("Passo 1: não entendi quando enviar"));
    assert!(html.contains("Passo 1, mensagem 1, linha 1: erro de sintaxe"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_template_is_what_the_next_webhook_plans_and_reset_restores_the_default() {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let (id, token) = create_store(&app, Platform::Api, "Minha Loja");
    let path = format!("/templates/{id}/pix.generated");
    let (status, location, _) = post_form(
        &app,
        &admin,
        &path,
        &[
            ("enabled", "1"),
            ("delay.0", "0"),
            (
                "part.0.0",
                "Oi {{ customer.first_name }}! Seu PIX de {{ total_cents | brl }}:",
            ),
            ("part.0.1", "{{ payment.pix_code }}"),
            ("part.0.2", "   "),
            ("action", "save"),
        ],
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(location, format!("{path}?ok=saved"));
    let (_, html) = page(&admin, &app, &location).await;
    assert!(html.contains("Alterações salvas") && html.contains("Texto personalizado"));
    let (_, list) = page(&admin, &app, "/templates").await;
    assert!(list.contains("personalizado"));

    let (status, _) = post_webhook(&app, &token, fixture(API_PIX), &[]).await;
    assert_eq!(status, 202);
    let mut planned = messages(&app);
    planned.sort_by_key(|m| (m.step, m.part));
    let texts: Vec<&str> = planned.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts.len(), 2, "one step of two parts: {texts:?}");
    assert_eq!(texts[0], "Oi Ana! Seu PIX de R$ 197,00:");
    assert!(texts[1].starts_with("00020101021226900014br.gov.bcb.pix"));

    let (status, location, _) = post_form(&app, &admin, &format!("{path}/padrao"), &[]).await;
    assert_eq!(status, 303);
    assert_eq!(location, format!("{path}?ok=template_reset"));
    let stored = app
        .db
        .template(StoreId(id), EventKind::PixGenerated)
        .expect("read");
    assert!(stored.is_none(), "back to the default");
    let (_, html) = page(&admin, &app, &location).await;
    assert!(html.contains("Texto padrão restaurado") && html.contains("Texto padrão do avisa"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kind_switched_off_plans_nothing() {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let (id, token) = create_store(&app, Platform::Api, "Minha Loja");
    let (status, _, _) = post_form(
        &app,
        &admin,
        &format!("/templates/{id}/pix.generated"),
        &[
            ("delay.0", "2m"),
            ("part.0.0", "Oi {{ customer.first_name }}"),
        ],
    )
    .await;
    assert_eq!(status, 303);
    let (_, list) = page(&admin, &app, "/templates").await;
    let row = list
        .split("data-kind=\"pix.generated\"")
        .nth(1)
        .and_then(|rest| rest.split("</tr>").next())
        .expect("the PIX row");
    assert!(row.contains("Desligado"), "{row}");

    let (status, answer) = post_webhook(&app, &token, fixture(API_PIX), &[]).await;
    assert_eq!(status, 202, "{answer}");
    assert!(
        messages(&app).is_empty(),
        "nothing planned for a kind turned off"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_preview_renders_the_typed_text_with_a_real_fixture() {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let (kiwify, _) = create_store(&app, Platform::Kiwify, "Curso");
    // The Kiwify PIX fixture's code (a `/` in it is HTML-escaped on the page, so only its start).
    let code = "00020101021226840014br.gov.bcb.pix2562pix-h.stone.com.br";

    let (status, html) = page(&admin, &app, &format!("/templates/{kiwify}/pix.generated")).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("kiwify&#x2f;pix_created.json"),
        "the sample is named"
    );
    assert!(
        html.contains(code),
        "the default text previews with the fixture's code"
    );

    let (status, _, html) = post_form(
        &app,
        &admin,
        &format!("/templates/{kiwify}/pix.generated/previa"),
        &[
            ("delay.0", "15m"),
            ("part.0.0", "Rascunho para {{ customer.first_name }}"),
            ("part.0.1", "{{ payment.pix_code }}"),
            ("delay.1", "due"),
            ("part.1.0", "{{ pedido }}"),
            ("action", "preview"),
        ],
    )
    .await;
    assert_eq!(status, 200);
    assert!(html.contains("data-testid=\"bubble\">Rascunho para John</div>"));
    assert!(html.contains(&format!("data-testid=\"bubble\">{code}")));
    assert!(html.contains("depois de 15 min"));
    assert!(
        html.contains("Passo 2, mensagem 1, linha 1: variável desconhecida <code>pedido</code>"),
        "rendering errors show inline"
    );
    assert!(
        app.db
            .template(StoreId(kiwify), EventKind::PixGenerated)
            .expect("read")
            .is_none(),
        "a preview saves nothing"
    );

    // The structural buttons work without JavaScript through the same form post.
    let (status, _, html) = post_form(
        &app,
        &admin,
        &format!("/templates/{kiwify}/pix.generated/previa"),
        &[
            ("delay.0", "15m"),
            ("part.0.0", "Um"),
            ("action", "add_part.0"),
        ],
    )
    .await;
    assert_eq!(status, 200);
    assert!(html.contains("name=\"part.0.1\""), "a second part appears");

    // A platform without this kind borrows another platform's fixture, and says so.
    let (api, _) = create_store(&app, Platform::Api, "Loja API");
    // (avisa's own format has no shipping example; it has a boleto one since issue 16.)
    let (_, html) = page(&admin, &app, &format!("/templates/{api}/order.shipped")).await;
    assert!(html.contains("usamos o de outra plataforma"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_json_preview_answers_with_rendered_steps() {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let (id, _) = create_store(&app, Platform::Kiwify, "Curso");
    let csrf = app.csrf(&admin, "/templates").await;
    let response = admin
        .post(app.at("/api/v1/templates/preview"))
        .header("X-CSRF-Token", &csrf)
        .json(&json!({
            "store_id": id,
            "kind": "pix.generated",
            "steps": [ { "delay": "2m", "parts": ["{{ payment.pix_code }}", "{{ nada }}"] } ],
        }))
        .send()
        .await
        .expect("preview answers");
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["source"], "platform");
    assert_eq!(body["sample"], "kiwify/pix_created.json");
    let parts = &body["steps"][0]["parts"];
    assert!(
        parts[0]["text"]
            .as_str()
            .expect("text")
            .starts_with("000201")
    );
    assert_eq!(parts[1]["error"]["code"], "unknown_variable");
    assert!(body["steps"][0]["due_at"].is_i64());
}

/// Issue 14: the JSON preview reads the merchant's own kinds (one that exists; a made-up one is
/// refused like any unknown kind) and shows the "pedir resposta" invitation before the first
/// step's parts, as the editor's preview does: the saved setting when the request says nothing,
/// the typed card when it sends one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_json_preview_takes_custom_kinds_and_shows_the_invitation() {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let (id, _) = create_store(&app, Platform::Api, "Minha Loja");
    app.db
        .create_custom_kind(&avisa::domain::custom_kind::CustomKindDef {
            name: "aniversario".into(),
            label: "Aniversário".into(),
            vars: vec!["idade".into()],
            created_at: 0,
        })
        .expect("kind created");
    let csrf = app.csrf(&admin, "/templates").await;
    let preview = |body: Value| {
        let request = admin
            .post(app.at("/api/v1/templates/preview"))
            .header("X-CSRF-Token", &csrf)
            .json(&body);
        async move {
            let response = request.send().await.expect("preview answers");
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.expect("JSON"))
        }
    };
    let steps = json!([ { "delay": "0", "parts": ["Parabéns, {{ customer.first_name }}! {{ vars.idade }} anos!"] } ]);

    let (status, body) =
        preview(json!({ "store_id": id, "kind": "custom.aniversario", "steps": steps })).await;
    assert_eq!(status, 200, "{body}");
    let step = &body["steps"][0];
    assert!(
        step["parts"][0]["text"]
            .as_str()
            .is_some_and(|t| t.starts_with("Parabéns")),
        "{body}"
    );
    assert!(
        step.get("invite").is_none(),
        "pedir resposta is off: {body}"
    );

    let (status, body) =
        preview(json!({ "store_id": id, "kind": "custom.inventado", "steps": steps })).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "validation_failed", "{body}");

    // Saved on for PIX: a request without the card shows the saved (shipped) invitation.
    let mut pix = avisa::render::default_template(EventKind::PixGenerated);
    pix.ask_reply.enabled = true;
    pix.ask_reply.timeout_min = 30;
    app.db.save_template(StoreId(id), &pix).expect("saved");
    let pix_steps = json!([ { "delay": "0", "parts": ["{{ payment.pix_code }}"] } ]);
    let (status, body) =
        preview(json!({ "store_id": id, "kind": "pix.generated", "steps": pix_steps })).await;
    assert_eq!(status, 200, "{body}");
    let step = &body["steps"][0];
    assert!(
        step["invite"]["text"]
            .as_str()
            .is_some_and(|t| t.contains("Responda *1* para receber o código PIX aqui")),
        "{body}"
    );
    assert_eq!(step["wait_min"], "30");

    // The typed card wins: its own invitation and wait, or none when switched off.
    let typed = json!({ "enabled": true, "invite": "Oi, {{ customer.first_name }}! Posso mandar o PIX? Responda 1.", "timeout_min": 15 });
    let (status, body) = preview(
        json!({ "store_id": id, "kind": "pix.generated", "steps": pix_steps, "ask_reply": typed }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["steps"][0]["invite"]["text"]
            .as_str()
            .is_some_and(|t| t.ends_with("Posso mandar o PIX? Responda 1.")),
        "{body}"
    );
    assert_eq!(body["steps"][0]["wait_min"], "15");
    let off = json!({ "enabled": false });
    let (_, body) = preview(
        json!({ "store_id": id, "kind": "pix.generated", "steps": pix_steps, "ask_reply": off }),
    )
    .await;
    assert!(body["steps"][0].get("invite").is_none(), "{body}");
    let too_long = json!({ "enabled": true, "timeout_min": 5000 });
    let (status, body) = preview(json!({ "store_id": id, "kind": "pix.generated", "steps": pix_steps, "ask_reply": too_long })).await;
    assert_eq!(status, 422, "{body}");

    // The spec says so.
    let spec: Value = admin
        .get(app.at("/api/v1/openapi.json"))
        .send()
        .await
        .expect("spec")
        .json()
        .await
        .expect("JSON");
    let input = &spec["components"]["schemas"]["PreviewInput"]["properties"];
    assert!(input["ask_reply"].is_object(), "{input}");
    assert!(
        spec["components"]["schemas"]["AskReplyInput"]["properties"]["timeout_min"].is_object()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attendant_may_preview_but_not_save() {
    let app = TestApp::start().await;
    app.setup_admin().await;
    let (id, _) = create_store(&app, Platform::Api, "Minha Loja");
    let client = app.attendant("atendente@loja.com.br").await;
    let path = format!("/templates/{id}/pix.generated");
    let (status, html) = page(&client, &app, &path).await;
    assert_eq!(status, 200);
    assert!(html.contains("Só administradores salvam"));
    assert!(!html.contains("data-testid=\"save\""));
    let fields = [
        ("delay.0", "0"),
        ("part.0.0", "Oi {{ customer.first_name }}"),
    ];
    let (status, _, _) = post_form(&app, &client, &path, &fields).await;
    assert_eq!(status, 403);
    let (status, _, _) = post_form(&app, &client, &format!("{path}/padrao"), &[]).await;
    assert_eq!(status, 403);
    let (status, _, html) = post_form(&app, &client, &format!("{path}/previa"), &fields).await;
    assert_eq!(status, 200);
    assert!(html.contains("data-testid=\"bubble\">Oi Ana</div>"));
    assert!(
        app.db
            .template(StoreId(id), EventKind::PixGenerated)
            .expect("read")
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_stores_and_kinds_are_not_found() {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let (id, _) = create_store(&app, Platform::Api, "Minha Loja");
    for path in [
        "/templates/999/pix.generated".to_owned(),
        format!("/templates/{id}/pix.gerado"),
        "/templates/abc/pix.generated".to_owned(),
    ] {
        let (status, _) = page(&admin, &app, &path).await;
        assert_eq!(status, 404, "{path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_delay_field_speaks_portuguese() {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let (id, _) = create_store(&app, Platform::Api, "Minha Loja");
    let path = format!("/templates/{id}/boleto.generated");
    let (status, html) = page(&admin, &app, &path).await;
    assert_eq!(status, 200);
    for shown in [
        "value=\"2 minutos\"",
        "value=\"1 dia\"",
        "value=\"no vencimento\"",
    ] {
        assert!(html.contains(shown), "the default's delays read {shown}");
    }
    let (status, _, _) = post_form(
        &app,
        &admin,
        &path,
        &[
            ("enabled", "1"),
            ("delay.0", "30 minutos"),
            (
                "part.0.0",
                "{{ saudacao }}! Seu boleto: {{ payment.boleto_url }}",
            ),
            ("delay.1", "2 horas"),
            ("part.1.0", "Lembrete"),
            ("delay.2", "No vencimento"),
            ("part.2.0", "Último dia"),
            ("action", "save"),
        ],
    )
    .await;
    assert_eq!(status, 303, "pt-BR delays are accepted");
    let saved = app
        .db
        .template(StoreId(id), EventKind::BoletoGenerated)
        .expect("read")
        .expect("saved");
    let delays: Vec<String> = saved.steps.iter().map(|s| s.delay.label()).collect();
    assert_eq!(delays, ["30m", "2h", "due"]);
    let (_, html) = page(&admin, &app, &path).await;
    assert!(html.contains("value=\"30 minutos\"") && html.contains("value=\"2 horas\""));
}

/// The on/off badge of a kind's row in the templates list.
fn row_is_on(html: &str, kind: &str) -> bool {
    let start = html
        .find(&format!("data-kind=\"{kind}\""))
        .unwrap_or_else(|| panic!("{kind} is listed"));
    let row = &html[start..];
    let row = &row[..row.find("</tr>").unwrap_or(row.len())];
    row.contains("badge on")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_infoproduct_store_does_not_start_with_shipping_messages_on() {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let (course, _) = create_store(&app, Platform::Hotmart, "Curso");
    let (shop, _) = create_store(&app, Platform::Shopify, "Loja");
    let (_, html) = page(&admin, &app, &format!("/templates?loja={course}")).await;
    for kind in [
        "order.shipped",
        "shipping.out_for_delivery",
        "shipping.delivered",
    ] {
        assert!(!row_is_on(&html, kind), "Hotmart: {kind} starts off");
    }
    assert!(row_is_on(&html, "order.paid"));
    let (_, html) = page(&admin, &app, &format!("/templates?loja={shop}")).await;
    for kind in [
        "order.shipped",
        "shipping.out_for_delivery",
        "shipping.delivered",
    ] {
        assert!(row_is_on(&html, kind), "Shopify: {kind} starts on");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_editor_explains_errors_in_portuguese_and_warns_about_literal_tags() {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let (id, _) = create_store(&app, Platform::Api, "Minha Loja");
    let path = format!("/templates/{id}/pix.generated");
    let (status, _, html) = post_form(
        &app,
        &admin,
        &path,
        &[
            ("enabled", "1"),
            ("delay.0", "na hora"),
            ("part.0.0", "Oi\r\n{{ total_cents | reais }}"),
            ("delay.1", "1 dia"),
            ("part.1.0", "{{ saudacao }"),
            ("action", "save"),
        ],
    )
    .await;
    assert_eq!(status, 422);
    assert!(
        html.contains(
            "Passo 1, mensagem 1, linha 2: erro de sintaxe — filtro desconhecido `reais`: os filtros \
             das mensagens são brl, first_name, date_br"
        ),
        "unknown filter, in pt-BR with its line"
    );
    assert!(
        html.contains("encontrei `}` onde esperava o fechamento `}}`"),
        "a half-closed tag, in pt-BR"
    );
    assert!(!html.contains("unexpected") && !html.contains("unknown filter"));

    let (status, location, _) = post_form(
        &app,
        &admin,
        &path,
        &[
            ("enabled", "1"),
            ("delay.0", "na hora"),
            ("part.0.0", "Oi {nome}! Pague aqui: [link_boleto]"),
            ("action", "save"),
        ],
    )
    .await;
    assert_eq!(status, 303, "a literal tag is a warning, not an error");
    let (_, html) = page(&admin, &app, &location).await;
    assert_eq!(html.matches("data-testid=\"field-warning\"").count(), 2);
    assert!(html.contains("<code>{nome}</code> vai para o comprador assim"));
    assert!(html.contains("<code>{{ payment.boleto_url }}</code>"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_preview_offers_the_stores_own_events_newest_first() {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let (id, token) = create_store(&app, Platform::Api, "Minha Loja");
    let (_, html) = page(&admin, &app, &format!("/templates/{id}/pix.generated")).await;
    assert!(
        !html.contains("Evento desta loja"),
        "no event yet: the examples stand in"
    );
    for (event_id, buyer) in [("p-1", "Bruno Lima"), ("p-2", "Carla Dias")] {
        let mut body: Value = serde_json::from_slice(&fixture(API_PIX)).expect("json");
        body["event_id"] = json!(event_id);
        body["customer"]["name"] = json!(buyer);
        body["customer"]["first_name"] = json!(buyer.split(' ').next());
        let (status, _) = post_webhook(&app, &token, body.to_string().into_bytes(), &[]).await;
        assert_eq!(status, 202);
    }
    let (_, html) = page(&admin, &app, &format!("/templates/{id}/pix.generated")).await;
    let carla = html
        .find("· Carla Dias")
        .expect("the newest event is offered");
    let bruno = html.find("· Bruno Lima").expect("the older one too");
    let example = html
        .find("Exemplo: api&#x2f;pix.generated.json")
        .expect("then the examples");
    assert!(
        carla < bruno && bruno < example,
        "newest first, examples last"
    );
    assert!(
        html.contains("data-testid=\"bubble\">Olá, Carla!"),
        "the preview renders the newest event"
    );
    assert!(html.contains("Eventos recentes desta loja"));
}

/// Issue 15 item 8: the preview shows one variant of a `{Olá|Oi|Opa}` text and says how many
/// exist; a saved template plans one variant per buyer, fixed in the stored message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliverability_variants_preview_one_and_plan_one_per_buyer() {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let (id, token) = create_store(&app, Platform::Api, "Minha Loja");
    let source = "{Olá|Oi|Opa}, {{ customer.first_name }}! {Segue|Aqui está} o seu PIX:";
    let csrf = app.csrf(&admin, "/templates").await;
    let response = admin
        .post(app.at("/api/v1/templates/preview"))
        .header("X-CSRF-Token", &csrf)
        .json(&json!({
            "store_id": id,
            "kind": "pix.generated",
            "steps": [ { "delay": "0", "parts": [source] } ],
        }))
        .send()
        .await
        .expect("preview answers");
    let body: Value = response.json().await.expect("JSON");
    let part = &body["steps"][0]["parts"][0];
    assert_eq!(part["variants"], 6, "{part}");
    let text = part["text"].as_str().expect("one variant");
    assert!(!text.contains('{') && !text.contains('|'), "{text}");

    let path = format!("/templates/{id}/pix.generated");
    let (_, html) = page(&admin, &app, &path).await;
    assert!(html.contains("Variações"), "the editor explains the syntax");
    let (status, _, _) = post_form(
        &app,
        &admin,
        &path,
        &[
            ("enabled", "1"),
            ("delay.0", "0"),
            ("part.0.0", source),
            ("action", "save"),
        ],
    )
    .await;
    assert_eq!(status, 303);

    let body: Value = serde_json::from_slice(&fixture(API_PIX)).expect("fixture json");
    for n in 0..12 {
        let mut event = body.clone();
        event["event_id"] = json!(format!("variant-{n}"));
        event["order_id"] = json!(format!("V{n}"));
        let (status, _) = post_webhook(&app, &token, event.to_string().into_bytes(), &[]).await;
        assert_eq!(status, 202);
    }
    let texts: std::collections::BTreeSet<String> =
        messages(&app).into_iter().map(|m| m.text).collect();
    assert!(
        texts.len() > 1,
        "twelve buyers do not all get one text: {texts:?}"
    );
    for text in &texts {
        assert!(
            ["Olá", "Oi", "Opa"].iter().any(|g| text.starts_with(g)) && text.contains("Ana!"),
            "{text}"
        );
    }
}
