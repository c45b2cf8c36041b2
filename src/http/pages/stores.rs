//! The Lojas pages: the list, the new-store form, and one store's page with its webhook URL,
//! setup steps and checklist. Anyone logged in may look; only admins change anything.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use minijinja::{Value, context};
use serde::{Deserialize, Serialize};

use super::stores_api::{
    MAX_NAME, StoreChange, StoreView, apply_change, new_store, regenerate_token,
};
use super::{render, render_status};
use crate::db::DbError;
use crate::domain::Store;
use crate::domain::{Platform, PlatformGroup};
use crate::http::AppState;
use crate::http::auth::{AdminViewer, Viewer, redirect};
use crate::http::error::{ApiError, blocking};

/// The groups of the platform `<select>`, in the order merchants scan them.
const GROUPS: [PlatformGroup; 4] = [
    PlatformGroup::Checkout,
    PlatformGroup::Ecommerce,
    PlatformGroup::Gateway,
    PlatformGroup::Api,
];

/// The new-store form. Checkboxes send nothing when unticked, so every field is optional.
#[derive(Debug, Default, Deserialize)]
pub struct NewStoreForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    platform: String,
    enabled: Option<String>,
    #[serde(default)]
    secret: String,
}

/// The edit form on a store's page: an empty secret keeps the current one.
#[derive(Debug, Default, Deserialize)]
pub struct StoreEditForm {
    #[serde(default)]
    name: String,
    enabled: Option<String>,
    #[serde(default)]
    secret: String,
    remove_secret: Option<String>,
}

/// Any serialisable value as a template value.
fn ser<T: Serialize>(value: &T) -> Value {
    Value::from(minijinja::value::Serde(value))
}

/// The platforms by group for the `<select>`, each with the kind of secret it offers.
fn platform_groups() -> Vec<Value> {
    GROUPS
        .iter()
        .map(|group| {
            let platforms: Vec<Value> = Platform::ALL
                .iter()
                .filter(|p| p.group() == *group)
                .map(|p| {
                    context! {
                        id => p.id(),
                        label => p.label(),
                        secret_kind => ser(&p.secret_kind()),
                    }
                })
                .collect();
            context! { key => ser(group), platforms => platforms }
        })
        .collect()
}

/// `GET /lojas`.
pub async fn list_stores(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
) -> Result<HttpResponse, ApiError> {
    let db = state.db.clone();
    let mut stores = blocking(move || db.list_stores()).await?;
    stores.sort_by_key(|s| s.name.to_lowercase());
    let stores: Vec<StoreView> = stores
        .iter()
        .map(|r| StoreView::new(r, &state.config.public_url))
        .collect();
    let ctx = context! { stores => ser(&stores) };
    render(&state, &req, Some(&viewer), "stores.html", "stores", ctx).await
}

async fn new_store_page(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    admin: &AdminViewer,
    form: NewStoreForm,
    error: Option<&'static str>,
    status: StatusCode,
) -> Result<HttpResponse, ApiError> {
    // The secret the merchant typed is not echoed back: a page never prints one.
    let ctx = context! {
        groups => platform_groups(),
        coming_soon => Platform::COMING_SOON.to_vec(),
        max_name => MAX_NAME,
        form => context! {
            name => form.name,
            platform => form.platform,
            enabled => form.enabled.is_some() || error.is_none(),
        },
        error => error,
    };
    render_status(
        state,
        req,
        Some(&admin.0),
        "store_new.html",
        "stores",
        ctx,
        status,
    )
    .await
}

/// `GET /lojas/nova`.
pub async fn new_store_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminViewer,
) -> Result<HttpResponse, ApiError> {
    let form = NewStoreForm {
        platform: Platform::Hotmart.id().to_owned(),
        ..NewStoreForm::default()
    };
    new_store_page(&state, &req, &admin, form, None, StatusCode::OK).await
}

/// `POST /lojas`.
pub async fn create_store(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminViewer,
    form: web::Form<NewStoreForm>,
) -> Result<HttpResponse, ApiError> {
    let form = form.into_inner();
    let checked = new_store(
        &form.name,
        &form.platform,
        form.enabled.is_some(),
        &form.secret,
        state.clock.now(),
    );
    let new = match checked {
        Ok(new) => new,
        Err(e) => {
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            return new_store_page(&state, &req, &admin, form, Some(e.key()), status).await;
        }
    };
    let db = state.db.clone();
    let record = blocking(move || db.create_store(new)).await?;
    tracing::info!(store_id = record.id, by = admin.0.user.id, "store created");
    Ok(redirect(&format!("/lojas/{}?ok=store_created", record.id)))
}

