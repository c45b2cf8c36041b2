//! `POST /api/v1/templates/preview`: the editor's preview of unsaved steps, as JSON.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use utoipa::ToSchema;

use super::parse_body;
use crate::domain::EventKind;
use crate::domain::StoreId;
use crate::domain::deliverability::AskReply;
use crate::domain::deliverability::ask_reply::parse_timeout;
use crate::http::AppState;
use crate::http::auth::Viewer;
use crate::http::error::ApiError;
use crate::http::operations::templates::ask_reply_form::AskReplyForm;
use crate::http::operations::templates::form::{EditorForm, MAX_PARTS, MAX_STEPS, StepForm};
use crate::http::operations::templates::{self as ops};
use crate::render::default_template_for;

/// The JSON preview request: unsaved steps of a store's template.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PreviewInput {
    #[schema(value_type = u64)]
    store_id: StoreId,
    /// An event kind (`boleto.generated`, `pix.generated`, `cart.abandoned`, …) or one of the
    /// merchant's own (`custom.aniversario`).
    kind: String,
    steps: Vec<PreviewStepInput>,
    /// The editor's sample choice; absent: the default sample.
    sample: Option<String>,
    /// "Pedir resposta" as typed; absent: the store's saved setting for the kind (as the editor
    /// opens it). When on, the first step shows the invitation before its parts.
    ask_reply: Option<AskReplyInput>,
}

/// The "Pedir resposta" card of an unsaved template.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AskReplyInput {
    /// Whether the first step opens with the invitation and holds its parts for the answer.
    enabled: bool,
    /// The invitation (template text); absent or blank: the shipped one for the kind.
    invite: Option<String>,
    /// Minutes the parts wait for the answer (1 to 1440); absent: the default (10).
    timeout_min: Option<u32>,
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
        (status = 404, description = "The store does not exist"),
        (status = 422, description = "Unknown kind (a custom kind nobody created included), too many steps or parts, or a wait outside 1 to 1440 minutes"),
    )
)]
pub async fn preview_template(
    state: web::Data<AppState>,
    _viewer: Viewer,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let input: PreviewInput = parse_body(&body)?;
    let unknown_kind = || ApiError::Validation(format!("unknown kind `{}`", input.kind));
    let kind = EventKind::parse_with_custom(&input.kind).ok_or_else(unknown_kind)?;
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
    if let Some(AskReplyInput {
        timeout_min: Some(wait),
        ..
    }) = &input.ask_reply
    {
        parse_timeout(&wait.to_string()).map_err(ApiError::Validation)?;
    }
    let id = input.store_id;
    let (store, stored, custom_exists) = state
        .run(move |db| {
            let custom_exists = match kind.custom() {
                Some(custom) => db.custom_kind(custom)?.is_some(),
                None => true,
            };
            Ok((db.store(id)?, db.template(id, kind)?, custom_exists))
        })
        .await?;
    if !custom_exists {
        return Err(unknown_kind());
    }
    let ask_reply = match input.ask_reply {
        Some(typed) => {
            let ask = AskReply {
                enabled: typed.enabled,
                invite: typed.invite.unwrap_or_default(),
                timeout_min: typed.timeout_min.unwrap_or(AskReply::default().timeout_min),
            };
            AskReplyForm {
                enabled: ask.enabled,
                invite: ask.invite_text(kind).to_owned(),
                wait: ask.timeout_min.to_string(),
            }
        }
        None => AskReplyForm::from_template(
            &stored.unwrap_or_else(|| default_template_for(kind, store.platform)),
        ),
    };
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
        ask_reply,
    };
    let view = ops::preview_template(&state, &store, kind, &form).await?;
    Ok(HttpResponse::Ok().json(view))
}
