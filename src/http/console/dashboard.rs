//! The console's home page: today's and the week's figures, and alerts (unrecognised events,
//! disconnected instances, daily limits reached, a backlog).

use actix_web::{HttpRequest, HttpResponse, web};
use minijinja::context;

use crate::db::ReportFilter;

use crate::domain::InstanceMode;
use crate::domain::report::Counter;
use crate::domain::report::Period;
use crate::http::AppState;
use crate::http::auth::Viewer;
use crate::http::console::Page;
use crate::http::console::summary::figures;
use crate::http::error::ApiError;
use crate::queue::channel::ChannelState;

/// Messages due for this long or more without going out make a backlog alert.
const BACKLOG_ALERT: usize = 50;

/// Whether any store has a template of its own (the merchant reviewed the messages).
fn any_template_saved(db: &crate::db::Db) -> Result<bool, crate::db::DbError> {
    for store in db.list_stores()? {
        for kind in crate::domain::EventKind::ALL {
            if db.template(store.id, kind)?.is_some() {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// `GET /`.
pub async fn show_dashboard(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
) -> Result<HttpResponse, ApiError> {
    let now = state.clock.now();
    let (today, week, unmapped, instances, backlog, stores, customised) = state
        .run(move |db| {
            let rows = |days| {
                let period = Period::last_days(now, days);
                db.report_rows(&ReportFilter {
                    first_day: period.first,
                    last_day: period.last,
                    store_id: None,
                    instance_id: None,
                    kind: None,
                    include_test: false,
                })
            };
            Ok((
                rows(1)?.totals(),
                rows(7)?.totals(),
                db.unacknowledged_unmapped()?,
                db.list_instances()?,
                db.due_messages(now, BACKLOG_ALERT + 1)?.len(),
                db.list_stores()?.len(),
                any_template_saved(db)?,
            ))
        })
        .await?;
    let mut alerts = Vec::new();
    let public_url = state.public_url();
    if let Some(problem) = crate::domain::public_url::problem(&public_url.url) {
        alerts.push(context! {
            kind => "public_url", reason => problem.code(), name => public_url.url,
            href => if viewer.is_admin() { "/configuracoes#public_url" } else { "/lojas" },
        });
    }
    if unmapped > 0 {
        alerts.push(context! { kind => "unmapped", count => unmapped, href => "/eventos" });
    }
    for instance in &instances {
        let href = format!("/instancias/{}", instance.id);
        match state.channels.state(instance.id) {
            ChannelState::Connected { .. } => {}
            ChannelState::Failed { reason, .. } => alerts.push(context! {
                kind => "unreachable", name => instance.name.clone(), reason => reason.code(),
                href => href.clone(),
            }),
            _ => alerts.push(context! { kind => "disconnected", name => instance.name.clone(), href => href.clone() }),
        }
        // Paused or slowed by the deliverability policy: the reason, linked to the instance's
        // "Boas práticas".
        if instance.health.level != crate::domain::deliverability::Level::Normal {
            alerts.push(context! {
                kind => "health", name => instance.name.clone(),
                level => instance.health.level.as_str(), reason => instance.health.reason.clone(),
                href => format!("{href}#entrega"),
            });
        }
        if instance.daily_limit_reached(now) {
            alerts.push(
                context! { kind => "limit_reached", name => instance.name.clone(), href => href },
            );
        }
    }
    if backlog > BACKLOG_ALERT {
        alerts.push(context! { kind => "backlog", count => format!("{BACKLOG_ALERT}+"), href => "/mensagens?view=fila" });
    }
    // Primeiros passos: each step ticks itself; the card goes once all are done.
    let whatsapp_connected = instances
        .iter()
        .any(|i| i.mode == InstanceMode::Whatsapp && state.channels.state(i.id).is_connected());
    let steps = [
        ("store", stores > 0, "/lojas"),
        ("instance", whatsapp_connected, "/instancias"),
        ("templates", customised, "/templates"),
    ];
    let steps: Vec<_> = steps
        .iter()
        .map(|&(key, done, href)| context! { key => key, done => done, href => href })
        .collect();
    let steps_done = stores > 0 && whatsapp_connected && customised;
    Page::new(&state, &req, &viewer, "dashboard.html")
        .menu("dashboard")
        .render(context! {
            today => figures(&today),
            week => figures(&week),
            has_figures => week.get(Counter::Planned) > 0,
            alerts => alerts,
            steps => steps,
            steps_done => steps_done,
        })
        .await
}
