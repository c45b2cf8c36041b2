//! Instances through the JSON API (`/api/v1/instances`): list, create, read, change, delete,
//! link a store. The rules and actions are `operations::instances`; this file reads `*Input`
//! bodies and answers `InstanceView`s.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::parse_body;
use crate::domain::InstanceMode;
use crate::domain::planning::QuietHours;
use crate::domain::{InstanceId, StoreId};
use crate::http::AppState;
use crate::http::auth::{AdminViewer, Viewer};
use crate::http::error::ApiError;
use crate::http::operations::instances::rules::{
    InstanceChange, InstanceInvalid, check_name, parse_hhmm,
};
use crate::http::operations::instances::{self as ops, InstanceView, load_view};

/// Every refusal of one form or body, as one API error (English catalog text).
fn api_error(state: &AppState, errors: &[InstanceInvalid]) -> ApiError {
    let texts: Vec<String> = errors
        .iter()
        .map(|e| state.ui.text("en", e.key()))
        .collect();
    ApiError::Validation(texts.join(" "))
}

/// `POST /api/v1/instances`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewInstanceInput {
    #[serde(default)]
    pub name: String,
    /// `whatsapp` (the merchant's number, paired by QR code) or `sandbox` (nothing leaves).
    #[schema(value_type = String)]
    pub mode: InstanceMode,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuietHoursInput {
    /// `HH:MM`, Brasília time.
    pub start: String,
    /// `HH:MM`, Brasília time; equal to `start`: no quiet hours.
    pub end: String,
}

/// `PATCH /api/v1/instances/{id}`: absent fields stay as they are.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InstanceChangeInput {
    pub name: Option<String>,
    #[schema(value_type = Option<String>)]
    pub mode: Option<InstanceMode>,
    /// Seconds between two sends.
    pub interval_s: Option<u64>,
    pub jitter_pct: Option<u64>,
    /// Sends per Brasília day; 0: no limit.
    pub daily_limit: Option<u64>,
    pub quiet_hours: Option<QuietHoursInput>,
    pub typing_seconds: Option<u64>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkStoreInput {
    #[schema(value_type = u64)]
    pub store_id: StoreId,
}

/// `GET /api/v1/instances`.
#[derive(Serialize, ToSchema)]
pub struct InstanceList {
    pub instances: Vec<InstanceView>,
}

/// `GET /api/v1/instances`.
#[utoipa::path(
    get, path = "/api/v1/instances", tag = "instances",
    summary = "List the instances with their state, counters and queue",
    responses((status = 200, description = "Every instance", body = InstanceList))
)]
pub async fn list_instances(
    state: web::Data<AppState>,
    _viewer: Viewer,
) -> Result<HttpResponse, ApiError> {
    let (views, _) = ops::load_views(&state).await?;
    Ok(HttpResponse::Ok().json(InstanceList { instances: views }))
}

/// `POST /api/v1/instances`.
#[utoipa::path(
    post, path = "/api/v1/instances", tag = "instances",
    summary = "Create an instance (admins)",
    request_body = NewInstanceInput,
    responses(
        (status = 201, description = "The new instance", body = InstanceView),
        (status = 422, description = "The name is not valid"),
    )
)]
pub async fn create_instance(
    state: web::Data<AppState>,
    admin: AdminViewer,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let input: NewInstanceInput = parse_body(&body)?;
    let name = check_name(&input.name).map_err(|e| api_error(&state, &[e]))?;
    let record = ops::create_instance(&state, name, input.mode).await?;
    tracing::info!(
        instance_id = record.id.0,
        by = admin.0.user.id,
        "instance created"
    );
    let (view, _) = load_view(&state, record.id, false).await?;
    Ok(HttpResponse::Created().json(view))
}

/// `GET /api/v1/instances/{id}`.
#[utoipa::path(
    get, path = "/api/v1/instances/{id}", tag = "instances",
    summary = "Read one instance",
    params(("id" = u64, Path, description = "The instance's id")),
    responses(
        (status = 200, description = "The instance", body = InstanceView),
        (status = 404, description = "No such instance"),
    )
)]
pub async fn show_instance(
    state: web::Data<AppState>,
    _viewer: Viewer,
    id: web::Path<InstanceId>,
) -> Result<HttpResponse, ApiError> {
    let (view, _) = load_view(&state, id.into_inner(), false).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// `PATCH /api/v1/instances/{id}`.
#[utoipa::path(
    patch, path = "/api/v1/instances/{id}", tag = "instances",
    summary = "Change an instance's settings (admins); absent fields stay",
    params(("id" = u64, Path, description = "The instance's id")),
    request_body = InstanceChangeInput,
    responses(
        (status = 200, description = "The changed instance", body = InstanceView),
        (status = 404, description = "No such instance"),
        (status = 422, description = "A setting is out of range"),
    )
)]
pub async fn update_instance(
    state: web::Data<AppState>,
    admin: AdminViewer,
    id: web::Path<InstanceId>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let input: InstanceChangeInput = parse_body(&body)?;
    let id = id.into_inner();
    let quiet_hours = match input.quiet_hours {
        None => None,
        Some(q) => match (parse_hhmm(&q.start), parse_hhmm(&q.end)) {
            (Some(start_min), Some(end_min)) => Some(QuietHours { start_min, end_min }),
            _ => return Err(api_error(&state, &[InstanceInvalid::QuietHours])),
        },
    };
    let change = InstanceChange {
        name: input.name,
        mode: input.mode,
        interval_s: input.interval_s,
        jitter_pct: input.jitter_pct,
        daily_limit: input.daily_limit,
        quiet_hours,
        typing_seconds: input.typing_seconds,
    }
    .check()
    .map_err(|errors| api_error(&state, &errors))?;
    ops::save_instance(&state, id, change).await?;
    tracing::info!(instance_id = id.0, by = admin.0.user.id, "instance updated");
    let (view, _) = load_view(&state, id, false).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// `DELETE /api/v1/instances/{id}`: its stores are unlinked; their messages wait.
#[utoipa::path(
    delete, path = "/api/v1/instances/{id}", tag = "instances",
    summary = "Delete an instance (admins); its stores are unlinked, their messages wait",
    params(("id" = u64, Path, description = "The instance's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such instance"),
    )
)]
pub async fn delete_instance(
    state: web::Data<AppState>,
    admin: AdminViewer,
    id: web::Path<InstanceId>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    ops::delete_instance(&state, id).await?;
    tracing::info!(instance_id = id.0, by = admin.0.user.id, "instance deleted");
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /api/v1/instances/{id}/stores`: `{"store_id": N}` sends that store through it.
#[utoipa::path(
    post, path = "/api/v1/instances/{id}/stores", tag = "instances",
    summary = "Send a store's messages through this instance (admins)",
    params(("id" = u64, Path, description = "The instance's id")),
    request_body = LinkStoreInput,
    responses(
        (status = 200, description = "The instance with the store linked", body = InstanceView),
        (status = 404, description = "No such instance"),
    )
)]
pub async fn link_store(
    state: web::Data<AppState>,
    admin: AdminViewer,
    id: web::Path<InstanceId>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let input: LinkStoreInput = parse_body(&body)?;
    let id = id.into_inner();
    ops::link_store(&state, id, input.store_id).await?;
    tracing::info!(
        instance_id = id.0,
        store_id = input.store_id.0,
        by = admin.0.user.id,
        "store linked"
    );
    let (view, _) = load_view(&state, id, false).await?;
    Ok(HttpResponse::Ok().json(view))
}
