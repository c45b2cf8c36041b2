//! Merchant-made mappings end to end: a `custom` store keeps a body no recogniser knows as
//! unmapped, the merchant maps it over the API, re-processing plans its message, and the next
//! body of the same shape is recognised on arrival.

use avisa::domain::Platform;
use serde_json::{Value, json};

use crate::events::{create_store, post_webhook};
use crate::support::TestApp;

fn erp_body(order: &str, phone: &str) -> String {
    json!({
        "evento": "PEDIDO_PAGO",
        "pedido": { "numero": order, "valor": "197.90" },
        "cliente": { "nome": "Ana Souza", "fone": phone },
        "itens": [{ "descricao": "Curso de Confeitaria" }],
    })
    .to_string()
}

async fn api(
    client: &reqwest::Client,
    token: &str,
    method: reqwest::Method,
    url: String,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = client.request(method, url).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("API answers");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn messages_of(client: &reqwest::Client, app: &TestApp, store: u64) -> Vec<Value> {
    let response = client
        .get(app.at(&format!("/api/v1/messages?store={store}")))
        .send()
        .await
        .expect("API answers");
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    body["messages"].as_array().expect("a list").clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_custom_store_is_mapped_over_the_api_reprocessed_and_then_recognised_on_arrival() {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let token = app.api_token(&admin).await;
    let (store, hook) = create_store(&app, Platform::Custom, "Meu ERP");
    let client = reqwest::Client::new();

    let (status, answer) =
        post_webhook(&app, &hook, erp_body("1001", "(11) 98765-4321"), &[]).await;
    assert_eq!(status, 202, "{answer}");
    let event_id = answer["event_ids"][0].as_u64().expect("an event id");
    let (_, event) = api(
        &client,
        &token,
        reqwest::Method::GET,
        app.at(&format!("/api/v1/events/{event_id}")),
        None,
    )
    .await;
    assert_eq!(event["event"]["status"], "unmapped", "{event}");
    assert!(messages_of(&admin, &app, store).await.is_empty());

    let mapping_url = app.at(&format!("/api/v1/stores/{store}/mapping"));
    // A path that cannot be one and an unknown kind are refused with the reason.
    let (status, refused) = api(
        &client,
        &token,
        reqwest::Method::PUT,
        mapping_url.clone(),
        Some(json!({"event_field": "evento", "fields": {"customer.phone": "cliente..fone"}})),
    )
    .await;
    assert_eq!(status, 422, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("cliente..fone"),
        "{refused}"
    );
    let (status, refused) = api(
        &client,
        &token,
        reqwest::Method::PUT,
        mapping_url.clone(),
        Some(json!({"event_field": "evento", "kinds": {"PEDIDO_PAGO": "order.payed"}})),
    )
    .await;
    assert_eq!(status, 422, "{refused}");

    let mapping = json!({
        "event_field": "evento",
        "kinds": { "PEDIDO_PAGO": "order.paid" },
        "fields": {
            "customer.phone": "cliente.fone",
            "customer.name": "cliente.nome",
            "order_id": "pedido.numero",
            "total": "pedido.valor",
            "products.name": "itens.*.descricao",
        },
        "amount_unit": "reais",
    });
    let (status, saved) = api(
        &client,
        &token,
        reqwest::Method::PUT,
        mapping_url.clone(),
        Some(mapping.clone()),
    )
    .await;
    assert_eq!(status, 200, "{saved}");
    let (_, read_back) = api(&client, &token, reqwest::Method::GET, mapping_url, None).await;
    assert_eq!(read_back, mapping, "GET answers what was saved");

    let (status, done) = api(
        &client,
        &token,
        reqwest::Method::POST,
        app.at(&format!("/api/v1/stores/{store}/reprocess")),
        None,
    )
    .await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["recognised"], 1, "{done}");
    assert_eq!(done["still_unmapped"], 0, "{done}");

    let (_, event) = api(
        &client,
        &token,
        reqwest::Method::GET,
        app.at(&format!("/api/v1/events/{event_id}")),
        None,
    )
    .await;
    assert_eq!(event["event"]["status"], "ok", "{event}");
    let planned = messages_of(&admin, &app, store).await;
    assert_eq!(planned.len(), 1, "{planned:?}");
    assert_eq!(planned[0]["kind"], "order.paid");
    assert_eq!(planned[0]["status"], "scheduled", "{:?}", planned[0]);
    assert_eq!(planned[0]["phone"], "+5511987654321");
    assert!(
        planned[0]["text"]
            .as_str()
            .unwrap_or_default()
            .contains("Ana"),
        "{:?}",
        planned[0]
    );

    // The next body of the same shape is recognised on arrival.
    let (status, answer) = post_webhook(&app, &hook, erp_body("1002", "11 91234-5678"), &[]).await;
    assert_eq!(status, 202, "{answer}");
    let second = answer["event_ids"][0].as_u64().expect("an event id");
    let (_, event) = api(
        &client,
        &token,
        reqwest::Method::GET,
        app.at(&format!("/api/v1/events/{second}")),
        None,
    )
    .await;
    assert_eq!(event["event"]["status"], "ok", "{event}");
    assert_eq!(event["event"]["event"]["order_id"], "1002", "{event}");
    assert_eq!(event["event"]["event"]["total_cents"], 19790, "{event}");
    assert_eq!(messages_of(&admin, &app, store).await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_known_platform_store_accepts_kinds_only() {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let token = app.api_token(&admin).await;
    let (store, _) = create_store(&app, Platform::Hotmart, "Hotmart");
    let client = reqwest::Client::new();
    let url = app.at(&format!("/api/v1/stores/{store}/mapping"));
    let (status, refused) = api(
        &client,
        &token,
        reqwest::Method::PUT,
        url.clone(),
        Some(json!({"kinds": {"CLUB_MODULE_COMPLETED": "access.granted"}, "fields": {"order_id": "x"}})),
    )
    .await;
    assert_eq!(status, 422, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("kinds"),
        "{refused}"
    );
    let (status, saved) = api(
        &client,
        &token,
        reqwest::Method::PUT,
        url,
        Some(json!({"kinds": {"CLUB_MODULE_COMPLETED": "access.granted", "PRODUCT_UPDATED": "ignore"}})),
    )
    .await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(saved["kinds"]["PRODUCT_UPDATED"], "ignore");
}

/// A mapping exported from one store is a file another avisa (or store) imports as it was,
/// marked "não verificado" until a real event confirms it; a broken file is refused with the
/// reason and changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mapping_exported_from_one_store_imports_into_another_as_unverified() {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let token = app.api_token(&admin).await;
    let client = reqwest::Client::new();
    let (from, _) = create_store(&app, Platform::Custom, "ERP da matriz");
    let (to, _) = create_store(&app, Platform::Custom, "ERP da filial");
    let mapping = json!({
        "event_field": "evento",
        "kinds": { "PEDIDO_PAGO": "order.paid", "PEDIDO_GERADO": "awaiting_payment" },
        "fields": {
            "customer.phone": "cliente.fone|comprador.fone",
            "order_id": "pedido.numero",
            "total": "pedido.valor",
        },
        "amount_unit": "reais",
        "auth": { "scheme": "header", "header": "x-erp-token" },
    });
    let (status, saved) = api(
        &client,
        &token,
        reqwest::Method::PUT,
        app.at(&format!("/api/v1/stores/{from}/mapping")),
        Some(mapping.clone()),
    )
    .await;
    assert_eq!(status, 200, "{saved}");

    let exported = admin
        .get(app.at(&format!("/lojas/{from}/mapeamento.json")))
        .send()
        .await
        .expect("export answers");
    assert_eq!(exported.status(), 200);
    assert!(
        exported
            .headers()
            .get("content-disposition")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .contains("avisa-mapeamento-custom.json")
    );
    let file = exported.text().await.expect("a body");
    assert_eq!(
        serde_json::from_str::<Value>(&file).expect("json"),
        mapping,
        "the file is the mapping, nothing more (no secret)"
    );

    let page = format!("/lojas/{to}/mapeamento");
    let csrf = app.csrf(&admin, &page).await;
    let refused = admin
        .post(app.at(&format!("{page}/importar")))
        .form(&[("_csrf", csrf.as_str()), ("mapping", "{\"event_field\": ")])
        .send()
        .await
        .expect("import answers");
    let text = refused.text().await.expect("a page");
    assert!(text.contains("invalid JSON"), "the reason is shown");
    let mapping_url = app.at(&format!("/api/v1/stores/{to}/mapping"));
    let (_, nothing) = api(
        &client,
        &token,
        reqwest::Method::GET,
        mapping_url.clone(),
        None,
    )
    .await;
    assert_eq!(nothing["kinds"], json!({}), "{nothing}");

    let csrf = app.csrf(&admin, &page).await;
    let imported = admin
        .post(app.at(&format!("{page}/importar")))
        .form(&[("_csrf", csrf.as_str()), ("mapping", file.as_str())])
        .send()
        .await
        .expect("import answers");
    assert!(imported.status().is_redirection() || imported.status() == 200);
    let (_, read_back) = api(&client, &token, reqwest::Method::GET, mapping_url, None).await;
    let mut expected = mapping;
    expected["unverified"] = json!(true);
    assert_eq!(read_back, expected);
}
