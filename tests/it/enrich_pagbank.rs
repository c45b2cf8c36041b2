//! PagBank's legacy transaction notifications through the real server: the store page explains
//! when the e-mail and token are needed; a `notificationCode` form that arrives before them is
//! kept unmapped and its page says where to save them; once saved, that notification is
//! fetched too: the transaction a loopback stand-in of PagBank's legacy API answers (XML in
//! ISO-8859-1, only to the account's e-mail and token) becomes a boleto event with its buyer and
//! reminders, and the next notification, the same transaction paid, cancels them.

use std::path::Path;
use std::sync::{Arc, Mutex};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use avisa::db::MessageFilter;
use avisa::domain::{EventId, EventKind, MessageStatus, Platform};
use avisa::ingest::Status;

use crate::enrich::{ended, save_credentials};
use crate::events::{create_store, post_webhook};
use crate::support::TestApp;

/// The boleto's notification (status 1), sent before the credentials were saved.
const WAITING: &str = "00AA11-BB22CC33DD44-EE55FF667788-990011";
/// The same transaction paid (status 3).
const PAID: &str = "766B9C-AD4B044B04DA-77742F5FA653-E1AB24";
const EMAIL: &str = "loja@example.com";
const TOKEN: &str = "0A1B2C3D4E5F60718293A4B5C6D7E8F9";

/// The documented transaction (tests/fixtures/enrich/pagbank-transaction.json, a boleto
/// waiting) with `status`, in ISO-8859-1.
fn transaction_latin1(status: &str) -> Vec<u8> {
    let file: serde_json::Value = serde_json::from_slice(
        &std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/enrich/pagbank-transaction.json"),
        )
        .expect("stand-in file"),
    )
    .expect("JSON");
    let xml = file["body"]
        .as_str()
        .expect("the XML text")
        .replace("<status>1</status>", &format!("<status>{status}</status>"));
    xml.chars()
        .map(|c| u8::try_from(u32::from(c)).expect("ISO-8859-1"))
        .collect()
}

