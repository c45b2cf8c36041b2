//! `POST /api/v1/templates/preview`: the editor's preview of unsaved steps, as JSON.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use utoipa::ToSchema;

use super::parse_body;
use crate::domain::EventKind;
use crate::domain::StoreId;
use crate::http::AppState;
use crate::http::auth::Viewer;
use crate::http::error::ApiError;
use crate::http::operations::templates::form::{EditorForm, MAX_PARTS, MAX_STEPS, StepForm};
use crate::http::operations::templates::{self as ops};

/// The JSON preview request: unsaved steps of a store's template.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PreviewInput {
    #[schema(value_type = u64)]
    store_id: StoreId,
    /// An event kind (`boleto.generated`, `pix.generated`, `cart.abandoned`, …).
    kind: String,
    steps: Vec<PreviewStepInput>,
    /// The editor's sample choice; absent: the default sample.
    sample: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PreviewStepInput {
    /// How long after the event, as the template editor writes it.
    delay: String,
    /// The step's message parts (template text).
    parts: Vec<String>,
}

/// `POST /api/v1/templates/preview`: the same preview as the editor's, as JSON.
#[utoipa::path(
    post, path = "/api/v1/templates/preview", tag = "templates",
    summary = "Preview unsaved template steps with sample data",
    request_body = PreviewInput,
    responses(
        (status = 200, description = "Each step's rendered parts, or the error in pt-BR", body = Object),
        (status = 422, description = "Unknown kind, or too many steps or parts"),
    )
)]
pub async fn preview_template(
    state: web::Data<AppState>,
    _viewer: Viewer,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let input: PreviewInput = parse_body(&body)?;
    let kind = EventKind::parse(&input.kind)
        .ok_or_else(|| ApiError::Validation(format!("unknown kind `{}`", input.kind)))?;
    if input.steps.is_empty() || input.steps.len() > MAX_STEPS {
        return Err(ApiError::Validation(format!(
            "a template has 1 to {MAX_STEPS} steps"
        )));
    }
    if input.steps.iter().any(|s| s.parts.len() > MAX_PARTS) {
        return Err(ApiError::Validation(format!(
            "a step has at most {MAX_PARTS} parts"
        )));
    }
    let id = input.store_id;
    let store = state.run(move |db| db.store(id)).await?;
    let form = EditorForm {
        enabled: true,
        steps: input
            .steps
            .into_iter()
            .map(|s| StepForm {
                delay: s.delay,
                parts: s.parts,
            })
            .collect(),
        sample: input.sample,
        ask_reply: Default::default(),
    };
    let view = ops::preview_template(&state, &store, kind, &form).await?;
    Ok(HttpResponse::Ok().json(view))
}
