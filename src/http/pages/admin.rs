//! Admin pages: users (atendentes), API tokens and console settings.

use actix_web::{HttpRequest, HttpResponse, web};
use minijinja::{Value, context};
use serde::Deserialize;
use serde_json::json;

use super::render_status;
use crate::db::{DbError, NewUser, Role};
use crate::domain::ConsoleSettings;
use crate::http::AppState;
use crate::http::auth::{AdminViewer, redirect};
use crate::http::error::{ApiError, blocking};
use crate::http::password::{hash_password, one_time_password, random_token, secret_hash};
use crate::http::ui::supported_lang;

#[derive(Deserialize)]
pub struct NewUserInput {
    email: String,
    name: String,
    role: String,
}

#[derive(Deserialize)]
pub struct NewTokenInput {
    name: String,
}

#[derive(Deserialize)]
pub struct SettingsInput {
    company_name: String,
    default_lang: String,
    session_idle_minutes: String,
}

/// The users page, optionally showing a secret that exists only in this response.
async fn users_page(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    admin: &AdminViewer,
    extra: Value,
    status: actix_web::http::StatusCode,
) -> Result<HttpResponse, ApiError> {
    let db = state.db.clone();
    let (users, tokens) = blocking(move || Ok((db.list_users()?, db.list_api_tokens()?))).await?;
    let users: Vec<Value> = users
        .into_iter()
        .map(|u| {
            context! {
                id => u.id, email => u.email, name => u.name, role => u.role.as_str(),
                disabled => u.disabled, created_at => u.created_at,
                must_change_password => u.must_change_password,
            }
        })
        .collect();
    let tokens: Vec<Value> = tokens
        .into_iter()
        .map(|t| context! { id => t.id, name => t.name, prefix => t.prefix, created_at => t.created_at, user_id => t.user_id })
        .collect();
    let ctx = context! { users => users, tokens => tokens, ..extra };
    render_status(
        state,
        req,
        Some(&admin.0),
        "users.html",
        "users",
        ctx,
        status,
    )
    .await
}

pub async fn users(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminViewer,
) -> Result<HttpResponse, ApiError> {
    users_page(
        &state,
        &req,
        &admin,
        context! {},
        actix_web::http::StatusCode::OK,
    )
    .await
}

