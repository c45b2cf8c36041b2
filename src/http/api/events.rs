//! Events through the JSON API: `GET /api/v1/events` (the Eventos filters) and one event with
//! its raw delivery. Filters and reads are `operations::events`.

use std::collections::HashMap;

use actix_web::{HttpResponse, web};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::db::EventRecord;
use crate::domain::{Event, EventKind};
use crate::domain::{EventId, StoreId};
use crate::http::AppState;
use crate::http::auth::Viewer;
use crate::http::error::ApiError;
use crate::http::operations::events::{EventsQuery, load_event, page_of_events};
use crate::http::operations::messages::store_names;
use crate::ingest::{Reason, Status};

/// An event as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct EventView<'a> {
    #[schema(value_type = u64)]
    id: EventId,
    #[schema(value_type = u64)]
    store_id: StoreId,
    /// Absent when the store was deleted.
    store_name: Option<&'a str>,
    platform: &'a str,
    /// Unix seconds.
    received_at: i64,
    /// `ok`, `unmapped`, `invalid`, `ignored`, …
    #[schema(value_type = String)]
    status: Status,
    /// The event kind (`boleto.generated`, …); absent when not recognised.
    #[schema(value_type = Option<String>)]
    kind: Option<EventKind>,
    /// Why it was not recognised.
    #[schema(value_type = Option<Object>)]
    reason: Option<&'a Reason>,
    duplicates: u64,
    /// The earlier event of the same order whose buyer this one took (order memory).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<u64>)]
    buyer_from: Option<EventId>,
    /// What avisa read: buyer, order, amounts, payment links.
    #[schema(value_type = Option<Object>)]
    event: Option<&'a Event>,
}

/// `GET /api/v1/events`.
#[derive(Serialize, ToSchema)]
pub struct EventList<'a> {
    events: Vec<EventView<'a>>,
    /// The `before_id` of the next page; null on the last.
    #[schema(value_type = Option<u64>)]
    next_before: Option<EventId>,
}

fn event_view<'a>(e: &'a EventRecord, names: &'a HashMap<StoreId, String>) -> EventView<'a> {
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
        buyer_from: e.buyer_from,
        event: e.event.as_ref(),
    }
}

/// `GET /api/v1/events`: the Eventos filters; `next_before` pages back in time.
#[utoipa::path(
    get, path = "/api/v1/events", tag = "events",
    summary = "List received events, newest first, with the Eventos filters",
    params(EventsQuery),
    responses(
        (status = 200, description = "`events` (EventView each) and `next_before`, the `before_id` of the next page (null on the last)", body = EventList),
        (status = 422, description = "A filter is not valid"),
    )
)]
pub async fn list_events(
    state: web::Data<AppState>,
    _viewer: Viewer,
    query: web::Query<EventsQuery>,
) -> Result<HttpResponse, ApiError> {
    let parsed = query.parse(state.clock.now())?;
    let (page, stores, more, _) = state.run(move |db| page_of_events(db, &parsed)).await?;
    let names = store_names(&stores);
    let views: Vec<EventView> = page.iter().map(|e| event_view(e, &names)).collect();
    let next_before = more.then(|| page.last().map(|e| e.id)).flatten();
    Ok(HttpResponse::Ok().json(EventList {
        events: views,
        next_before,
    }))
}

/// `GET /api/v1/events/{id}`: the event and the delivery it came in (body as text).
#[utoipa::path(
    get, path = "/api/v1/events/{id}", tag = "events",
    summary = "Read one event and the raw delivery it came in",
    params(("id" = u64, Path, description = "The event's id")),
    responses(
        (status = 200, description = "`event` (EventView) and `raw`: `content_type`, `query`, `headers`, `body`, `body_utf8`", body = Object),
        (status = 404, description = "No such event"),
    )
)]
pub async fn show_event(
    state: web::Data<AppState>,
    _viewer: Viewer,
    path: web::Path<EventId>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let (record, raw, store) = state.run(move |db| load_event(db, id)).await?;
    let names: HashMap<StoreId, String> = store.iter().map(|s| (s.id, s.name.clone())).collect();
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
