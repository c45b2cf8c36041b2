//! What the console and the API both do with events: the list filters (store, kind, status or
//! kind of invalid, period in Brasília time) and paging, and one event with its raw delivery. No actix types.

use serde::Deserialize;

use std::borrow::Cow;

use crate::db::{Db, DbError, EventFilter, EventRecord, RawDelivery};
use crate::domain::{EventId, EventKind, Store, StoreId};
use crate::ingest::secrets;
use crate::ingest::{InvalidKind, Status};

/// Events per page (and the API's default and largest page).
pub const PAGE_SIZE: usize = 100;

/// The filters of the Eventos page and `GET /api/v1/events`, as the query string carries them.
/// Empty values mean "any".
#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// A store id, or `deleted` for events whose store no longer exists.
    #[serde(default)]
    pub store: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub status: String,
    /// `today`, `7d`, `30d` or `all` (the default), in Brasília time.
    #[serde(default)]
    pub period: String,
    #[serde(default, alias = "before")]
    /// Pages back: only events older than this id (the answer's `next_before`).
    #[param(value_type = Option<u64>)]
    pub before_id: Option<EventId>,
    /// Page size, 1 to 100 (100 when absent).
    #[serde(default)]
    pub limit: Option<usize>,
}

/// Which store the list is narrowed to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreChoice {
    Any,
    One(StoreId),
    /// Events whose store was deleted.
    Deleted,
}

/// The parsed query: the storage filter plus what storage cannot filter by itself.
#[derive(Clone, Debug)]
pub struct Parsed {
    pub filter: EventFilter,
    pub store: StoreChoice,
}

/// A filter the list cannot use: which one (`store`, `kind`, `status`, `period`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnknownFilter(pub &'static str);

impl EventsQuery {
    /// The storage filter for these query values, or the first one that makes no sense.
    pub fn parse(&self, now: i64) -> Result<Parsed, UnknownFilter> {
        let invalid = UnknownFilter;
        let store = match self.store.trim() {
            "" => StoreChoice::Any,
            "deleted" => StoreChoice::Deleted,
            id => StoreChoice::One(id.parse().map_err(|_| invalid("store"))?),
        };
        let kind = match self.kind.trim() {
            "" => None,
            k => Some(EventKind::parse_with_custom(k).ok_or_else(|| invalid("kind"))?),
        };
        let (status, invalid_kind) = match self.status.trim() {
            "" => (None, None),
            s => match InvalidKind::parse(s) {
                Some(k) => (Some(Status::Invalid), Some(k)),
                None => (
                    Some(parse_status(s).ok_or_else(|| invalid("status"))?),
                    None,
                ),
            },
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
                invalid: invalid_kind,
                since,
                until: None,
                before_id: self.before_id,
                limit: self.limit.unwrap_or(PAGE_SIZE).clamp(1, PAGE_SIZE),
            },
            store,
        })
    }
}

/// A reading status from its filter spelling (`ok`, `unmapped`, `invalid`).
pub fn parse_status(s: &str) -> Option<Status> {
    match s {
        "ok" => Some(Status::Ok),
        "unmapped" => Some(Status::Unmapped),
        "invalid" => Some(Status::Invalid),
        "ignored" => Some(Status::Ignored),
        "awaiting" => Some(Status::Awaiting),
        _ => None,
    }
}

/// The filter choices of the status select: the kinds of invalid apart, never a mixed
/// "Inválido" (`invalid` still filters all of them, for links made before the split).
pub const STATUS_CHOICES: [&str; 8] = [
    "ok",
    "unmapped",
    "ignored",
    "awaiting",
    "unreadable",
    "no_phone",
    "bad_signature",
    "platform_api",
];

/// How a row's status reads: `ok`, `unmapped`, or its kind of invalid.
pub fn row_status(e: &EventRecord) -> &'static str {
    match e.invalid_kind() {
        Some(kind) => kind.code(),
        None => status_str(e.status),
    }
}

/// A reading status as the filters and catalogs spell it.
pub fn status_str(s: Status) -> &'static str {
    match s {
        Status::Ok => "ok",
        Status::Unmapped => "unmapped",
        Status::Invalid => "invalid",
        Status::Ignored => "ignored",
        Status::Awaiting => "awaiting",
    }
}

/// The first second of a period in Brasília time: `Ok(None)` is "all time", `None` an unknown
/// period. "7 dias" is today and the six days before it.
pub fn period_start(period: &str, now: i64) -> Option<Option<i64>> {
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
/// One page of events: the events, the stores, whether there are older ones, and whether any
/// event came from a deleted store (the "loja excluída" filter is offered only then).
pub fn page_of_events(
    db: &Db,
    parsed: &Parsed,
) -> Result<(Vec<EventRecord>, Vec<Store>, bool, bool), DbError> {
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
    let ids: Vec<StoreId> = stores.iter().map(|s| s.id).collect();
    let deleted = db.has_events_outside(&ids)?;
    Ok((page, stores, more, deleted))
}

/// One event, its raw delivery (store secrets in the body and query masked: this is what every
/// raw view shows) and its store (absent when deleted).
pub fn load_event(
    db: &Db,
    id: EventId,
) -> Result<(EventRecord, RawDelivery, Option<Store>), DbError> {
    let (record, mut raw) = db.event(id)?;
    if let Cow::Owned(body) = secrets::mask_body(&record.platform, &raw.body) {
        raw.body = body;
    }
    if let Cow::Owned(query) = secrets::mask_form(&record.platform, &raw.query) {
        raw.query = query;
    }
    let store = match db.store(record.store_id) {
        Ok(s) => Some(s),
        Err(DbError::NotFound) => None,
        Err(e) => return Err(e),
    };
    Ok((record, raw, store))
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
