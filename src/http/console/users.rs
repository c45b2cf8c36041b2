//! Usuários (admins only): users (atendentes), their one-time passwords, and API tokens.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use minijinja::{Value, context};
use serde::Deserialize;

use crate::db::{DbError, NewUser, Role, TokenScope};
use crate::http::AppState;
use crate::http::auth::{AdminViewer, redirect};
use crate::http::console::Page;
use crate::http::console::view::validate_new_account;
use crate::http::error::ApiError;
use crate::http::password::{hash_with, one_time_password, random_token, secret_hash};

#[derive(Deserialize)]
pub struct NewUserInput {
    email: String,
    name: String,
    role: String,
}

#[derive(Deserialize)]
pub struct NewTokenInput {
    name: String,
    /// `full` (the creating user's rights), `send`, `read` or `send_read`.
    #[serde(default)]
    scope: String,
}

/// The form's scope choice as the token's scopes; `None` for full rights.
fn token_scopes(choice: &str) -> Option<Option<Vec<TokenScope>>> {
    match choice {
        "" | "full" => Some(None),
        "send" => Some(Some(vec![TokenScope::Send])),
        "read" => Some(Some(vec![TokenScope::Read])),
        "send_read" => Some(Some(vec![TokenScope::Send, TokenScope::Read])),
        _ => None,
    }
}

/// The scopes as the list shows them (`full`, `send`, `read`, `send_read`).
fn scope_choice(scopes: &Option<Vec<TokenScope>>) -> &'static str {
    match scopes.as_deref() {
        None => "full",
        Some(s) if s.contains(&TokenScope::Send) && s.contains(&TokenScope::Read) => "send_read",
        Some(s) if s.contains(&TokenScope::Send) => "send",
        Some(_) => "read",
    }
}

/// The users page, optionally showing a secret that exists only in this response.
async fn users_page(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    admin: &AdminViewer,
    extra: Value,
    status: StatusCode,
) -> Result<HttpResponse, ApiError> {
    let (users, tokens) = state
        .run(move |db| Ok((db.list_users()?, db.list_api_tokens()?)))
        .await?;
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
        .map(|t| context! { id => t.id, name => t.name, prefix => t.prefix, created_at => t.created_at, user_id => t.user_id, scope => scope_choice(&t.scopes) })
        .collect();
    let ctx = context! { users => users, tokens => tokens, ..extra };
    Page::new(state, req, &admin, "users.html")
        .menu("users")
        .status(status)
        .render(ctx)
        .await
}

/// `GET /usuarios`.
pub async fn list_users(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminViewer,
) -> Result<HttpResponse, ApiError> {
    users_page(&state, &req, &admin, context! {}, StatusCode::OK).await
}

/// `POST /usuarios`: a new user with a one-time password shown once on the page.
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
        Some(_) => validate_new_account(&form.email, "x".repeat(10).as_str(), None),
    };
    if let Some(key) = invalid {
        let ctx = context! { error => Some(key) };
        return users_page(&state, &req, &admin, ctx, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let password = one_time_password();
    let hash = hash_with(&state.hashing, password.clone()).await;
    let now = state.clock.now();
    let email = form.email.trim().to_owned();
    let name = form.name.trim().to_owned();
    let role = role.expect("checked above");
    let created = state
        .run(move |db| {
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
            users_page(&state, &req, &admin, ctx, StatusCode::OK).await
        }
        None => {
            let ctx = context! { error => Some("error.email_taken") };
            users_page(&state, &req, &admin, ctx, StatusCode::CONFLICT).await
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
    state
        .run(move |db| db.update_user(id, |u| u.disabled = disabled))
        .await?;
    tracing::info!(user_id = id, disabled, by = admin.0.user.id, "user updated");
    Ok(redirect("/usuarios?ok=user_updated"))
}

/// `POST /usuarios/{id}/desativar`: the user can no longer log in (not yourself).
pub async fn disable_user(
    state: web::Data<AppState>,
    admin: AdminViewer,
    id: web::Path<u64>,
) -> Result<HttpResponse, ApiError> {
    set_disabled(state, admin, id.into_inner(), true).await
}

/// `POST /usuarios/{id}/ativar`.
pub async fn enable_user(
    state: web::Data<AppState>,
    admin: AdminViewer,
    id: web::Path<u64>,
) -> Result<HttpResponse, ApiError> {
    set_disabled(state, admin, id.into_inner(), false).await
}

/// `POST /usuarios/{id}/senha`: a new one-time password, shown once.
pub async fn reset_user_password(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminViewer,
    id: web::Path<u64>,
) -> Result<HttpResponse, ApiError> {
    let password = one_time_password();
    let hash = hash_with(&state.hashing, password.clone()).await;
    let id = id.into_inner();
    let user = state
        .run(move |db| {
            db.update_user(id, |u| {
                u.password_hash = hash;
                u.must_change_password = true;
            })
        })
        .await?;
    tracing::info!(user_id = id, by = admin.0.user.id, "password reset");
    let ctx = context! { one_time => context! { email => user.email, password => password } };
    users_page(&state, &req, &admin, ctx, StatusCode::OK).await
}

/// `POST /usuarios/tokens`: a new API token, shown once; only its hash is kept.
pub async fn create_api_token(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminViewer,
    form: web::Form<NewTokenInput>,
) -> Result<HttpResponse, ApiError> {
    let name = form.name.trim().to_owned();
    if name.is_empty() {
        let ctx = context! { error => Some("error.token_name") };
        return users_page(&state, &req, &admin, ctx, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let Some(scopes) = token_scopes(form.scope.trim()) else {
        return Err(ApiError::Validation("unknown token scope".into()));
    };
    let token = format!("avisa_{}", random_token());
    let hash = secret_hash(&token);
    let prefix = token[..12].to_owned();
    let now = state.clock.now();
    let user_id = admin.0.user.id;
    state
        .run(move |db| db.create_api_token(&hash, user_id, &name, &prefix, scopes, now))
        .await?;
    tracing::info!(by = user_id, "API token created");
    users_page(
        &state,
        &req,
        &admin,
        context! { new_token => token },
        StatusCode::OK,
    )
    .await
}

/// `POST /usuarios/tokens/{id}/revogar`.
pub async fn revoke_api_token(
    state: web::Data<AppState>,
    admin: AdminViewer,
    id: web::Path<u64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    state.run(move |db| db.revoke_api_token(id)).await?;
    tracing::info!(token_id = id, by = admin.0.user.id, "API token revoked");
    Ok(redirect("/usuarios?ok=token_revoked"))
}
