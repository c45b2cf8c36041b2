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
async fn login_attempts_are_rate_limited_per_address() {
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
    let page = admin
        .get(app.at("/configuracoes"))
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("body");
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

    let listed = admin
        .get(app.at("/usuarios"))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("body");
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
