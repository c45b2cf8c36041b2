//! Messages through the JSON API (`/api/v1/messages`, `/api/v1/orders/mark-paid`): the same
//! filters as the Mensagens page and the same actions, for any logged-in user or API token; and
//! the send API (`POST /api/v1/messages`).

use std::collections::HashMap;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::parse_body;
use crate::db::DbError;
use crate::domain::{EventId, InstanceId, MessageId, StoreId};
use crate::domain::{EventKind, MessageStatus};
use crate::domain::{Message, StatusChange};
use crate::http::AppState;
use crate::http::auth::Viewer;
use crate::http::error::ApiError;
use crate::http::operations::api_send::{self, SendRefusal, SendRequest, Target};
use crate::http::operations::messages::{
    self as ops, MessagesQuery, due_time, page_of_messages, store_names, with_store,
};
use crate::queue::IntakeError;

/// A message as the API shows it. The phone is the full E.164 number: integrations need it.
#[derive(Serialize, ToSchema)]
pub struct MessageView<'a> {
    #[schema(value_type = u64)]
    id: MessageId,
    #[schema(value_type = u64)]
    store_id: StoreId,
    /// Absent when the store was deleted.
    store_name: Option<&'a str>,
    #[schema(value_type = u64)]
    event_id: EventId,
    /// The event kind it answers (`boleto.generated`, …; `api.message` for the send API).
    #[schema(value_type = String)]
    kind: EventKind,
    step: u32,
    part: u32,
    order_id: Option<&'a str>,
    phone: &'a str,
    buyer_name: Option<&'a str>,
    text: &'a str,
    /// Unix seconds.
    due_at: i64,
    /// `scheduled`, `sending`, `sent`, `delivered`, `read`, `failed`, `canceled`, …
    #[schema(value_type = String)]
    status: MessageStatus,
    reason: Option<&'a str>,
    test: bool,
    created_at: i64,
    /// Every status change, oldest first.
    #[schema(value_type = Vec<Object>)]
    history: &'a [StatusChange],
}

/// `GET /api/v1/messages`.
#[derive(Serialize, ToSchema)]
pub struct MessageList<'a> {
    messages: Vec<MessageView<'a>>,
    /// The `before_id` of the next page; null on the last.
    #[schema(value_type = Option<u64>)]
    next_before: Option<MessageId>,
}

/// One message.
#[derive(Serialize, ToSchema)]
pub struct MessageOne<'a> {
    message: MessageView<'a>,
}

/// `POST /api/v1/messages`: the queued message.
#[derive(Serialize, ToSchema)]
pub struct SendAnswer<'a> {
    message: MessageView<'a>,
    /// `/api/v1/messages/{id}`.
    status_url: String,
    /// This idempotency key was seen before: this is the first request's message.
    replayed: bool,
}

fn message_view<'a>(m: &'a Message, names: &'a HashMap<StoreId, String>) -> MessageView<'a> {
    MessageView {
        id: m.id,
        store_id: m.store_id,
        store_name: names.get(&m.store_id).map(String::as_str),
        event_id: m.event_id,
        kind: m.kind,
        step: m.step,
        part: m.part,
        order_id: m.order_id.as_deref(),
        phone: &m.phone,
        buyer_name: m.buyer_name.as_deref(),
        text: &m.text,
        due_at: m.due_at,
        status: m.status,
        reason: m.reason(),
        test: m.test,
        created_at: m.created_at,
        history: &m.history,
    }
}

/// A message with its store's name (none when the store was deleted).
async fn with_names(state: &AppState, record: Message) -> Result<HttpResponse, DbError> {
    let (record, store) = state.run(move |db| with_store(db, record)).await?;
    let names: HashMap<StoreId, String> = store.into_iter().map(|s| (s.id, s.name)).collect();
    Ok(HttpResponse::Ok().json(MessageOne {
        message: message_view(&record, &names),
    }))
}

/// `GET /api/v1/messages`: `store`, `phone`, `status`, `view` (`fila`/`historico`),
/// `before_id`, `limit`; `next_before` pages back in time.
#[utoipa::path(
    get, path = "/api/v1/messages", tag = "messages",
    summary = "List messages, newest first, with the Mensagens filters",
    params(MessagesQuery),
    responses(
        (status = 200, description = "A page of messages", body = MessageList),
        (status = 422, description = "A filter is not valid"),
    )
)]
pub async fn list_messages(
    state: web::Data<AppState>,
    _viewer: Viewer,
    query: web::Query<MessagesQuery>,
) -> Result<HttpResponse, ApiError> {
    let parsed = query.parse()?;
    let (page, more, stores) = state
        .run(move |db| {
            let (page, more) = page_of_messages(db, &parsed)?;
            Ok((page, more, db.list_stores()?))
        })
        .await?;
    let names = store_names(&stores);
    let views: Vec<MessageView> = page.iter().map(|m| message_view(m, &names)).collect();
    let next_before = more.then(|| page.last().map(|m| m.id)).flatten();
    Ok(HttpResponse::Ok().json(MessageList {
        messages: views,
        next_before,
    }))
}

