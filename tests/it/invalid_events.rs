//! "Inválido" split and the dashboard's run alerts (issue 13): an event avisa could not read, one
//! read fine without a valid phone, and one whose signature did not match are three labels and
//! three filters on Eventos; a store whose latest webhooks all fail the same way raises a
//! dashboard alert that says what to do, and a good delivery ends it.

use avisa::domain::{Platform, StoreId};
use serde_json::json;

use crate::support::TestApp;

async fn page(client: &reqwest::Client, app: &TestApp, path: &str) -> String {
    let response = client.get(app.at(path)).send().await.expect("page");
    assert_eq!(response.status(), 200, "{path}");
    response.text().await.expect("html")
}

/// The `data-label` of every row of the Eventos table.
fn labels(html: &str) -> Vec<String> {
    html.split("data-testid=\"event-label\" data-label=\"")
        .skip(1)
        .filter_map(|rest| Some(rest.split('"').next()?.to_owned()))
        .collect()
}

/// The dashboard's alerts of one kind and reason, as their text.
fn alerts(html: &str, reason: &str) -> Vec<String> {
    let marker = format!("data-alert=\"invalid_run\" data-reason=\"{reason}\">");
    html.split(&marker)
        .skip(1)
        .filter_map(|rest| Some(rest.split("</li>").next()?.to_owned()))
        .collect()
}

fn without_phone(n: u32) -> String {
    json!({
        "kind": "order.paid", "event_id": format!("np{n}"), "order_id": format!("NP{n}"),
        "customer": { "name": "Sem Telefone" }, "total_cents": 19700
    })
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreadable_no_phone_and_refused_are_apart_and_runs_of_them_raise_alerts() {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let (kiwify, kiwify_token) = crate::events::create_store(&app, Platform::Kiwify, "Loja Kiwi");
    app.db
        .update_store(StoreId(kiwify), |s| {
            s.secret = Some("segredo-certo-123".into())
        })
        .expect("secret");
    let (_, api_token) = crate::events::create_store(&app, Platform::Api, "Loja Própria");
    let boleto = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/kiwify/billet_created.json"),
    )
    .expect("fixture");

    // Loja Própria: one body it cannot read, then three without a phone.
    let (status, _) = crate::events::post_webhook(&app, &api_token, "não é json", &[]).await;
    assert_eq!(status, 400);
    for n in 1..=3 {
        let (status, answer) =
            crate::events::post_webhook(&app, &api_token, without_phone(n), &[]).await;
        assert!(
            status < 500 && answer["event_ids"][0].is_u64(),
            "{status} {answer}"
        );
    }
    // Loja Kiwi: three deliveries signed with another secret.
    for n in 0..3 {
        let url = app.at(&format!(
            "/webhook/{kiwify_token}/x?signature={}",
            n.to_string().repeat(40)
        ));
        let response = reqwest::Client::new()
            .post(url)
            .header("Content-Type", "application/json")
            .body(boleto.clone())
            .send()
            .await
            .expect("webhook answers");
        assert_eq!(response.status(), 401);
    }

    // Eventos: three labels, never a mixed "Inválido".
    let list = page(&admin, &app, "/eventos").await;
    let mut seen = labels(&list);
    seen.sort();
    assert_eq!(
        seen,
        [
            "bad_signature",
            "bad_signature",
            "bad_signature",
            "no_phone",
            "no_phone",
            "no_phone",
            "unreadable"
        ]
    );
    for (value, label) in [
        ("unreadable", "Ilegível"),
        ("no_phone", "Sem telefone válido"),
        ("bad_signature", "Assinatura recusada"),
    ] {
        assert!(
            list.contains(&format!("<option value=\"{value}\" >{label}</option>")),
            "the filter offers {label}: {list}"
        );
    }
    assert!(!list.contains("Inválido"), "{list}");
    for (filter, wanted) in [("unreadable", 1), ("no_phone", 3), ("bad_signature", 3)] {
        let html = page(&admin, &app, &format!("/eventos?status={filter}")).await;
        let found = labels(&html);
        assert_eq!(found.len(), wanted, "{filter}: {found:?}");
        assert!(found.iter().all(|l| l == filter), "{filter}: {found:?}");
    }
    // Links made before the split still find every invalid event.
    assert_eq!(
        labels(&page(&admin, &app, "/eventos?status=invalid").await).len(),
        7
    );

    // The dashboard: one alert per store, saying what to do.
    let home = page(&admin, &app, "/").await;
    let refused = alerts(&home, "bad_signature");
    assert_eq!(refused.len(), 1, "{home}");
    assert!(
        refused[0]
            .contains("Os 3 últimos webhooks da loja Loja Kiwi foram recusados pela assinatura")
            && refused[0].contains("Copie o segredo da plataforma de novo"),
        "{}",
        refused[0]
    );
    assert!(refused[0].contains(&format!(
        "&#x2f;eventos?store={kiwify}&amp;status=bad_signature"
    )));
    let no_phone = alerts(&home, "no_phone");
    assert_eq!(no_phone.len(), 1, "{home}");
    assert!(
        no_phone[0]
            .contains("Os 3 últimos eventos da loja Loja Própria chegaram sem telefone válido")
            && no_phone[0].contains("Torne o telefone obrigatório no checkout"),
        "{}",
        no_phone[0]
    );
    assert!(
        alerts(&home, "unreadable").is_empty(),
        "one unreadable body is not a run"
    );

    // A good delivery ends the run: the store's secret is right again.
    let good = crate::events::post_webhook(
        &app,
        &api_token,
        std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/api/order.paid.json"),
        )
        .expect("fixture"),
        &[],
    )
    .await;
    assert_eq!(good.0, 202, "{}", good.1);
    let home = page(&admin, &app, "/").await;
    assert!(alerts(&home, "no_phone").is_empty(), "{home}");
    assert_eq!(alerts(&home, "bad_signature").len(), 1);
}
