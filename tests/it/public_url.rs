//! The URL pública: saved in Configurações (kept in the data file), overridden by
//! `--public-url`, and a warning wherever a webhook URL shows when platforms could not reach it
//! (loopback, private network, plain http), the dashboard included. Attendants see the webhook
//! URL's secret token masked.

use crate::support::TestApp;

async fn page(client: &reqwest::Client, app: &TestApp, path: &str) -> String {
    let response = client.get(app.at(path)).send().await.expect("page answers");
    assert_eq!(response.status(), 200, "{path}");
    // minijinja escapes "/" in attribute-safe output; compare URLs as a reader sees them.
    response
        .text()
        .await
        .expect("page body")
        .replace("&#x2f;", "/")
}

/// Saves Configurações' first form with `public_url`.
async fn save_public_url(app: &TestApp, admin: &reqwest::Client, url: &str) -> reqwest::Response {
    let csrf = app.csrf(admin, "/configuracoes").await;
    admin
        .post(app.at("/configuracoes"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("company_name", "Doces da Ana"),
            ("default_lang", "pt-BR"),
            ("session_idle_minutes", "480"),
            ("public_url", url),
        ])
        .send()
        .await
        .expect("settings answer")
}

fn store(app: &TestApp) -> avisa::domain::Store {
    app.db
        .create_store(avisa::domain::NewStore {
            name: "Loja da Ana".into(),
            slug: "loja-da-ana".into(),
            platform: avisa::domain::Platform::Hotmart,
            enabled: true,
            secret: None,
            webhook_token: "s".repeat(32),
            created_at: 0,
        })
        .expect("store")
}

