//! Relatórios over HTTP: after sandbox sends, a read receipt and a recovered order, the page
//! shows the figures and charts, and both CSV exports parse back to the same numbers.

use serde_json::json;

use avisa::db::{AttemptOutcome, ReceiptStatus};
use avisa::domain::{Clock, MessageId, Platform, SystemClock};

use crate::support::TestApp;

/// A boleto for order R1 and a shipping notice arrive; every message goes out through the
/// sandbox; one is read; then R1 is paid (a recovery). Returns the store id.
pub async fn arrange_sends(app: &TestApp) -> u64 {
    // No quiet hours: the messages are due at once whatever the hour the suite runs at (with the
    // default 21:00-08:00 Brasília they waited for the morning and the arrangement found none).
    let mut settings = app.db.message_settings().expect("settings");
    settings.quiet_hours = avisa::domain::planning::QuietHours {
        start_min: 0,
        end_min: 0,
    };
    app.db.save_message_settings(&settings).expect("saved");
    let (store_id, token) = crate::events::create_store(app, Platform::Api, "Loja, \"Centro\"");
    let body = |kind: &str, id: &str, order: &str| {
        json!({
            "kind": kind, "event_id": id, "order_id": order,
            "customer": { "name": "Ana, \"a\" Souza", "phone": "11987654321" },
            "products": [ { "name": "Curso", "quantity": 1, "price_cents": 19700 } ],
            "total_cents": 19700,
            "payment": { "boleto_url": "https://b.example/1", "boleto_barcode": "34191.79001 01043.510047 91020.150008 5 84460000019700" }
        })
        .to_string()
    };
    for (kind, id, order) in [
        ("boleto.generated", "r1", "R1"),
        ("order.shipped", "r2", "R2"),
    ] {
        let (status, _) =
            crate::events::post_webhook(app, &token, body(kind, id, order), &[]).await;
        assert_eq!(status, 202);
    }
    let now = SystemClock.now();
    let db = app.db.clone();
    let sent: Vec<MessageId> = tokio::task::spawn_blocking(move || {
        let mut sent = Vec::new();
        // Step 0 of each: the boleto's follow-ups stay queued. Chosen by step, not by due time:
        // in quiet hours (evenings in Brasília) step 0 is due the next morning.
        let due = db.due_messages(i64::MAX, 100).expect("due");
        for m in due.into_iter().filter(|m| m.step == 0) {
            if db
                .claim_message(m.id, None, now + 60, now)
                .expect("claim")
                .is_some()
            {
                db.record_attempt(
                    m.id,
                    now + 60,
                    AttemptOutcome::Sent {
                        at: now,
                        sandbox: true,
                        next_slot: now,
                        note: None,
                    },
                    now,
                )
                .expect("sent");
                sent.push(m.id);
            }
        }
        db.apply_receipt(sent[0], ReceiptStatus::Read, now)
            .expect("read");
        sent
    })
    .await
    .expect("arranged");
    assert!(sent.len() >= 2, "boleto and shipping messages went out");
    let (status, _) =
        crate::events::post_webhook(app, &token, body("order.paid", "r3", "R1"), &[]).await;
    assert_eq!(status, 202);
    store_id
}

/// RFC 4180: quoted fields may hold commas, doubled quotes and line breaks.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let (mut row, mut field) = (Vec::new(), String::new());
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    assert!(
        field.is_empty() && row.is_empty(),
        "every line ends with CRLF"
    );
    rows
}

fn column(rows: &[Vec<String>], name: &str) -> Vec<String> {
    let i = rows[0]
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("column {name}"));
    rows[1..].iter().map(|r| r[i].clone()).collect()
}

#[tokio::test]
async fn the_report_shows_sends_and_the_recovery_and_its_csv_parses_back() {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    arrange_sends(&app).await;

    let page = admin
        .get(app.at("/relatorios?periodo=hoje&testes=1"))
        .send()
        .await
        .expect("page");
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("html");
    for needle in [
        "data-testid=\"chart-sends\"",
        "data-testid=\"chart-events\"",
        "<title id=\"chart-sends-t\">Enviadas por dia</title>",
        "data-figure=\"read\">1<",
        "data-figure=\"recovered\">1<",
        "R$ 197,00",
    ] {
        assert!(html.contains(needle), "page shows {needle}");
    }
    // Without the test messages, the sandbox sends do not count.
    let real = admin
        .get(app.at("/relatorios?periodo=hoje"))
        .send()
        .await
        .expect("page");
    assert!(
        real.text()
            .await
            .expect("html")
            .contains("data-figure=\"sent\">0<")
    );

    let table = admin
        .get(app.at("/relatorios/tabela.csv?periodo=hoje&testes=1"))
        .send()
        .await
        .expect("csv");
    assert_eq!(table.status(), 200);
    assert!(
        table.headers()["content-type"]
            .to_str()
            .expect("type")
            .starts_with("text/csv")
    );
    let rows = parse_csv(&table.text().await.expect("body"));
    assert!(rows.iter().all(|r| r.len() == rows[0].len()), "same width");
    let sent: i64 = column(&rows, "sent")
        .iter()
        .map(|v| v.parse::<i64>().expect("n"))
        .sum();
    assert!(sent >= 2);
    assert!(column(&rows, "recovered_brl").contains(&"197.00".to_owned()));

    let messages = admin
        .get(app.at("/relatorios/mensagens.csv?periodo=hoje&testes=1"))
        .send()
        .await
        .expect("csv");
    let rows = parse_csv(&messages.text().await.expect("body"));
    let statuses = column(&rows, "status");
    assert_eq!(
        statuses
            .iter()
            .filter(|s| *s == "sent" || *s == "read")
            .count() as i64,
        sent
    );
    assert!(
        column(&rows, "buyer_name")
            .iter()
            .all(|n| n == "Ana, \"a\" Souza")
    );
    let texts = column(&rows, "text");
    let ids = column(&rows, "id");
    let first = app
        .db
        .message(ids[0].parse().expect("id"))
        .expect("message");
    assert_eq!(
        texts[0], first.text,
        "the text round-trips, line breaks and all"
    );

    let bad = admin
        .get(app.at("/relatorios?periodo=custom"))
        .send()
        .await
        .expect("page");
    assert!(
        bad.text()
            .await
            .expect("html")
            .contains("data-testid=\"report-error\"")
    );
    let bad_csv = admin
        .get(app.at("/relatorios/tabela.csv?periodo=ontem"))
        .send()
        .await
        .expect("csv");
    assert_eq!(bad_csv.status(), 422);
}

#[tokio::test]
async fn the_dashboard_store_and_instance_pages_show_their_figures() {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let store_id = arrange_sends(&app).await;
    let home = app.html(&admin, "/").await;
    assert!(home.contains("data-testid=\"dashboard-alerts\""));
    let store_page = app.html(&admin, &format!("/lojas/{store_id}")).await;
    assert!(store_page.contains("data-testid=\"summary-7d\""));
}
