//! `POST /api/v1/backup`: what `avisa backup` calls while avisa runs.

use actix_web::{HttpResponse, web};

use crate::http::AppState;
use crate::http::auth::AdminViewer;
use crate::http::download::attachment;
use crate::http::error::ApiError;
use crate::http::operations::backup::stage_backup;

/// `POST /api/v1/backup`: the backup file as an attachment.
#[utoipa::path(
    post, path = "/api/v1/backup", tag = "operations",
    summary = "Download a consistent backup of the data file (admins)",
    responses((status = 200, description = "The backup file, as an attachment", content_type = "application/octet-stream"))
)]
pub async fn create_backup(
    state: web::Data<AppState>,
    admin: AdminViewer,
) -> Result<HttpResponse, ApiError> {
    let backup = stage_backup(&state, admin.0.user.id).await?;
    Ok(attachment(backup))
}
