//! Eventos: every delivery the stores' webhook URLs received, filtered and paged, one event's raw
//! body beside avisa's reading of it, and the alert for unmapped events. Pages and the JSON API
//! share the filter parsing and the views; storage is reached only through `Db`.

use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse, web};
use minijinja::{Value, context};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{render, render_status};
use crate::db::{Db, DbError, EventFilter, EventRecord, RawDelivery};
use crate::domain::Store;
use crate::domain::money::format_brl;
use crate::domain::{Event, EventKind, Platform};
use crate::http::AppState;
use crate::http::auth::{Viewer, redirect};
use crate::http::error::{ApiError, blocking};
use crate::ingest::{Reason, Status};

/// Events per page (and the API's default and largest page).
const PAGE_SIZE: usize = 100;

/// The filters of the Eventos page and `GET /api/v1/events`, as the query string carries them.
/// Empty values mean "any".
#[derive(Clone, Debug, Default, Deserialize)]
pub struct EventsQuery {
    /// A store id, or `deleted` for events whose store no longer exists.
    #[serde(default)]
    store: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    status: String,
    /// `today`, `7d`, `30d` or `all` (the default), in Brasília time.
    #[serde(default)]
    period: String,
    #[serde(default, alias = "before")]
    before_id: Option<u64>,
    #[serde(default)]
    limit: Option<usize>,
}

/// Which store the list is narrowed to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum StoreChoice {
    Any,
    One(u64),
    /// Events whose store was deleted.
    Deleted,
}

/// The parsed query: the storage filter plus what storage cannot filter by itself.
#[derive(Clone, Debug)]
struct Parsed {
    filter: EventFilter,
    store: StoreChoice,
}

impl EventsQuery {
    fn parse(&self, now: i64) -> Result<Parsed, ApiError> {
        let invalid = |what: &str| ApiError::Validation(format!("unknown {what} filter"));
        let store = match self.store.trim() {
            "" => StoreChoice::Any,
            "deleted" => StoreChoice::Deleted,
            id => StoreChoice::One(id.parse().map_err(|_| invalid("store"))?),
        };
        let kind = match self.kind.trim() {
            "" => None,
            k => Some(EventKind::parse(k).ok_or_else(|| invalid("kind"))?),
        };
        let status = match self.status.trim() {
            "" => None,
            s => Some(parse_status(s).ok_or_else(|| invalid("status"))?),
        };
        let since = period_start(self.period.trim(), now).ok_or_else(|| invalid("period"))?;
        Ok(Parsed {
            filter: EventFilter {
                store_id: match store {
                    StoreChoice::One(id) => Some(id),
                    _ => None,
                },
                kind,
                status,
                since,
                until: None,
                before_id: self.before_id,
                limit: self.limit.unwrap_or(PAGE_SIZE).clamp(1, PAGE_SIZE),
            },
            store,
        })
    }
}

fn parse_status(s: &str) -> Option<Status> {
    match s {
        "ok" => Some(Status::Ok),
        "unmapped" => Some(Status::Unmapped),
        "invalid" => Some(Status::Invalid),
        _ => None,
    }
}

fn status_str(s: Status) -> &'static str {
    match s {
        Status::Ok => "ok",
        Status::Unmapped => "unmapped",
        Status::Invalid => "invalid",
    }
}

/// The first second of a period in Brasília time: `Ok(None)` is "all time", `None` an unknown
/// period. "7 dias" is today and the six days before it.
fn period_start(period: &str, now: i64) -> Option<Option<i64>> {
    let days_back = match period {
        "" | "all" => return Some(None),
        "today" => 0,
        "7d" => 6,
        "30d" => 29,
        _ => return None,
    };
    let tz = jiff::tz::TimeZone::get("America/Sao_Paulo").unwrap_or(jiff::tz::TimeZone::UTC);
    let start = jiff::Timestamp::from_second(now)
        .ok()?
        .to_zoned(tz)
        .start_of_day()
        .ok()?
        .checked_sub(jiff::Span::new().days(days_back))
        .ok()?;
    Some(Some(start.timestamp().as_second()))
}

/// One page of events, newest first, and whether older ones exist. Events of deleted stores
/// cannot be found by an index, so that filter reads on until the page is full.
fn page_of_events(
    db: &Db,
    parsed: &Parsed,
) -> Result<(Vec<EventRecord>, Vec<Store>, bool), DbError> {
    let stores = db.list_stores()?;
    let limit = parsed.filter.limit;
    let mut filter = parsed.filter.clone();
    filter.limit = limit + 1;
    let mut page = Vec::new();
    loop {
        let batch = db.list_events(&filter)?;
        let exhausted = batch.len() < filter.limit;
        filter.before_id = batch.last().map(|e| e.id);
        page.extend(batch.into_iter().filter(|e| match parsed.store {
            StoreChoice::Deleted => !stores.iter().any(|s| s.id == e.store_id),
            _ => true,
        }));
        if exhausted || page.len() > limit {
            break;
        }
    }
    let more = page.len() > limit;
    page.truncate(limit);
    Ok((page, stores, more))
}