/// `GET /api/v1/messages/{id}`.
#[utoipa::path(
    get, path = "/api/v1/messages/{id}", tag = "messages",
    summary = "Read one message with its status history",
    params(("id" = u64, Path, description = "The message's id")),
    responses(
        (status = 200, description = "The message", body = MessageOne),
        (status = 404, description = "No such message"),
    )
)]
pub async fn show_message(
    state: web::Data<AppState>,
    _viewer: Viewer,
    path: web::Path<MessageId>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let record = state.run(move |db| db.message(id)).await?;
    Ok(with_names(&state, record).await?)
}

/// `POST /api/v1/messages/{id}/cancel`: 409 when it already left.
#[utoipa::path(
    post, path = "/api/v1/messages/{id}/cancel", tag = "messages",
    summary = "Cancel a message that has not left yet",
    params(("id" = u64, Path, description = "The message's id")),
    responses(
        (status = 200, description = "The canceled message", body = MessageOne),
        (status = 404, description = "No such message"),
        (status = 409, description = "It already left"),
    )
)]
pub async fn cancel_message(
    state: web::Data<AppState>,
    viewer: Viewer,
    path: web::Path<MessageId>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let record = ops::cancel_message(&state, id).await?;
    tracing::info!(
        message_id = id.0,
        by = viewer.user.id,
        "message canceled (API)"
    );
    Ok(with_names(&state, record).await?)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RescheduleInput {
    /// Unix seconds; now (or a minute ago) sends it at once.
    due_at: i64,
}

/// `POST /api/v1/messages/{id}/reschedule` with `{"due_at": unix}`.
#[utoipa::path(
    post, path = "/api/v1/messages/{id}/reschedule", tag = "messages",
    summary = "Move a message that has not left yet to another time",
    params(("id" = u64, Path, description = "The message's id")),
    request_body = RescheduleInput,
    responses(
        (status = 200, description = "The rescheduled message", body = MessageOne),
        (status = 404, description = "No such message"),
        (status = 409, description = "It already left"),
        (status = 422, description = "`due_at` is in the past"),
    )
)]
pub async fn reschedule_message(
    state: web::Data<AppState>,
    viewer: Viewer,
    path: web::Path<MessageId>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let input: RescheduleInput = parse_body(&body)?;
    let Some(due_at) = due_time(input.due_at, state.clock.now()) else {
        return Err(ApiError::Validation(
            "due_at is in the past; use the current time to send now".into(),
        ));
    };
    let id = path.into_inner();
    let record = ops::reschedule_message(&state, id, due_at).await?;
    tracing::info!(
        message_id = id.0,
        by = viewer.user.id,
        due_at,
        "message rescheduled (API)"
    );
    Ok(with_names(&state, record).await?)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MarkPaidInput {
    #[schema(value_type = u64)]
    store_id: StoreId,
    order_id: String,
}

/// `POST /api/v1/orders/mark-paid` with `{"store_id", "order_id"}`: dar baixa; answers how many
/// pending reminders were canceled.
#[utoipa::path(
    post, path = "/api/v1/orders/mark-paid", tag = "messages",
    summary = "Dar baixa: an order was paid; cancel its pending reminders",
    request_body = MarkPaidInput,
    responses(
        (status = 200, description = "`store_id`, `order_id` and `canceled`: how many reminders were canceled", body = Object),
        (status = 422, description = "`order_id` is empty"),
    )
)]
pub async fn mark_order_paid(
    state: web::Data<AppState>,
    viewer: Viewer,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let input: MarkPaidInput = parse_body(&body)?;
    let order_id = input.order_id.trim().to_owned();
    if order_id.is_empty() {
        return Err(ApiError::Validation("order_id is empty".into()));
    }
    let store_id = input.store_id;
    let canceled = ops::mark_order_paid(&state, store_id, order_id.clone()).await?;
    tracing::info!(
        store_id = store_id.0,
        canceled,
        by = viewer.user.id,
        "order marked paid (API)"
    );
    Ok(HttpResponse::Ok().json(json!({
        "store_id": store_id,
        "order_id": order_id,
        "canceled": canceled,
    })))
}

/// `POST /api/v1/messages`: the body of a send request. Exactly one of `store_id` and
/// `instance_id`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendInput {
    /// Send through this store's instance, with its caps and quiet hours.
    #[serde(default)]
    #[schema(value_type = Option<u64>)]
    store_id: Option<StoreId>,
    /// Send through this instance directly.
    #[serde(default)]
    #[schema(value_type = Option<u64>)]
    instance_id: Option<InstanceId>,
    /// The buyer's phone, as people type it (normalised to E.164).
    to: String,
    /// The buyer's name, shown in the console.
    #[serde(default)]
    name: Option<String>,
    /// The message, sent as written. Or `kind` + `vars` instead.
    #[serde(default)]
    text: Option<String>,
    /// A custom kind (`custom.<name>`): its template is sent, with `vars` in it.
    #[serde(default)]
    kind: Option<String>,
    /// The custom kind's variables, `{"name": "value"}`.
    #[serde(default)]
    vars: Option<serde_json::Value>,
    /// The lead's e-mail (`customer.email` in the template).
    #[serde(default)]
    email: Option<String>,
    /// Unix seconds; absent or past: as soon as pacing allows.
    #[serde(default)]
    due_at: Option<i64>,
    /// The same key again answers the first request's message; the `Idempotency-Key` header
    /// may carry it instead.
    #[serde(default)]
    idempotency_key: Option<String>,
}

