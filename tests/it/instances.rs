//! Instâncias: creating a sandbox instance in the console, its live state over server-sent
//! events, the sending settings and their checks, linking stores, deleting, who may change what,
//! and the JSON API.

use std::time::Duration;

use serde_json::{Value, json};

use avisa::domain::{InstanceId, StoreId};

use crate::support::TestApp;

async fn page(client: &reqwest::Client, app: &TestApp, path: &str) -> (u16, String) {
    let response = client.get(app.at(path)).send().await.expect("page answers");
    let status = response.status().as_u16();
    (status, response.text().await.expect("page body"))
}

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

/// Creates an instance through the form; returns its id.
async fn create_instance(app: &TestApp, admin: &reqwest::Client, name: &str, mode: &str) -> u64 {
    let response = post_form(
        app,
        admin,
        "/instancias/nova",
        "/instancias",
        &[("name", name), ("mode", mode)],
    )
    .await;
    assert_eq!(
        response.status(),
        303,
        "creating an instance redirects to it"
    );
    let location = response.headers()["location"].to_str().expect("location");
    assert!(location.ends_with("?ok=instance_created"), "{location}");
    location
        .trim_start_matches("/instancias/")
        .split('?')
        .next()
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("redirect to the new instance: {location}"))
}

/// A store made directly in storage (the store forms have their own tests).
fn create_store(app: &TestApp, name: &str) -> u64 {
    app.db
        .create_store(avisa::domain::NewStore {
            name: name.into(),
            slug: avisa::domain::slugify(name),
            platform: avisa::domain::Platform::Hotmart,
            enabled: true,
            secret: None,
            webhook_token: format!("{:0>32}", name.len()) + name,
            created_at: 0,
        })
        .expect("store created")
        .id
        .0
}

