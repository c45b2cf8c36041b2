//! The dashboard's Primeiros passos: each step ticks itself as the merchant does it, and the card
//! goes away once all are done.

use crate::support::TestApp;

async fn home(app: &TestApp, client: &reqwest::Client) -> String {
    app.html(client, "/").await
}

fn done(html: &str, step: &str) -> bool {
    let marker = format!("data-step=\"{step}\" data-done=\"");
    let at = html.find(&marker).unwrap_or_else(|| panic!("step {step}")) + marker.len();
    html[at..].starts_with("true")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_steps_tick_themselves_and_go_away_when_all_are_done() {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let html = home(&app, &admin).await;
    assert!(!done(&html, "store") && !done(&html, "instance") && !done(&html, "templates"));

    let store = app
        .db
        .create_store(avisa::domain::NewStore {
            name: "Loja".into(),
            slug: "loja".into(),
            platform: avisa::domain::Platform::Hotmart,
            enabled: true,
            secret: None,
            webhook_token: "d".repeat(32),
            created_at: 0,
        })
        .expect("store");
    let sandbox = app
        .db
        .create_instance(avisa::domain::Instance::new(
            "Sandbox",
            avisa::domain::InstanceMode::Sandbox,
            0,
        ))
        .expect("sandbox");
    app.channels.ensure(&sandbox);
    let html = home(&app, &admin).await;
    assert!(done(&html, "store"));
    assert!(
        !done(&html, "instance"),
        "a sandbox is not a connected WhatsApp"
    );

    let number = app
        .db
        .create_instance(avisa::domain::Instance::new(
            "Número",
            avisa::domain::InstanceMode::Whatsapp,
            0,
        ))
        .expect("instance");
    app.channels.insert(
        number.id,
        std::sync::Arc::new(avisa::channels::fake::FakeChannel::connected(
            "+5511900000000",
        )),
    );
    let html = home(&app, &admin).await;
    assert!(done(&html, "instance") && !done(&html, "templates"));

    let template = avisa::render::default_template(avisa::domain::EventKind::OrderPaid);
    app.db.save_template(store.id, &template).expect("reviewed");
    let html = home(&app, &admin).await;
    assert!(
        !html.contains("data-testid=\"first-steps\""),
        "all done: the card goes away"
    );
}
