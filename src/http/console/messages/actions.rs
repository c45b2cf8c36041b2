//! What people do to one message from the console, every day: cancel it, move it, send it now,
//! or dar baixa on its order. Any logged-in user may (attendants handle buyers' requests); a
//! message that already left is a conflict (409) with a clear sentence, never a silent no-op.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::detail::detail_page;
use crate::db::DbError;
use crate::domain::Message;
use crate::domain::MessageId;
use crate::http::AppState;
use crate::http::auth::{Viewer, redirect};
use crate::http::console::view::{count_flash, parse_local_input};
use crate::http::error::ApiError;
use crate::http::operations::messages::{self as ops, MarkPaidError, due_time};

#[derive(Debug, Default, Deserialize)]
pub struct RescheduleForm {
    #[serde(default)]
    due_at: String,
}

/// Redirects to the message with a flash, or shows why the action could not happen (a message
/// that already left is a 409 on its own page; a missing one is the 404 page).
async fn answer(
    state: &AppState,
    req: &HttpRequest,
    viewer: &Viewer,
    id: MessageId,
    outcome: Result<Message, DbError>,
    flash: &str,
) -> Result<HttpResponse, ApiError> {
    match outcome {
        Ok(_) => Ok(redirect(&format!("/mensagens/{id}?ok={flash}"))),
        Err(DbError::Conflict(_)) => {
            let error = Some("messages.error.not_pending");
            detail_page(state, req, viewer, id, error, StatusCode::CONFLICT).await
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /mensagens/{id}/cancelar`.
pub async fn cancel_message(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    path: web::Path<MessageId>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let outcome = ops::cancel_message(&state, id).await;
    if outcome.is_ok() {
        tracing::info!(message_id = id.0, by = viewer.user.id, "message canceled");
    }
    answer(&state, &req, &viewer, id, outcome, "message_canceled").await
}

/// `POST /mensagens/{id}/reagendar`: a `datetime-local` value, read as Brasília time.
pub async fn reschedule_message(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    path: web::Path<MessageId>,
    form: web::Form<RescheduleForm>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let now = state.clock.now();
    let refused = |key| {
        detail_page(
            &state,
            &req,
            &viewer,
            id,
            Some(key),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
    };
    let Some(due_at) = parse_local_input(&form.due_at) else {
        return refused("messages.error.bad_time").await;
    };
    let Some(due_at) = due_time(due_at, now) else {
        return refused("messages.error.past_time").await;
    };
    let outcome = ops::reschedule_message(&state, id, due_at).await;
    if outcome.is_ok() {
        tracing::info!(
            message_id = id.0,
            by = viewer.user.id,
            due_at,
            "message rescheduled"
        );
    }
    answer(&state, &req, &viewer, id, outcome, "message_rescheduled").await
}

/// `POST /mensagens/{id}/enviar-agora`: due now, first in line for the outbox.
pub async fn send_message_now(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    path: web::Path<MessageId>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let outcome = ops::send_message_now(&state, id).await;
    let mut flash = "message_send_now";
    if let Ok(message) = &outcome {
        tracing::info!(
            message_id = id.0,
            by = viewer.user.id,
            "message sent to the front"
        );
        // Say what happens next as it is: the test inbox, the connected instance, or a wait.
        let store_id = message.store_id;
        let instance = state
            .run(move |db| match db.store(store_id)?.instance_id {
                Some(id) => Ok(Some(db.instance(id)?)),
                None => Ok(None),
            })
            .await?;
        let connected = instance
            .as_ref()
            .is_some_and(|i| state.channels.state(i.id).is_connected());
        let test_instance = instance
            .as_ref()
            .is_some_and(|i| i.mode == crate::domain::InstanceMode::Sandbox);
        flash = if message.test {
            "message_send_now_test"
        } else if test_instance {
            "message_send_now_test_instance"
        } else if connected {
            "message_send_now"
        } else {
            "message_send_now_waiting"
        };
    }
    answer(&state, &req, &viewer, id, outcome, flash).await
}

/// `POST /mensagens/{id}/dar-baixa`: the order is paid; its pending reminders stop.
pub async fn mark_order_paid(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    path: web::Path<MessageId>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    match ops::mark_message_order_paid(&state, id).await {
        Ok((message, canceled)) => {
            tracing::info!(
                message_id = id.0,
                store_id = message.store_id.0,
                canceled,
                by = viewer.user.id,
                "order marked paid"
            );
            let flash = count_flash("marked_paid", canceled);
            Ok(redirect(&format!("/mensagens/{id}?ok={flash}")))
        }
        Err(MarkPaidError::Db(e)) => Err(e.into()),
        Err(MarkPaidError::NoOrder) => {
            let error = Some("messages.error.no_order");
            detail_page(
                &state,
                &req,
                &viewer,
                id,
                error,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}
