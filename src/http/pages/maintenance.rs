//! Operations in Configurações and the API: backup download (the running avisa is the only
//! process that can read its locked data file), scheduled backup and retention settings, and
//! the LGPD tools (a buyer's data exported or forgotten). Admins only.

use std::io::Read;
use std::pin::Pin;
use std::task::{Context, Poll};

use actix_web::body::{BodySize, MessageBody};
use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_DISPOSITION, HeaderValue};
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, web};
use minijinja::{Value, context};
use serde::Deserialize;
use tokio::sync::mpsc;

use super::admin::settings_page;
use crate::db::DbError;
use crate::domain::OpsSettings;
use crate::domain::Phone;
use crate::domain::housekeeping::backup_file_name;
use crate::http::AppState;
use crate::http::auth::{AdminViewer, redirect};
use crate::http::error::{ApiError, blocking};
use crate::http::password::random_token;

/// Bytes read from the backup file per chunk sent.
const CHUNK: usize = 256 * 1024;

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

/// A backup file streamed from an open (already unlinked) file by a blocking reader.
struct BackupBody {
    size: u64,
    chunks: mpsc::Receiver<std::io::Result<Bytes>>,
}

impl MessageBody for BackupBody {
    type Error = std::io::Error;

    fn size(&self) -> BodySize {
        BodySize::Sized(self.size)
    }

    fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        self.get_mut().chunks.poll_recv(cx)
    }
}

/// Makes a backup in the data directory, unlinks it (the open handle keeps it readable, and a
/// dropped download leaves nothing behind) and answers it as an attachment.
async fn backup_response(state: &AppState, by: u64) -> Result<HttpResponse, ApiError> {
    let db = state.db.clone();
    let name = backup_file_name(state.clock.now());
    let (file, size) = blocking(move || {
        let dir = db
            .path()
            .parent()
            .expect("the data file is inside the data directory")
            .to_path_buf();
        let staged = dir.join(format!(".download-{}.redb.zst", &random_token()[..16]));
        db.backup_to(&staged)?;
        let file = std::fs::File::open(&staged).map_err(DbError::Io);
        let _ = std::fs::remove_file(&staged);
        let file = file?;
        let size = file.metadata().map_err(DbError::Io)?.len();
        Ok((file, size))
    })
    .await?;
    tracing::info!(by, bytes = size, "backup downloaded");
    let (tx, rx) = mpsc::channel(4);
    tokio::task::spawn_blocking(move || {
        let mut file = file;
        loop {
            let mut buf = vec![0u8; CHUNK];
            match file.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    buf.truncate(n);
                    if tx.blocking_send(Ok(Bytes::from(buf))).is_err() {
                        break; // the client went away
                    }
                }
                Err(e) => {
                    let _ = tx.blocking_send(Err(e));
                    break;
                }
            }
        }
    });
    let disposition = format!("attachment; filename=\"{name}\"");
    Ok(HttpResponse::Ok()
        .content_type("application/zstd")
        .insert_header((
            CONTENT_DISPOSITION,
            HeaderValue::from_str(&disposition).expect("a backup name is a valid header"),
        ))
        .body(BackupBody { size, chunks: rx }))
}

/// `POST /configuracoes/backup`: "Baixar backup".
pub async fn download_backup(
    state: web::Data<AppState>,
    admin: AdminViewer,
) -> Result<HttpResponse, ApiError> {
    backup_response(&state, admin.0.user.id).await
}

/// `POST /api/v1/backup`: what `avisa backup` calls while avisa runs.
pub async fn api_backup(
    state: web::Data<AppState>,
    admin: AdminViewer,
) -> Result<HttpResponse, ApiError> {
    backup_response(&state, admin.0.user.id).await
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
    let db = state.db.clone();
    blocking(move || db.save_ops_settings(&settings)).await?;
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
    let db = state.db.clone();
    let now = state.clock.now();
    let digits = phone.digits().to_owned();
    let export = blocking(move || db.export_buyer(&phone, now)).await?;
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

/// `POST /configuracoes/lgpd/esquecer`: erases the buyer, after an explicit confirmation.
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
    let db = state.db.clone();
    let now = state.clock.now();
    let shown = phone.as_str().to_owned();
    let forgotten = blocking(move || db.forget_buyer(&phone, now)).await?;
    // The phone is not logged: the log would keep what the buyer asked to erase.
    tracing::info!(
        by = admin.0.user.id,
        events = forgotten.events,
        "buyer forgotten (LGPD)"
    );
    let extra = context! { forgotten => context! { phone => shown, events => forgotten.events } };
    settings_page(&state, &req, &admin, extra, StatusCode::OK).await
}
