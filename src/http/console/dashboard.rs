//! The console's home page: today's and the week's figures (test messages counted apart), and alerts (unrecognised events,
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

/// A store's latest webhooks invalid the same way this many times in a row make an alert (a
/// wrong secret, a checkout without a phone field): one bad delivery is noise, three a pattern.
const INVALID_RUN_ALERT: u32 = 3;

/// How far back the run is looked for: an old run the merchant already fixed says nothing.
const INVALID_RUN_WINDOW_S: i64 = 24 * 3600;

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

/// A period's figures without test messages, and how many test messages it had.
struct TestSplit {
    real: crate::domain::report::Counters,
    test_sent: i64,
    test_planned: i64,
}

impl TestSplit {
    fn figures(&self) -> minijinja::Value {
        context! { test_sent => self.test_sent, ..figures(&self.real) }
    }
}

/// `GET /`.
pub async fn show_dashboard(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
) -> Result<HttpResponse, ApiError> {
    let now = state.clock.now();
    let (today, week, unmapped, instances, backlog, stores, customised, runs) = state
        .run(move |db| {
            // Figures leave test messages out; what went to the caixa de teste is said beside
            // them, so "Enviadas 0" never stands alone next to a test instance's sends.
            let rows = |days| -> Result<_, crate::db::DbError> {
                let period = Period::last_days(now, days);
                let filter = |include_test| ReportFilter {
                    first_day: period.first,
                    last_day: period.last,
                    store_id: None,
                    instance_id: None,
                    kind: None,
                    include_test,
                };
                let real = db.report_rows(&filter(false))?.totals();
                let all = db.report_rows(&filter(true))?.totals();
                Ok(TestSplit {
                    test_sent: all.get(Counter::Sent) - real.get(Counter::Sent),
                    test_planned: all.get(Counter::Planned) - real.get(Counter::Planned),
                    real,
                })
            };
            Ok((
                rows(1)?,
                rows(7)?,
                db.unacknowledged_unmapped()?,
                db.list_instances()?,
                db.due_messages(now, BACKLOG_ALERT + 1)?.len(),
                db.list_stores()?,
                any_template_saved(db)?,
                db.invalid_runs(now - INVALID_RUN_WINDOW_S, INVALID_RUN_ALERT)?,
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
    if viewer.is_admin() {
        // Outbound webhooks switched off after failing for 3 days (Configurações → Integrações).
        for endpoint in state.run(|db| db.failing_endpoints()).await? {
            let name = if endpoint.description.is_empty() {
                endpoint.url.clone()
            } else {
                endpoint.description.clone()
            };
            alerts.push(context! {
                kind => "webhook_disabled", name => name,
                href => format!("/configuracoes/integracoes/{}", endpoint.id.0),
            });
        }
    }
    let mut runs = runs;
    runs.sort_by_key(|(_, run)| std::cmp::Reverse(run.last_at));
    for (store_id, run) in runs {
        let Some(store) = stores.iter().find(|s| s.id == store_id) else {
            continue;
        };
        alerts.push(context! {
            kind => "invalid_run", reason => run.kind.code(), count => run.count,
            name => store.name.clone(),
            href => format!("/eventos?store={store_id}&status={}", run.kind.code()),
        });
    }
    let stores = stores.len();
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
            today => today.figures(),
            week => week.figures(),
            has_figures => week.real.get(Counter::Planned) + week.test_planned > 0,
            alerts => alerts,
            steps => steps,
            steps_done => steps_done,
        })
        .await
}
