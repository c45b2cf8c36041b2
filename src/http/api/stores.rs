//! Stores through the JSON API (`/api/v1/stores`): list, create, read, change, delete, new
//! token. The rules are `operations::stores`; this file reads `*Input` bodies and answers
//! `StoreView`s.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

use super::parse_body;
use crate::domain::StoreId;
use crate::http::AppState;
use crate::http::auth::{AdminViewer, Viewer};
use crate::http::error::ApiError;
use crate::http::operations::stores::{
    self as ops, StoreChange, StoreInvalid, StoreView, new_store,
};

/// `POST /api/v1/stores`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStoreInput {
    /// The merchant's nickname (apelido), never shown to buyers.
    #[serde(default)]
    pub name: String,
    /// The platform's slug (`hotmart`, `kiwify`, `nuvemshop`, `api`, `custom`, …).
    #[serde(default)]
    pub platform: String,
    /// The name buyers read; absent or empty: the company name of Configurações.
    #[serde(default)]
    pub public_name: String,
    #[serde(default = "enabled_by_default")]
    #[schema(default = true)]
    pub enabled: bool,
    /// The platform's webhook secret or token, when it offers one.
    #[serde(default)]
    pub secret: Option<String>,
}

fn enabled_by_default() -> bool {
    true
}

/// `PATCH /api/v1/stores/{id}`: absent fields stay as they are; `"secret": null` removes it.
/// The platform cannot change (its URL and secret belong to that platform): create a new store.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StoreChangeInput {
    pub name: Option<String>,
    pub public_name: Option<String>,
    pub enabled: Option<bool>,
    /// A new secret; `null` removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub secret: Option<Option<String>>,
}

/// `GET /api/v1/stores`.
#[derive(Serialize, ToSchema)]
pub struct StoreList {
    pub stores: Vec<StoreView>,
}

/// Tells an explicit `null` (`Some(None)`) from an absent field (`None`, via `default`).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// A refused store as an API error (the English catalog text).
fn invalid(state: &AppState, e: StoreInvalid) -> ApiError {
    ApiError::Validation(state.ui.text("en", e.key()))
}

/// `GET /api/v1/stores`.
#[utoipa::path(
    get, path = "/api/v1/stores", tag = "stores",
    summary = "List the stores (attendants see masked webhook URLs)",
    responses((status = 200, description = "Every store", body = StoreList))
)]
pub async fn list_stores(
    state: web::Data<AppState>,
    viewer: Viewer,
) -> Result<HttpResponse, ApiError> {
    let stores = state.run(move |db| db.list_stores()).await?;
    let public_url = &state.public_url().url;
    let views: Vec<StoreView> = stores
        .iter()
        .map(|r| StoreView::new(r, public_url).for_viewer(viewer.is_admin()))
        .collect();
    Ok(HttpResponse::Ok().json(StoreList { stores: views }))
}

/// `POST /api/v1/stores`.
#[utoipa::path(
    post, path = "/api/v1/stores", tag = "stores",
    summary = "Create a store (admins)",
    request_body = NewStoreInput,
    responses(
        (status = 201, description = "The new store with its webhook URL", body = StoreView),
        (status = 422, description = "A name, platform or secret is not valid"),
    )
)]
pub async fn create_store(
    state: web::Data<AppState>,
    admin: AdminViewer,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let input: NewStoreInput = parse_body(&body)?;
    let new = new_store(
        &input.name,
        &input.platform,
        input.enabled,
        input.secret.as_deref().unwrap_or_default(),
        state.clock.now(),
    )
    .map_err(|e| invalid(&state, e))?;
    let public_name = ops::check_public_name(&input.public_name).map_err(|e| invalid(&state, e))?;
    let record = ops::create_store(&state, new, public_name).await?;
    tracing::info!(
        store_id = record.id.0,
        by = admin.0.user.id,
        "store created"
    );
    Ok(HttpResponse::Created().json(StoreView::new(&record, &state.public_url().url)))
}

/// `GET /api/v1/stores/{id}`.
#[utoipa::path(
    get, path = "/api/v1/stores/{id}", tag = "stores",
    summary = "Read one store",
    params(("id" = u64, Path, description = "The store's id")),
    responses(
        (status = 200, description = "The store", body = StoreView),
        (status = 404, description = "No such store"),
    )
)]
pub async fn show_store(
    state: web::Data<AppState>,
    viewer: Viewer,
    id: web::Path<StoreId>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let record = state.run(move |db| db.store(id)).await?;
    let view = StoreView::new(&record, &state.public_url().url).for_viewer(viewer.is_admin());
    Ok(HttpResponse::Ok().json(view))
}

/// `PATCH /api/v1/stores/{id}`.
#[utoipa::path(
    patch, path = "/api/v1/stores/{id}", tag = "stores",
    summary = "Change a store (admins); absent fields stay",
    params(("id" = u64, Path, description = "The store's id")),
    request_body = StoreChangeInput,
    responses(
        (status = 200, description = "The changed store", body = StoreView),
        (status = 404, description = "No such store"),
        (status = 422, description = "A field is not valid"),
    )
)]
pub async fn update_store(
    state: web::Data<AppState>,
    admin: AdminViewer,
    id: web::Path<StoreId>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let input: StoreChangeInput = parse_body(&body)?;
    let change = StoreChange {
        name: input.name,
        public_name: input.public_name,
        enabled: input.enabled,
        secret: input.secret,
    };
    let id = id.into_inner();
    let record = ops::update_store(&state, id, change)
        .await?
        .map_err(|e| invalid(&state, e))?;
    tracing::info!(store_id = id.0, by = admin.0.user.id, "store updated");
    Ok(HttpResponse::Ok().json(StoreView::new(&record, &state.public_url().url)))
}

/// `DELETE /api/v1/stores/{id}`: the store and its URL go; its events stay in the history.
#[utoipa::path(
    delete, path = "/api/v1/stores/{id}", tag = "stores",
    summary = "Delete a store (admins); its events stay in the history",
    params(("id" = u64, Path, description = "The store's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such store"),
    )
)]
pub async fn delete_store(
    state: web::Data<AppState>,
    admin: AdminViewer,
    id: web::Path<StoreId>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    ops::delete_store(&state, id).await?;
    tracing::info!(store_id = id.0, by = admin.0.user.id, "store deleted");
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /api/v1/stores/{id}/token`: a new webhook URL; the old one stops working.
#[utoipa::path(
    post, path = "/api/v1/stores/{id}/token", tag = "stores",
    summary = "Give a store a new webhook URL (admins); the old one stops working",
    params(("id" = u64, Path, description = "The store's id")),
    responses(
        (status = 200, description = "The store with its new webhook URL", body = StoreView),
        (status = 404, description = "No such store"),
    )
)]
pub async fn regenerate_store_token(
    state: web::Data<AppState>,
    admin: AdminViewer,
    id: web::Path<StoreId>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let record = ops::regenerate_store_token(&state, id).await?;
    tracing::info!(
        store_id = id.0,
        by = admin.0.user.id,
        "webhook token regenerated"
    );
    Ok(HttpResponse::Ok().json(StoreView::new(&record, &state.public_url().url)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patch_tells_null_from_absent() {
        let absent: StoreChangeInput = serde_json::from_str("{}").expect("json");
        assert_eq!(absent.secret, None);
        let null: StoreChangeInput = serde_json::from_str(r#"{"secret":null}"#).expect("json");
        assert_eq!(null.secret, Some(None));
        assert!(serde_json::from_str::<StoreChangeInput>(r#"{"platform":"kiwify"}"#).is_err());
    }
}
