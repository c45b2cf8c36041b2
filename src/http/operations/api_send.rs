//! The send API's work (`POST /api/v1/messages`): a request becomes an `api.send` event of its
//! store, recorded through the intake exactly like a webhook, so planning applies the same rules
//! (opt-out, buyer cap, quiet hours, test mode) and the outbox sends it like any message (pacing,
//! 48 h expiry, retries). The idempotency key is the event's dedup key: a replay finds the first
//! request's event and answers its message. No actix types.
//!
//! Instead of a text, a request may name a custom kind with its variables (`kind + vars`): the
//! event is then that kind's, and planning sends the store's template for it, every step, like
//! a custom event posted through the `api` platform.

use std::collections::BTreeMap;

use crate::db::{Db, DbError, Delivery, MessageFilter, RawDelivery, Recorded};
use crate::domain::{Event, EventKind, InstanceId, Message, Phone, Platform, StoreId};
use crate::http::AppState;
use crate::ingest::{Reading, Status};
use crate::queue::IntakeError;

/// Where the message goes out from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Store(StoreId),
    /// The instance's first linked store (lowest id) owns the message.
    Instance(InstanceId),
}

/// One send request, as the handler read it.
#[derive(Clone, Debug)]
pub struct SendRequest {
    pub target: Target,
    pub to: String,
    pub name: Option<String>,
    /// The text to send as written; empty when `kind` is given.
    pub text: String,
    /// A custom kind whose template is sent instead of a text, with its variables.
    pub kind: Option<EventKind>,
    pub vars: BTreeMap<String, String>,
    /// The lead's e-mail (`customer.email` in a custom kind's template).
    pub email: Option<String>,
    /// Unix seconds; absent or past: at once.
    pub due_at: Option<i64>,
    pub idempotency_key: Option<String>,
    /// The request body as received, kept as the event's raw body.
    pub body: Vec<u8>,
}

/// Why a send request was not queued. Nothing was stored in any of these cases.
#[derive(Debug)]
pub enum SendRefusal {
    /// The request itself is wrong (422), with what to fix.
    Invalid(String),
    /// The store is switched off: it plans no messages (409).
    StoreDisabled,
    /// The idempotency key was used before for another buyer or another text (409).
    KeyReused,
    /// The store's template for the custom kind is off (or was never written): nothing would
    /// be sent (409).
    TemplateOff(EventKind),
    Intake(IntakeError),
    Db(DbError),
}

impl From<DbError> for SendRefusal {
    fn from(e: DbError) -> Self {
        SendRefusal::Db(e)
    }
}

/// The queued message and whether this request was a replay of an earlier one.
#[derive(Clone, Debug)]
pub struct Queued {
    pub message: Message,
    pub replayed: bool,
}

/// The longest idempotency key accepted.
pub const MAX_KEY_LEN: usize = 255;

/// The checks that need nothing stored: the phone, the text, the key. Returns the phone.
pub fn check(request: &SendRequest) -> Result<Phone, String> {
    let phone = Phone::parse(&request.to).map_err(|e| format!("to: {e}"))?;
    match request.kind {
        Some(kind) if kind.custom().is_none() => {
            return Err(format!(
                "kind `{kind}` is not a custom kind (custom.<name>): platform kinds come from \
                 their events"
            ));
        }
        Some(_) if !request.text.trim().is_empty() => {
            return Err("give text, or kind with vars, not both".into());
        }
        Some(_) => {}
        None if !request.vars.is_empty() => return Err("vars go with a kind".into()),
        None if request.text.trim().is_empty() => return Err("text is empty".into()),
        None => {}
    }
    if request.text.len() > crate::render::MAX_OUTPUT_BYTES {
        return Err(format!(
            "text is longer than {} bytes",
            crate::render::MAX_OUTPUT_BYTES
        ));
    }
    if let Some(key) = &request.idempotency_key {
        let printable = key.chars().all(|c| c.is_ascii_graphic());
        if key.is_empty() || key.len() > MAX_KEY_LEN || !printable {
            return Err(format!(
                "idempotency_key must be 1 to {MAX_KEY_LEN} printable ASCII characters"
            ));
        }
    }
    Ok(phone)
}

/// The `api.send` event a request becomes. The dedup key scopes the idempotency key to the
/// user who sent it, so two integrations cannot collide.
pub fn event_of(request: &SendRequest, phone: Phone, user_id: u64) -> Event {
    let kind = request.kind.unwrap_or(EventKind::ApiSend);
    let mut event = Event {
        platform: Platform::Api.id().to_owned(),
        kind: Some(kind),
        platform_event: kind.as_str().to_owned(),
        event_id: request.idempotency_key.clone(),
        text: request
            .kind
            .is_none()
            .then(|| request.text.trim().to_owned()),
        send_at: request.due_at,
        vars: request.vars.clone(),
        ..Event::default()
    };
    event.customer.email = request
        .email
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(str::to_owned);
    event.customer.phone = Some(phone);
    event.customer.name = request
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned);
    event.customer.first_name = event
        .customer
        .name
        .as_deref()
        .and_then(crate::domain::event::first_name);
    if let Some(key) = &request.idempotency_key {
        event.dedup_key = format!("api.send:{user_id}:{key}");
    }
    event
}

