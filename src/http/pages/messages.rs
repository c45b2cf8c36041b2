//! Mensagens: the queue and the history of planned messages, filtered and paged, and one
//! message's full text and status history. The filters and views are shared with the JSON API
//! (`messages_api.rs`) and the sandbox inbox; the actions live in `message_actions.rs`.
//! Storage is reached only through `Db`.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use minijinja::{Value, context};
use serde::Deserialize;

use super::events::mask_phone;
use super::render_status;
use crate::db::{Db, DbError, MessageFilter};
use crate::domain::message::cancel_reason;
use crate::domain::planning::is_recovery;
use crate::domain::{Message, Store};
use crate::domain::{MessageStatus, Phone};
use crate::http::AppState;
use crate::http::auth::Viewer;
use crate::http::error::{ApiError, blocking};

/// Messages per page (and the API's default and largest page).
pub(super) const PAGE_SIZE: usize = 100;

/// Reason codes the console translates (`messages.reason.<code>`); anything else is shown as is.
const KNOWN_REASONS: &[&str] = &[
    cancel_reason::ORDER_CLOSED,
    cancel_reason::MARKED_PAID,
    cancel_reason::OPTED_OUT,
    cancel_reason::BUYER_CAP,
    cancel_reason::BY_USER,
    "rescheduled",
    "render_error",
    // The outbox's outcomes.
    "sandbox",
    "maybe_sent",
    "maybe_sent_twice",
    "not_sent_within_48h",
    "store_deleted",
    "store_disabled",
    "buyer_erased",
    "template_off",
    "session_unavailable",
    "server_refused",
    "transient",
    "rate limited",
];

/// The filters of the Mensagens page and `GET /api/v1/messages`, as the query string carries
/// them. Empty values mean "any".
#[derive(Clone, Debug, Default, Deserialize)]
pub struct MessagesQuery {
    #[serde(default)]
    pub(super) store: String,
    /// A buyer phone as people type it; normalised with `Phone::parse`.
    #[serde(default)]
    pub(super) phone: String,
    #[serde(default)]
    pub(super) status: String,
    /// `fila` (not sent yet), `historico` (everything else) or empty (both).
    #[serde(default)]
    pub(super) view: String,
    #[serde(default, alias = "before")]
    pub(super) before_id: Option<u64>,
    #[serde(default)]
    pub(super) limit: Option<usize>,
}

/// Which part of the list: the queue, the history or both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum View {
    All,
    /// Not handed to WhatsApp yet: can still be canceled or rescheduled.
    Queue,
    History,
}

/// A filter the list cannot use, with the catalog key that explains it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum FilterError {
    Store,
    Status,
    View,
    Phone(String),
}

impl FilterError {
    pub(super) fn key(&self) -> &'static str {
        match self {
            FilterError::Store => "messages.error.filter_store",
            FilterError::Status => "messages.error.filter_status",
            FilterError::View => "messages.error.filter_view",
            FilterError::Phone(_) => "messages.error.bad_phone",
        }
    }
}

impl From<FilterError> for ApiError {
    fn from(e: FilterError) -> Self {
        ApiError::Validation(match e {
            FilterError::Store => "unknown store filter".to_owned(),
            FilterError::Status => "unknown status filter".to_owned(),
            FilterError::View => "unknown view filter (fila, historico)".to_owned(),
            FilterError::Phone(why) => format!("phone filter: {why}"),
        })
    }
}

/// The parsed query: the storage filter plus what storage cannot filter by itself.
#[derive(Clone, Debug)]
pub(super) struct Parsed {
    pub(super) filter: MessageFilter,
    pub(super) view: View,
    /// Only messages planned in test mode or for a test number (the sandbox).
    pub(super) test_only: bool,
}

impl MessagesQuery {
    pub(super) fn parse(&self) -> Result<Parsed, FilterError> {
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
                limit: self.limit.unwrap_or(PAGE_SIZE).clamp(1, PAGE_SIZE),
            },
            view,
            test_only: false,
        })
    }

    fn is_filtered(&self) -> bool {
        !(self.store.is_empty()
            && self.phone.trim().is_empty()
            && self.status.is_empty()
            && matches!(self.view.as_str(), "" | "todas"))
    }
}

