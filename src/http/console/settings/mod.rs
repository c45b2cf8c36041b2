//! Configurações (admins only): the console settings (company name, language, session idle
//! time, URL pública), in `maintenance` backups, retention and the LGPD tools, and in `protection`
//! the number-protection thresholds, all on one page.

mod maintenance;
mod page;
mod protection;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use minijinja::{Value, context};
use serde::Deserialize;

use crate::domain::ConsoleSettings;
use crate::domain::public_url::normalise_public_url;
use crate::http::AppState;
use crate::http::auth::{AdminViewer, redirect};
use crate::http::error::ApiError;
use crate::http::ui::supported_lang;

use page::settings_page;

pub use maintenance::{download_backup, export_buyer, forget_buyer, save_ops_settings};
pub use protection::save_thresholds;

#[derive(Deserialize)]
pub struct SettingsInput {
    company_name: String,
    default_lang: String,
    session_idle_minutes: String,
    /// Absent (an older form): the saved URL pública stays.
    public_url: Option<String>,
}

/// `GET /configuracoes`.
pub async fn show_settings(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminViewer,
) -> Result<HttpResponse, ApiError> {
    settings_page(&state, &req, &admin, context! {}, StatusCode::OK).await
}

/// `POST /configuracoes`: company name, default language, session idle time.
pub async fn save_settings(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminViewer,
    form: web::Form<SettingsInput>,
) -> Result<HttpResponse, ApiError> {
    let form = form.into_inner();
    let idle: Option<u32> = form
        .session_idle_minutes
        .trim()
        .parse()
        .ok()
        .filter(|m| (5..=43_200).contains(m));
    let saved = state.run(|db| db.console_settings()).await?;
    let typed = form.public_url.clone();
    let public_url = match &typed {
        None => Some(saved.public_url.clone()),
        Some(typed) => normalise_public_url(typed),
    };
    let settings = ConsoleSettings {
        company_name: form.company_name.trim().chars().take(80).collect(),
        default_lang: supported_lang(&form.default_lang).to_owned(),
        session_idle_minutes: idle.unwrap_or(0),
        public_url: public_url
            .clone()
            .unwrap_or_else(|| typed.unwrap_or_default()),
    };
    let error = if idle.is_none() {
        Some("error.idle_minutes")
    } else if public_url.is_none() {
        Some("settings.public_url_invalid")
    } else {
        None
    };
    if error.is_some() {
        let ctx = context! { settings => Value::from(minijinja::value::Serde(&settings)), error => error };
        return settings_page(&state, &req, &admin, ctx, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let saved_url = settings.public_url.clone();
    state
        .run(move |db| db.save_console_settings(&settings))
        .await?;
    state.set_saved_public_url(&saved_url);
    Ok(redirect("/configuracoes?ok=saved"))
}