/// A phone with its middle digits hidden: `+55 11 9****-4321`. Brazilian numbers keep their
/// area code; others keep the country prefix and the last four digits.
pub fn mask_phone(e164: &str) -> String {
    let digits: String = e164.chars().filter(char::is_ascii_digit).collect();
    if digits.len() < 8 {
        return "****".to_owned();
    }
    let last4 = &digits[digits.len() - 4..];
    match (digits.strip_prefix("55"), digits.len()) {
        (Some(rest), 12 | 13) => {
            let (area, local) = rest.split_at(2);
            let lead = if local.len() == 9 { &local[..1] } else { "" };
            format!("+55 {area} {lead}****-{last4}")
        }
        _ => format!("+{} ****-{last4}", &digits[..2]),
    }
}

fn store_names(stores: &[Store]) -> HashMap<u64, String> {
    stores.iter().map(|s| (s.id, s.name.clone())).collect()
}

fn platform_label(id: &str) -> String {
    Platform::parse(id)
        .map(|p| p.label().to_owned())
        .unwrap_or_else(|| id.to_owned())
}

/// One row of the Eventos table.
fn row_view(e: &EventRecord, names: &HashMap<u64, String>) -> Value {
    let event = e.event.as_ref();
    context! {
        id => e.id,
        received_at => e.received_at,
        store_name => names.get(&e.store_id),
        platform => platform_label(&e.platform),
        kind => e.kind().map(EventKind::as_str),
        platform_event => event.map(|ev| ev.platform_event.as_str()).filter(|s| !s.is_empty()),
        first_name => event.and_then(|ev| ev.customer.first_name.as_deref()),
        phone => event.and_then(|ev| ev.customer.phone.as_ref()).map(|p| mask_phone(p.as_str())),
        amount => event.and_then(|ev| ev.total_cents).map(format_brl),
        status => status_str(e.status),
        reason => e.reason.as_ref().map(reason_code),
        duplicates => e.duplicates,
    }
}

fn reason_code(reason: &Reason) -> String {
    serde_json::to_value(reason.code)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// `GET /eventos`.
pub async fn events(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    query: web::Query<EventsQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let parsed = query.parse(state.clock.now())?;
    let db = state.db.clone();
    let for_page = parsed.clone();
    let (page, stores, more, unmapped) = blocking(move || {
        let (page, stores, more) = page_of_events(&db, &for_page)?;
        Ok((page, stores, more, db.unacknowledged_unmapped()?))
    })
    .await?;
    let names = store_names(&stores);
    let rows: Vec<Value> = page.iter().map(|e| row_view(e, &names)).collect();
    let older = more
        .then(|| page.last().map(|e| list_link(&query, Some(e.id))))
        .flatten();
    let newest = query.before_id.map(|_| list_link(&query, None));
    let filtered = !(query.store.is_empty()
        && query.kind.is_empty()
        && query.status.is_empty()
        && matches!(query.period.as_str(), "" | "all"));
    let ctx = context! {
        events => rows,
        older => older,
        newest => newest,
        filtered => filtered,
        unmapped => unmapped,
        stores => stores.iter().map(|s| context! { id => s.id.to_string(), name => s.name.clone() }).collect::<Vec<_>>(),
        kinds => EventKind::ALL.iter().map(|k| k.as_str()).collect::<Vec<_>>(),
        statuses => ["ok", "unmapped", "invalid"],
        periods => ["all", "today", "7d", "30d"],
        q => context! {
            store => query.store.clone(),
            kind => query.kind.clone(),
            status => query.status.clone(),
            period => if query.period.is_empty() { "all".to_owned() } else { query.period.clone() },
        },
    };
    render(&state, &req, Some(&viewer), "events.html", "events", ctx).await
}

/// The list with the same filters, from the newest event or from before `before_id`.
fn list_link(query: &EventsQuery, before_id: Option<u64>) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in [
        ("store", &query.store),
        ("kind", &query.kind),
        ("status", &query.status),
        ("period", &query.period),
    ] {
        if !v.is_empty() {
            s.append_pair(k, v);
        }
    }
    if let Some(id) = before_id {
        s.append_pair("before_id", &id.to_string());
    }
    format!("/eventos?{}", s.finish())
}

