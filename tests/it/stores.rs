//! Stores (lojas): the console forms and the JSON API, proved end to end through the webhook URL
//! each store hands out: real fixtures in, 202/200/401/404 out.

use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};

use crate::support::TestApp;

const HOTMART_BOLETO: &str = "tests/fixtures/hotmart/purchase-billet-printed-boleto.json";
const KIWIFY_BOLETO: &str = "tests/fixtures/kiwify/billet_created.json";

fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("fixture {path}: {e}"))
}

/// Undoes minijinja's HTML escaping of the few characters a URL or a message may hold.
fn unescape(html: &str) -> String {
    html.replace("&#x2f;", "/")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The webhook URL a store's page shows.
fn webhook_url_in(html: &str) -> String {
    let marker = "data-testid=\"webhook-url\">";
    let start = html.find(marker).expect("the page shows a webhook URL") + marker.len();
    unescape(html[start..].split('<').next().expect("URL text"))
}

async fn page(client: &reqwest::Client, app: &TestApp, path: &str) -> (u16, String) {
    let response = client.get(app.at(path)).send().await.expect("page answers");
    let status = response.status().as_u16();
    (status, response.text().await.expect("page body"))
}

/// Creates a store through the console form; returns its id and the page's webhook URL.
async fn create_store(
    app: &TestApp,
    admin: &reqwest::Client,
    name: &str,
    platform: &str,
    secret: &str,
) -> (u64, String) {
    let csrf = app.csrf(admin, "/lojas/nova").await;
    let response = admin
        .post(app.at("/lojas"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("name", name),
            ("platform", platform),
            ("enabled", "1"),
            ("secret", secret),
        ])
        .send()
        .await
        .expect("create store");
    assert_eq!(response.status(), 303, "creating a store redirects to it");
    let location = response.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    let id: u64 = location
        .trim_start_matches("/lojas/")
        .split('?')
        .next()
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("redirect to the new store: {location}"));
    let (status, html) = page(admin, app, &location).await;
    assert_eq!(status, 200);
    assert!(html.contains("Loja criada"), "the flash confirms it");
    (id, webhook_url_in(&html))
}

