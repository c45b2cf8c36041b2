//! What people do to one message from the console, every day: cancel it, move it, send it now,
//! or dar baixa on its order. Any logged-in user may (attendants handle buyers' requests); a
//! message that already left is a conflict (409) with a clear sentence, never a silent no-op.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::messages::{detail_page, missing, parse_local_input};
use crate::db::{Db, DbError};
use crate::domain::Message;
use crate::domain::message::cancel_reason;
use crate::http::AppState;
use crate::http::auth::{Viewer, redirect};
use crate::http::error::{ApiError, blocking};

/// How far in the past a new due time may be: a time picked in the current minute is "now".
pub(super) const PAST_SLACK_SECONDS: i64 = 60;

#[derive(Debug, Default, Deserialize)]
pub struct RescheduleForm {
    #[serde(default)]
    due_at: String,
}

/// What a storage action on one message came to, for the page handlers.
enum Outcome<T> {
    Done(T),
    Missing,
    /// The message is no longer pending (sent, canceled, …).
    NotPending,
}

async fn attempt<T, F>(f: F) -> Result<Outcome<T>, ApiError>
where
    F: FnOnce() -> Result<T, DbError> + Send + 'static,
    T: Send + 'static,
{
    match blocking(f).await {
        Ok(value) => Ok(Outcome::Done(value)),
        Err(ApiError::Db(DbError::NotFound)) => Ok(Outcome::Missing),
        Err(ApiError::Db(DbError::Conflict(_))) => Ok(Outcome::NotPending),
        Err(e) => Err(e),
    }
}

/// Redirects to the message with a flash, or shows why the action could not happen.
async fn answer<T>(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    viewer: &Viewer,
    id: u64,
    outcome: Outcome<T>,
    flash: &str,
) -> Result<HttpResponse, ApiError> {
    match outcome {
        Outcome::Done(_) => Ok(redirect(&format!("/mensagens/{id}?ok={flash}"))),
        Outcome::Missing => missing(state, req, viewer).await,
        Outcome::NotPending => {
            let error = Some("messages.error.not_pending");
            detail_page(state, req, viewer, id, error, StatusCode::CONFLICT).await
        }
    }
}

/// `POST /mensagens/{id}/cancelar`.
pub async fn cancel_message(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    path: web::Path<u64>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let db = state.db.clone();
    let now = state.clock.now();
    let outcome = attempt(move || db.cancel_message(id, cancel_reason::BY_USER, now)).await?;
    if matches!(outcome, Outcome::Done(_)) {
        tracing::info!(message_id = id, by = viewer.user.id, "message canceled");
    }
    answer(&state, &req, &viewer, id, outcome, "message_canceled").await
}

/// `POST /mensagens/{id}/reagendar`: a `datetime-local` value, read as Brasília time.
pub async fn reschedule_message(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    path: web::Path<u64>,
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
    if due_at < now - PAST_SLACK_SECONDS {
        return refused("messages.error.past_time").await;
    }
    let db = state.db.clone();
    let outcome = attempt(move || db.reschedule_message(id, due_at.max(now), now)).await?;
    state.outbox_wake.notify_one();
    if matches!(outcome, Outcome::Done(_)) {
        tracing::info!(
            message_id = id,
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
    path: web::Path<u64>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let db = state.db.clone();
    let now = state.clock.now();
    let outcome = attempt(move || db.reschedule_message(id, now, now)).await?;
    state.outbox_wake.notify_one();
    if matches!(outcome, Outcome::Done(_)) {
        tracing::info!(
            message_id = id,
            by = viewer.user.id,
            "message sent to the front"
        );
    }
    answer(&state, &req, &viewer, id, outcome, "message_send_now").await
}

/// Why dar baixa from a message could not run.
#[derive(Debug)]
pub(super) enum MarkPaidError {
    /// The message carries no order id (carts without a number, some platforms).
    NoOrder,
    Db(DbError),
}

/// Dar baixa on the order of message `id`; returns the message and how many reminders stopped.
pub(super) fn mark_paid_from_message(
    db: &Db,
    id: u64,
    now: i64,
) -> Result<(Message, usize), MarkPaidError> {
    let message = db.message(id).map_err(MarkPaidError::Db)?;
    let Some(order_id) = message.order_id.clone() else {
        return Err(MarkPaidError::NoOrder);
    };
    let canceled = db
        .mark_order_paid(message.store_id, &order_id, now)
        .map_err(MarkPaidError::Db)?;
    Ok((message, canceled))
}

/// The flash for "N lembretes cancelados", with the count in the query.
pub(super) fn count_flash(base: &str, n: usize) -> String {
    let which = match n {
        0 => "none",
        1 => "one",
        _ => "many",
    };
    format!("{base}_{which}&n={n}")
}

/// `POST /mensagens/{id}/dar-baixa`: the order is paid; its pending reminders stop.
pub async fn mark_order_paid(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    path: web::Path<u64>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let db = state.db.clone();
    let now = state.clock.now();
    let outcome = web::block(move || mark_paid_from_message(&db, id, now)).await?;
    match outcome {
        Ok((message, canceled)) => {
            tracing::info!(
                message_id = id,
                store_id = message.store_id,
                canceled,
                by = viewer.user.id,
                "order marked paid"
            );
            let flash = count_flash("marked_paid", canceled);
            Ok(redirect(&format!("/mensagens/{id}?ok={flash}")))
        }
        Err(MarkPaidError::Db(DbError::NotFound)) => missing(&state, &req, &viewer).await,
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
