//! `POST /api/v1/backup`: what `avisa backup` calls while avisa runs.

use actix_web::{HttpResponse, web};

use crate::http::AppState;
use crate::http::auth::AdminViewer;
use crate::http::download::attachment;
use crate::http::error::ApiError;
use crate::http::operations::backup::stage_backup;

/// `POST /api/v1/backup`: the backup file as an attachment.
pub async fn create_backup(
    state: web::Data<AppState>,
    admin: AdminViewer,
) -> Result<HttpResponse, ApiError> {
    let backup = stage_backup(&state, admin.0.user.id).await?;
    Ok(attachment(backup))
}
