//! Outbound webhook endpoints through the JSON API: `GET/POST /api/v1/webhooks`,
//! `GET/DELETE /api/v1/webhooks/{id}`. Admins only, and never through a scoped token
//! (`auth::scope_needed`): an endpoint's secret signs what avisa tells other systems.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::parse_body;
use crate::domain::{EndpointId, StoreId};
use crate::http::AppState;
use crate::http::auth::AdminViewer;
use crate::http::error::ApiError;
use crate::http::operations::webhooks::{
    self as ops, EndpointInput, EndpointRefusal, EndpointView,
};

/// A new endpoint: where to post, which events (`event.received`, `message.sent`, …), the
/// store it follows (absent: every store), a note, and the signing secret.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookInput {
    url: String,
    events: Vec<String>,
    #[serde(default)]
    #[schema(value_type = Option<u64>)]
    store_id: Option<StoreId>,
    #[serde(default)]
    description: String,
    /// Omitted: avisa makes one and answers it once.
    #[serde(default)]
    secret: String,
}

/// `GET /api/v1/webhooks`: every endpoint, secrets left out.
#[utoipa::path(
    get, path = "/api/v1/webhooks", tag = "webhooks",
    summary = "List the outbound webhook endpoints, secrets left out (admins)",
    responses((status = 200, description = "`{\"webhooks\": [...]}`: url, events, store, whether disabled and why"))
)]
pub async fn list_webhooks(
    state: web::Data<AppState>,
    _admin: AdminViewer,
) -> Result<HttpResponse, ApiError> {
    let endpoints = state.run(|db| db.list_endpoints()).await?;
    let views: Vec<EndpointView> = endpoints
        .into_iter()
        .map(|e| EndpointView::of(e, false))
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "webhooks": views })))
}

/// `GET /api/v1/webhooks/{id}`: one endpoint with its secret (an admin verifying signatures
/// needs it).
#[utoipa::path(
    get, path = "/api/v1/webhooks/{id}", tag = "webhooks",
    summary = "Read one endpoint with its signing secret (admins)",
    params(("id" = u64, Path, description = "The endpoint's id")),
    responses(
        (status = 200, description = "The endpoint and its secret"),
        (status = 404, description = "No such endpoint"),
    )
)]
pub async fn show_webhook(
    state: web::Data<AppState>,
    _admin: AdminViewer,
    id: web::Path<EndpointId>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let endpoint = state.run(move |db| db.endpoint(id)).await?;
    Ok(HttpResponse::Ok().json(EndpointView::of(endpoint, true)))
}

/// `POST /api/v1/webhooks`: 201 with the endpoint and its secret.
#[utoipa::path(
    post, path = "/api/v1/webhooks", tag = "webhooks",
    summary = "Register an endpoint; deliveries are signed HMAC-SHA256 over `timestamp.body` (admins)",
    request_body = WebhookInput,
    responses(
        (status = 201, description = "The endpoint and its secret (shown this once when avisa made it)"),
        (status = 422, description = "The URL or an event name is not valid"),
    )
)]
pub async fn create_webhook(
    state: web::Data<AppState>,
    admin: AdminViewer,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let input: WebhookInput = parse_body(&body)?;
    let endpoint = ops::create_endpoint(
        &state,
        EndpointInput {
            url: input.url,
            description: input.description,
            events: input.events,
            store_id: input.store_id,
            secret: input.secret,
        },
    )
    .await
    .map_err(|e| match e {
        EndpointRefusal::Invalid { message, .. } => ApiError::Validation(message.to_owned()),
        EndpointRefusal::Db(e) => ApiError::Db(e),
    })?;
    tracing::info!(
        endpoint = endpoint.id.0,
        by = admin.0.user.id,
        "webhook endpoint created"
    );
    Ok(HttpResponse::Created().json(EndpointView::of(endpoint, true)))
}

/// `DELETE /api/v1/webhooks/{id}`: the endpoint and its delivery log go.
#[utoipa::path(
    delete, path = "/api/v1/webhooks/{id}", tag = "webhooks",
    summary = "Remove an endpoint and its delivery log (admins)",
    params(("id" = u64, Path, description = "The endpoint's id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "No such endpoint"),
    )
)]
pub async fn delete_webhook(
    state: web::Data<AppState>,
    admin: AdminViewer,
    id: web::Path<EndpointId>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    state.run(move |db| db.delete_endpoint(id)).await?;
    tracing::info!(
        endpoint = id.0,
        by = admin.0.user.id,
        "webhook endpoint deleted"
    );
    Ok(HttpResponse::NoContent().finish())
}
