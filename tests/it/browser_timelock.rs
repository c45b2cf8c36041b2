//! The reachout timelock on the instance page (issue 15), in real Chromium: a number WhatsApp
//! locked shows the pause with its reason and, in the health panel, until when the lock runs
//! and when avisa last asked; a number never asked says so. Screenshot:
//! target/screenshots/deliverability-timelock.png.

use avisa::domain::deliverability::{HealthLog, Level};
use avisa::domain::{Clock as _, Instance, InstanceMode, SystemClock};
use fantoccini::Locator;

use crate::browser::{ONE_BROWSER, logged_in, shot};
use crate::support::TestApp;

async fn text(c: &fantoccini::Client, css: &str) -> String {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|_| panic!("{css} on the page"))
        .text()
        .await
        .expect("text")
}

/// `dd/mm/aaaa HH:MM` of `at` in Brasília (UTC-3, no daylight saving since 2019).
fn brasilia(at: i64) -> String {
    let t = jiff::Timestamp::from_second(at - 3 * 3600).expect("a time");
    t.strftime("%d/%m/%Y %H:%M").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timelocked_number_shows_until_when_and_when_avisa_last_asked() {
    let _turn = ONE_BROWSER.lock().await;
    let app = TestApp::start().await;
    app.setup_admin().await;
    let now = SystemClock.now();
    let locked = app
        .db
        .create_instance(Instance::new("Loja da Ana", InstanceMode::Whatsapp, now))
        .expect("instance")
        .id;
    let until = now + 5 * 3600;
    app.db
        .record_timelock(locked, Some(until), now - 600)
        .expect("answer kept");
    app.db
        .update_instance(locked, |i| {
            i.health.level = Level::Paused;
            i.health.reason = "timelock".into();
            i.health.since = now - 600;
            i.health.log.push(HealthLog {
                at: now - 600,
                level: Level::Paused,
                reason: "timelock".into(),
            });
        })
        .expect("arranged");
    let never = app
        .db
        .create_instance(Instance::new("Loja do Beto", InstanceMode::Whatsapp, now))
        .expect("instance")
        .id;
    let (_driver, _profile, c) = logged_in(&app).await;

    c.goto(&app.at(&format!("/instancias/{locked}#entrega")))
        .await
        .expect("open");
    let level = text(&c, "[data-testid=health-level]").await;
    assert!(level.contains("Envio pausado"), "{level}");
    assert!(level.contains("bloqueou temporariamente"), "{level}");
    let lock = text(&c, "[data-testid=timelock]").await;
    assert!(
        lock.contains(&format!(
            "Bloqueio do WhatsApp para novos contatos: ativo até {}",
            brasilia(until)
        )),
        "{lock}"
    );
    assert!(
        lock.contains(&format!("verificado em {}", brasilia(now - 600))),
        "{lock}"
    );
    c.execute(
        "document.querySelector('[data-testid=timelock]').scrollIntoView({block: 'center'})",
        vec![],
    )
    .await
    .expect("scroll to the panel");
    shot(&c, "deliverability-timelock").await;

    c.goto(&app.at(&format!("/instancias/{never}#entrega")))
        .await
        .expect("open");
    let lock = text(&c, "[data-testid=timelock]").await;
    assert!(lock.contains("ainda não verificado"), "{lock}");
}
