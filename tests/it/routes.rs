//! The whole route table: every private route refuses an anonymous caller, every admin route
//! refuses an attendant, every public route answers without a login. A new route is covered the
//! moment it is added to the table.

use avisa::http::routes::{Access, ROUTES};
use reqwest::Method;

use crate::support::{ADMIN_PASSWORD, TestApp};

fn concrete(path: &str) -> String {
    path.replace("{id}", "1").replace("{path:.*}", "app.css")
}

/// A client with a valid CSRF cookie and token, so refusals come from authentication alone.
async fn anonymous_with_csrf(app: &TestApp) -> (reqwest::Client, String) {
    let client = app.client();
    let csrf = app.csrf(&client, "/login").await;
    (client, csrf)
}

async fn call(
    client: &reqwest::Client,
    app: &TestApp,
    method: &str,
    path: &str,
    csrf: &str,
) -> reqwest::Response {
    let method = Method::from_bytes(method.as_bytes()).expect("valid method");
    let mut request = client.request(method.clone(), app.at(&concrete(path)));
    if method != Method::GET {
        request = request
            .header("X-CSRF-Token", csrf)
            .form(&[("_csrf", csrf)]);
    }
    request.send().await.expect("route answers")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_private_route_refuses_an_anonymous_request() {
    let app = TestApp::start().await;
    app.setup_admin().await;
    let (client, csrf) = anonymous_with_csrf(&app).await;
    let mut checked = 0;
    for route in ROUTES.iter().filter(|r| r.access != Access::Public) {
        let response = call(&client, &app, route.method, route.path, &csrf).await;
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        if route.path.starts_with("/api/") {
            assert_eq!(
                status, 401,
                "{} {} must answer 401",
                route.method, route.path
            );
        } else {
            assert_eq!(
                status, 303,
                "{} {} must redirect to login",
                route.method, route.path
            );
            assert!(
                location.starts_with("/login?next="),
                "{} {} redirects to {location}",
                route.method,
                route.path
            );
        }
        checked += 1;
    }
    assert!(
        checked >= 20,
        "the table has its private routes ({checked})"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_admin_route_refuses_an_attendant() {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let csrf = app.csrf(&admin, "/usuarios").await;
    let page = admin
        .post(app.at("/usuarios"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("email", "atendente@loja.com.br"),
            ("name", "Ana"),
            ("role", "attendant"),
        ])
        .send()
        .await
        .expect("create user")
        .text()
        .await
        .expect("page");
    let one_time = crate::auth::one_time_password_in(&page);

    // First login with the one-time password must lead to choosing a new one.
    let (attendant, response) = app.login("atendente@loja.com.br", &one_time).await;
    assert_eq!(response.status(), 303);
    let home = attendant.get(app.at("/")).send().await.expect("home");
    assert_eq!(home.headers()["location"], "/conta?trocar_senha=1");
    let csrf = app.csrf(&attendant, "/conta").await;
    let changed = attendant
        .post(app.at("/conta/senha"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("current", one_time.as_str()),
            ("password", ADMIN_PASSWORD),
            ("password_confirm", ADMIN_PASSWORD),
        ])
        .send()
        .await
        .expect("change password");
    assert_eq!(changed.status(), 303);
    let (attendant, _) = app.login("atendente@loja.com.br", ADMIN_PASSWORD).await;
    let csrf = app.csrf(&attendant, "/").await;

    for route in ROUTES.iter().filter(|r| r.access == Access::Admin) {
        let response = call(&attendant, &app, route.method, route.path, &csrf).await;
        assert_eq!(
            response.status(),
            403,
            "{} {} must refuse an attendant",
            route.method,
            route.path
        );
    }
    for route in ROUTES
        .iter()
        .filter(|r| r.access == Access::User && r.method == "GET")
    {
        let response = call(&attendant, &app, route.method, route.path, &csrf).await;
        // A route about one record may not find record 1; it still let the attendant in.
        let allowed: &[u16] = if route.path.contains("{id}") {
            &[200, 404]
        } else {
            &[200]
        };
        assert!(
            allowed.contains(&response.status().as_u16()),
            "{} {} serves an attendant ({})",
            route.method,
            route.path,
            response.status()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_routes_answer_without_a_login() {
    let app = TestApp::start().await;
    let client = app.client();
    for route in ROUTES
        .iter()
        .filter(|r| r.access == Access::Public && r.method == "GET")
    {
        let response = client
            .get(app.at(&concrete(route.path)))
            .send()
            .await
            .expect("answers");
        let status = response.status().as_u16();
        // Before the first admin, /login sends people to /setup; everything else answers directly.
        assert!(
            status == 200 || route.path == "/login" && status == 303,
            "GET {} answered {status}",
            route.path
        );
    }
    let metrics = app.html(&client, "/metrics").await;
    assert!(
        metrics.contains(
            "avisa_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"}"
        ),
        "{metrics}"
    );
    for family in [
        "avisa_outbox_scheduled 0",
        "avisa_outbox_attempts_total",
        "avisa_send_latency_seconds_count",
        "avisa_webhooks_total",
    ] {
        assert!(metrics.contains(family), "/metrics has {family}: {metrics}");
    }
}
