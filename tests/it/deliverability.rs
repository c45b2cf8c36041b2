//! Deliverability on the instance page (issue 15), in real Chromium: a new number's warm-up
//! schedule with today's allowance, the health figures with advice, the policy's state with
//! its reason, "Boas práticas", and the merchant resuming a slowed number; the dashboard's
//! alert links to it. Screenshot: target/screenshots/deliverability-instance.png.

use avisa::domain::deliverability::{HealthLog, Level, WarmUp};
use avisa::domain::{Clock as _, Instance, InstanceMode, SystemClock};
use fantoccini::Locator;

use crate::browser::{ONE_BROWSER, arrive, click, logged_in, shot};
use crate::support::TestApp;

async fn text(c: &fantoccini::Client, css: &str) -> String {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|_| panic!("{css} on the page"))
        .text()
        .await
        .expect("text")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_instance_page_shows_the_warm_up_the_health_and_good_practices() {
    let _turn = ONE_BROWSER.lock().await;
    let app = TestApp::start().await;
    app.setup_admin().await;
    let now = SystemClock.now();
    let instance = app
        .db
        .create_instance(Instance::new("Loja da Ana", InstanceMode::Whatsapp, now))
        .expect("instance");
    let id = instance.id;
    app.db
        .update_instance(id, |i| {
            i.warmup = WarmUp::starting(now);
            i.health.level = Level::Slowed;
            i.health.reason = "nacks_463".into();
            i.health.since = now;
            i.health.log.push(HealthLog {
                at: now,
                level: Level::Slowed,
                reason: "nacks_463".into(),
            });
        })
        .expect("arranged");
    let (_driver, _profile, c) = logged_in(&app).await;

    c.goto(&app.at("/")).await.expect("dashboard");
    let alert = text(&c, "[data-alert=health]").await;
    assert!(
        alert.contains("Loja da Ana: Envio desacelerado"),
        "the dashboard says which number and why: {alert}"
    );

    c.goto(&app.at(&format!("/instancias/{id}#entrega")))
        .await
        .expect("open");
    let level = text(&c, "[data-testid=health-level]").await;
    assert!(level.contains("Envio desacelerado"), "{level}");
    assert!(level.contains("erro 463"), "{level}");
    // Slowed: half of the first warm-up day's 20, at twice the 30 s interval.
    let allowance = text(&c, "[data-testid=allowance]").await;
    assert!(allowance.contains("0 de 10"), "{allowance}");
    assert!(allowance.contains("60 s"), "{allowance}");
    let schedule = text(&c, "[data-testid=warmup-schedule]").await;
    assert!(
        schedule.contains("20") && schedule.contains("300"),
        "{schedule}"
    );
    assert_eq!(text(&c, "[data-testid=warmup-today]").await, "20");
    let advice = text(&c, "[data-testid=health-advice]").await;
    assert!(advice.contains("dobrou o intervalo"), "{advice}");
    let practices = text(&c, "[data-testid=good-practices]").await;
    assert!(practices.contains("Boas práticas"), "{practices}");
    assert!(practices.contains("30 s"), "{practices}");
    shot(&c, "deliverability-instance").await;

    click(&c, "[data-testid=resume]", "a resume button").await;
    arrive(&c, &format!("/instancias/{id}?ok=saved#entrega")).await;
    let allowance = text(&c, "[data-testid=allowance]").await;
    assert!(allowance.contains("0 de 20"), "resumed: {allowance}");
    let resumed = app.db.instance(id).expect("instance");
    assert_eq!(resumed.health.level, Level::Normal);
    assert_eq!(
        resumed.health.log.last().map(|l| l.reason.as_str()),
        Some("merchant")
    );
}