/// One store's page; `edit` carries a rejected edit form back with its error.
async fn store_page(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    viewer: &Viewer,
    record: &Store,
    edit: Option<(String, &'static str)>,
) -> Result<HttpResponse, ApiError> {
    let view = StoreView::new(record, &state.config.public_url);
    let (edit_name, error, status) = match edit {
        Some((name, error)) => (name, Some(error), StatusCode::UNPROCESSABLE_ENTITY),
        None => (record.name.clone(), None, StatusCode::OK),
    };
    // The instance it sends through: name, and whether it is connected, for the checklist.
    let linked = match record.instance_id {
        Some(instance_id) => {
            let db = state.db.clone();
            match blocking(move || db.instance(instance_id)).await {
                Ok(instance) => Some(context! {
                    id => instance.id,
                    name => instance.name,
                    connected => state.channels.state(instance_id).is_connected(),
                }),
                Err(ApiError::Db(DbError::NotFound)) => None,
                Err(e) => return Err(e),
            }
        }
        None => None,
    };
    let summary = super::reports::last_week_summary(state, Some(record.id), None).await?;
    let ctx = context! {
        summary => summary,
        store => ser(&view),
        instance => linked,
        edit_name => edit_name,
        max_name => MAX_NAME,
        error => error,
    };
    render_status(
        state,
        req,
        Some(viewer),
        "store.html",
        "stores",
        ctx,
        status,
    )
    .await
}

/// The console's 404 page, for a store that does not exist (any more).
async fn missing(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    viewer: &Viewer,
) -> Result<HttpResponse, ApiError> {
    let ctx = context! {};
    render_status(
        state,
        req,
        Some(viewer),
        "not_found.html",
        "stores",
        ctx,
        StatusCode::NOT_FOUND,
    )
    .await
}

/// `GET /lojas/{id}`.
pub async fn show_store(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    id: web::Path<u64>,
) -> Result<HttpResponse, ApiError> {
    let db = state.db.clone();
    let id = id.into_inner();
    match blocking(move || db.store(id)).await {
        Ok(record) => store_page(&state, &req, &viewer, &record, None).await,
        Err(ApiError::Db(DbError::NotFound)) => missing(&state, &req, &viewer).await,
        Err(e) => Err(e),
    }
}

/// `POST /lojas/{id}`: name, on/off and secret.
pub async fn update_store(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminViewer,
    id: web::Path<u64>,
    form: web::Form<StoreEditForm>,
) -> Result<HttpResponse, ApiError> {
    let form = form.into_inner();
    let id = id.into_inner();
    let secret = if form.remove_secret.is_some() {
        Some(None)
    } else if form.secret.trim().is_empty() {
        None
    } else {
        Some(Some(form.secret))
    };
    let change = StoreChange {
        name: Some(form.name.clone()),
        enabled: Some(form.enabled.is_some()),
        secret,
    };
    let db = state.db.clone();
    let outcome = match blocking(move || apply_change(&db, id, change)).await {
        Err(ApiError::Db(DbError::NotFound)) => return missing(&state, &req, &admin.0).await,
        other => other?,
    };
    match outcome {
        Ok(_) => {
            tracing::info!(store_id = id, by = admin.0.user.id, "store updated");
            Ok(redirect(&format!("/lojas/{id}?ok=saved")))
        }
        Err(invalid) => {
            let db = state.db.clone();
            let record = blocking(move || db.store(id)).await?;
            let edit = Some((form.name, invalid.key()));
            store_page(&state, &req, &admin.0, &record, edit).await
        }
    }
}

/// `POST /lojas/{id}/token`: a new webhook URL; the old one answers 404 from now on.
pub async fn regenerate_store_token(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminViewer,
    id: web::Path<u64>,
) -> Result<HttpResponse, ApiError> {
    let db = state.db.clone();
    let id = id.into_inner();
    match blocking(move || regenerate_token(&db, id)).await {
        Ok(_) => {
            tracing::info!(
                store_id = id,
                by = admin.0.user.id,
                "webhook token regenerated"
            );
            Ok(redirect(&format!("/lojas/{id}?ok=token_regenerated")))
        }
        Err(ApiError::Db(DbError::NotFound)) => missing(&state, &req, &admin.0).await,
        Err(e) => Err(e),
    }
}

/// `POST /lojas/{id}/excluir`: the store and its URL go; its events stay in the history.
pub async fn delete_store(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminViewer,
    id: web::Path<u64>,
) -> Result<HttpResponse, ApiError> {
    let db = state.db.clone();
    let (id, now) = (id.into_inner(), state.clock.now());
    match blocking(move || db.delete_store(id, now)).await {
        Ok(()) => {
            tracing::info!(store_id = id, by = admin.0.user.id, "store deleted");
            Ok(redirect("/lojas?ok=store_deleted"))
        }
        Err(ApiError::Db(DbError::NotFound)) => missing(&state, &req, &admin.0).await,
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::ui::{LANGUAGES, catalog_keys};

    /// Keys the store templates build at render time (`t("stores.steps." ~ id)`), which the
    /// literal-key test cannot see.
    #[test]
    fn every_built_key_is_in_the_catalogs() {
        let mut wanted: Vec<String> = Platform::ALL
            .iter()
            .map(|p| format!("stores.steps.{}", p.id()))
            .collect();
        for group in GROUPS {
            let group = serde_json::to_value(group).expect("group serialises");
            let group = group.as_str().expect("group is a string");
            wanted.push(format!("stores.group.{group}"));
        }
        for kind in ["token", "hmac_key"] {
            wanted.push(format!("stores.secret_label.{kind}"));
            wanted.push(format!("stores.secret_hint.{kind}"));
        }
        for (lang, _) in LANGUAGES {
            let keys = catalog_keys(lang);
            for key in &wanted {
                assert!(keys.contains(key), "{lang} lacks {key}");
            }
        }
    }
}