/// The store a target names, which must exist and be switched on; for a custom kind, the kind
/// must exist and the store's template for it be on.
fn store_of(db: &Db, target: Target, kind: Option<EventKind>) -> Result<StoreId, SendRefusal> {
    let store_id = enabled_store(db, target)?;
    if let Some(kind) = kind {
        let custom = kind
            .custom()
            .expect("check() lets only custom kinds through");
        if db.custom_kind(custom)?.is_none() {
            return Err(SendRefusal::Invalid(format!(
                "kind `{kind}` does not exist: create it in Templates → Eventos personalizados"
            )));
        }
        if !db.template(store_id, kind)?.is_some_and(|t| t.enabled) {
            return Err(SendRefusal::TemplateOff(kind));
        }
    }
    Ok(store_id)
}

/// The store a target names, which must exist and be switched on.
fn enabled_store(db: &Db, target: Target) -> Result<StoreId, SendRefusal> {
    let store = match target {
        Target::Store(id) => match db.store(id) {
            Ok(store) => store,
            Err(DbError::NotFound) => {
                return Err(SendRefusal::Invalid(format!("store {id} does not exist")));
            }
            Err(e) => return Err(e.into()),
        },
        Target::Instance(id) => {
            db.instance(id).map_err(|e| match e {
                DbError::NotFound => SendRefusal::Invalid(format!("instance {id} does not exist")),
                e => SendRefusal::Db(e),
            })?;
            let mut linked: Vec<_> = db
                .list_stores()?
                .into_iter()
                .filter(|s| s.instance_id == Some(id))
                .collect();
            linked.sort_by_key(|s| s.id);
            linked
                .into_iter()
                .next()
                .ok_or_else(|| SendRefusal::Invalid(format!("instance {id} has no linked store")))?
        }
    };
    if !store.enabled {
        return Err(SendRefusal::StoreDisabled);
    }
    Ok(store.id)
}

/// The message an `api.send` event planned (one part, one step). `asked` is the event of a
/// replay: the first request must have asked the same (buyer and text), or the key was reused.
fn message_of_event(
    db: &Db,
    event_id: crate::domain::EventId,
    asked: Option<&Event>,
) -> Result<Message, SendRefusal> {
    let (record, _) = db.event(event_id)?;
    let first = record.event.as_ref();
    if let (Some(asked), Some(first)) = (asked, first)
        && (asked.customer.phone != first.customer.phone
            || asked.text != first.text
            || asked.kind != first.kind
            || asked.vars != first.vars)
    {
        return Err(SendRefusal::KeyReused);
    }
    let phone = first
        .and_then(|e| e.customer.phone.as_ref())
        .map(|p| p.as_str().to_owned());
    let found = db.list_messages(&MessageFilter {
        phone,
        event_id: Some(event_id),
        limit: 100,
        ..MessageFilter::default()
    })?;
    // A custom kind's template may have several steps and parts: the first one answers.
    // Planning makes no message only for a store switched off when the event arrived.
    found
        .into_iter()
        .min_by_key(|m| m.id)
        .ok_or(SendRefusal::StoreDisabled)
}

/// Queues one message through the intake and planning; a known idempotency key answers the
/// message of the first request instead.
pub async fn send_message(
    state: &AppState,
    user_id: u64,
    request: SendRequest,
) -> Result<Queued, SendRefusal> {
    let phone = check(&request).map_err(SendRefusal::Invalid)?;
    let (target, kind) = (request.target, request.kind);
    let store_id = state
        .run(move |db| Ok(store_of(db, target, kind)))
        .await??;
    let now = state.clock.now();
    let event = event_of(&request, phone, user_id);
    let asked = event.clone();
    let permit = state
        .intake
        .reserve(request.body.len())
        .map_err(SendRefusal::Intake)?;
    let mut headers = Vec::new();
    if let Some(key) = &request.idempotency_key {
        headers.push(("idempotency-key".to_owned(), key.clone()));
    }
    let delivery = Delivery {
        store_id,
        received_at: now,
        raw: RawDelivery {
            content_type: Some("application/json".into()),
            query: String::new(),
            headers,
            body: request.body,
        },
        readings: vec![Reading {
            status: Status::Ok,
            reason: None,
            event: Some(event),
        }],
    };
    let recorded = state
        .intake
        .submit(delivery, permit)
        .await
        .map_err(SendRefusal::Intake)?;
    state.outbox_wake.notify_one();
    let (event_id, replayed) = match recorded.first() {
        Some(Recorded::New(id)) => (*id, false),
        Some(Recorded::Duplicate(id)) => (*id, true),
        None => return Err(SendRefusal::Db(DbError::Engine("nothing recorded".into()))),
    };
    let message = state
        .run(move |db| Ok(message_of_event(db, event_id, replayed.then_some(&asked))))
        .await??;
    Ok(Queued { message, replayed })
}

#[cfg(test)]
#[path = "api_send_tests.rs"]
mod api_send_tests;