/// The raw body for people: pretty JSON when it parses, else the text as received.
struct RawText {
    body: String,
    utf8: bool,
    json: bool,
}

fn raw_text(raw: &RawDelivery) -> RawText {
    let utf8 = std::str::from_utf8(&raw.body).is_ok();
    match serde_json::from_slice::<serde_json::Value>(&raw.body) {
        Ok(value) => RawText {
            body: serde_json::to_string_pretty(&value).expect("a JSON value serialises"),
            utf8,
            json: true,
        },
        Err(_) => RawText {
            body: String::from_utf8_lossy(&raw.body).into_owned(),
            utf8,
            json: false,
        },
    }
}

/// One event, its raw delivery and its store (absent when deleted); `None` when unknown.
fn load_event(
    db: &Db,
    id: u64,
) -> Result<Option<(EventRecord, RawDelivery, Option<Store>)>, DbError> {
    let (record, raw) = match db.event(id) {
        Ok(found) => found,
        Err(DbError::NotFound) => return Ok(None),
        Err(e) => return Err(e),
    };
    let store = match db.store(record.store_id) {
        Ok(s) => Some(s),
        Err(DbError::NotFound) => None,
        Err(e) => return Err(e),
    };
    Ok(Some((record, raw, store)))
}

/// `GET /eventos/{id}`: the raw body beside the normalised event.
pub async fn event_detail(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    path: web::Path<u64>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let db = state.db.clone();
    let Some((record, raw, store)) = blocking(move || load_event(&db, id)).await? else {
        return render_status(
            &state,
            &req,
            Some(&viewer),
            "not_found.html",
            "events",
            context! {},
            actix_web::http::StatusCode::NOT_FOUND,
        )
        .await;
    };
    let names: HashMap<u64, String> = store.iter().map(|s| (s.id, s.name.clone())).collect();
    let text = raw_text(&raw);
    let event = record.event.as_ref();
    let ctx = context! {
        e => row_view(&record, &names),
        reason_detail => record.reason.as_ref().map(|r| r.detail.clone()),
        occurred_at => event.and_then(|ev| ev.occurred_at.clone()),
        order_id => event.and_then(|ev| ev.order_id.clone()),
        email => event.and_then(|ev| ev.customer.email.clone()),
        raw_body => text.body,
        raw_utf8 => text.utf8,
        raw_json => text.json,
        raw_empty => raw.body.is_empty(),
        content_type => raw.content_type,
        headers => raw.headers.iter().map(|(n, v)| context! { name => n, value => v }).collect::<Vec<_>>(),
        query => raw.query,
        normalised => event.map(|ev| serde_json::to_string_pretty(ev).expect("an event serialises")),
    };
    render(&state, &req, Some(&viewer), "event.html", "events", ctx).await
}

#[derive(Deserialize)]
pub struct AcknowledgeInput {
    seen: Option<u64>,
}

/// `POST /eventos/reconhecer`: the merchant has seen the unmapped events; the badge goes away.
/// The form says how many the banner showed, so events that arrived meanwhile stay flagged.
pub async fn acknowledge_unmapped(
    state: web::Data<AppState>,
    viewer: Viewer,
    form: web::Form<AcknowledgeInput>,
) -> Result<HttpResponse, ApiError> {
    let seen = form.seen.unwrap_or(u64::MAX);
    let db = state.db.clone();
    blocking(move || db.acknowledge_unmapped_seen(seen)).await?;
    tracing::info!(by = viewer.user.id, "unmapped events acknowledged");
    Ok(redirect("/eventos?ok=unmapped_acknowledged"))
}

/// An event as the API shows it.
#[derive(Serialize)]
pub struct EventView<'a> {
    id: u64,
    store_id: u64,
    /// Absent when the store was deleted.
    store_name: Option<&'a str>,
    platform: &'a str,
    received_at: i64,
    status: Status,
    kind: Option<EventKind>,
    reason: Option<&'a Reason>,
    duplicates: u64,
    event: Option<&'a Event>,
}

fn event_view<'a>(e: &'a EventRecord, names: &'a HashMap<u64, String>) -> EventView<'a> {
    EventView {
        id: e.id,
        store_id: e.store_id,
        store_name: names.get(&e.store_id).map(String::as_str),
        platform: &e.platform,
        received_at: e.received_at,
        status: e.status,
        kind: e.kind(),
        reason: e.reason.as_ref(),
        duplicates: e.duplicates,
        event: e.event.as_ref(),
    }
}