/// The settings form as the page fills it, with `changes` applied.
fn settings<'a>(changes: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut fields = vec![
        ("name", "WhatsApp da loja"),
        ("mode", "sandbox"),
        ("interval_s", "30"),
        ("jitter_pct", "30"),
        ("daily_limit", "1000"),
        ("quiet_start", "21:00"),
        ("quiet_end", "08:00"),
        ("typing_seconds", "3"),
    ];
    for (key, value) in changes {
        let field = fields
            .iter_mut()
            .find(|(k, _)| k == key)
            .expect("known field");
        field.1 = value;
    }
    fields
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_test_instance_made_in_the_form_delivers_to_the_caixa_de_teste_and_says_so() {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let (status, empty) = page(&admin, &app, "/instancias").await;
    assert_eq!(status, 200);
    assert!(
        empty.contains("data-testid=\"empty-state\""),
        "honest empty state"
    );

    let id = create_instance(&app, &admin, "Teste", "sandbox").await;
    let (status, detail) = page(
        &admin,
        &app,
        &format!("/instancias/{id}?ok=instance_created"),
    )
    .await;
    assert_eq!(status, 200);
    assert!(detail.contains("Instância criada"), "the flash confirms it");
    // A test instance is never "conectado": it delivers to the caixa de teste (issue 13).
    assert!(detail.contains("data-state=\"test\""));
    assert!(detail.contains(">teste: entrega na caixa de teste<"));
    assert!(detail.contains("não para o WhatsApp"));

    let (_, list) = page(&admin, &app, "/instancias").await;
    assert!(list.contains("Teste") && list.contains(">teste: entrega na caixa de teste<"));
    assert!(list.contains("entrega na caixa de teste, não no WhatsApp"));
    assert!(
        list.contains("0 de 1000"),
        "today's sends against the limit"
    );

    // A WhatsApp instance is disconnected until paired, and offers to connect.
    let wa = create_instance(&app, &admin, "Número da loja", "whatsapp").await;
    let (_, detail) = page(&admin, &app, &format!("/instancias/{wa}")).await;
    assert!(detail.contains("data-state=\"disconnected\""));
    assert!(detail.contains("data-testid=\"connect\""));

    // A bad form is refused with its reason.
    let bad = post_form(
        &app,
        &admin,
        "/instancias/nova",
        "/instancias",
        &[("name", "  "), ("mode", "sandbox")],
    )
    .await;
    assert_eq!(bad.status(), 422);
    assert!(bad.text().await.expect("body").contains("Dê um nome"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_event_stream_starts_with_the_current_state() {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let sandbox = create_instance(&app, &admin, "Teste", "sandbox").await;
    let whatsapp = create_instance(&app, &admin, "Loja", "whatsapp").await;

    for (id, expected) in [(sandbox, "connected"), (whatsapp, "disconnected")] {
        let mut response = admin
            .get(app.at(&format!("/instancias/{id}/eventos")))
            .send()
            .await
            .expect("stream answers");
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        assert_eq!(response.headers()["cache-control"], "no-cache");
        // The first event is sent at once; a timeout only guards against a hang, it never waits.
        let chunk = tokio::time::timeout(Duration::from_secs(10), response.chunk())
            .await
            .expect("the first event comes at once")
            .expect("body")
            .expect("a chunk");
        let text = String::from_utf8(chunk.to_vec()).expect("UTF-8");
        let data = text
            .strip_prefix("data: ")
            .and_then(|t| t.strip_suffix("\n\n"))
            .unwrap_or_else(|| panic!("one SSE event: {text:?}"));
        let state: Value = serde_json::from_str(data).expect("JSON state");
        assert_eq!(state["state"], expected, "{text}");
    }

    let missing = admin
        .get(app.at("/instancias/99/eventos"))
        .send()
        .await
        .expect("answers");
    assert_eq!(missing.status(), 404, "no stream for an unknown instance");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_are_checked_and_a_short_interval_warns() {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let id = create_instance(&app, &admin, "Teste", "sandbox").await;
    let path = format!("/instancias/{id}");

    let bad = settings(&[
        ("interval_s", "abc"),
        ("jitter_pct", "95"),
        ("quiet_start", "25:00"),
        ("typing_seconds", "300"),
    ]);
    let response = post_form(&app, &admin, &path, &path, &bad).await;
    assert_eq!(response.status(), 422);
    let html = response.text().await.expect("body");
    for reason in [
        "intervalo entre envios deve ser um número inteiro de 1 a 3600",
        "variação do intervalo deve ser",
        "formato HH:MM",
        "deve ser um número inteiro de 0 a 20 segundos",
    ] {
        assert!(html.contains(reason), "says {reason}");
    }
    assert!(html.contains("value=\"abc\""), "the typed values come back");
    let kept = app.db.instance(InstanceId(id)).expect("instance");
    assert_eq!(kept.pacing.interval_s, 30, "nothing was saved");

    let good = settings(&[
        ("name", "Loja principal"),
        ("interval_s", "10"),
        ("daily_limit", "0"),
        ("quiet_start", "22:30"),
        ("quiet_end", "7:00"),
    ]);
    let response = post_form(&app, &admin, &path, &path, &good).await;
    assert_eq!(response.status(), 303);
    let saved = app.db.instance(InstanceId(id)).expect("instance");
    assert_eq!(saved.name, "Loja principal");
    assert_eq!(saved.pacing.interval_s, 10);
    assert_eq!(saved.daily_limit, 0);
    assert_eq!(
        (saved.quiet_hours.start_min, saved.quiet_hours.end_min),
        (22 * 60 + 30, 7 * 60)
    );
    let (_, html) = page(&admin, &app, &format!("{path}?ok=saved")).await;
    assert!(html.contains("data-testid=\"interval-warning\""));
    assert!(html.contains("menores que 20 segundos"));
    assert!(html.contains("sem limite"));
    assert!(html.contains("value=\"07:00\""));

    let calm = settings(&[("interval_s", "45")]);
    post_form(&app, &admin, &path, &path, &calm).await;
    let (_, html) = page(&admin, &app, &path).await;
    assert!(!html.contains("data-testid=\"interval-warning\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_linked_store_shows_on_both_pages_and_unlinking_holds_it() {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let id = create_instance(&app, &admin, "Número da Ana", "sandbox").await;
    let store = create_store(&app, "Loja da Ana");
    let path = format!("/instancias/{id}");

    let (_, store_page) = page(&admin, &app, &format!("/lojas/{store}")).await;
    assert!(store_page.contains("não está vinculada a nenhuma instância"));
    let (_, list) = page(&admin, &app, "/instancias").await;
    assert!(list.contains("data-testid=\"unlinked-stores\""));

    let shop_id = store.to_string();
    let linked = post_form(
        &app,
        &admin,
        &path,
        &format!("{path}/lojas"),
        &[("store_id", &shop_id)],
    )
    .await;
    assert_eq!(linked.status(), 303);
    assert_eq!(
        app.db.store(StoreId(store)).expect("store").instance_id,
        Some(InstanceId(id))
    );
    let (_, detail) = page(&admin, &app, &format!("{path}?ok=store_linked")).await;
    assert!(detail.contains("Loja vinculada"));
    assert!(detail.contains(&format!("href=\"/lojas/{store}\">Loja da Ana</a>")));
    let (_, store_page) = page(&admin, &app, &format!("/lojas/{store}")).await;
    assert!(store_page.contains("Envia pela instância"));
    assert!(store_page.contains(&format!("href=\"/instancias/{id}\">Número da Ana</a>")));
    let (_, list) = page(&admin, &app, "/instancias").await;
    assert!(!list.contains("data-testid=\"unlinked-stores\""));

    let unlinked = post_form(
        &app,
        &admin,
        &path,
        &format!("{path}/lojas/{store}/desvincular"),
        &[],
    )
    .await;
    assert_eq!(unlinked.status(), 303);
    assert_eq!(
        app.db.store(StoreId(store)).expect("store").instance_id,
        None
    );
    let (_, detail) = page(&admin, &app, &format!("{path}?ok=store_unlinked")).await;
    assert!(detail.contains("ficam aguardando até ser vinculada de novo"));

    let missing = post_form(
        &app,
        &admin,
        &path,
        &format!("{path}/lojas"),
        &[("store_id", "77")],
    )
    .await;
    assert_eq!(missing.status(), 404, "an unknown store");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_an_instance_unlinks_its_stores() {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let id = create_instance(&app, &admin, "Velho", "sandbox").await;
    let store = create_store(&app, "Loja");
    app.db
        .update_store(StoreId(store), |s| s.instance_id = Some(InstanceId(id)))
        .expect("linked");
    let path = format!("/instancias/{id}");
    let deleted = post_form(
        &app,
        &admin,
        &path,
        &format!("{path}/excluir"),
        &[("confirm", "1")],
    )
    .await;
    assert_eq!(deleted.status(), 303);
    assert_eq!(
        deleted.headers()["location"],
        "/instancias?ok=instance_deleted"
    );
    assert_eq!(
        app.db.store(StoreId(store)).expect("store").instance_id,
        None
    );
    let (status, _) = page(&admin, &app, &path).await;
    assert_eq!(status, 404);
    let (_, list) = page(&admin, &app, "/instancias?ok=instance_deleted").await;
    assert!(list.contains("mensagens delas aguardam"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attendants_see_instances_but_cannot_change_them() {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let id = create_instance(&app, &admin, "Teste", "sandbox").await;
    let store = create_store(&app, "Loja");
    let attendant = app.attendant("ana@loja.com.br").await;
    let path = format!("/instancias/{id}");

    let (status, list) = page(&attendant, &app, "/instancias").await;
    assert_eq!(status, 200);
    assert!(list.contains("Teste") && !list.contains("/instancias/nova"));
    let (status, detail) = page(&attendant, &app, &path).await;
    assert_eq!(status, 200);
    assert!(detail.contains("Só administradores"));
    assert!(!detail.contains(&format!("action=\"{path}\"")));

    let shop_id = store.to_string();
    let attempts: [(String, Vec<(&str, &str)>); 4] = [
        (
            "/instancias".into(),
            vec![("name", "X"), ("mode", "sandbox")],
        ),
        (path.clone(), settings(&[])),
        (
            format!("{path}/lojas"),
            vec![("store_id", shop_id.as_str())],
        ),
        (format!("{path}/excluir"), vec![("confirm", "1")]),
    ];
    for (target, fields) in attempts {
        let response = post_form(&app, &attendant, "/", &target, &fields).await;
        assert_eq!(response.status(), 403, "POST {target}");
    }
    assert_eq!(app.db.list_instances().expect("list").len(), 1);
    assert_eq!(
        app.db.store(StoreId(store)).expect("store").instance_id,
        None
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_creates_changes_links_and_deletes_instances() {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let token = app.api_token(&admin).await;
    let api = reqwest::Client::new();
    let store = create_store(&app, "Loja");

    let created = api
        .post(app.at("/api/v1/instances"))
        .bearer_auth(&token)
        .json(&json!({ "name": "Teste", "mode": "sandbox" }))
        .send()
        .await
        .expect("create");
    assert_eq!(created.status(), 201);
    let view: Value = created.json().await.expect("json");
    let id = view["id"].as_u64().expect("id");
    assert_eq!(view["state"]["state"], "connected");
    assert_eq!(view["mode"], "sandbox");
    assert_eq!(view["interval_s"], 30);
    assert_eq!(
        view["quiet_hours"],
        json!({ "start": "21:00", "end": "08:00" })
    );

    let instance = app.at(&format!("/api/v1/instances/{id}"));
    let changed = api
        .patch(&instance)
        .bearer_auth(&token)
        .json(&json!({ "interval_s": 10, "quiet_hours": { "start": "22:00", "end": "07:30" } }))
        .send()
        .await
        .expect("patch");
    assert_eq!(changed.status(), 200);
    let view: Value = changed.json().await.expect("json");
    assert_eq!(view["interval_warning"], true);
    assert_eq!(view["quiet_hours"]["end"], "07:30");

    let refused = api
        .patch(&instance)
        .bearer_auth(&token)
        .json(&json!({ "jitter_pct": 150 }))
        .send()
        .await
        .expect("patch");
    assert_eq!(refused.status(), 422);
    let error: Value = refused.json().await.expect("json");
    assert_eq!(error["error"]["code"], "validation_failed");

    let linked = api
        .post(format!("{instance}/stores"))
        .bearer_auth(&token)
        .json(&json!({ "store_id": store }))
        .send()
        .await
        .expect("link");
    assert_eq!(linked.status(), 200);
    let view: Value = linked.json().await.expect("json");
    assert_eq!(view["stores"], json!([{ "id": store, "name": "Loja" }]));
    let store_view: Value = api
        .get(app.at(&format!("/api/v1/stores/{store}")))
        .bearer_auth(&token)
        .send()
        .await
        .expect("store")
        .json()
        .await
        .expect("json");
    assert_eq!(store_view["instance_id"], id);

    let listed: Value = api
        .get(app.at("/api/v1/instances"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    assert_eq!(listed["instances"].as_array().expect("array").len(), 1);

    let deleted = api
        .delete(&instance)
        .bearer_auth(&token)
        .send()
        .await
        .expect("delete");
    assert_eq!(deleted.status(), 204);
    let gone = api
        .get(&instance)
        .bearer_auth(&token)
        .send()
        .await
        .expect("get");
    assert_eq!(gone.status(), 404);
    assert_eq!(
        app.db.store(StoreId(store)).expect("store").instance_id,
        None
    );
}

/// The text of the instance page's "Próximo envio".
async fn next_send(client: &reqwest::Client, app: &TestApp, path: &str) -> String {
    let (_, html) = page(client, app, path).await;
    let start = html
        .find("data-testid=\"next-send\">")
        .expect("the page shows the next send")
        + "data-testid=\"next-send\">".len();
    html[start..start + html[start..].find("</dd>").expect("end")].to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn next_send_says_when_the_queued_message_goes_out() {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let id = create_instance(&app, &admin, "Número da Ana", "whatsapp").await;
    let path = format!("/instancias/{id}");
    // 2033-05-18 03:33 UTC: 00:33 in Brasília.
    let slot = 2_000_000_000;
    app.db
        .update_instance(InstanceId(id), |i| {
            i.next_slot = slot;
            // No quiet hours: the page would say so first at the hours the test may run.
            i.quiet_hours = avisa::domain::planning::QuietHours {
                start_min: 0,
                end_min: 0,
            };
        })
        .expect("pacing slot ahead");
    assert_eq!(
        next_send(&admin, &app, &path).await,
        "nenhuma mensagem na fila",
        "a pacing slot ahead with nothing queued is no next send"
    );

    let store = app
        .db
        .create_store(avisa::domain::NewStore {
            name: "Loja da Ana".into(),
            slug: "loja-da-ana".into(),
            platform: avisa::domain::Platform::Api,
            enabled: true,
            secret: None,
            webhook_token: "n".repeat(32),
            created_at: 0,
        })
        .expect("store");
    app.db
        .update_store(store.id, |s| s.instance_id = Some(InstanceId(id)))
        .expect("linked");
    let response = app
        .client()
        .post(app.at(&format!("/webhook/{}", "n".repeat(32))))
        .json(&json!({
            "kind": "order.paid", "event_id": "e1", "order_id": "A1",
            "customer": { "name": "Ana", "phone": "11987654321" },
            "products": [{ "name": "Curso" }],
        }))
        .send()
        .await
        .expect("webhook answers");
    assert_eq!(response.status(), 202);
    assert_eq!(
        next_send(&admin, &app, &path).await,
        "quando a instância conectar",
        "queued behind a disconnected instance"
    );

    let fake = std::sync::Arc::new(avisa::channels::fake::FakeChannel::connected(
        "+5511900000000",
    ));
    app.channels.insert(InstanceId(id), fake);
    assert_eq!(
        next_send(&admin, &app, &path).await,
        "18&#x2f;05&#x2f;2033 00:33",
        "connected: the message waits for the pacing slot"
    );
}