/// The device names itself: the handshake of a new device announces "avisa" as its device
/// props' `os`, the name the phone's "Aparelhos conectados" lists.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_device_announces_itself_as_avisa() {
    use std::sync::Arc;

    use avisa::channels::whatsapp::{BUNDLED_VERSION, WhatsappChannel, WhatsappConfig};
    use avisa::domain::{InstanceId, ManualClock};
    use avisa::queue::channel::{ChannelState, Pairing};

    let server = crate::wa_server::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let db = avisa::db::Db::open(dir.path(), &avisa::db::DbOptions::default()).expect("open");
    let channel = WhatsappChannel::start(
        InstanceId(1),
        db,
        Arc::new(ManualClock::at(0)),
        WhatsappConfig {
            url: server.url.clone(),
            version: Some(BUNDLED_VERSION),
            http: None,
        },
    );
    let mut state = avisa::queue::channel::Channel::state(channel.as_ref());
    channel.connect();
    // The first QR code means the handshake (with its payload) is done; the timeout only
    // guards against a hang.
    tokio::time::timeout(
        std::time::Duration::from_secs(60),
        state.wait_for(|s| matches!(s, ChannelState::WaitingForQr { .. })),
    )
    .await
    .expect("a QR code in time")
    .expect("the channel is alive");
    assert_eq!(
        server.device_names.lock().expect("lock").first().cloned(),
        Some("avisa".to_owned())
    );
    channel.shutdown();
}

/// Configurações → "Proteção do número": an admin saves stricter thresholds (the policy reads
/// them), a pause below the slow-down is refused with the reason and changes nothing, "Voltar
/// aos padrões" restores the defaults, and an attendant cannot post the form.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliverability_thresholds_are_settings_an_admin_edits_in_configuracoes() {
    use avisa::domain::deliverability::Thresholds;
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let page = app.html(&admin, "/configuracoes").await;
    assert!(
        page.contains("Proteção do número")
            && page.contains("name=\"slow_463\" type=\"number\" min=\"1\" max=\"100\" value=\"1\"")
    );

    let post = |fields: Vec<(&'static str, &'static str)>| {
        let admin = admin.clone();
        let app = &app;
        async move {
            let csrf = app.csrf(&admin, "/configuracoes").await;
            let mut form = vec![("_csrf", csrf)];
            form.extend(fields.into_iter().map(|(k, v)| (k, v.to_owned())));
            let response = admin
                .post(app.at("/configuracoes/protecao"))
                .form(&form)
                .send()
                .await
                .expect("answers");
            (
                response.status().as_u16(),
                response.text().await.unwrap_or_default(),
            )
        }
    };
    let stricter = vec![
        ("window_days", "3"),
        ("slow_463", "1"),
        ("pause_463", "2"),
        ("slow_nacks", "2"),
        ("pause_nacks", "4"),
        ("min_sent", "30"),
        ("slow_unanswered_pct", "80"),
        ("pause_unanswered_pct", "95"),
    ];
    let (status, _) = post(stricter.clone()).await;
    assert!(status == 303 || status == 200, "{status}");
    let saved = app.db.thresholds().expect("read");
    assert_eq!(
        saved,
        Thresholds {
            window_days: 3,
            slow_463: 1,
            pause_463: 2,
            slow_nacks: 2,
            pause_nacks: 4,
            min_sent: 30,
            slow_unanswered_pct: 80,
            pause_unanswered_pct: 95,
        }
    );

    let mut backwards = stricter.clone();
    backwards[4] = ("pause_nacks", "1");
    let (status, html) = post(backwards).await;
    assert_eq!(status, 422);
    assert!(
        html.contains("Pausar precisa de tanto ou mais que desacelerar"),
        "the reason"
    );
    assert!(
        html.contains("name=\"pause_nacks\" type=\"number\" min=\"1\" max=\"1000\" value=\"1\""),
        "what was typed stays"
    );
    assert_eq!(app.db.thresholds().expect("read"), saved, "nothing changed");

    let (status, _) = post(vec![("reset", "1")]).await;
    assert!(status == 303 || status == 200, "{status}");
    assert_eq!(app.db.thresholds().expect("read"), Thresholds::default());

    let attendant = app.attendant("atendente@loja.com.br").await;
    let refused = attendant
        .post(app.at("/configuracoes/protecao"))
        .form(&[("window_days", "1")])
        .send()
        .await
        .expect("answers");
    assert!(refused.status().is_client_error(), "{}", refused.status());
    assert_eq!(app.db.thresholds().expect("read"), Thresholds::default());
}
