//! Accounts and sessions: setup, login, logout, wrong passwords, rate limits, CSRF, API tokens.

use crate::support::{ADMIN_EMAIL, ADMIN_PASSWORD, TestApp};

/// The one-time password a users page shows once.
pub fn one_time_password_in(html: &str) -> String {
    let start = html
        .find("<code class=\"copyable\">")
        .expect("a one-time secret is shown")
        + 23;
    html[start..]
        .split('<')
        .next()
        .expect("secret text")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_run_setup_then_login_and_logout() {
    let app = TestApp::start().await;
    let anonymous = app.client();
    let home = anonymous.get(app.at("/")).send().await.expect("home");
    assert_eq!(
        home.headers()["location"],
        "/setup",
        "with no admin, the console asks for setup"
    );

    let admin = app.setup_admin().await;
    let home = admin.get(app.at("/")).send().await.expect("home");
    assert_eq!(home.status(), 200);
    assert!(
        home.text()
            .await
            .expect("body")
            .contains("Primeiros passos")
    );
    let setup_again = anonymous.get(app.at("/setup")).send().await.expect("setup");
    assert_eq!(
        setup_again.headers()["location"],
        "/login",
        "setup is closed once an admin exists"
    );

    let csrf = app.csrf(&admin, "/").await;
    let out = admin
        .post(app.at("/logout"))
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .expect("logout");
    assert_eq!(out.headers()["location"], "/login");
    let after = admin.get(app.at("/")).send().await.expect("home");
    assert_eq!(after.status(), 303, "the session is gone after logout");

    let (client, response) = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(response.status(), 303);
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .expect("cookie")
        .to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert_eq!(
        client.get(app.at("/")).send().await.expect("home").status(),
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_refuses_a_short_password() {
    let app = TestApp::start().await;
    let client = app.client();
    let csrf = app.csrf(&client, "/setup").await;
    let response = client
        .post(app.at("/setup"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("name", ""),
            ("email", ADMIN_EMAIL),
            ("password", "curta"),
            ("password_confirm", "curta"),
        ])
        .send()
        .await
        .expect("setup");
    assert_eq!(response.status(), 422);
    assert!(
        response
            .text()
            .await
            .expect("body")
            .contains("pelo menos 10 caracteres")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_is_refused_with_a_clear_message() {
    let app = TestApp::start().await;
    app.setup_admin().await;
    let (client, response) = app.login(ADMIN_EMAIL, "senha-errada-000").await;
    assert_eq!(response.status(), 401);
    assert!(
        response
            .text()
            .await
            .expect("body")
            .contains("E-mail ou senha incorretos")
    );
    assert_eq!(
        client.get(app.at("/")).send().await.expect("home").status(),
        303
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_attempts_are_throttled_per_account_and_address() {
    let app = TestApp::start().await;
    app.setup_admin().await;
    for _ in 0..5 {
        let (_, response) = app.login(ADMIN_EMAIL, "senha-errada-000").await;
        assert_eq!(response.status(), 401);
    }
    // Even the right password waits now: the limit protects against guessing.
    let (_, response) = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(response.status(), 429);
    assert!(response.headers().contains_key("retry-after"));
    assert!(
        response
            .text()
            .await
            .expect("body")
            .contains("Muitas tentativas")
    );
    // Another account from the same address is not under attack: it logs in.
    app.attendant("caixa@loja.com.br").await;
}

/// Logs in on a fresh client as if through a reverse proxy that appended `client` to
/// X-Forwarded-For; returns the status.
async fn login_via_proxy(app: &TestApp, email: &str, password: &str, client: &str) -> u16 {
    let http = app.client();
    let csrf = app.csrf(&http, "/login").await;
    http.post(app.at("/login"))
        .header("X-Forwarded-For", client)
        .form(&[
            ("_csrf", csrf.as_str()),
            ("email", email),
            ("password", password),
        ])
        .send()
        .await
        .expect("login answers")
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_guessing_locks_out_only_the_guessers_address() {
    let app = TestApp::start_configured(|config| {
        config.trusted_proxies = "127.0.0.1".parse().expect("proxy list");
    })
    .await;
    app.setup_admin().await;
    for _ in 0..5 {
        let status = login_via_proxy(&app, ADMIN_EMAIL, "senha-errada-000", "198.51.100.7").await;
        assert_eq!(status, 401);
    }
    // The guesser waits, even with the right password (the client may write more of the
    // header; the proxy's own entry is the rightmost and the one that counts).
    let status = login_via_proxy(&app, ADMIN_EMAIL, ADMIN_PASSWORD, "198.51.100.7").await;
    assert_eq!(status, 429);
    let spoofed = "203.0.113.1, 198.51.100.7";
    let status = login_via_proxy(&app, ADMIN_EMAIL, ADMIN_PASSWORD, spoofed).await;
    assert_eq!(status, 429);
    // The merchant, at her own address behind the same proxy, gets in.
    let status = login_via_proxy(&app, ADMIN_EMAIL, ADMIN_PASSWORD, "203.0.113.50").await;
    assert_eq!(status, 303);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_peers_forwarded_for_header_is_ignored() {
    let app = TestApp::start().await;
    app.setup_admin().await;
    for n in 0..5 {
        let client = format!("198.51.100.{n}");
        let status = login_via_proxy(&app, ADMIN_EMAIL, "senha-errada-000", &client).await;
        assert_eq!(status, 401);
    }
    let status = login_via_proxy(&app, ADMIN_EMAIL, ADMIN_PASSWORD, "198.51.100.99").await;
    assert_eq!(status, 429, "a made-up address does not buy more guesses");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_parallel_guesses_get_at_most_the_limit_through() {
    let app = TestApp::start().await;
    app.setup_admin().await;
    // Every guess waits for a hashing slot, so all 50 are past the throttle's door before
    // the first one could be recorded as a failure by a check-then-record limiter.
    let paused = app.hashing.pause().await;
    let mut guesses = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let http = app.client();
        let csrf = app.csrf(&http, "/login").await;
        let url = app.at("/login");
        guesses.spawn(async move {
            http.post(url)
                .form(&[
                    ("_csrf", csrf.as_str()),
                    ("email", ADMIN_EMAIL),
                    ("password", "senha-errada-000"),
                ])
                .send()
                .await
                .expect("login answers")
                .status()
                .as_u16()
        });
    }
    while app.hashing.waiting() < 5 {
        tokio::task::yield_now().await;
    }
    drop(paused);
    let mut statuses = std::collections::BTreeMap::new();
    while let Some(status) = guesses.join_next().await {
        *statuses.entry(status.expect("guess task")).or_insert(0) += 1;
    }
    assert_eq!(statuses, [(401, 5), (429, 45)].into_iter().collect());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_are_answered_while_many_logins_wait_to_hash() {
    let app = TestApp::start().await;
    app.setup_admin().await;
    let (_, token) = crate::events::create_store(&app, avisa::domain::Platform::Hotmart, "Loja");
    let body = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/hotmart/purchase-approved-pix-real.json"),
    )
    .expect("fixture");
    // Hashing paused: 12 logins (each at its own e-mail, so none is throttled) are all
    // held mid-way, more than the 2 async workers could ever serve if they hashed in place.
    let paused = app.hashing.pause().await;
    let finished = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut logins = tokio::task::JoinSet::new();
    for n in 0..12 {
        let http = app.client();
        let csrf = app.csrf(&http, "/login").await;
        let (url, finished) = (app.at("/login"), finished.clone());
        logins.spawn(async move {
            let status = http
                .post(url)
                .form(&[
                    ("_csrf", csrf.as_str()),
                    ("email", format!("ninguem{n}@loja.com.br").as_str()),
                    ("password", "senha-errada-000"),
                ])
                .send()
                .await
                .expect("login answers")
                .status()
                .as_u16();
            finished.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            status
        });
    }
    while app.hashing.waiting() < 12 {
        tokio::task::yield_now().await;
    }
    for _ in 0..10 {
        // The first is stored (202), the others are answered as duplicates of it (200).
        let (status, _) = crate::events::post_webhook(&app, &token, body.clone(), &[]).await;
        assert!(matches!(status, 200 | 202), "webhook answered {status}");
    }
    assert_eq!(finished.load(std::sync::atomic::Ordering::SeqCst), 0);
    drop(paused);
    while let Some(status) = logins.join_next().await {
        assert_eq!(status.expect("login task"), 401);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_state_change_without_the_csrf_token_is_rejected() {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let csrf = app.csrf(&admin, "/configuracoes").await;
    let fields = [
        ("company_name", "Loja da Maria"),
        ("default_lang", "pt-BR"),
        ("session_idle_minutes", "60"),
    ];

    let missing = admin
        .post(app.at("/configuracoes"))
        .form(&fields)
        .send()
        .await
        .expect("post");
    assert_eq!(missing.status(), 403);
    assert_eq!(
        missing.json::<serde_json::Value>().await.expect("json")["error"]["code"],
        "csrf_rejected"
    );

    let wrong = [("_csrf", "0".repeat(64))];
    let forged = admin
        .post(app.at("/configuracoes"))
        .form(&wrong)
        .send()
        .await
        .expect("post");
    assert_eq!(forged.status(), 403);

    let foreign = admin
        .post(app.at("/configuracoes"))
        .header("Origin", "https://evil.example")
        .form(&[("_csrf", csrf.as_str()), fields[0], fields[1], fields[2]])
        .send()
        .await
        .expect("post");
    assert_eq!(
        foreign.status(),
        403,
        "a foreign Origin is refused even with the token"
    );

    let mut good = vec![("_csrf", csrf.as_str())];
    good.extend(fields);
    let saved = admin
        .post(app.at("/configuracoes"))
        .form(&good)
        .send()
        .await
        .expect("post");
    assert_eq!(saved.status(), 303);
    let page = app.html(&admin, "/configuracoes").await;
    assert!(page.contains("Loja da Maria"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_tokens_are_shown_once_and_work_as_bearer() {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let csrf = app.csrf(&admin, "/usuarios").await;
    let page = admin
        .post(app.at("/usuarios/tokens"))
        .form(&[("_csrf", csrf.as_str()), ("name", "ERP")])
        .send()
        .await
        .expect("create token")
        .text()
        .await
        .expect("page");
    let token = one_time_password_in(&page);
    assert!(token.starts_with("avisa_"));

    let api = reqwest::Client::new();
    let me = api
        .get(app.at("/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("me");
    assert_eq!(me.status(), 200);
    assert_eq!(
        me.json::<serde_json::Value>().await.expect("json")["email"],
        ADMIN_EMAIL
    );

    let listed = app.html(&admin, "/usuarios").await;
    assert!(!listed.contains(&token), "the token is never shown again");

    let bad = api
        .get(app.at("/api/v1/me"))
        .bearer_auth("avisa_nope")
        .send()
        .await
        .expect("me");
    assert_eq!(bad.status(), 401);
    assert_eq!(
        bad.json::<serde_json::Value>().await.expect("json")["error"]["code"],
        "unauthenticated"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_user_loses_access_at_once() {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let csrf = app.csrf(&admin, "/usuarios").await;
    let page = admin
        .post(app.at("/usuarios"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("email", "b@loja.com.br"),
            ("name", "B"),
            ("role", "admin"),
        ])
        .send()
        .await
        .expect("create")
        .text()
        .await
        .expect("page");
    let password = one_time_password_in(&page);
    let (other, response) = app.login("b@loja.com.br", &password).await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        other
            .get(app.at("/conta"))
            .send()
            .await
            .expect("conta")
            .status(),
        200
    );

    let users: serde_json::Value = admin
        .get(app.at("/api/v1/users"))
        .send()
        .await
        .expect("users")
        .json()
        .await
        .expect("json");
    let id = users["users"]
        .as_array()
        .expect("list")
        .iter()
        .find(|u| u["email"] == "b@loja.com.br")
        .expect("user")["id"]
        .clone();
    let disabled = admin
        .post(app.at(&format!("/usuarios/{id}/desativar")))
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .expect("disable");
    assert_eq!(disabled.status(), 303);
    assert_eq!(
        other
            .get(app.at("/conta"))
            .send()
            .await
            .expect("conta")
            .status(),
        303
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_never_sends_anyone_to_another_site_and_hostile_next_values_do_not_break_it() {
    let app = TestApp::start().await;
    app.setup_admin().await;
    let hostile = [
        "/\t/evil.example/phish",
        "/\n/evil.example",
        "//evil.example",
        "/\\evil.example",
        "/.//evil.example",
        "https://evil.example/",
        "/\r\nSet-Cookie: x=y",
        "/eventos\r\n",
    ];
    for next in hostile {
        let http = app.client();
        let csrf = app.csrf(&http, "/login").await;
        let response = http
            .post(app.at("/login"))
            .form(&[
                ("_csrf", csrf.as_str()),
                ("email", ADMIN_EMAIL),
                ("password", ADMIN_PASSWORD),
                ("next", next),
            ])
            .send()
            .await
            .expect("login answers");
        assert_eq!(response.status(), 303, "next = {next:?}");
        let location = response.headers()["location"].to_str().expect("ascii");
        let target = reqwest::Url::parse(&app.url)
            .expect("app url")
            .join(location)
            .expect("a location the browser can follow");
        assert_eq!(
            target.origin(),
            reqwest::Url::parse(&app.url).expect("url").origin()
        );
        assert_eq!(location, "/", "next = {next:?}");
        assert_eq!(
            http.get(app.at("/")).send().await.expect("home").status(),
            200,
            "logged in fully"
        );
    }
    // The login page carries `next` into its form only in its cleaned form.
    let html = app
        .client()
        .get(app.at("/login?next=/%09/evil.example/phish"))
        .send()
        .await
        .expect("login page")
        .text()
        .await
        .expect("body");
    assert!(html.contains("name=\"next\""), "{html}");
    assert!(!html.contains("evil"), "{html}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_carry_a_strict_content_policy_and_api_answers_are_never_cached() {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let page = admin.get(app.at("/")).send().await.expect("home");
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .expect("ascii");
    assert!(csp.contains("script-src 'self';"), "{csp}");
    assert!(csp.contains("style-src 'self';"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert!(page.headers().contains_key("permissions-policy"));
    let api = admin
        .get(app.at("/api/v1/stores"))
        .send()
        .await
        .expect("API");
    assert_eq!(api.status(), 200);
    assert_eq!(api.headers()["cache-control"], "no-store");
    // No page of the console relies on inline script or style.
    let html = page.text().await.expect("body");
    assert!(
        !html.contains("<script>") && !html.contains(" style=\""),
        "{html}"
    );
}
