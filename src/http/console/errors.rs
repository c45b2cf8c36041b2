//! The console's error pages: one middleware turns an `ApiError` answered on a console route into
//! the HTML page for its status (404, 403, 5xx); `/api/` and `/webhook/` keep the JSON of the error
//! table. Unknown paths land on `not_found`.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, ResponseError, web};
use minijinja::context;

use super::page::Page;
use crate::http::AppState;
use crate::http::auth::{Viewer, forbidden_page};
use crate::http::error::{ApiError, ERROR_ID_HEADER};

/// JSON callers: the API and the platforms' webhooks.
fn answers_json(path: &str) -> bool {
    path.starts_with("/api/") || path.starts_with("/webhook/")
}

/// The menu entry a console path belongs to, so its 404 page keeps the section highlighted.
fn menu_for(path: &str) -> &'static str {
    match path
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or_default()
    {
        "lojas" => "stores",
        "instancias" => "instances",
        "templates" => "templates",
        "eventos" => "events",
        "mensagens" => "messages",
        "relatorios" => "reports",
        "configuracoes" => "settings",
        "usuarios" => "users",
        "conta" => "account",
        _ => "",
    }
}

/// The HTML page for an error on a console route; `None` leaves the JSON answer (409/422, which
/// console forms show on their own page).
async fn error_page(
    req: &HttpRequest,
    error: &ApiError,
    error_id: Option<String>,
) -> Option<HttpResponse> {
    let status = error.status_code();
    if status == StatusCode::FORBIDDEN {
        return Some(forbidden_page());
    }
    if status != StatusCode::NOT_FOUND && !status.is_server_error() {
        return None;
    }
    let state = req.app_data::<web::Data<AppState>>()?.clone();
    let viewer = req.extensions().get::<Viewer>().cloned();
    let (template, menu) = if status == StatusCode::NOT_FOUND {
        ("not_found.html", menu_for(req.path()))
    } else {
        ("error.html", "")
    };
    Page::for_viewer(&state, req, viewer.as_ref(), template)
        .menu(menu)
        .status(status)
        .render(context! { status => status.as_u16(), error_id => error_id })
        .await
        .ok()
}

/// Console routes answer their errors as pages: a handler returns `Err(ApiError::NotFound)` (or
/// lets `?` carry a `DbError::NotFound`) and the reader sees the 404 page.
pub async fn html_errors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let response = next.call(req).await?;
    if answers_json(response.request().path()) {
        return Ok(response.map_into_left_body());
    }
    let page = match response
        .response()
        .error()
        .and_then(|e| e.as_error::<ApiError>())
    {
        Some(error) => {
            let id = response
                .headers()
                .get(ERROR_ID_HEADER)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            error_page(response.request(), error, id).await
        }
        None => None,
    };
    match page {
        Some(page) => Ok(response.into_response(page).map_into_right_body()),
        None => Ok(response.map_into_left_body()),
    }
}

/// Any path no route matches: the 404 page (JSON under `/api/`).
pub async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_record_keeps_its_section_highlighted() {
        assert_eq!(menu_for("/lojas/9"), "stores");
        assert_eq!(menu_for("/mensagens/9/cancelar"), "messages");
        assert_eq!(menu_for("/nada"), "");
        assert!(answers_json("/api/v1/stores/9"));
        assert!(answers_json("/webhook/abc"));
        assert!(!answers_json("/lojas/9"));
    }
}
