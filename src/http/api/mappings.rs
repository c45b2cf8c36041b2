//! A store's mapping through the JSON API: `GET/PUT /api/v1/stores/{id}/mapping` (the same JSON
//! a mapping is exported as) and `POST /api/v1/stores/{id}/reprocess`.

use actix_web::{HttpResponse, web};
use serde_json::json;

use super::parse_body;
use crate::domain::StoreId;
use crate::http::AppState;
use crate::http::auth::{AdminViewer, Viewer};
use crate::http::error::ApiError;
use crate::http::operations::mappings::{self as ops, MappingRefusal};
use crate::ingest::mapping::Mapping;

/// `GET /api/v1/stores/{id}/mapping`: the mapping (empty when nothing is mapped yet).
#[utoipa::path(
    get, path = "/api/v1/stores/{id}/mapping", tag = "stores",
    summary = "A store's field mapping (the same JSON as the console's export)",
    params(("id" = u64, Path, description = "The store's id")),
    responses(
        (status = 200, description = "The mapping; empty when nothing is mapped yet", body = Object),
        (status = 404, description = "No such store"),
    )
)]
pub async fn show_mapping(
    state: web::Data<AppState>,
    _viewer: Viewer,
    id: web::Path<StoreId>,
) -> Result<HttpResponse, ApiError> {
    let (_, mapping) = ops::show_mapping(&state, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(mapping))
}

/// `PUT /api/v1/stores/{id}/mapping`: replaces the mapping; 422 with the reason when a path,
/// kind or field is not valid (or a known platform's store sends more than `kinds`).
#[utoipa::path(
    put, path = "/api/v1/stores/{id}/mapping", tag = "stores",
    summary = "Replace a store's field mapping (admins)",
    params(("id" = u64, Path, description = "The store's id")),
    request_body(content = Object, description = "A mapping, as `GET` answers it"),
    responses(
        (status = 200, description = "The saved mapping", body = Object),
        (status = 404, description = "No such store"),
        (status = 422, description = "A path, kind or field is not valid"),
    )
)]
pub async fn save_mapping(
    state: web::Data<AppState>,
    admin: AdminViewer,
    id: web::Path<StoreId>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let mapping: Mapping = parse_body(&body)?;
    let id = id.into_inner();
    let keep_unverified = mapping.unverified;
    let saved = ops::save_mapping(&state, id, mapping, keep_unverified)
        .await
        .map_err(|e| match e {
            MappingRefusal::Invalid(e) => ApiError::Validation(e.to_string()),
            MappingRefusal::Db(e) => ApiError::Db(e),
        })?;
    tracing::info!(store_id = id.0, by = admin.0.user.id, "mapping saved");
    Ok(HttpResponse::Ok().json(saved))
}

/// `POST /api/v1/stores/{id}/reprocess`: how many held unmapped events became recognised.
#[utoipa::path(
    post, path = "/api/v1/stores/{id}/reprocess", tag = "stores",
    summary = "Read a store's held unmapped events again with its mapping (admins)",
    params(("id" = u64, Path, description = "The store's id")),
    responses(
        (status = 200, description = "`recognised`, `ignored`, `invalid`, `still_unmapped` counts", body = Object),
        (status = 404, description = "No such store"),
    )
)]
pub async fn reprocess_events(
    state: web::Data<AppState>,
    admin: AdminViewer,
    id: web::Path<StoreId>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let done = ops::reprocess(&state, id).await?;
    tracing::info!(
        store_id = id.0,
        by = admin.0.user.id,
        recognised = done.recognised,
        "unmapped events re-processed"
    );
    Ok(HttpResponse::Ok().json(json!({
        "recognised": done.recognised,
        "ignored": done.ignored,
        "invalid": done.invalid,
        "still_unmapped": done.still_unmapped,
    })))
}
