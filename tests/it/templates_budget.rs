//! Templates under a work budget (issue 14 item 2): a template that would render for days or
//! fill memory is refused in the preview and on save, never runs at planning, and previews that
//! wait to render never hold up a webhook.

use avisa::domain::{EventKind, Platform, StoreId};
use serde_json::{Value, json};

use crate::events::{create_store, post_webhook};
use crate::support::TestApp;
use crate::templates::{API_PIX, fixture, messages, post_form};

/// Three nested loops over 1,000 letters written out (a part holds 4,000 characters): without a
/// work budget this renders for a billion steps.
fn nested_loops() -> String {
    let letters = format!("\"{}\"", "x".repeat(1000));
    format!(
        "{{% for a in {letters} %}}{{% for b in {letters} %}}{{% for c in {letters} %}}.\
         {{% endfor %}}{{% endfor %}}{{% endfor %}}"
    )
}

/// 100 KB of text from a loop over 1,000 letters: over the output cap.
fn long_text() -> String {
    format!(
        "{{% for i in \"{}\" %}}{}{{% endfor %}}",
        "x".repeat(1000),
        "y".repeat(100)
    )
}

/// A 100 MB string in one step, which fuel does not see: refused when read.
const MEMORY_BOMB: &str = r#"{{ "x" * 100000000 }}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_template_over_the_work_budget_is_refused_in_preview_and_on_save() {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let (id, _) = create_store(&app, Platform::Api, "Minha Loja");
    let csrf = app.csrf(&admin, "/templates").await;
    let response = admin
        .post(app.at("/api/v1/templates/preview"))
        .header("X-CSRF-Token", &csrf)
        .json(&json!({
            "store_id": id,
            "kind": "pix.generated",
            "steps": [ { "delay": "0", "parts": [nested_loops(), long_text(), MEMORY_BOMB] } ],
        }))
        .send()
        .await
        .expect("preview answers");
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("JSON");
    let parts = &body["steps"][0]["parts"];
    assert_eq!(parts[0]["error"]["code"], "too_much_work");
    assert_eq!(parts[1]["error"]["code"], "output_too_long");
    assert_eq!(parts[2]["error"]["code"], "not_allowed", "{}", parts[2]);
    assert_eq!(parts[2]["error"]["line"], 1);
    assert!(
        parts[2]["error"]["detail"]
            .as_str()
            .is_some_and(|m| m.contains("repetir um texto pode ocupar memória sem limite")),
        "{}",
        parts[2]
    );

    let path = format!("/templates/{id}/pix.generated");
    let nested_loops = nested_loops();
    let fields = [
        ("enabled", "1"),
        ("delay.0", "0"),
        ("part.0.0", nested_loops.as_str()),
        ("action", "save"),
    ];
    let (status, _, html) = post_form(&app, &admin, &path, &fields).await;
    assert_eq!(status, 422);
    assert!(
        html.contains("Passo 1, mensagem 1: o modelo dá trabalho demais para montar"),
        "{html}"
    );
    // The editor refuses the memory bomb on save too, in pt-BR with its line.
    let fields = [
        ("enabled", "1"),
        ("delay.0", "0"),
        ("part.0.0", MEMORY_BOMB),
        ("action", "save"),
    ];
    let (status, _, html) = post_form(&app, &admin, &path, &fields).await;
    assert_eq!(status, 422);
    assert!(
        html.contains(
            "Passo 1, mensagem 1, linha 1: recurso que mensagens não aceitam — `*` e `**` só \
             multiplicam números"
        ),
        "{html}"
    );
    let stored = app
        .db
        .template(StoreId(id), EventKind::PixGenerated)
        .expect("read");
    assert!(stored.is_none(), "nothing was saved");
}

/// A template saved before the guard existed (written straight to the file here: the editor
/// refuses it) never runs at planning: its refused part is a failed message with the pt-BR
/// reason, and the step's other part is planned as usual.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn planning_never_runs_a_refused_template() {
    let app = TestApp::start().await;
    let (id, token) = create_store(&app, Platform::Api, "Minha Loja");
    let mut template = avisa::render::default_template(EventKind::PixGenerated);
    template.steps.truncate(1);
    template.steps[0].parts = vec!["Oi, {{ customer.first_name }}!".into(), MEMORY_BOMB.into()];
    app.db
        .save_template(StoreId(id), &template)
        .expect("saved as an older version could have");
    let (status, _) = post_webhook(&app, &token, fixture(API_PIX), &[]).await;
    assert_eq!(status, 202);
    let mut planned = messages(&app);
    planned.sort_by_key(|m| m.part);
    let summary: Vec<_> = planned
        .iter()
        .map(|m| {
            let reason = m.history.last().and_then(|c| c.reason.clone());
            (m.part, m.status, m.text.clone(), reason)
        })
        .collect();
    assert_eq!(summary.len(), 2, "{summary:?}");
    assert_eq!(
        summary[0].1,
        avisa::domain::MessageStatus::Scheduled,
        "{summary:?}"
    );
    assert_eq!(
        summary[1].1,
        avisa::domain::MessageStatus::Failed,
        "{summary:?}"
    );
    assert_eq!(summary[1].2, "", "nothing was rendered");
    assert!(
        summary[1]
            .3
            .as_deref()
            .is_some_and(|r| r.contains("repetir um texto pode ocupar memória sem limite")),
        "{summary:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_are_answered_while_previews_wait_to_render() {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let (id, token) = create_store(&app, Platform::Api, "Minha Loja");
    let csrf = app.csrf(&admin, "/templates").await;
    // Rendering paused: four previews of the costly template are held mid-way (the adversarial
    // run's four requests left webhooks unanswered for ~27 s).
    let paused = app.rendering.pause().await;
    let mut previews = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let request = admin
            .post(app.at("/api/v1/templates/preview"))
            .header("X-CSRF-Token", &csrf)
            .json(&json!({
                "store_id": id,
                "kind": "pix.generated",
                "steps": [ { "delay": "0", "parts": [nested_loops()] } ],
            }));
        previews.spawn(async move {
            let body: Value = request
                .send()
                .await
                .expect("preview answers")
                .json()
                .await
                .expect("JSON");
            body["steps"][0]["parts"][0]["error"]["code"].clone()
        });
    }
    while app.rendering.waiting() < 4 {
        tokio::task::yield_now().await;
    }
    let (status, _) = post_webhook(&app, &token, fixture(API_PIX), &[]).await;
    assert_eq!(status, 202);
    assert_eq!(
        app.rendering.waiting(),
        4,
        "the previews were still waiting"
    );
    drop(paused);
    while let Some(code) = previews.join_next().await {
        assert_eq!(code.expect("preview task"), "too_much_work");
    }
}
