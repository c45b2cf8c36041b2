//! What the console and the API both do with messages: the list filters and paging, cancel,
//! move, send now and dar baixa. No actix types: `AppState`/`Db` and typed inputs in, typed
//! results out.

use std::collections::HashMap;

use serde::Deserialize;

use crate::db::{Db, DbError, MessageFilter};
use crate::domain::reason::Reason;
use crate::domain::{Message, MessageId, MessageStatus, Phone, Store, StoreId};
use crate::http::AppState;

/// Messages per page (and the API's default and largest page).
pub const PAGE_SIZE: usize = 100;

/// The filters of the Mensagens page and `GET /api/v1/messages`, as the query string carries
/// them. Empty values mean "any".
#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MessagesQuery {
    #[serde(default)]
    pub store: String,
    /// A buyer phone as people type it; normalised with `Phone::parse`.
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub status: String,
    /// `fila` (not sent yet), `historico` (everything else) or empty (both).
    #[serde(default)]
    pub view: String,
    #[serde(default, alias = "before")]
    /// Pages back: only messages older than this id (the answer's `next_before`).
    #[param(value_type = Option<u64>)]
    pub before_id: Option<MessageId>,
    /// With `before_id`, the page cursor of a list in "Previsto para" order (Mensagens → Todas).
    #[serde(default)]
    pub before_due: Option<i64>,
    /// Page size, 1 to 100 (100 when absent).
    #[serde(default)]
    pub limit: Option<usize>,
}

/// Which part of the list: the queue, the history or both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    All,
    /// Not handed to WhatsApp yet: can still be canceled or rescheduled.
    Queue,
    History,
}

/// A filter the list cannot use, with the catalog key that explains it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FilterError {
    Store,
    Status,
    View,
    Phone(String),
}

impl FilterError {
    pub fn key(&self) -> &'static str {
        match self {
            FilterError::Store => "messages.error.filter_store",
            FilterError::Status => "messages.error.filter_status",
            FilterError::View => "messages.error.filter_view",
            FilterError::Phone(_) => "messages.error.bad_phone",
        }
    }
}

/// The parsed query: the storage filter plus what storage cannot filter by itself.
#[derive(Clone, Debug)]
pub struct Parsed {
    pub filter: MessageFilter,
    pub view: View,
    /// Only messages planned in test mode or for a test number (the sandbox).
    pub test_only: bool,
}

impl MessagesQuery {
    pub fn parse(&self) -> Result<Parsed, FilterError> {
        let store_id = match self.store.trim() {
            "" => None,
            id => Some(id.parse().map_err(|_| FilterError::Store)?),
        };
        let status = match self.status.trim() {
            "" => None,
            s => Some(MessageStatus::parse(s).ok_or(FilterError::Status)?),
        };
        let view = match self.view.trim() {
            "" | "todas" | "all" => View::All,
            "fila" | "queue" => View::Queue,
            "historico" | "history" => View::History,
            _ => return Err(FilterError::View),
        };
        let phone = match self.phone.trim() {
            "" => None,
            raw => Some(
                Phone::parse(raw)
                    .map_err(|e| FilterError::Phone(e.to_string()))?
                    .as_str()
                    .to_owned(),
            ),
        };
        Ok(Parsed {
            filter: MessageFilter {
                store_id,
                phone,
                status,
                event_id: None,
                before_id: self.before_id,
                by_due: false,
                before_due: self.before_due,
                limit: self.limit.unwrap_or(PAGE_SIZE).clamp(1, PAGE_SIZE),
            },
            view,
            test_only: false,
        })
    }

    pub fn is_filtered(&self) -> bool {
        !(self.store.is_empty()
            && self.phone.trim().is_empty()
            && self.status.is_empty()
            && matches!(self.view.as_str(), "" | "todas"))
    }
}

impl Parsed {
    pub fn admits(&self, m: &Message) -> bool {
        let in_view = match self.view {
            View::All => true,
            View::Queue => m.status.is_pending(),
            View::History => !m.status.is_pending(),
        };
        in_view && (!self.test_only || m.test)
    }
}

