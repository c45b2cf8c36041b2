//! What a merchant's first hour found wrong in the console's words and order (issue 13, the
//! smaller items): pt-BR plurals, the event page (body as received, dates in Brasília, no stray
//! separator, the "loja excluída" filter only when it finds something), Mensagens → Todas in
//! "Previsto para" order, the password change landing, and `avisa admin` on a running avisa.

use avisa::domain::Platform;

use crate::support::{ADMIN_PASSWORD, TestApp};

fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(path),
    )
    .expect("fixture")
}

async fn page(client: &reqwest::Client, app: &TestApp, path: &str) -> String {
    let response = client.get(app.at(path)).send().await.expect("page");
    assert_eq!(response.status(), 200, "{path}");
    response.text().await.expect("html")
}

/// The HTML escaping minijinja applies to text.
fn escaped(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;")
        .replace('/', "&#x2f;")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counts_of_one_read_in_the_singular() {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let (_, token) = crate::events::create_store(&app, Platform::Hotmart, "Curso");
    // One confirmation planned (no instance: it waits), sent twice by the platform.
    let paid = fixture("hotmart/purchase-approved-test.json");
    for _ in 0..2 {
        let (status, _) = crate::events::post_webhook(&app, &token, paid.clone(), &[]).await;
        assert!(status == 202 || status == 200, "{status}");
    }
    let unmapped = fixture("hotmart/club-module-completed-test.json");
    let (status, _) = crate::events::post_webhook(&app, &token, unmapped, &[]).await;
    assert_eq!(status, 202);

    let event = app
        .db
        .list_events(&avisa::db::EventFilter {
            limit: 10,
            ..Default::default()
        })
        .expect("events")
        .into_iter()
        .find(|e| e.duplicates == 1)
        .expect("the repeated delivery");
    let html = page(&admin, &app, &format!("/eventos/{}", event.id)).await;
    assert!(
        html.contains("entrega repetida com os mesmos dados foi contada e ignorada"),
        "{html}"
    );
    assert!(
        html.contains("<dt>Duplicatas</dt>"),
        "capitalised like its siblings"
    );
    let list = page(&admin, &app, "/eventos").await;
    assert!(list.contains("Duplicatas: 1") && !list.contains("duplicatas:"));

    let home = page(&admin, &app, "/").await;
    assert!(
        home.contains("1 evento não mapeado aguardando revisão"),
        "{home}"
    );
    assert!(
        !home.contains("1 eventos") && !home.contains("1 mensagens"),
        "{home}"
    );
    let instances = page(&admin, &app, "/instancias").await;
    assert!(instances.contains("— 1 agendada<"), "{instances}");
}

#[test]
fn no_console_string_nests_parentheses() {
    // "Enviada (entregue na caixa de teste (não foi ao WhatsApp))": a reason shown in
    // parentheses must not carry its own.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/i18n");
    for lang in ["pt-BR", "en"] {
        for file in std::fs::read_dir(dir.join(lang)).expect("catalogs") {
            let path = file.expect("entry").path();
            let catalog: std::collections::BTreeMap<String, String> =
                serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("json");
            for (key, text) in catalog
                .iter()
                .filter(|(k, _)| k.starts_with("messages.reason."))
            {
                assert!(
                    !text.contains('('),
                    "{lang} {key} is shown in parentheses: {text}"
                );
            }
        }
    }
    let sandbox = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/ui/sandbox.html"),
    )
    .expect("template");
    assert!(
        !sandbox.contains("(\n{{ t(\"messages.reason.")
            && !sandbox.contains("({{ t(\"messages.reason.")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_event_page_shows_the_body_as_received_and_platform_dates_in_brasilia() {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let (store, token) = crate::events::create_store(&app, Platform::Api, "Minha Loja");
    // Keys out of order and odd spacing: a re-serialisation would sort and re-indent them.
    let original = String::from_utf8(fixture("api/pix.generated.json")).expect("utf-8");
    let body = format!("{{\"zz_first\": 1,    {}", &original.trim_start()[1..]);
    let (status, answer) = crate::events::post_webhook(&app, &token, body.clone(), &[]).await;
    assert_eq!(status, 202);
    let id = answer["event_ids"][0].as_u64().expect("id");
    let html = page(&admin, &app, &format!("/eventos/{id}")).await;
    assert!(
        html.contains(&escaped(
            &body[..body.find("\"products\"").expect("products")]
        )),
        "the bytes as received: {html}"
    );
    // 2025-05-01T15:18:51Z is 12:18 in Brasília.
    assert!(
        html.contains("<dd data-testid=\"occurred-at\">01&#x2f;05&#x2f;2025 12:18</dd>"),
        "{html}"
    );
    assert!(!html.contains("2025-05-01T15:18:51Z</dd>"));

    // A body avisa cannot read has no platform: no dangling separator after the store.
    let (_, other) = crate::events::create_store(&app, Platform::Hotmart, "Outra Loja");
    let (status, answer) = crate::events::post_webhook(&app, &other, "não é json", &[]).await;
    assert_eq!(status, 400, "kept for inspection: {answer}");
    let id = answer["event_ids"][0].as_u64().expect("id");
    let html = page(&admin, &app, &format!("/eventos/{id}")).await;
    assert!(html.contains("Outra Loja"), "{html}");
    assert!(!html.contains(" · </dd>"), "{html}");

    // "loja excluída" is offered once a deleted store left events behind.
    let list = page(&admin, &app, "/eventos").await;
    assert!(!list.contains("value=\"deleted\""), "no deleted store yet");
    app.db
        .delete_store(avisa::domain::StoreId(store), 10)
        .expect("delete");
    let list = page(&admin, &app, "/eventos").await;
    assert!(list.contains("value=\"deleted\""), "{list}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mensagens_todas_reads_in_previsto_para_order() {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let (_, token) = crate::events::create_store(&app, Platform::Hotmart, "Curso");
    // Two boletos: the second arrives later, but the first one's follow-ups are due after the
    // second one's first message.
    for n in 1..=2 {
        let mut body: serde_json::Value =
            serde_json::from_slice(&fixture("hotmart/purchase-billet-printed-boleto.json"))
                .expect("json");
        body["id"] = format!("order-{n}").into();
        body["data"]["purchase"]["transaction"] = format!("HP{n:010}").into();
        body["data"]["buyer"]["checkout_phone"] = format!("1198765432{n}").into();
        let (status, _) = crate::events::post_webhook(&app, &token, body.to_string(), &[]).await;
        assert_eq!(status, 202);
    }
    let ids_in = |html: &str| -> Vec<u64> {
        html.split("data-message-id=\"")
            .skip(1)
            .filter_map(|rest| rest.split('"').next()?.parse().ok())
            .collect()
    };
    let due_of = |id: u64| {
        app.db
            .message(avisa::domain::MessageId(id))
            .expect("message")
            .due_at
    };
    let html = page(&admin, &app, "/mensagens").await;
    let ids = ids_in(&html);
    assert!(ids.len() > 3, "{html}");
    let mut expected: Vec<(i64, u64)> = ids.iter().map(|id| (due_of(*id), *id)).collect();
    expected.sort_unstable_by(|a, b| b.cmp(a));
    let shown: Vec<(i64, u64)> = ids.iter().map(|id| (due_of(*id), *id)).collect();
    assert_eq!(shown, expected, "latest Previsto para first");

    // Across pages too: the first page of two holds the two latest of all, and "Mais antigos"
    // goes on from there in the same order (not from the lowest id).
    let first = page(&admin, &app, "/mensagens?limit=2").await;
    let older = first
        .split("data-testid=\"older\"")
        .next()
        .and_then(|before| before.rsplit("href=\"").next()?.split('"').next())
        .expect("an older link")
        .replace("&amp;", "&")
        .replace("&#x2f;", "/");
    let rest = page(&admin, &app, &older).await;
    let paged: Vec<(i64, u64)> = ids_in(&first)
        .into_iter()
        .chain(ids_in(&rest))
        .map(|id| (due_of(id), id))
        .collect();
    assert_eq!(paged, expected, "{older}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_changing_the_temporary_password_the_login_page_says_so() {
    let app = TestApp::start().await;
    app.setup_admin().await;
    let attendant = app.attendant("atendente@loja.com.br").await;
    let csrf = app.csrf(&attendant, "/conta").await;
    let response = attendant
        .post(app.at("/conta/senha"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("current", ADMIN_PASSWORD),
            ("password", "uma senha nova e longa"),
            ("password_confirm", "uma senha nova e longa"),
        ])
        .send()
        .await
        .expect("change");
    assert_eq!(response.status(), 303);
    let location = response.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    assert!(location.starts_with("/login?"), "{location}");
    let login = page(&app.client(), &app, &location).await;
    assert!(
        login.contains("Senha trocada. Entre de novo com a senha nova."),
        "{login}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_password_on_a_running_avisa_says_in_portuguese_to_stop_it_first() {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_avisa"))
        .args(["admin", "reset-password", "--email", "dona@loja.com.br"])
        .arg("--data-dir")
        .arg(app.data_path())
        .output()
        .expect("avisa runs");
    assert_eq!(output.status.code(), Some(1));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        err.contains("o avisa está rodando") && err.contains("Pare o avisa"),
        "{err}"
    );
    app.db.ping().expect("the running avisa is untouched");
    let _ = admin;
    let login = page(&app.client(), &app, "/login").await;
    assert!(
        login.contains("pare o avisa antes"),
        "the login page says it too: {login}"
    );
}
