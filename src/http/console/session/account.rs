//! The logged-in user's own account: language and password.

use actix_web::{HttpRequest, HttpResponse, web};
use minijinja::context;
use serde::Deserialize;

use actix_web::http::StatusCode;

use crate::http::AppState;
use crate::http::auth::{Viewer, redirect};
use crate::http::console::Page;
use crate::http::console::view::validate_new_account;
use crate::http::error::ApiError;
use crate::http::password::{hash_password, verify_password};
use crate::http::ui::supported_lang;

#[derive(Deserialize)]
pub struct LanguageInput {
    lang: String,
}

#[derive(Deserialize)]
pub struct PasswordInput {
    current: String,
    password: String,
    password_confirm: String,
}

/// `GET /conta`.
pub async fn show_account(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
) -> Result<HttpResponse, ApiError> {
    Page::new(&state, &req, &viewer, "account.html")
        .menu("account")
        .render(context! { error => None::<String> })
        .await
}

/// `POST /conta/idioma`: the console speaks this language to this user from now on.
pub async fn set_language(
    state: web::Data<AppState>,
    viewer: Viewer,
    form: web::Form<LanguageInput>,
) -> Result<HttpResponse, ApiError> {
    let lang = supported_lang(&form.lang).to_owned();
    let id = viewer.user.id;
    state
        .run(move |db| db.update_user(id, |u| u.lang = lang))
        .await?;
    Ok(redirect("/conta?ok=saved"))
}

/// `POST /conta/senha`: checks the current password, then sets the new one.
pub async fn change_password(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    form: web::Form<PasswordInput>,
) -> Result<HttpResponse, ApiError> {
    let form = form.into_inner();
    let error = if !verify_password(&form.current, &viewer.user.password_hash) {
        Some("error.current_password")
    } else {
        validate_new_account(
            &viewer.user.email,
            &form.password,
            Some(&form.password_confirm),
        )
    };
    if let Some(key) = error {
        let ctx = context! { error => Some(key) };
        return Page::new(&state, &req, &viewer, "account.html")
            .menu("account")
            .status(StatusCode::UNPROCESSABLE_ENTITY)
            .render(ctx)
            .await;
    }
    let hash = hash_password(&form.password);
    let id = viewer.user.id;
    // Changing the password ends every session of the user, this one included: log in again.
    state
        .run(move |db| {
            db.update_user(id, |u| {
                u.password_hash = hash;
                u.must_change_password = false;
            })
        })
        .await?;
    // The login page says why they are there; after logging in, the account page confirms.
    Ok(redirect(
        "/login?ok=password_changed_login&next=/conta%3Fok%3Dpassword_changed",
    ))
}