/// One page of messages, newest first, and whether older ones exist. What storage cannot filter
/// (queue or history, test only) is filtered here, reading on until the page is full.
pub fn page_of_messages(db: &Db, parsed: &Parsed) -> Result<(Vec<Message>, bool), DbError> {
    let limit = parsed.filter.limit;
    let mut filter = parsed.filter.clone();
    filter.limit = limit + 1;
    let mut page = Vec::new();
    loop {
        let batch = db.list_messages(&filter)?;
        let exhausted = batch.len() < filter.limit;
        filter.before_id = batch.last().map(|m| m.id);
        filter.before_due = batch.last().map(|m| m.due_at);
        page.extend(batch.into_iter().filter(|m| parsed.admits(m)));
        if exhausted || page.len() > limit {
            break;
        }
    }
    let more = page.len() > limit;
    page.truncate(limit);
    Ok((page, more))
}

/// Store names by id, for rows that show which store a message belongs to.
pub fn store_names(stores: &[Store]) -> HashMap<StoreId, String> {
    stores.iter().map(|s| (s.id, s.name.clone())).collect()
}

/// A message with its store (absent when deleted).
pub fn with_store(db: &Db, message: Message) -> Result<(Message, Option<Store>), DbError> {
    let store = match db.store(message.store_id) {
        Ok(s) => Some(s),
        Err(DbError::NotFound) => None,
        Err(e) => return Err(e),
    };
    Ok((message, store))
}

/// How far in the past a new due time may be: a time picked in the current minute is "now".
pub const PAST_SLACK_SECONDS: i64 = 60;

/// A new due time, or `None` when it is too far in the past; a time in the slack means now.
pub fn due_time(due_at: i64, now: i64) -> Option<i64> {
    (due_at >= now - PAST_SLACK_SECONDS).then_some(due_at.max(now))
}

/// Cancels a pending message on a person's request (`Conflict` once it left).
pub async fn cancel_message(state: &AppState, id: MessageId) -> Result<Message, DbError> {
    let now = state.clock.now();
    state
        .run(move |db| db.cancel_message(id, Reason::ByUser.code(), now))
        .await
}

/// Moves a pending message to `due_at` (checked with [`due_time`]) and wakes the outbox.
pub async fn reschedule_message(
    state: &AppState,
    id: MessageId,
    due_at: i64,
) -> Result<Message, DbError> {
    let now = state.clock.now();
    let moved = state
        .run(move |db| db.reschedule_message(id, due_at, now))
        .await;
    state.outbox_wake.notify_one();
    moved
}

/// Makes a pending message due now, first in line for the outbox.
pub async fn send_message_now(state: &AppState, id: MessageId) -> Result<Message, DbError> {
    let now = state.clock.now();
    reschedule_message(state, id, now).await
}

/// Why dar baixa from a message could not run.
#[derive(Debug)]
pub enum MarkPaidError {
    /// The message carries no order id (carts without a number, some platforms).
    NoOrder,
    Db(DbError),
}

/// Dar baixa on the order of message `id`; returns the message and how many reminders stopped.
pub async fn mark_message_order_paid(
    state: &AppState,
    id: MessageId,
) -> Result<(Message, usize), MarkPaidError> {
    let now = state.clock.now();
    state
        .run(move |db| Ok(mark_paid_from_message(db, id, now)))
        .await
        .map_err(MarkPaidError::Db)?
}

fn mark_paid_from_message(
    db: &Db,
    id: MessageId,
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

/// Dar baixa on `order_id` of store `store_id` (which must exist); how many reminders stopped.
pub async fn mark_order_paid(
    state: &AppState,
    store_id: StoreId,
    order_id: String,
) -> Result<usize, DbError> {
    let now = state.clock.now();
    state
        .run(move |db| {
            db.store(store_id)?;
            db.mark_order_paid(store_id, &order_id, now)
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_filters_are_normalised_and_bad_ones_refused() {
        let q = |phone: &str| MessagesQuery {
            phone: phone.into(),
            ..MessagesQuery::default()
        };
        let parsed = q("(11) 98765-4321").parse().expect("a Brazilian mobile");
        assert_eq!(parsed.filter.phone.as_deref(), Some("+5511987654321"));
        assert!(matches!(
            q("11 9c150-eeca").parse(),
            Err(FilterError::Phone(_))
        ));
        let view = MessagesQuery {
            view: "fila".into(),
            ..MessagesQuery::default()
        };
        assert_eq!(view.parse().expect("queue").view, View::Queue);
    }
}