async fn post_webhook(url: &str, body: Vec<u8>) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(url)
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .expect("webhook answers");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn save_store(
    app: &TestApp,
    admin: &reqwest::Client,
    id: u64,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let path = format!("/lojas/{id}");
    let csrf = app.csrf(admin, &path).await;
    let mut form = vec![("_csrf", csrf.as_str())];
    form.extend_from_slice(fields);
    admin
        .post(app.at(&path))
        .form(&form)
        .send()
        .await
        .expect("save store")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_creates_a_store_and_its_url_takes_a_real_webhook_once() {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let (_, empty) = page(&admin, &app, "/lojas").await;
    assert!(
        empty.contains("data-testid=\"empty-state\"") && empty.contains("Nova loja"),
        "an honest empty state with the way out"
    );

    let (id, url) = create_store(&app, &admin, "Curso de Inglês", "hotmart", "").await;
    let prefix = format!("{}/webhook/", app.url);
    assert!(url.starts_with(&prefix), "{url}");
    let token = url[prefix.len()..].split('/').next().expect("token");
    assert!(token.len() >= 32 && token.chars().all(|c| c.is_ascii_hexdigit()));
    assert!(
        url.ends_with("/curso-de-ingles"),
        "slug from the name: {url}"
    );

    let (status, first) = post_webhook(&url, fixture(HOTMART_BOLETO)).await;
    assert_eq!(status, 202, "{first}");
    let ids = first["event_ids"].as_array().expect("event_ids").clone();
    assert_eq!(ids.len(), 1, "{first}");
    let (status, again) = post_webhook(&url, fixture(HOTMART_BOLETO)).await;
    assert_eq!(status, 200, "a duplicate is acknowledged: {again}");
    assert_eq!(again["event_ids"], json!(ids), "with the original id");

    let (_, list) = page(&admin, &app, "/lojas").await;
    assert!(list.contains("Curso de Inglês") && list.contains("Hotmart"));
    assert!(list.contains(&format!("href=\"/lojas/{id}\"")));
    let (_, detail) = page(&admin, &app, &format!("/lojas/{id}")).await;
    assert!(detail.contains("Passo a passo: Hotmart") && detail.contains("Hottok"));
    assert!(
        detail.contains("Eventos recebidos: 1"),
        "the duplicate is not counted again"
    );
    let checklist = detail
        .split("data-testid=\"checklist\"")
        .nth(1)
        .expect("a checklist");
    assert!(checklist.contains("<li class=\"ok\">"));
    assert!(
        !checklist.contains("Cole a URL na plataforma"),
        "the first event is ticked off"
    );
    assert!(checklist.contains("Assinatura configurada") && checklist.contains("#editar"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renaming_keeps_the_webhook_url_working() {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let (id, old_url) = create_store(&app, &admin, "Loja Antiga", "hotmart", "").await;
    let saved = save_store(
        &app,
        &admin,
        id,
        &[("name", "Loja Nova Ação"), ("enabled", "1")],
    )
    .await;
    assert_eq!(saved.status(), 303);
    let (_, html) = page(&admin, &app, &format!("/lojas/{id}")).await;
    let new_url = webhook_url_in(&html);
    assert!(new_url.ends_with("/loja-nova-acao"), "{new_url}");
    assert_eq!(
        old_url.rsplit_once('/').expect("tail").0,
        new_url.rsplit_once('/').expect("tail").0,
        "the token stays"
    );

    let (status, body) = post_webhook(&old_url, fixture(HOTMART_BOLETO)).await;
    assert_eq!(status, 202, "the registered URL still works: {body}");
    let (status, _) = post_webhook(&new_url, fixture(HOTMART_BOLETO)).await;
    assert_eq!(status, 200, "so does the new one (a duplicate here)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_url_retires_the_old_one() {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let (id, old_url) = create_store(&app, &admin, "Loja", "hotmart", "").await;
    let path = format!("/lojas/{id}");
    let csrf = app.csrf(&admin, &path).await;
    let response = admin
        .post(app.at(&format!("{path}/token")))
        .form(&[("_csrf", csrf.as_str()), ("confirm", "1")])
        .send()
        .await
        .expect("regenerate");
    assert_eq!(response.status(), 303);
    let (_, html) = page(&admin, &app, &format!("{path}?ok=token_regenerated")).await;
    assert!(html.contains("Nova URL gerada"));
    let new_url = webhook_url_in(&html);
    assert_ne!(new_url, old_url);

    let (status, _) = post_webhook(&old_url, fixture(HOTMART_BOLETO)).await;
    assert_eq!(status, 404, "the old URL is gone");
    let (status, _) = post_webhook(&new_url, fixture(HOTMART_BOLETO)).await;
    assert_eq!(status, 202, "the new URL works");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kiwify_secret_refuses_a_wrong_signature_and_is_never_shown() {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let secret = "kiwify-segredo-8f3a1c";
    let (id, url) = create_store(&app, &admin, "Kiwify", "kiwify", secret).await;

    let body = fixture(KIWIFY_BOLETO);
    let wrong = format!("{url}?signature={}", "0".repeat(40));
    let (status, refused) = post_webhook(&wrong, body.clone()).await;
    assert_eq!(status, 401, "{refused}");
    assert_eq!(refused["error"]["code"], "bad_signature");

    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes()).expect("any key");
    mac.update(&body);
    let signature = hex::encode(mac.finalize().into_bytes());
    let (status, accepted) = post_webhook(&format!("{url}?signature={signature}"), body).await;
    assert_eq!(status, 202, "{accepted}");

    let (_, html) = page(&admin, &app, &format!("/lojas/{id}")).await;
    assert!(!html.contains(secret), "the page never prints the secret");
    assert!(html.contains("Há um segredo configurado"));
    assert!(
        html.contains("Chave de assinatura"),
        "Kiwify signs with a key"
    );

    // An empty secret field keeps it; the remove box clears it.
    save_store(&app, &admin, id, &[("name", "Kiwify"), ("secret", "")]).await;
    let (_, html) = page(&admin, &app, &format!("/lojas/{id}")).await;
    assert!(html.contains("Há um segredo configurado"));
    assert!(html.contains("Pausada"), "the unticked box paused it");
    save_store(
        &app,
        &admin,
        id,
        &[("name", "Kiwify"), ("remove_secret", "1")],
    )
    .await;
    let (_, html) = page(&admin, &app, &format!("/lojas/{id}")).await;
    assert!(html.contains("Nenhum segredo configurado"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_store_forms_come_back_with_422_and_a_clear_message() {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let csrf = app.csrf(&admin, "/lojas/nova").await;
    let cases = [
        (("  ", "hotmart", ""), "Dê um apelido à loja"),
        (("Loja", "yampi", ""), "Escolha uma das plataformas"),
        (("Loja", "appmax", "abc"), "A URL secreta é a proteção"),
    ];
    for ((name, platform, secret), message) in cases {
        let response = admin
            .post(app.at("/lojas"))
            .form(&[
                ("_csrf", csrf.as_str()),
                ("name", name),
                ("platform", platform),
                ("secret", secret),
            ])
            .send()
            .await
            .expect("post");
        assert_eq!(response.status(), 422, "{name} {platform}");
        let html = response.text().await.expect("body");
        assert!(html.contains(message), "{message}: {html}");
        assert!(html.contains("Em breve") && html.contains("Cartpanda"));
    }
    let long = "a".repeat(81);
    let (id, _) = create_store(&app, &admin, "Loja", "hotmart", "").await;
    let response = save_store(&app, &admin, id, &[("name", long.as_str())]).await;
    assert_eq!(response.status(), 422);
    assert!(
        response
            .text()
            .await
            .expect("body")
            .contains("80 caracteres")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attendant_sees_stores_but_cannot_create_or_change_them() {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let (id, url) = create_store(&app, &admin, "Loja", "hotmart", "").await;
    let ana = app.attendant("ana@loja.com.br").await;

    let (status, list) = page(&ana, &app, "/lojas").await;
    assert_eq!(status, 200);
    assert!(list.contains("Loja") && !list.contains("data-testid=\"new-store\""));
    let (status, detail) = page(&ana, &app, &format!("/lojas/{id}")).await;
    assert_eq!(status, 200);
    let token = url
        .split("/webhook/")
        .nth(1)
        .expect("token")
        .split('/')
        .next()
        .expect("token");
    assert_eq!(
        webhook_url_in(&detail),
        format!("{}/webhook/{}…", app.url, &token[..4]),
        "attendants see where the URL points, not its secret token"
    );
    assert!(!detail.contains(token));
    assert!(!detail.contains("/excluir") && detail.contains("Só administradores"));
    assert_eq!(page(&ana, &app, "/lojas/nova").await.0, 403);

    let csrf = app.csrf(&ana, "/lojas").await;
    let response = ana
        .post(app.at("/lojas"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("name", "Loja da Ana"),
            ("platform", "hotmart"),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), 403);
    let (_, list) = page(&admin, &app, "/lojas").await;
    assert!(!list.contains("Loja da Ana"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_api_round_trip_with_a_bearer_token() {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let token = app.api_token(&admin).await;
    let api = reqwest::Client::new();
    let call =
        |method: reqwest::Method, path: &str| api.request(method, app.at(path)).bearer_auth(&token);
    let secret = "chave-da-api-42";

    let created = call(reqwest::Method::POST, "/api/v1/stores")
        .json(&json!({ "name": "Loja do ERP", "platform": "kiwify", "secret": secret }))
        .send()
        .await
        .expect("create");
    assert_eq!(created.status(), 201);
    let text = created.text().await.expect("body");
    assert!(!text.contains(secret), "the view never carries the secret");
    let store: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(store["has_secret"], true);
    assert_eq!(store["enabled"], true);
    assert_eq!(store["platform"], "kiwify");
    let id = store["id"].as_u64().expect("id");
    let url = store["webhook_url"].as_str().expect("url").to_owned();
    assert!(url.ends_with("/loja-do-erp"), "{url}");

    let list: Value = call(reqwest::Method::GET, "/api/v1/stores")
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    assert_eq!(list["stores"][0]["id"], id);

    let missing_name = call(reqwest::Method::POST, "/api/v1/stores")
        .json(&json!({ "platform": "hotmart" }))
        .send()
        .await
        .expect("create");
    assert_eq!(missing_name.status(), 422);
    let error: Value = missing_name.json().await.expect("json");
    assert_eq!(error["error"]["code"], "validation_failed");
    assert!(
        error["error"]["message"]
            .as_str()
            .expect("message")
            .contains("name"),
        "{error}"
    );
    let unknown = call(reqwest::Method::GET, "/api/v1/stores/999")
        .send()
        .await
        .expect("get");
    assert_eq!(unknown.status(), 404);

    let patched: Value = call(reqwest::Method::PATCH, &format!("/api/v1/stores/{id}"))
        .json(&json!({ "name": "ERP Novo", "secret": null, "enabled": false }))
        .send()
        .await
        .expect("patch")
        .json()
        .await
        .expect("json");
    assert_eq!(patched["has_secret"], false);
    assert_eq!(patched["enabled"], false);
    let renamed = patched["webhook_url"].as_str().expect("url");
    assert!(renamed.ends_with("/erp-novo"));
    assert_eq!(
        renamed.rsplit_once('/').expect("tail").0,
        url.rsplit_once('/').expect("tail").0
    );
    let platform_change = call(reqwest::Method::PATCH, &format!("/api/v1/stores/{id}"))
        .json(&json!({ "platform": "hotmart" }))
        .send()
        .await
        .expect("patch");
    assert_eq!(platform_change.status(), 422);

    let fetched: Value = call(reqwest::Method::GET, &format!("/api/v1/stores/{id}"))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(fetched["name"], "ERP Novo");

    let regenerated: Value = call(reqwest::Method::POST, &format!("/api/v1/stores/{id}/token"))
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    let new_url = regenerated["webhook_url"].as_str().expect("url").to_owned();
    assert_ne!(new_url, renamed);
    let (status, _) = post_webhook(renamed, fixture(KIWIFY_BOLETO)).await;
    assert_eq!(status, 404, "the old URL is retired");
    let (status, _) = post_webhook(&new_url, fixture(KIWIFY_BOLETO)).await;
    assert_eq!(status, 202, "the new URL works (no secret left to check)");

    let deleted = call(reqwest::Method::DELETE, &format!("/api/v1/stores/{id}"))
        .send()
        .await
        .expect("delete");
    assert_eq!(deleted.status(), 204);
    let gone = call(reqwest::Method::GET, &format!("/api/v1/stores/{id}"))
        .send()
        .await
        .expect("get");
    assert_eq!(gone.status(), 404);
    let (status, _) = post_webhook(&new_url, fixture(KIWIFY_BOLETO)).await;
    assert_eq!(status, 404, "a deleted store's URL answers 404");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_store_from_the_console_removes_its_url() {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let (id, url) = create_store(&app, &admin, "Loja", "appmax", "").await;
    let (_, html) = page(&admin, &app, &format!("/lojas/{id}")).await;
    assert!(
        html.contains("a proteção é a própria URL secreta"),
        "Appmax has no secret"
    );
    assert!(
        !html.contains("Assinatura configurada"),
        "so no signature item"
    );
    let csrf = app.csrf(&admin, &format!("/lojas/{id}")).await;
    let response = admin
        .post(app.at(&format!("/lojas/{id}/excluir")))
        .form(&[("_csrf", csrf.as_str()), ("confirm", "1")])
        .send()
        .await
        .expect("delete");
    assert_eq!(response.headers()["location"], "/lojas?ok=store_deleted");
    let (_, list) = page(&admin, &app, "/lojas?ok=store_deleted").await;
    assert!(list.contains("Loja excluída") && list.contains("data-testid=\"empty-state\""));
    assert_eq!(page(&admin, &app, &format!("/lojas/{id}")).await.0, 404);
    assert_eq!(post_webhook(&url, fixture(HOTMART_BOLETO)).await.0, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_keeps_a_buyer_facing_name_apart_from_the_nickname() {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let token = app.api_token(&admin).await;
    let api = reqwest::Client::new();
    let call =
        |method: reqwest::Method, path: &str| api.request(method, app.at(path)).bearer_auth(&token);
    let created: Value = call(reqwest::Method::POST, "/api/v1/stores")
        .json(&json!({ "name": "Curso — Hotmart", "platform": "hotmart", "public_name": " Doces da Ana " }))
        .send()
        .await
        .expect("create")
        .json()
        .await
        .expect("json");
    assert_eq!(created["name"], "Curso — Hotmart");
    assert_eq!(created["public_name"], "Doces da Ana");
    let id = created["id"].as_u64().expect("id");
    let patched: Value = call(reqwest::Method::PATCH, &format!("/api/v1/stores/{id}"))
        .json(&json!({ "public_name": "" }))
        .send()
        .await
        .expect("patch")
        .json()
        .await
        .expect("json");
    assert_eq!(
        patched["public_name"], "",
        "empty: the company name stands in"
    );
    let too_long = call(reqwest::Method::PATCH, &format!("/api/v1/stores/{id}"))
        .json(&json!({ "public_name": "x".repeat(81) }))
        .send()
        .await
        .expect("patch");
    assert_eq!(too_long.status(), 422);
}