/// `POST /api/v1/messages`: queues one message through the outbox (the same opt-out, buyer cap,
/// quiet hours, pacing and 48 h expiry as planned ones). 202 with the message and its status
/// URL; a replayed idempotency key answers the first request's message (header
/// `Idempotent-Replayed: true`).
#[utoipa::path(
    post, path = "/api/v1/messages", tag = "messages",
    summary = "Send a message (queued through the outbox)",
    params(("Idempotency-Key" = Option<String>, Header, description = "The same key again answers the first request's message")),
    request_body = SendInput,
    responses(
        (status = 202, description = "Queued; `Location` is its status URL", body = SendAnswer),
        (status = 409, description = "The store is switched off, or the key was used for another buyer or text"),
        (status = 422, description = "A field is not valid"),
        (status = 503, description = "Busy or out of disk: try again later"),
    )
)]
pub async fn send_message(
    state: web::Data<AppState>,
    viewer: Viewer,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let input: SendInput = parse_body(&body)?;
    let header_key = req
        .headers()
        .get("idempotency-key")
        .map(|v| {
            v.to_str()
                .map(str::to_owned)
                .map_err(|_| ApiError::Validation("Idempotency-Key is not ASCII".into()))
        })
        .transpose()?;
    let idempotency_key = match (header_key, input.idempotency_key) {
        (Some(h), Some(b)) if h != b => {
            return Err(ApiError::Validation(
                "the Idempotency-Key header and idempotency_key differ".into(),
            ));
        }
        (h, b) => h.or(b),
    };
    let target = match (input.store_id, input.instance_id) {
        (Some(store), None) => Target::Store(store),
        (None, Some(instance)) => Target::Instance(instance),
        _ => {
            return Err(ApiError::Validation(
                "give exactly one of store_id and instance_id".into(),
            ));
        }
    };
    let kind = match input.kind.as_deref() {
        None => None,
        Some(name) => Some(
            EventKind::parse_with_custom(name.trim())
                .ok_or_else(|| ApiError::Validation(format!("unknown kind `{name}`")))?,
        ),
    };
    let vars = match input.vars {
        None => Default::default(),
        Some(vars) => {
            crate::ingest::read_vars(&json!({ "vars": vars })).map_err(ApiError::Validation)?
        }
    };
    let request = SendRequest {
        target,
        to: input.to,
        name: input.name,
        text: input.text.unwrap_or_default(),
        kind,
        vars,
        email: input.email,
        due_at: input.due_at,
        idempotency_key,
        body: body.to_vec(),
    };
    let queued = match api_send::send_message(&state, viewer.user.id, request).await {
        Ok(queued) => queued,
        Err(SendRefusal::Invalid(why)) => return Err(ApiError::Validation(why)),
        Err(SendRefusal::StoreDisabled) => {
            return Err(ApiError::Db(DbError::Conflict(
                "the store is switched off: it sends nothing".into(),
            )));
        }
        Err(SendRefusal::TemplateOff(kind)) => {
            return Err(ApiError::Db(DbError::Conflict(format!(
                "the store's template for {kind} is off: write it and switch it on in Templates"
            ))));
        }
        Err(SendRefusal::KeyReused) => {
            return Err(ApiError::Db(DbError::Conflict(
                "this idempotency key was used for another buyer or text".into(),
            )));
        }
        Err(SendRefusal::Intake(e)) => return Err(intake_error(e)),
        Err(SendRefusal::Db(e)) => return Err(e.into()),
    };
    let id = queued.message.id;
    tracing::info!(
        message_id = id.0,
        by = viewer.user.id,
        replayed = queued.replayed,
        "message queued (send API)"
    );
    let (record, store) = state.run(move |db| with_store(db, queued.message)).await?;
    let names: HashMap<StoreId, String> = store.into_iter().map(|s| (s.id, s.name)).collect();
    let status_url = format!("/api/v1/messages/{id}");
    let mut answer = HttpResponse::Accepted();
    answer.insert_header((header::LOCATION, status_url.clone()));
    if queued.replayed {
        answer.insert_header(("Idempotent-Replayed", "true"));
    }
    Ok(answer.json(SendAnswer {
        message: message_view(&record, &names),
        status_url,
        replayed: queued.replayed,
    }))
}

/// The intake's refusals as the webhook door answers them: temporary ones are 503s.
fn intake_error(e: IntakeError) -> ApiError {
    match e {
        IntakeError::Full => ApiError::Busy,
        IntakeError::DiskFull => ApiError::Db(DbError::DiskFull),
        IntakeError::Unavailable | IntakeError::Closed => ApiError::Db(DbError::Unavailable),
        IntakeError::Db(e) => ApiError::Internal(e),
    }
}
