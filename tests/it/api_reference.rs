//! The API's own description: `GET /api/v1/openapi.json` answers a token with the spec of every
//! `/api/v1` route, and `/ajuda/api` shows the same operations to a logged-in user as a page.

use avisa::http::routes::ROUTES;
use serde_json::Value;

use crate::support::TestApp;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_spec_is_served_to_a_token_and_names_every_api_route() {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let token = app.api_token(&admin).await;
    let response = app
        .client()
        .get(app.at("/api/v1/openapi.json"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("spec");
    assert_eq!(response.status(), 200);
    let spec: Value = response.json().await.expect("JSON");
    assert!(
        spec["openapi"]
            .as_str()
            .unwrap_or_default()
            .starts_with("3.")
    );
    for route in ROUTES.iter().filter(|r| r.path.starts_with("/api/v1/")) {
        let op = &spec["paths"][route.path][route.method.to_lowercase()];
        assert!(
            op["summary"].as_str().is_some_and(|s| !s.is_empty()),
            "{} {} has a summary in the served spec",
            route.method,
            route.path
        );
    }
    let send = &spec["paths"]["/api/v1/messages"]["post"];
    assert_eq!(
        send["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/SendInput"
    );
    let fields = &spec["components"]["schemas"]["SendInput"]["properties"];
    for field in [
        "store_id",
        "instance_id",
        "to",
        "text",
        "due_at",
        "idempotency_key",
    ] {
        assert!(fields.get(field).is_some(), "SendInput documents {field}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_page_lists_each_operation_for_a_logged_in_user() {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let response = admin.get(app.at("/ajuda/api")).send().await.expect("page");
    assert_eq!(response.status(), 200);
    let page = response.text().await.expect("html");
    assert!(page.contains("Referência da API"), "the page speaks pt-BR");
    for route in ROUTES.iter().filter(|r| r.path.starts_with("/api/v1/")) {
        // minijinja's HTML escaping writes `/` as `&#x2f;`.
        let path = route.path.replace('/', "&#x2f;");
        let heading = format!(
            "<span class=\"method method-{}\">{}</span> <code>{path}</code></h3>",
            route.method.to_lowercase(),
            route.method
        );
        assert!(
            page.contains(&heading),
            "the page lists {} {}",
            route.method,
            route.path
        );
    }
    assert!(
        page.contains("id=\"schema-SendInput\""),
        "schemas have their section"
    );
    assert!(
        page.contains("<code>idempotency_key</code>"),
        "fields are listed"
    );
    assert!(!page.contains("<script src=\"http"), "no CDN");
}
