//! Who is calling and who may call: `GET /api/v1/me` and `GET /api/v1/users`.

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::http::AppState;
use crate::http::auth::{AdminViewer, Viewer};
use crate::http::error::ApiError;

/// `GET /api/v1/me`: who the token or session belongs to.
#[utoipa::path(
    get, path = "/api/v1/me", tag = "users",
    summary = "Who the token or session belongs to",
    responses((status = 200, description = "`id`, `email`, `name`, `role` (`admin`/`attendant`), `lang`", body = Object))
)]
pub async fn show_me(viewer: Viewer) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "id": viewer.user.id,
        "email": viewer.user.email,
        "name": viewer.user.name,
        "role": viewer.user.role.as_str(),
        "lang": viewer.user.lang,
    }))
}

/// `GET /api/v1/users`.
#[utoipa::path(
    get, path = "/api/v1/users", tag = "users",
    summary = "List the console's users (admins)",
    responses((status = 200, description = "`users`: `id`, `email`, `name`, `role`, `disabled` each", body = Object))
)]
pub async fn list_users(
    state: web::Data<AppState>,
    _admin: AdminViewer,
) -> Result<HttpResponse, ApiError> {
    let users = state.run(move |db| db.list_users()).await?;
    let users: Vec<_> = users
        .iter()
        .map(|u| json!({ "id": u.id, "email": u.email, "name": u.name, "role": u.role.as_str(), "disabled": u.disabled }))
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "users": users })))
}
