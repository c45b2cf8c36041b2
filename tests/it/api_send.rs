//! The send API (`POST /api/v1/messages`): a request queues one message through the same
//! planning and outbox as a webhook's; an idempotency key replays the first request's message;
//! opt-outs and the buyer cap apply; scoped API tokens reach only what their scopes allow.

use avisa::domain::Platform;
use serde_json::{Value, json};

use crate::events::create_store;
use crate::support::TestApp;

const BUYER: &str = "+5511987654321";

/// POSTs a send request with a Bearer token (and an `Idempotency-Key` header when given).
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

async fn get(app: &TestApp, token: &str, path: &str) -> (u16, Value) {
    let response = app
        .client()
        .get(app.at(path))
        .bearer_auth(token)
        .send()
        .await
        .expect("API answers");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// An admin's API token and an `api` store.
async fn with_store() -> (TestApp, String, u64) {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let token = app.api_token(&admin).await;
    let (store_id, _) = create_store(&app, Platform::Api, "Minha Loja");
    (app, token, store_id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_idempotency_key_twice_makes_one_message() {
    let (app, token, store_id) = with_store().await;
    let body = json!({
        "store_id": store_id,
        "to": "(11) 98765-4321",
        "name": "Ana Souza",
        "text": "Olá, Ana! A live começa às 20h: {{ nada disso é template }}",
    });
    let (status, first) = send(&app, &token, body.clone(), Some("live-2026-12-07-ana")).await;
    assert_eq!(status, 202, "{first}");
    let message = &first["message"];
    let id = message["id"].as_u64().expect("message id");
    assert_eq!(first["status_url"], format!("/api/v1/messages/{id}"));
    assert_eq!(first["replayed"], false);
    assert_eq!(message["kind"], "api.send");
    assert_eq!(message["status"], "scheduled");
    assert_eq!(message["phone"], BUYER);
    assert_eq!(message["buyer_name"], "Ana Souza");
    assert_eq!(
        message["text"], "Olá, Ana! A live começa às 20h: {{ nada disso é template }}",
        "the text goes out as written"
    );

    // The same key again, in the body this time: the same message, nothing new.
    let mut again = body.clone();
    again["idempotency_key"] = json!("live-2026-12-07-ana");
    let (status, replay) = send(&app, &token, again, None).await;
    assert_eq!(status, 202, "{replay}");
    assert_eq!(replay["message"]["id"], id);
    assert_eq!(replay["replayed"], true);

    let (status, listed) = get(&app, &token, "/api/v1/messages?phone=11987654321").await;
    assert_eq!(status, 200);
    assert_eq!(
        listed["messages"].as_array().map(Vec::len),
        Some(1),
        "{listed}"
    );
    let (status, shown) = get(&app, &token, &format!("/api/v1/messages/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(shown["message"]["id"], id);

    // The same key for another text is a mistake, not a replay.
    let mut reused = body.clone();
    reused["text"] = json!("Outro texto");
    let (status, answer) = send(&app, &token, reused, Some("live-2026-12-07-ana")).await;
    assert_eq!(status, 409, "{answer}");
    assert_eq!(answer["error"]["code"], "conflict");

    // Without a key, a second request is a second message.
    let (status, other) = send(&app, &token, body, None).await;
    assert_eq!(status, 202);
    assert_ne!(other["message"]["id"], id);

    // The request is an event of the store, its raw body kept, the token not.
    let event_id = message["event_id"].as_u64().expect("event id");
    let (status, event) = get(&app, &token, &format!("/api/v1/events/{event_id}")).await;
    assert_eq!(status, 200, "{event}");
    assert!(
        !event.to_string().contains(&token),
        "the token is never stored"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opted_out_buyers_and_the_buyer_cap_cancel_as_planning_does() {
    let (app, token, store_id) = with_store().await;
    app.db
        .add_opt_out("+5521998887766", "console", 0)
        .expect("opt-out stored");
    let (status, refused) = send(
        &app,
        &token,
        json!({ "store_id": store_id, "to": "21998887766", "text": "Oi!" }),
        None,
    )
    .await;
    assert_eq!(status, 202, "{refused}");
    assert_eq!(refused["message"]["status"], "canceled");
    assert_eq!(refused["message"]["reason"], "opted_out");

    // The default cap: 3 in 24 h; the fourth is canceled.
    let mut statuses = Vec::new();
    for n in 0..4 {
        let body = json!({ "store_id": store_id, "to": BUYER, "text": format!("Aviso {n}") });
        let (status, answer) = send(&app, &token, body, None).await;
        assert_eq!(status, 202, "{answer}");
        statuses.push((
            answer["message"]["status"].clone(),
            answer["message"]["reason"].clone(),
        ));
    }
    let want = |s: &str, r: Value| (json!(s), r);
    assert_eq!(
        statuses,
        vec![
            want("scheduled", Value::Null),
            want("scheduled", Value::Null),
            want("scheduled", Value::Null),
            want("canceled", json!("buyer_cap")),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_send_requests_get_clear_refusals() {
    let (app, token, store_id) = with_store().await;
    let cases = [
        (
            json!({ "store_id": store_id, "to": "123", "text": "Oi" }),
            422,
            "to:",
        ),
        (
            json!({ "store_id": store_id, "to": BUYER, "text": "  " }),
            422,
            "text is empty",
        ),
        (json!({ "to": BUYER, "text": "Oi" }), 422, "exactly one"),
        (
            json!({ "store_id": store_id, "instance_id": 1, "to": BUYER, "text": "Oi" }),
            422,
            "exactly one",
        ),
        (
            json!({ "store_id": 999, "to": BUYER, "text": "Oi" }),
            422,
            "store 999 does not exist",
        ),
        (
            json!({ "instance_id": 7, "to": BUYER, "text": "Oi" }),
            422,
            "instance 7",
        ),
        (
            json!({ "store_id": store_id, "to": BUYER, "text": "Oi", "template": "x" }),
            422,
            "unknown field",
        ),
        (
            json!({ "store_id": store_id, "to": BUYER, "kind": "x" }),
            422,
            "unknown kind `x`",
        ),
    ];
    for (body, want_status, want_message) in cases {
        let (status, answer) = send(&app, &token, body.clone(), None).await;
        assert_eq!(status, want_status, "{body} -> {answer}");
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(want_message), "{body} -> {answer}");
    }
    let (status, answer) = send(
        &app,
        &token,
        json!({ "store_id": store_id, "to": BUYER, "text": "Oi", "idempotency_key": "a" }),
        Some("b"),
    )
    .await;
    assert_eq!(status, 422, "header and body keys differ: {answer}");
    // An anonymous call answers 401: tests/it/routes.rs walks the whole table.
}

/// A token with `scope` (the users page's choice), created through the page.
async fn scoped_token(app: &TestApp, admin: &reqwest::Client, scope: &str) -> String {
    let csrf = app.csrf(admin, "/usuarios").await;
    let html = admin
        .post(app.at("/usuarios/tokens"))
        .form(&[("_csrf", csrf.as_str()), ("name", scope), ("scope", scope)])
        .send()
        .await
        .expect("create token")
        .text()
        .await
        .expect("page");
    crate::auth::one_time_password_in(&html)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scoped_tokens_reach_only_what_their_scopes_allow() {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let (store_id, _) = create_store(&app, Platform::Api, "Minha Loja");
    let full = app.api_token(&admin).await;
    let send_only = scoped_token(&app, &admin, "send").await;
    let read_only = scoped_token(&app, &admin, "read").await;
    let both = scoped_token(&app, &admin, "send_read").await;
    let body = json!({ "store_id": store_id, "to": BUYER, "text": "Oi" });

    let status = |token: &str, method: &str, path: &str| {
        let request = match method {
            "GET" => app.client().get(app.at(path)),
            "POST" => app.client().post(app.at(path)).json(&body),
            _ => app.client().delete(app.at(path)),
        };
        let token = token.to_owned();
        async move {
            request
                .bearer_auth(token)
                .send()
                .await
                .expect("answers")
                .status()
                .as_u16()
        }
    };
    let store = format!("/api/v1/stores/{store_id}");
    let table = [
        (&full, "POST", "/api/v1/messages", 202),
        (&full, "GET", "/api/v1/messages", 200),
        (&full, "DELETE", store.as_str(), 204),
        (&send_only, "POST", "/api/v1/messages", 202),
        (&send_only, "GET", "/api/v1/messages", 403),
        (&send_only, "GET", "/api/v1/stores", 403),
        (&send_only, "GET", "/", 403),
        (&read_only, "GET", "/api/v1/messages", 200),
        (&read_only, "GET", "/api/v1/stores", 200),
        (&read_only, "POST", "/api/v1/messages", 403),
        (&read_only, "POST", "/api/v1/backup", 403),
        (&both, "GET", "/api/v1/me", 200),
        (&both, "POST", "/api/v1/messages", 202),
        (&both, "POST", "/api/v1/stores", 403),
    ];
    // The store is deleted last: the sends above need it.
    let (deleting, rest): (Vec<_>, Vec<_>) = table.into_iter().partition(|row| row.1 == "DELETE");
    for (token, method, path, want) in rest.into_iter().chain(deleting) {
        let got = status(token, method, path).await;
        assert_eq!(got, want, "{method} {path} with the {token:.12} token");
    }

    let html = app.html(&admin, "/usuarios").await;
    for label in ["Acesso completo", "Só enviar mensagens", "Só consultar"] {
        assert!(
            html.contains(label),
            "the list names each token's scope: {label}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scoped_tokens_are_refused_on_every_other_route_of_the_table() {
    use avisa::http::routes::{Access, ROUTES};
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let send_only = scoped_token(&app, &admin, "send").await;
    let read_only = scoped_token(&app, &admin, "read").await;
    let mut checked = 0;
    for route in ROUTES.iter().filter(|r| r.access != Access::Public) {
        let path = route.path.replace("{id}", "1");
        let method = reqwest::Method::from_bytes(route.method.as_bytes()).expect("method");
        for (token, allowed) in [
            (
                &send_only,
                route.method == "POST" && route.path == "/api/v1/messages",
            ),
            (
                &read_only,
                // Outbound webhooks' secrets are for full-rights tokens only.
                route.method == "GET"
                    && route.path.starts_with("/api/")
                    && !route.path.starts_with("/api/v1/webhooks"),
            ),
        ] {
            let status = app
                .client()
                .request(method.clone(), app.at(&path))
                .bearer_auth(token)
                .send()
                .await
                .expect("route answers")
                .status()
                .as_u16();
            if allowed {
                assert_ne!(
                    status, 403,
                    "{} {} is in the token's scope",
                    route.method, path
                );
            } else {
                assert_eq!(status, 403, "{} {} with a scoped token", route.method, path);
                checked += 1;
            }
        }
    }
    assert!(checked > 100, "the whole table was walked ({checked})");
}