impl Parsed {
    fn admits(&self, m: &Message) -> bool {
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
pub(super) fn page_of_messages(db: &Db, parsed: &Parsed) -> Result<(Vec<Message>, bool), DbError> {
    let limit = parsed.filter.limit;
    let mut filter = parsed.filter.clone();
    filter.limit = limit + 1;
    let mut page = Vec::new();
    loop {
        let batch = db.list_messages(&filter)?;
        let exhausted = batch.len() < filter.limit;
        filter.before_id = batch.last().map(|m| m.id);
        page.extend(batch.into_iter().filter(|m| parsed.admits(m)));
        if exhausted || page.len() > limit {
            break;
        }
    }
    let more = page.len() > limit;
    page.truncate(limit);
    Ok((page, more))
}

pub(super) fn store_names(stores: &[Store]) -> HashMap<u64, String> {
    stores.iter().map(|s| (s.id, s.name.clone())).collect()
}

/// A reason as the templates show it: a catalog code when avisa knows it, the text otherwise.
fn reason_view(reason: Option<&str>) -> Value {
    let Some(reason) = reason else {
        return Value::from(());
    };
    let (code, detail) = match reason.split_once(':') {
        Some((code, detail)) => (code.trim(), Some(detail.trim())),
        None => (reason, None),
    };
    if KNOWN_REASONS.contains(&code) {
        context! { code => code, detail => detail }
    } else {
        context! { text => reason }
    }
}

/// The first line or so of a text, for the table.
fn preview(text: &str) -> String {
    const MAX: usize = 90;
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= MAX {
        return flat;
    }
    let cut: String = flat.chars().take(MAX).collect();
    format!("{}…", cut.trim_end())
}

/// One row of the Mensagens table (and the head of the detail page and the sandbox bubbles).
pub(super) fn row_view(m: &Message, names: &HashMap<u64, String>) -> Value {
    context! {
        id => m.id,
        event_id => m.event_id,
        due_at => m.due_at,
        created_at => m.created_at,
        store_id => m.store_id,
        store_name => names.get(&m.store_id),
        buyer_name => m.buyer_name.clone(),
        phone => mask_phone(&m.phone),
        kind => m.kind.as_str(),
        step => m.step,
        part => m.part,
        order_id => m.order_id.clone(),
        preview => preview(&m.text),
        text => m.text.clone(),
        status => m.status.as_str(),
        reason => reason_view(m.reason()),
        test => m.test,
        pending => m.status.is_pending(),
        attempts => m.attempts,
        maybe_sent => m.maybe_sent,
    }
}

/// `GET /mensagens`.
pub async fn messages(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    query: web::Query<MessagesQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let parsed = query.parse();
    let db = state.db.clone();
    let for_page = parsed.clone().ok();
    let (page, more, stores) = blocking(move || {
        let (page, more) = match &for_page {
            Some(parsed) => page_of_messages(&db, parsed)?,
            None => (Vec::new(), false),
        };
        Ok((page, more, db.list_stores()?))
    })
    .await?;
    let names = store_names(&stores);
    let rows: Vec<Value> = page.iter().map(|m| row_view(m, &names)).collect();
    let older = more
        .then(|| page.last().map(|m| list_link(&query, Some(m.id))))
        .flatten();
    let newest = query.before_id.map(|_| list_link(&query, None));
    let test_stores: Vec<Value> = stores
        .iter()
        .filter(|s| s.test_mode)
        .map(|s| context! { id => s.id, name => s.name.clone() })
        .collect();
    let error = parsed.as_ref().err().map(FilterError::key);
    let ctx = context! {
        messages => rows,
        older => older,
        newest => newest,
        filtered => query.is_filtered(),
        conversation_link => parsed.as_ref().ok().and_then(|p| p.filter.phone.as_ref()).map(|phone| format!("/mensagens/comprador?phone={}", form_urlencoded::byte_serialize(phone.as_bytes()).collect::<String>())),
        error => error,
        test_stores => test_stores,
        stores => stores.iter().map(|s| context! { id => s.id.to_string(), name => s.name.clone() }).collect::<Vec<_>>(),
        statuses => MessageStatus::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        q => context! {
            store => query.store.clone(),
            phone => query.phone.clone(),
            status => query.status.clone(),
            view => match parsed.as_ref().map(|p| p.view) {
                Ok(View::Queue) => "fila",
                Ok(View::History) => "historico",
                _ => "todas",
            },
        },
    };
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    render_status(
        &state,
        &req,
        Some(&viewer),
        "messages.html",
        "messages",
        ctx,
        status,
    )
    .await
}

/// The list with the same filters, from the newest message or from before `before_id`.
fn list_link(query: &MessagesQuery, before_id: Option<u64>) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in [
        ("view", &query.view),
        ("store", &query.store),
        ("phone", &query.phone),
        ("status", &query.status),
    ] {
        if !v.trim().is_empty() {
            s.append_pair(k, v.trim());
        }
    }
    if let Some(id) = before_id {
        s.append_pair("before_id", &id.to_string());
    }
    format!("/mensagens?{}", s.finish())
}

/// Unix seconds as a `datetime-local` value in Brasília time (`2025-05-01T14:30`).
pub(super) fn local_input(unix: i64) -> String {
    let Ok(ts) = jiff::Timestamp::from_second(unix) else {
        return String::new();
    };
    ts.to_zoned(sao_paulo())
        .strftime("%Y-%m-%dT%H:%M")
        .to_string()
}

/// A `datetime-local` value read as Brasília time; `None` when it is not a date and time.
pub(super) fn parse_local_input(text: &str) -> Option<i64> {
    let civil: jiff::civil::DateTime = text.trim().parse().ok()?;
    let zoned = civil.to_zoned(sao_paulo()).ok()?;
    Some(zoned.timestamp().as_second())
}

fn sao_paulo() -> jiff::tz::TimeZone {
    jiff::tz::TimeZone::get("America/Sao_Paulo").unwrap_or(jiff::tz::TimeZone::UTC)
}

/// One message with its store (absent when deleted); `None` when unknown.
fn load_message(db: &Db, id: u64) -> Result<Option<(Message, Option<Store>)>, DbError> {
    let record = match db.message(id) {
        Ok(found) => found,
        Err(DbError::NotFound) => return Ok(None),
        Err(e) => return Err(e),
    };
    let store = match db.store(record.store_id) {
        Ok(s) => Some(s),
        Err(DbError::NotFound) => None,
        Err(e) => return Err(e),
    };
    Ok(Some((record, store)))
}

/// The console's 404 page inside the Mensagens section.
pub(super) async fn missing(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    viewer: &Viewer,
) -> Result<HttpResponse, ApiError> {
    render_status(
        state,
        req,
        Some(viewer),
        "not_found.html",
        "messages",
        context! {},
        StatusCode::NOT_FOUND,
    )
    .await
}

/// One message's page; `error` is a catalog key shown above it with `status` (a refused action).
pub(super) async fn detail_page(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    viewer: &Viewer,
    id: u64,
    error: Option<&'static str>,
    status: StatusCode,
) -> Result<HttpResponse, ApiError> {
    let db = state.db.clone();
    let Some((record, store)) = blocking(move || load_message(&db, id)).await? else {
        return missing(state, req, viewer).await;
    };
    let names: HashMap<u64, String> = store.iter().map(|s| (s.id, s.name.clone())).collect();
    let history: Vec<Value> = record
        .history
        .iter()
        .rev()
        .map(|c| {
            context! {
                at => c.at,
                status => c.status.as_str(),
                reason => reason_view(c.reason.as_deref()),
            }
        })
        .collect();
    let now = state.clock.now();
    let ctx = context! {
        m => row_view(&record, &names),
        history => history,
        error => error,
        due_input => local_input(record.due_at.max(now)),
        min_input => local_input(now),
        can_mark_paid => record.order_id.is_some() && is_recovery(record.kind),
        buyer_link => format!("/mensagens?phone={}", form_urlencoded::byte_serialize(record.phone.as_bytes()).collect::<String>()),
        conversation_link => format!("/mensagens/comprador?phone={}", form_urlencoded::byte_serialize(record.phone.as_bytes()).collect::<String>()),
    };
    render_status(
        state,
        req,
        Some(viewer),
        "message.html",
        "messages",
        ctx,
        status,
    )
    .await
}

/// `GET /mensagens/{id}`.
pub async fn message_detail(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    path: web::Path<u64>,
) -> Result<HttpResponse, ApiError> {
    detail_page(
        &state,
        &req,
        &viewer,
        path.into_inner(),
        None,
        StatusCode::OK,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_and_reason_has_words_in_every_language() {
        use crate::http::ui::{LANGUAGES, catalog_keys};
        let mut wanted: Vec<String> = MessageStatus::ALL
            .iter()
            .map(|s| format!("messages.status.{}", s.as_str()))
            .collect();
        wanted.extend(KNOWN_REASONS.iter().map(|r| format!("messages.reason.{r}")));
        for e in [
            FilterError::Store,
            FilterError::Status,
            FilterError::View,
            FilterError::Phone(String::new()),
        ] {
            wanted.push(e.key().to_owned());
        }
        for (lang, _) in LANGUAGES {
            let keys = catalog_keys(lang);
            let missing: Vec<_> = wanted.iter().filter(|k| !keys.contains(k)).collect();
            assert!(missing.is_empty(), "{lang} lacks {missing:?}");
        }
    }

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

    #[test]
    fn local_times_are_brasilia_both_ways() {
        // 2024-05-01 12:18 in Brasília is 15:18 UTC.
        assert_eq!(parse_local_input("2024-05-01T12:18"), Some(1_714_576_680));
        assert_eq!(local_input(1_714_576_680), "2024-05-01T12:18");
        assert_eq!(parse_local_input("amanhã"), None);
    }

    #[test]
    fn reasons_keep_their_detail_and_unknown_ones_their_text() {
        let v = reason_view(Some("render_error: unknown variable"));
        assert_eq!(
            v.get_attr("code").expect("code").as_str(),
            Some("render_error")
        );
        let v = reason_view(Some("some_new_reason"));
        assert_eq!(
            v.get_attr("text").expect("text").as_str(),
            Some("some_new_reason")
        );
        assert!(preview(&"a ".repeat(100)).ends_with('…'));
    }
}
