//! Eventos personalizados: the merchant's own event kinds (post-sale: "Aniversário",
//! "Boas-vindas", "Aviso de live"), listed with the name automations send (`custom.<name>`) and
//! their variables; admins create new ones. Each kind's messages are then written per store in
//! the template editor like any kind's. The rules of a definition are `domain::custom_kind`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use minijinja::{Value, context};
use serde::Deserialize;

use crate::db::DbError;
use crate::domain::custom_kind::{self, MAX_LABEL, MAX_NAME, MAX_VARS};
use crate::domain::{CustomKindDef, StoreId};
use crate::http::AppState;
use crate::http::auth::{AdminViewer, Viewer, redirect};
use crate::http::console::Page;
use crate::http::error::ApiError;

#[derive(Debug, Default, Deserialize)]
pub struct KindsQuery {
    loja: Option<String>,
}

/// What the form holds, as typed.
#[derive(Debug, Default, Deserialize)]
pub struct KindForm {
    #[serde(default)]
    label: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    vars: String,
    #[serde(default)]
    loja: String,
}

fn kind_view(def: &CustomKindDef) -> Value {
    context! {
        name => def.name.clone(),
        wire => format!("{}{}", custom_kind::PREFIX, def.name),
        label => def.label.clone(),
        vars => def.vars.clone(),
        created_at => def.created_at,
    }
}

async fn page(
    state: &AppState,
    req: &HttpRequest,
    viewer: &Viewer,
    store: Option<StoreId>,
    form: KindForm,
    error: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, ApiError> {
    let kinds = state.run(|db| db.list_custom_kinds()).await?;
    let ctx = context! {
        kinds => kinds.iter().map(kind_view).collect::<Vec<_>>(),
        store => store,
        form => context! { label => form.label, name => form.name, vars => form.vars },
        error => error,
        max_label => MAX_LABEL,
        max_name => MAX_NAME,
        max_vars => MAX_VARS,
    };
    Page::new(state, req, viewer, "custom_kinds.html")
        .menu("templates")
        .status(status)
        .render(ctx)
        .await
}

/// `GET /templates/personalizados`: every custom kind and, for admins, the form to create one.
/// `loja` is the store whose templates the merchant came from (they return to its editor).
pub async fn list_custom_kinds(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    query: web::Query<KindsQuery>,
) -> Result<HttpResponse, ApiError> {
    let store = query.loja.as_deref().and_then(|s| s.parse().ok());
    let form = KindForm::default();
    page(&state, &req, &viewer, store, form, None, StatusCode::OK).await
}

/// `POST /templates/personalizados`: creates the kind and opens its template editor for the
/// store the merchant came from (or the list again).
pub async fn create_custom_kind(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminViewer,
    form: web::Form<KindForm>,
) -> Result<HttpResponse, ApiError> {
    let form = form.into_inner();
    let store: Option<StoreId> = form.loja.trim().parse().ok();
    let now = state.clock.now();
    let def = match custom_kind::define(&form.label, &form.name, &form.vars, now) {
        Ok(def) => def,
        Err(why) => {
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            return page(
                &state,
                &req,
                &admin.0,
                store,
                form,
                Some(why.to_string()),
                status,
            )
            .await;
        }
    };
    let saved = def.clone();
    match state.run(move |db| db.create_custom_kind(&saved)).await {
        Ok(()) => {}
        Err(DbError::Conflict(_)) => {
            let why = format!(
                "já existe um evento personalizado {}{}",
                custom_kind::PREFIX,
                def.name
            );
            let status = StatusCode::CONFLICT;
            return page(&state, &req, &admin.0, store, form, Some(why), status).await;
        }
        Err(e) => return Err(e.into()),
    }
    tracing::info!(kind = %def.name, by = admin.0.user.id, "custom event kind created");
    let wire = format!("{}{}", custom_kind::PREFIX, def.name);
    Ok(redirect(&match store {
        Some(id) => format!("/templates/{id}/{wire}?ok=custom_kind_created"),
        None => "/templates/personalizados?ok=custom_kind_created".to_owned(),
    }))
}
