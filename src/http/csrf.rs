//! Cross-site request forgery protection for every state-changing request.
//!
//! Double-submit token: each browser gets a random `avisa_csrf` cookie (HttpOnly, SameSite=Strict);
//! every form carries the same value in `_csrf` and scripts send it as `X-CSRF-Token`. Another site
//! can make the browser send the cookie but cannot read it to fill the field. A foreign `Origin`
//! header is refused outright. Exempt: webhooks (platforms post them; they carry their own
//! secrets) and Bearer-token API calls (no ambient credential to abuse).

use actix_web::body::MessageBody;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{Method, header};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, ResponseError, web};
use subtle::ConstantTimeEq;

use super::AppState;
use super::error::ApiError;
use super::password::random_token;

pub const CSRF_COOKIE: &str = "avisa_csrf";
pub const CSRF_FIELD: &str = "_csrf";
pub const CSRF_HEADER: &str = "X-CSRF-Token";

/// This request's token, for templates to put in forms.
#[derive(Clone, Debug)]
pub struct CsrfToken(pub String);

/// API clients authenticate with a bearer token, which a browser never sends by itself.
/// (Webhooks never reach the check: `protect` lets them through first.)
fn exempt(req: &ServiceRequest) -> bool {
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("Bearer "))
}

fn foreign_origin(req: &ServiceRequest) -> bool {
    let Some(origin) = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    if origin == "null" {
        return true;
    }
    let origin_host = origin.split("://").nth(1).unwrap_or(origin);
    let host = req.connection_info().host().to_owned();
    origin_host != host
}

pub async fn protect(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    // Platforms call webhooks, never a browser: no token to check, no cookie to set.
    if req.path().starts_with(super::routes::WEBHOOK_PREFIX) {
        return Ok(next.call(req).await?.map_into_left_body());
    }
    let existing = req
        .cookie(CSRF_COOKIE)
        .map(|c| c.value().to_owned())
        .filter(|v| v.len() == 64);
    let token = existing.clone().unwrap_or_else(random_token);
    req.extensions_mut().insert(CsrfToken(token.clone()));

    let changes_state = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if changes_state && !exempt(&req) {
        let sent = match req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok()) {
            Some(v) => Some(v.to_owned()),
            None => form_token(&mut req).await?,
        };
        let valid = match (&existing, &sent) {
            (Some(cookie), Some(sent)) => {
                cookie.len() == sent.len() && bool::from(cookie.as_bytes().ct_eq(sent.as_bytes()))
            }
            _ => false,
        };
        if !valid || foreign_origin(&req) {
            let now = req
                .app_data::<web::Data<AppState>>()
                .map_or(0, |s| s.clock.now());
            crate::http::lognoise::warn_noisy!(
                now,
                path = req.path(),
                "request refused: CSRF token missing or wrong"
            );
            let response = ApiError::CsrfRejected.error_response();
            return Ok(req.into_response(response).map_into_right_body());
        }
    }

    let mut res = next.call(req).await?;
    if existing.is_none() {
        let secure = res
            .request()
            .app_data::<web::Data<AppState>>()
            .is_some_and(|s| s.secure_cookies());
        let cookie = Cookie::build(CSRF_COOKIE, token)
            .path("/")
            .http_only(true)
            .same_site(SameSite::Strict)
            .secure(secure)
            .finish();
        res.response_mut().add_cookie(&cookie)?;
    }
    Ok(res.map_into_left_body())
}

/// Reads `_csrf` from a form body and puts the body back for the handler.
async fn form_token(req: &mut ServiceRequest) -> Result<Option<String>, actix_web::Error> {
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Ok(None);
    }
    let body = req.extract::<web::Bytes>().await?;
    let token = form_urlencoded::parse(&body)
        .find(|(k, _)| k == CSRF_FIELD)
        .map(|(_, v)| v.into_owned());
    req.set_payload(Payload::from(body));
    Ok(token)
}