/// `GET /api/v1/events`: the Eventos filters; `next_before` pages back in time.
pub async fn api_list_events(
    state: web::Data<AppState>,
    _viewer: Viewer,
    query: web::Query<EventsQuery>,
) -> Result<HttpResponse, ApiError> {
    let parsed = query.parse(state.clock.now())?;
    let db = state.db.clone();
    let (page, stores, more) = blocking(move || page_of_events(&db, &parsed)).await?;
    let names = store_names(&stores);
    let views: Vec<EventView> = page.iter().map(|e| event_view(e, &names)).collect();
    let next_before = more.then(|| page.last().map(|e| e.id)).flatten();
    Ok(HttpResponse::Ok().json(json!({ "events": views, "next_before": next_before })))
}

/// `GET /api/v1/events/{id}`: the event and the delivery it came in (body as text).
pub async fn api_event(
    state: web::Data<AppState>,
    _viewer: Viewer,
    path: web::Path<u64>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let db = state.db.clone();
    let (record, raw, store) = blocking(move || load_event(&db, id))
        .await?
        .ok_or(ApiError::NotFound)?;
    let names: HashMap<u64, String> = store.iter().map(|s| (s.id, s.name.clone())).collect();
    Ok(HttpResponse::Ok().json(json!({
        "event": event_view(&record, &names),
        "raw": {
            "content_type": raw.content_type,
            "query": raw.query,
            "headers": raw.headers.iter().map(|(n, v)| json!([n, v])).collect::<Vec<_>>(),
            "body": String::from_utf8_lossy(&raw.body),
            "body_utf8": std::str::from_utf8(&raw.body).is_ok(),
        },
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_and_reason_has_words_in_every_language() {
        use crate::http::ui::{LANGUAGES, catalog_keys};
        use crate::ingest::ReasonCode::*;
        let mut wanted: Vec<String> = EventKind::ALL
            .iter()
            .map(|k| format!("kind.{}", k.as_str()))
            .collect();
        for code in [
            EmptyBody,
            NotUtf8,
            BadJson,
            BadForm,
            UnknownShape,
            UnmappedEvent,
            NoPhone,
            BadPhone,
            BadSignature,
        ] {
            let reason = Reason {
                code,
                detail: String::new(),
            };
            for part in ["short", "help"] {
                wanted.push(format!("reason.{}.{part}", reason_code(&reason)));
            }
        }
        for status in [Status::Ok, Status::Unmapped, Status::Invalid] {
            wanted.push(format!("event_status.{}", status_str(status)));
        }
        for (lang, _) in LANGUAGES {
            let keys = catalog_keys(lang);
            let missing: Vec<_> = wanted.iter().filter(|k| !keys.contains(k)).collect();
            assert!(missing.is_empty(), "{lang} lacks {missing:?}");
        }
    }

    #[test]
    fn phones_hide_their_middle_digits() {
        assert_eq!(mask_phone("+5511987654321"), "+55 11 9****-4321");
        assert_eq!(mask_phone("+551133334321"), "+55 11 ****-4321");
        assert_eq!(mask_phone("+14155554321"), "+14 ****-4321");
        assert_eq!(mask_phone("+123"), "****");
    }

    #[test]
    fn periods_start_at_midnight_in_brasilia() {
        // 2024-05-01 12:18 in Brasília (15:18 UTC).
        let now = 1_714_576_731;
        let today = 1_714_532_400; // 2024-05-01 00:00 -03:00
        assert_eq!(period_start("today", now), Some(Some(today)));
        assert_eq!(period_start("7d", now), Some(Some(today - 6 * 86_400)));
        assert_eq!(period_start("30d", now), Some(Some(today - 29 * 86_400)));
        assert_eq!(period_start("all", now), Some(None));
        assert_eq!(period_start("", now), Some(None));
        assert_eq!(period_start("ontem", now), None);
    }

    #[test]
    fn unknown_filters_are_refused() {
        let q = |s: &str| EventsQuery {
            status: s.into(),
            ..EventsQuery::default()
        };
        assert!(q("unmapped").parse(0).is_ok());
        assert!(q("lost").parse(0).is_err());
    }

    #[test]
    fn raw_bodies_are_pretty_when_json_and_lossy_otherwise() {
        let raw = |b: &[u8]| RawDelivery {
            body: b.to_vec(),
            ..RawDelivery::default()
        };
        let json = raw_text(&raw(br#"{"a":1}"#));
        assert!(json.json && json.utf8);
        assert_eq!(json.body, "{\n  \"a\": 1\n}");
        let broken = raw_text(&raw(b"{\"a\":\xff"));
        assert!(!broken.json && !broken.utf8);
        assert!(broken.body.contains('\u{fffd}'));
    }
}