/// PagBank's legacy API: the transaction for the notification's code, to the right e-mail and
/// token only (401 otherwise, as PagBank answers a wrong token); every query it saw.
async fn stand_in() -> (String, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let queries = seen.clone();
    let server = HttpServer::new(move || {
        let queries = queries.clone();
        App::new().default_service(web::to(move |req: HttpRequest| {
            let queries = queries.clone();
            async move {
                queries
                    .lock()
                    .expect("queries")
                    .push(req.query_string().to_owned());
                let query: Vec<(String, String)> =
                    form_urlencoded::parse(req.query_string().as_bytes())
                        .into_owned()
                        .collect();
                let has = |k: &str, v: &str| query.iter().any(|(a, b)| a == k && b == v);
                if !(has("email", EMAIL) && has("token", TOKEN)) {
                    return HttpResponse::Unauthorized().body("Unauthorized");
                }
                let status = match req.path().strip_prefix("/v3/transactions/notifications/") {
                    Some(WAITING) => "1",
                    Some(PAID) => "3",
                    _ => return HttpResponse::NotFound().body("Not Found"),
                };
                HttpResponse::Ok()
                    .content_type("application/xml;charset=ISO-8859-1")
                    .body(transaction_latin1(status))
            }
        }))
    })
    .workers(1)
    .bind("127.0.0.1:0")
    .expect("bind loopback");
    let url = format!("http://{}", server.addrs()[0]);
    tokio::spawn(server.run());
    (url, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrich_pagbank_a_legacy_notification_becomes_the_boleto_with_its_buyer() {
    let (base, seen) = stand_in().await;
    let app = TestApp::start_configured(|c| c.platform_api_stand_in = Some(base)).await;
    let admin = app.setup_admin().await;
    let (store, token) = create_store(&app, Platform::Pagbank, "Loja PagBank");

    let page = app.html(&admin, &format!("/lojas/{store}")).await;
    assert!(page.contains("data-testid=\"store-api\""));
    assert!(
        page.contains("As notificações de pedidos e checkouts do PagBank já trazem o comprador"),
        "the card says when it is needed"
    );
    assert!(page.contains("E-mail da conta PagBank"));

    let headers = [(
        "Content-Type",
        "application/x-www-form-urlencoded".to_owned(),
    )];
    // Before the credentials: kept unmapped, and its page says where to save them rather than
    // offering to map "transaction" (every status has that name).
    let waiting = format!("notificationCode={WAITING}&notificationType=transaction");
    let (status, answer) = post_webhook(&app, &token, waiting, &headers).await;
    assert!((200..300).contains(&status), "{status}: {answer}");
    let boleto = answer["event_ids"][0].as_u64().expect("an event id");
    let record = app.db.event(EventId(boleto)).expect("event").0;
    assert_eq!(record.status, Status::Unmapped);
    let event_page = app.html(&admin, &format!("/eventos/{boleto}")).await;
    assert!(
        event_page.contains("data-testid=\"event-needs-api\""),
        "{event_page}"
    );
    assert!(event_page.contains(&format!("href=\"/lojas/{store}#api\"")));
    assert!(!event_page.contains("data-testid=\"map-event\""));

    // Saved: the notification that waited for them is fetched too.
    let (status, body) =
        save_credentials(&app, &admin, store, &[("email", EMAIL), ("token", TOKEN)]).await;
    assert_eq!(status, 303, "{body}");
    let record = ended(&app, boleto).await;
    assert_eq!(record.status, Status::Ok, "{:?}", record.reason);
    let event = record.event.expect("the event");
    assert_eq!(event.kind, Some(EventKind::BoletoGenerated));
    assert_eq!(event.customer.name.as_deref(), Some("José Comprador"));
    assert_eq!(
        event.order_id.as_deref(),
        Some("9E884542-81B3-4419-9A75-BCC6FB495EF1")
    );
    let reminders = messages_of(&app, boleto);
    assert!(!reminders.is_empty(), "the boleto's reminders are planned");
    assert!(
        reminders
            .iter()
            .any(|m| m.text.contains("imprimeBoleto.jhtml?code=9E884542")),
        "{:?}",
        reminders.iter().map(|m| &m.text).collect::<Vec<_>>()
    );
    let event_page = app.html(&admin, &format!("/eventos/{boleto}")).await;
    assert!(!event_page.contains("event-needs-api"), "the hint is gone");

    // The same transaction paid: filled in as it arrives, and the reminders stop.
    let paid = format!("notificationCode={PAID}&notificationType=transaction");
    let (status, answer) = post_webhook(&app, &token, paid, &headers).await;
    assert!((200..300).contains(&status), "{status}: {answer}");
    let id = answer["event_ids"][0].as_u64().expect("an event id");
    let record = ended(&app, id).await;
    assert_eq!(record.status, Status::Ok, "{:?}", record.reason);
    assert_eq!(
        record.event.and_then(|e| e.kind),
        Some(EventKind::OrderPaid)
    );
    let left: Vec<_> = messages_of(&app, boleto)
        .into_iter()
        .filter(|m| m.status != MessageStatus::Canceled)
        .map(|m| (m.status, m.text))
        .collect();
    assert!(left.is_empty(), "paid: no reminder left to go: {left:?}");
    let queries = seen.lock().expect("queries").clone();
    assert_eq!(
        queries,
        vec![format!("email=loja%40example.com&token={TOKEN}"); 2],
        "two calls, with the account's e-mail and token"
    );
}

fn messages_of(app: &TestApp, event: u64) -> Vec<avisa::domain::Message> {
    app.db
        .list_messages(&MessageFilter {
            event_id: Some(EventId(event)),
            limit: 20,
            ..Default::default()
        })
        .expect("messages")
}
