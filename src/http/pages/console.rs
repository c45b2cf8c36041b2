//! The console's main pages. Until the issues that fill them land, they say honestly what will
//! appear there and what to do first.

use actix_web::{HttpRequest, HttpResponse, web};
use minijinja::context;
use serde_json::json;

use super::render;
use crate::http::AppState;
use crate::http::auth::Viewer;
use crate::http::error::ApiError;

pub async fn dashboard(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
) -> Result<HttpResponse, ApiError> {
    render(
        &state,
        &req,
        Some(&viewer),
        "dashboard.html",
        "dashboard",
        context! {},
    )
    .await
}

/// A menu page whose content arrives with a later part of avisa: an honest empty state.
async fn empty_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    section: &'static str,
) -> Result<HttpResponse, ApiError> {
    render(
        &state,
        &req,
        Some(&viewer),
        "empty.html",
        section,
        context! { section => section },
    )
    .await
}

pub async fn reports(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
) -> Result<HttpResponse, ApiError> {
    empty_page(state, req, viewer, "reports").await
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