/// The text of the element with `data-testid="{id}"` (to its first closing tag).
fn testid(html: &str, id: &str) -> Option<String> {
    let marker = format!("data-testid=\"{id}\"");
    let start = html.find(&marker)?;
    let open = start + html[start..].find('>')? + 1;
    let end = open + html[open..].find("</")?;
    Some(html[open..end].to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_public_url_every_webhook_url_warns_until_configuracoes_sets_one() {
    let app = TestApp::start_without_public_url().await;
    let admin = app.setup_admin().await;
    let store = store(&app);
    let path = format!("/lojas/{}", store.id);

    let html = page(&admin, &app, &path).await;
    let url = testid(&html, "webhook-url").expect("the webhook URL");
    assert!(url.starts_with(&format!("{}/webhook/", app.url)), "{url}");
    let warning = testid(&html, "webhook-url-warning").expect("a warning beside the URL");
    assert!(warning.contains("só existe neste computador"), "{warning}");
    let home = page(&admin, &app, "/").await;
    assert!(
        home.contains("data-alert=\"public_url\"") && !home.contains("Tudo certo"),
        "the dashboard says it"
    );

    let bad = save_public_url(&app, &admin, "avisa.minhaloja.com.br").await;
    assert_eq!(bad.status(), 422, "not a URL");
    let plain = save_public_url(&app, &admin, "http://avisa.minhaloja.com.br/").await;
    assert_eq!(plain.status(), 303);
    let html = page(&admin, &app, &path).await;
    assert_eq!(
        testid(&html, "webhook-url").expect("url"),
        format!(
            "http://avisa.minhaloja.com.br/webhook/{}/loja-da-ana",
            "s".repeat(32)
        )
    );
    assert!(
        testid(&html, "webhook-url-warning")
            .expect("plain http warns")
            .contains("http sem criptografia")
    );

    let saved = save_public_url(&app, &admin, "https://avisa.minhaloja.com.br").await;
    assert_eq!(saved.status(), 303);
    assert_eq!(
        app.db.console_settings().expect("settings").public_url,
        "https://avisa.minhaloja.com.br",
        "kept in the data file"
    );
    let html = page(&admin, &app, &path).await;
    assert!(
        testid(&html, "webhook-url")
            .expect("url")
            .starts_with("https://avisa.minhaloja.com.br/webhook/")
    );
    assert_eq!(testid(&html, "webhook-url-warning"), None);
    let home = page(&admin, &app, "/").await;
    assert!(!home.contains("data-alert=\"public_url\""));
    let api = admin
        .get(app.at(&format!("/api/v1/stores/{}", store.id)))
        .send()
        .await
        .expect("api answers")
        .json::<serde_json::Value>()
        .await
        .expect("json");
    assert!(
        api["webhook_url"]
            .as_str()
            .expect("url")
            .starts_with("https://avisa.minhaloja.com.br/webhook/")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_public_url_flag_wins_and_configuracoes_says_so() {
    let app = TestApp::start().await; // started with --public-url http://127.0.0.1:PORT
    let admin = app.setup_admin().await;
    let saved = save_public_url(&app, &admin, "https://avisa.minhaloja.com.br").await;
    assert_eq!(saved.status(), 303);
    let settings = page(&admin, &app, "/configuracoes").await;
    let hint = testid(&settings, "public-url-hint").expect("hint");
    assert!(hint.contains("--public-url"), "{hint}");
    assert!(
        settings.contains(&format!("<code>{}</code>", app.url)),
        "the flag's URL shows"
    );
    assert!(
        testid(&settings, "public-url-warning").is_some(),
        "and it is loopback"
    );
    let store = store(&app);
    let html = page(&admin, &app, &format!("/lojas/{}", store.id)).await;
    assert!(
        testid(&html, "webhook-url")
            .expect("url")
            .starts_with(&format!("{}/webhook/", app.url)),
        "the flag's URL is the one in use"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attendants_see_the_webhook_url_masked_on_the_page_and_in_the_api() {
    let app = TestApp::start().await;
    app.setup_admin().await;
    let store = store(&app);
    let attendant = app.attendant("atendente@example.com").await;
    let token = "s".repeat(32);
    let html = page(&attendant, &app, &format!("/lojas/{}", store.id)).await;
    assert!(
        !html.contains(&token),
        "the token never reaches an attendant's page"
    );
    assert_eq!(
        testid(&html, "webhook-url").expect("url"),
        format!("{}/webhook/ssss…", app.url)
    );
    assert!(!html.contains("data-copy="), "nothing to copy");
    for path in [
        "/api/v1/stores".to_owned(),
        format!("/api/v1/stores/{}", store.id),
    ] {
        let body = app.html(&attendant, &path).await;
        assert!(!body.contains(&token), "{path}: {body}");
    }
}

/// The checklist item `data-check="{name}"`: (done, its text).
fn check(html: &str, name: &str) -> (bool, String) {
    let marker = format!("data-check=\"{name}\"");
    let at = html
        .find(&marker)
        .unwrap_or_else(|| panic!("checklist item {name}"));
    let li = html[..at].rfind("<li").expect("li");
    let end = at + html[at..].find("</li>").expect("end");
    let item = &html[li..end];
    (item.starts_with("<li class=\"ok\""), item.to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_checklist_item_is_computed_and_a_sandbox_is_not_a_connected_instance() {
    let app = TestApp::start_without_public_url().await;
    let admin = app.setup_admin().await;
    let store = store(&app);
    let path = format!("/lojas/{}", store.id);

    let html = page(&admin, &app, &path).await;
    assert!(!html.contains("próxima versão"), "no stale text");
    let (done, url) = check(&html, "url");
    assert!(!done, "a loopback webhook URL is not done: {url}");
    let (done, template) = check(&html, "template");
    assert!(done, "the shipped defaults are on: {template}");
    assert!(
        template.contains(&format!("href=\"/templates?loja={}\"", store.id)),
        "links to this store's templates: {template}"
    );

    let sandbox = app
        .db
        .create_instance(avisa::domain::Instance::new(
            "Sandbox",
            avisa::domain::InstanceMode::Sandbox,
            0,
        ))
        .expect("instance");
    app.channels.ensure(&sandbox);
    app.db
        .update_store(store.id, |s| s.instance_id = Some(sandbox.id))
        .expect("linked");
    save_public_url(&app, &admin, "https://avisa.minhaloja.com.br").await;
    let html = page(&admin, &app, &path).await;
    assert!(check(&html, "url").0, "an https public URL is done");
    let (done, instance) = check(&html, "instance");
    assert!(!done, "a sandbox sends nothing to WhatsApp: {instance}");
    assert!(instance.contains("é uma instância de teste"), "{instance}");

    for kind in avisa::domain::EventKind::ALL {
        let mut template = avisa::render::default_template(kind);
        template.enabled = false;
        app.db.save_template(store.id, &template).expect("off");
    }
    let (done, template) = check(&page(&admin, &app, &path).await, "template");
    assert!(!done, "every template off: {template}");
}
