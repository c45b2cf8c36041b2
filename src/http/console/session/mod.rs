//! Who is at the console: first-run setup, login and logout here; the logged-in user's own
//! account (language, password) in `account`.

mod account;
mod next;

use actix_web::{HttpRequest, HttpResponse, web};
use minijinja::context;
use serde::Deserialize;

use crate::db::{DbError, NewUser, Role};
use crate::http::AppState;
use crate::http::auth::{AuthVia, Viewer, clear_session_cookie, new_session_cookie, redirect};
use crate::http::console::Page;
use crate::http::console::view::validate_new_account;
use crate::http::error::ApiError;
use actix_web::http::StatusCode;

use crate::http::client::client_address;
use crate::http::password::{dummy_hash, hash_with, verify_with};
pub use account::{change_password, set_language, show_account};
use next::safe_next;

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
    Ok(state.run(|db| db.has_admin()).await?)
}

/// `GET /setup`: the first admin, before anyone else.
pub async fn show_setup(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    if has_admin(&state).await? {
        return Ok(redirect("/login"));
    }
    Page::anonymous(&state, &req, "setup.html")
        .menu("setup")
        .render(context! { error => None::<String>, form => context! { name => "", email => "" } })
        .await
}

/// `POST /setup`: creates the first admin and logs them in (refused once an admin exists).
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
        return Page::anonymous(&state, &req, "setup.html")
            .menu("setup")
            .status(StatusCode::UNPROCESSABLE_ENTITY)
            .render(ctx)
            .await;
    }
    let now = state.clock.now();
    let name = form.name.trim().to_owned();
    let email = form.email.trim().to_owned();
    let password_hash = hash_with(&state.hashing, form.password).await;
    let user = state
        .run(move |db| {
            db.create_user(NewUser {
                email,
                name,
                role: Role::Admin,
                password_hash,
                lang: "pt-BR".into(),
                must_change_password: false,
                created_at: now,
            })
        })
        .await?;
    tracing::info!(user_id = user.id, "first admin created");
    start_session(&state, user.id, "/").await
}

/// `GET /login`.
pub async fn show_login(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<LoginQuery>,
) -> Result<HttpResponse, ApiError> {
    if !has_admin(&state).await? {
        return Ok(redirect("/setup"));
    }
    let next = safe_next(query.next.as_deref());
    Page::anonymous(&state, &req, "login.html")
        .menu("login")
        .render(context! { next => next, error => None::<String>, email => "" })
        .await
}

/// `POST /login`: checks the password (throttled per account and client address, see
/// `ratelimit`) on the blocking pool and starts a session.
pub async fn create_session(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<LoginInput>,
) -> Result<HttpResponse, ApiError> {
    let form = form.into_inner();
    let next = safe_next(form.next.as_deref());
    let ip = client_address(&req, &state);
    let now = state.clock.now();
    let attempt = match state.login_throttle.begin(&form.email, ip, now) {
        Ok(attempt) => attempt,
        Err(wait) => {
            crate::http::lognoise::warn_noisy!(now, %ip, "login throttled");
            let minutes = wait.div_ceil(60);
            let ctx = context! { next => next, error => Some("error.rate_limited"), minutes => minutes, email => form.email };
            let mut response = Page::anonymous(&state, &req, "login.html")
                .menu("login")
                .status(StatusCode::TOO_MANY_REQUESTS)
                .render(ctx)
                .await?;
            response
                .headers_mut()
                .insert(actix_web::http::header::RETRY_AFTER, wait.into());
            return Ok(response);
        }
    };
    let email = form.email.clone();
    let password = form.password;
    let user = state
        .run(move |db| match db.user_by_email(&email) {
            Ok(user) => Ok(Some(user)),
            Err(DbError::NotFound) => Ok(None),
            Err(e) => Err(e),
        })
        .await?;
    // Without the user, the same work as a real check, so timing does not reveal e-mails.
    let phc = user
        .as_ref()
        .map_or_else(|| dummy_hash().to_owned(), |u| u.password_hash.clone());
    let matches = verify_with(&state.hashing, password, phc).await;
    match user {
        Some(user) if matches && !user.disabled => {
            state.login_throttle.succeeded(attempt);
            tracing::info!(user_id = user.id, "login");
            start_session(&state, user.id, &next).await
        }
        _ => {
            tracing::info!(%ip, "login failed");
            let ctx =
                context! { next => next, error => Some("error.login_failed"), email => form.email };
            Page::anonymous(&state, &req, "login.html")
                .menu("login")
                .status(StatusCode::UNAUTHORIZED)
                .render(ctx)
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
    state
        .run(move |db| db.create_session(&id_hash, &record))
        .await?;
    let mut response = redirect(next);
    response
        .add_cookie(&cookie)
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(response)
}

/// `POST /logout`: ends this session.
pub async fn end_session(
    state: web::Data<AppState>,
    viewer: Viewer,
) -> Result<HttpResponse, ApiError> {
    if let AuthVia::Session(id_hash) = viewer.via {
        state.run(move |db| db.delete_session(&id_hash)).await?;
    }
    let mut response = redirect("/login");
    response
        .add_cookie(&clear_session_cookie(&state))
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(response)
}
