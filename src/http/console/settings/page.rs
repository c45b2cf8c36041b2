//! The Configurações page itself, which every settings form (console settings, maintenance,
//! LGPD, number protection) renders again with its result or its refusal.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use minijinja::{Value, context};

use crate::http::AppState;
use crate::http::auth::AdminViewer;
use crate::http::console::Page;
use crate::http::error::ApiError;

/// Configurações: console settings, backups and retention, LGPD tools. `extra` may override
/// `settings`/`ops` (a form being corrected) and carry results.
pub(super) async fn settings_page(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    admin: &AdminViewer,
    extra: Value,
    status: StatusCode,
) -> Result<HttpResponse, ApiError> {
    let (current, ops, thresholds) = state
        .run(move |db| Ok((db.console_settings()?, db.ops_settings()?, db.thresholds()?)))
        .await?;
    let public_url = state.public_url();
    let defaults = context! {
        public_url => Value::from(minijinja::value::Serde(&public_url)),
        public_url_problem => crate::domain::public_url::problem(&public_url.url).map(|p| p.code()),
        settings => Value::from(minijinja::value::Serde(&current)),
        ops => Value::from(minijinja::value::Serde(&ops)),
        thresholds => super::protection::view(&thresholds),
        error => None::<String>,
    };
    // The last map wins: a form being corrected shows what was typed.
    let ctx = minijinja::value::merge_maps([defaults, extra]);
    Page::new(state, req, &admin, "settings.html")
        .menu("settings")
        .status(status)
        .render(ctx)
        .await
}