pub async fn create_user(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminViewer,
    form: web::Form<NewUserInput>,
) -> Result<HttpResponse, ApiError> {
    let form = form.into_inner();
    let role = Role::parse(&form.role);
    let invalid = match role {
        None => Some("error.role_invalid"),
        Some(_) => super::session::validate_new_account(&form.email, "x".repeat(10).as_str(), None),
    };
    if let Some(key) = invalid {
        let ctx = context! { error => Some(key) };
        return users_page(
            &state,
            &req,
            &admin,
            ctx,
            actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let password = one_time_password();
    let hash = hash_password(&password);
    let now = state.clock.now();
    let db = state.db.clone();
    let email = form.email.trim().to_owned();
    let name = form.name.trim().to_owned();
    let role = role.expect("checked above");
    let created = blocking(move || {
        match db.create_user(NewUser {
            email,
            name,
            role,
            password_hash: hash,
            lang: "pt-BR".into(),
            must_change_password: true,
            created_at: now,
        }) {
            Ok(user) => Ok(Some(user)),
            Err(DbError::Conflict(_)) => Ok(None),
            Err(e) => Err(e),
        }
    })
    .await?;
    match created {
        Some(user) => {
            tracing::info!(user_id = user.id, by = admin.0.user.id, "user created");
            let ctx =
                context! { one_time => context! { email => user.email, password => password } };
            users_page(&state, &req, &admin, ctx, actix_web::http::StatusCode::OK).await
        }
        None => {
            let ctx = context! { error => Some("error.email_taken") };
            users_page(
                &state,
                &req,
                &admin,
                ctx,
                actix_web::http::StatusCode::CONFLICT,
            )
            .await
        }
    }
}

async fn set_disabled(
    state: web::Data<AppState>,
    admin: AdminViewer,
    id: u64,
    disabled: bool,
) -> Result<HttpResponse, ApiError> {
    if id == admin.0.user.id && disabled {
        return Err(ApiError::Validation(
            "you cannot disable your own account".into(),
        ));
    }
    let db = state.db.clone();
    blocking(move || db.update_user(id, |u| u.disabled = disabled)).await?;
    tracing::info!(user_id = id, disabled, by = admin.0.user.id, "user updated");
    Ok(redirect("/usuarios?ok=user_updated"))
}

pub async fn disable_user(
    state: web::Data<AppState>,
    admin: AdminViewer,
    id: web::Path<u64>,
) -> Result<HttpResponse, ApiError> {
    set_disabled(state, admin, id.into_inner(), true).await
}

pub async fn enable_user(
    state: web::Data<AppState>,
    admin: AdminViewer,
    id: web::Path<u64>,
) -> Result<HttpResponse, ApiError> {
    set_disabled(state, admin, id.into_inner(), false).await
}

pub async fn reset_user_password(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminViewer,
    id: web::Path<u64>,
) -> Result<HttpResponse, ApiError> {
    let password = one_time_password();
    let hash = hash_password(&password);
    let db = state.db.clone();
    let id = id.into_inner();
    let user = blocking(move || {
        db.update_user(id, |u| {
            u.password_hash = hash;
            u.must_change_password = true;
        })
    })
    .await?;
    tracing::info!(user_id = id, by = admin.0.user.id, "password reset");
    let ctx = context! { one_time => context! { email => user.email, password => password } };
    users_page(&state, &req, &admin, ctx, actix_web::http::StatusCode::OK).await
}

pub async fn create_api_token(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminViewer,
    form: web::Form<NewTokenInput>,
) -> Result<HttpResponse, ApiError> {
    let name = form.name.trim().to_owned();
    if name.is_empty() {
        let ctx = context! { error => Some("error.token_name") };
        return users_page(
            &state,
            &req,
            &admin,
            ctx,
            actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let token = format!("avisa_{}", random_token());
    let hash = secret_hash(&token);
    let prefix = token[..12].to_owned();
    let now = state.clock.now();
    let db = state.db.clone();
    let user_id = admin.0.user.id;
    blocking(move || db.create_api_token(&hash, user_id, &name, &prefix, now)).await?;
    tracing::info!(by = user_id, "API token created");
    users_page(
        &state,
        &req,
        &admin,
        context! { new_token => token },
        actix_web::http::StatusCode::OK,
    )
    .await
}

pub async fn revoke_api_token(
    state: web::Data<AppState>,
    admin: AdminViewer,
    id: web::Path<u64>,
) -> Result<HttpResponse, ApiError> {
    let db = state.db.clone();
    let id = id.into_inner();
    blocking(move || db.revoke_api_token(id)).await?;
    tracing::info!(token_id = id, by = admin.0.user.id, "API token revoked");
    Ok(redirect("/usuarios?ok=token_revoked"))
}

/// Configurações: console settings, backups and retention, LGPD tools. `extra` may override
/// `settings`/`ops` (a form being corrected) and carry results.
pub(super) async fn settings_page(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    admin: &AdminViewer,
    extra: Value,
    status: actix_web::http::StatusCode,
) -> Result<HttpResponse, ApiError> {
    let db = state.db.clone();
    let (current, ops) = blocking(move || Ok((db.console_settings()?, db.ops_settings()?))).await?;
    let defaults = context! {
        settings => Value::from(minijinja::value::Serde(&current)),
        ops => Value::from(minijinja::value::Serde(&ops)),
        error => None::<String>,
    };
    // The last map wins: a form being corrected shows what was typed.
    let ctx = minijinja::value::merge_maps([defaults, extra]);
    render_status(
        state,
        req,
        Some(&admin.0),
        "settings.html",
        "settings",
        ctx,
        status,
    )
    .await
}

pub async fn settings(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminViewer,
) -> Result<HttpResponse, ApiError> {
    settings_page(
        &state,
        &req,
        &admin,
        context! {},
        actix_web::http::StatusCode::OK,
    )
    .await
}

pub async fn save_settings(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminViewer,
    form: web::Form<SettingsInput>,
) -> Result<HttpResponse, ApiError> {
    let form = form.into_inner();
    let idle: Option<u32> = form
        .session_idle_minutes
        .trim()
        .parse()
        .ok()
        .filter(|m| (5..=43_200).contains(m));
    let settings = ConsoleSettings {
        company_name: form.company_name.trim().chars().take(80).collect(),
        default_lang: supported_lang(&form.default_lang).to_owned(),
        session_idle_minutes: idle.unwrap_or(0),
    };
    if idle.is_none() {
        let ctx = context! { settings => Value::from(minijinja::value::Serde(&settings)), error => Some("error.idle_minutes") };
        return settings_page(
            &state,
            &req,
            &admin,
            ctx,
            actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let db = state.db.clone();
    blocking(move || db.save_console_settings(&settings)).await?;
    Ok(redirect("/configuracoes?ok=saved"))
}

/// `GET /api/v1/users`.
pub async fn api_list_users(
    state: web::Data<AppState>,
    _admin: AdminViewer,
) -> Result<HttpResponse, ApiError> {
    let db = state.db.clone();
    let users = blocking(move || db.list_users()).await?;
    let users: Vec<_> = users
        .iter()
        .map(|u| json!({ "id": u.id, "email": u.email, "name": u.name, "role": u.role.as_str(), "disabled": u.disabled }))
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "users": users })))
}
