//! First-run setup, login and logout.

use std::net::IpAddr;

use actix_web::{HttpRequest, HttpResponse, web};
use minijinja::context;
use serde::Deserialize;

use super::{render, render_status, safe_next};
use crate::db::{DbError, NewUser, Role};
use crate::http::AppState;
use crate::http::auth::{AuthVia, Viewer, clear_session_cookie, new_session_cookie, redirect};
use crate::http::error::{ApiError, blocking};
use crate::http::password::{MIN_PASSWORD_LEN, dummy_hash, hash_password, verify_password};

#[derive(Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
}

#[derive(Deserialize)]
pub struct LoginInput {
    email: String,
    password: String,
    next: Option<String>,
}

#[derive(Deserialize)]
pub struct SetupInput {
    name: String,
    email: String,
    password: String,
    password_confirm: String,
}

async fn has_admin(state: &web::Data<AppState>) -> Result<bool, ApiError> {
    let db = state.db.clone();
    blocking(move || db.has_admin()).await
}

pub async fn setup_form(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    if has_admin(&state).await? {
        return Ok(redirect("/login"));
    }
    render(
        &state,
        &req,
        None,
        "setup.html",
        "setup",
        context! { error => None::<String>, form => context! { name => "", email => "" } },
    )
    .await
}

pub async fn create_first_admin(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<SetupInput>,
) -> Result<HttpResponse, ApiError> {
    if has_admin(&state).await? {
        return Ok(redirect("/login"));
    }
    let form = form.into_inner();
    let error = validate_new_account(&form.email, &form.password, Some(&form.password_confirm));
    if let Some(key) = error {
        let echo = context! { name => form.name, email => form.email };
        let ctx = context! { error => Some(key), form => echo };
        return render_status(
            &state,
            &req,
            None,
            "setup.html",
            "setup",
            ctx,
            actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let now = state.clock.now();
    let db = state.db.clone();
    let name = form.name.trim().to_owned();
    let email = form.email.trim().to_owned();
    let password = form.password;
    let user = blocking(move || {
        db.create_user(NewUser {
            email,
            name,
            role: Role::Admin,
            password_hash: hash_password(&password),
            lang: "pt-BR".into(),
            must_change_password: false,
            created_at: now,
        })
    })
    .await?;
    tracing::info!(user_id = user.id, "first admin created");
    start_session(&state, user.id, "/").await
}

/// Checks e-mail and password rules; returns a catalog key for the first problem.
pub(super) fn validate_new_account(
    email: &str,
    password: &str,
    confirm: Option<&str>,
) -> Option<&'static str> {
    let email = email.trim();
    if email.len() < 3 || !email.contains('@') || email.contains(char::is_whitespace) {
        return Some("error.email_invalid");
    }
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Some("error.password_short");
    }
    if confirm.is_some_and(|c| c != password) {
        return Some("error.password_mismatch");
    }
    None
}

pub async fn login_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<LoginQuery>,
) -> Result<HttpResponse, ApiError> {
    if !has_admin(&state).await? {
        return Ok(redirect("/setup"));
    }
    let next = safe_next(query.next.as_deref());
    render(
        &state,
        &req,
        None,
        "login.html",
        "login",
        context! { next => next, error => None::<String>, email => "" },
    )
    .await
}

fn client_ip(req: &HttpRequest) -> IpAddr {
    req.peer_addr()
        .map(|a| a.ip())
        .unwrap_or(IpAddr::from([0, 0, 0, 0]))
}

pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<LoginInput>,
) -> Result<HttpResponse, ApiError> {
    let form = form.into_inner();
    let next = safe_next(form.next.as_deref());
    let ip = client_ip(&req);
    let now = state.clock.now();
    if let Err(wait) = state.login_limiter.check(ip, now) {
        tracing::warn!(%ip, "login rate limit reached");
        let minutes = wait.div_ceil(60);
        let ctx = context! { next => next, error => Some("error.rate_limited"), minutes => minutes, email => form.email };
        let mut response = render_status(
            &state,
            &req,
            None,
            "login.html",
            "login",
            ctx,
            actix_web::http::StatusCode::TOO_MANY_REQUESTS,
        )
        .await?;
        response
            .headers_mut()
            .insert(actix_web::http::header::RETRY_AFTER, wait.into());
        return Ok(response);
    }
    let db = state.db.clone();
    let email = form.email.clone();
    let password = form.password;
    let user = blocking(move || match db.user_by_email(&email) {
        Ok(user) => Ok(Some(user)),
        Err(DbError::NotFound) => Ok(None),
        Err(e) => Err(e),
    })
    .await?;
    let verified = match &user {
        Some(u) => verify_password(&password, &u.password_hash) && !u.disabled,
        None => {
            // Same work as a real check, so response time does not reveal which e-mails exist.
            verify_password(&password, dummy_hash());
            false
        }
    };
    match user {
        Some(user) if verified => {
            state.login_limiter.record_success(ip);
            tracing::info!(user_id = user.id, "login");
            start_session(&state, user.id, &next).await
        }
        _ => {
            state.login_limiter.record_failure(ip, now);
            tracing::info!(%ip, "login failed");
            let ctx =
                context! { next => next, error => Some("error.login_failed"), email => form.email };
            render_status(
                &state,
                &req,
                None,
                "login.html",
                "login",
                ctx,
                actix_web::http::StatusCode::UNAUTHORIZED,
            )
            .await
        }
    }
}

async fn start_session(
    state: &web::Data<AppState>,
    user_id: u64,
    next: &str,
) -> Result<HttpResponse, ApiError> {
    let (cookie, id_hash, record) = new_session_cookie(state, user_id)?;
    let db = state.db.clone();
    blocking(move || db.create_session(&id_hash, &record)).await?;
    let mut response = redirect(next);
    response
        .add_cookie(&cookie)
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(response)
}

pub async fn logout(state: web::Data<AppState>, viewer: Viewer) -> Result<HttpResponse, ApiError> {
    if let AuthVia::Session(id_hash) = viewer.via {
        let db = state.db.clone();
        blocking(move || db.delete_session(&id_hash)).await?;
    }
    let mut response = redirect("/login");
    response
        .add_cookie(&clear_session_cookie(&state))
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(response)
}
