//! Manutenção in Configurações: backup download (the running avisa is the only process that can
//! read its locked data file), scheduled backup and retention settings, and the LGPD tools (a
//! buyer's data exported or forgotten). Admins only.

use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_DISPOSITION, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use minijinja::{Value, context};
use serde::Deserialize;

use super::page::settings_page;
use crate::domain::OpsSettings;
use crate::domain::Phone;
use crate::http::AppState;
use crate::http::auth::{AdminViewer, redirect};
use crate::http::console::view::count_flash;
use crate::http::download::attachment;
use crate::http::error::ApiError;
use crate::http::operations::backup::stage_backup;

#[derive(Deserialize)]
pub struct OpsInput {
    backup_enabled: Option<String>,
    #[serde(default)]
    backup_dir: String,
    backup_keep: String,
    retention_days: String,
}

#[derive(Deserialize)]
pub struct BuyerInput {
    phone: String,
    confirm: Option<String>,
}

/// `POST /configuracoes/backup`: "Baixar backup".
pub async fn download_backup(
    state: web::Data<AppState>,
    admin: AdminViewer,
) -> Result<HttpResponse, ApiError> {
    let backup = stage_backup(&state, admin.0.user.id).await?;
    Ok(attachment(backup))
}

/// `POST /configuracoes/manutencao`: scheduled backups and retention.
pub async fn save_ops_settings(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminViewer,
    form: web::Form<OpsInput>,
) -> Result<HttpResponse, ApiError> {
    let form = form.into_inner();
    let keep: Option<u32> = form
        .backup_keep
        .trim()
        .parse()
        .ok()
        .filter(|k| (1..=365).contains(k));
    let retention: Option<u32> = form
        .retention_days
        .trim()
        .parse()
        .ok()
        .filter(|d| *d <= 3650);
    let dir = form.backup_dir.trim().to_owned();
    let error = if keep.is_none() {
        Some("ops.error.keep")
    } else if retention.is_none() {
        Some("ops.error.retention")
    } else if !dir.is_empty() && !dir.starts_with('/') {
        Some("ops.error.dir")
    } else {
        None
    };
    let settings = OpsSettings {
        backup_enabled: form.backup_enabled.is_some(),
        backup_dir: dir,
        backup_keep: keep.unwrap_or(0),
        retention_days: retention.unwrap_or(0),
    };
    if let Some(error) = error {
        let extra =
            context! { ops_error => error, ops => Value::from(minijinja::value::Serde(&settings)) };
        return settings_page(
            &state,
            &req,
            &admin,
            extra,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    state.run(move |db| db.save_ops_settings(&settings)).await?;
    tracing::info!(by = admin.0.user.id, "backup and retention settings saved");
    Ok(redirect("/configuracoes?ok=saved"))
}

async fn invalid_phone(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    admin: &AdminViewer,
    key: &str,
) -> Result<HttpResponse, ApiError> {
    settings_page(
        state,
        req,
        admin,
        context! { lgpd_error => key },
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

/// `POST /configuracoes/lgpd/exportar`: the buyer's events as a JSON download.
pub async fn export_buyer(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminViewer,
    form: web::Form<BuyerInput>,
) -> Result<HttpResponse, ApiError> {
    let Ok(phone) = Phone::parse(&form.phone) else {
        return invalid_phone(&state, &req, &admin, "ops.error.phone").await;
    };
    let now = state.clock.now();
    let digits = phone.digits().to_owned();
    let export = state.run(move |db| db.export_buyer(&phone, now)).await?;
    tracing::info!(
        by = admin.0.user.id,
        events = export.events.len(),
        "buyer data exported"
    );
    let body = serde_json::to_vec_pretty(&export)
        .map_err(|e| ApiError::Internal(format!("export: {e}")))?;
    let disposition = format!("attachment; filename=\"avisa-lgpd-{digits}.json\"");
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((
            CONTENT_DISPOSITION,
            HeaderValue::from_str(&disposition).expect("digits make a valid header"),
        ))
        .body(body))
}

/// `POST /configuracoes/lgpd/esquecer`: erases the buyer, after an explicit confirmation, and
/// goes back to Configurações with the result on top.
pub async fn forget_buyer(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminViewer,
    form: web::Form<BuyerInput>,
) -> Result<HttpResponse, ApiError> {
    let form = form.into_inner();
    let Ok(phone) = Phone::parse(&form.phone) else {
        return invalid_phone(&state, &req, &admin, "ops.error.phone").await;
    };
    if form.confirm.is_none() {
        return invalid_phone(&state, &req, &admin, "ops.error.confirm").await;
    }
    let now = state.clock.now();
    let forgotten = state.run(move |db| db.forget_buyer(&phone, now)).await?;
    // The phone is not logged: the log would keep what the buyer asked to erase.
    tracing::info!(
        by = admin.0.user.id,
        events = forgotten.events,
        messages = forgotten.messages,
        canceled = forgotten.canceled,
        conversation_lines = forgotten.conversation_lines,
        "buyer forgotten (LGPD)"
    );
    // Canceled messages may have been the next due: the outbox re-reads its queue.
    state.outbox_wake.notify_one();
    // Post/redirect/get: a reload does not send the form again; the notice is at the top.
    let flash = count_flash("buyer_forgotten", forgotten.canceled as usize);
    Ok(redirect(&format!("/configuracoes?ok={flash}")))
}
