//! The console's home page (today's and the week's figures, alerts), the 404 page and `/api/v1/me`.

use actix_web::{HttpRequest, HttpResponse, web};
use minijinja::context;
use serde_json::json;

use super::render;
use super::reports::figures;
use crate::db::ReportFilter;
use crate::domain::report::Counter;
use crate::domain::report::Period;
use crate::http::AppState;
use crate::http::auth::Viewer;
use crate::http::error::ApiError;
use crate::http::error::blocking;

/// Messages due for this long or more without going out make a backlog alert.
const BACKLOG_ALERT: usize = 50;

pub async fn dashboard(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
) -> Result<HttpResponse, ApiError> {
    let now = state.clock.now();
    let db = state.db.clone();
    let (today, week, unmapped, instances, backlog) = blocking(move || {
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
        ))
    })
    .await?;
    let mut alerts = Vec::new();
    if unmapped > 0 {
        alerts.push(context! { kind => "unmapped", count => unmapped, href => "/eventos" });
    }
    for instance in &instances {
        let href = format!("/instancias/{}", instance.id);
        if !state.channels.state(instance.id).is_connected() {
            alerts.push(context! { kind => "disconnected", name => instance.name.clone(), href => href.clone() });
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
    render(
        &state,
        &req,
        Some(&viewer),
        "dashboard.html",
        "dashboard",
        context! {
            today => figures(&today),
            week => figures(&week),
            has_figures => week.get(Counter::Planned) > 0,
            alerts => alerts,
        },
    )
    .await
}

pub async fn not_found(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    if req.path().starts_with("/api/") {
        return Err(ApiError::NotFound);
    }
    super::render_status(
        &state,
        &req,
        None,
        "not_found.html",
        "",
        context! {},
        actix_web::http::StatusCode::NOT_FOUND,
    )
    .await
}

/// `GET /api/v1/me`: who the token or session belongs to.
pub async fn api_me(viewer: Viewer) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "id": viewer.user.id,
        "email": viewer.user.email,
        "name": viewer.user.name,
        "role": viewer.user.role.as_str(),
        "lang": viewer.user.lang,
    }))
}
