//! Eventos: every delivery the stores' webhook URLs received, filtered and paged, one event's raw
//! body beside avisa's reading of it, and the alert for unmapped events. Pages and the JSON API
//! share the filter parsing and the views; storage is reached only through `Db`.

use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse, web};
use minijinja::{Value, context};
use serde::Deserialize;

use crate::db::{EventRecord, RawDelivery};
use crate::domain::Platform;
use crate::domain::money::format_brl;
use crate::domain::{EventId, StoreId};
use crate::http::AppState;
use crate::http::auth::{Viewer, redirect};
use crate::http::console::Page;
use crate::http::console::view::{kind_choices, mask_phone};
use crate::http::error::ApiError;
use crate::http::operations::events::{
    EventsQuery, STATUS_CHOICES, load_event, page_of_events, row_status, status_str,
};
use crate::http::operations::messages::store_names;
use crate::ingest::Reason;

fn platform_label(id: &str) -> String {
    Platform::parse(id)
        .map(|p| p.label().to_owned())
        .unwrap_or_else(|| id.to_owned())
}

/// One row of the Eventos table.
fn row_view(e: &EventRecord, names: &HashMap<StoreId, String>) -> Value {
    let event = e.event.as_ref();
    context! {
        id => e.id,
        received_at => e.received_at,
        store_name => names.get(&e.store_id),
        store_id => e.store_id,
        platform => platform_label(&e.platform),
        kind => e.kind().map(|k| k.as_str().to_owned()),
        platform_event => event.map(|ev| ev.platform_event.as_str()).filter(|s| !s.is_empty()),
        first_name => event.and_then(|ev| ev.customer.first_name.as_deref()),
        phone => event.and_then(|ev| ev.customer.phone.as_ref()).map(|p| mask_phone(p.as_str())),
        amount => event.and_then(|ev| ev.total_cents).map(format_brl),
        status => status_str(e.status),
        label => row_status(e),
        reason => e.reason.as_ref().map(reason_code),
        duplicates => e.duplicates,
        erased_at => e.erased_at,
    }
}

fn reason_code(reason: &Reason) -> String {
    serde_json::to_value(reason.code)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// `GET /eventos`.
pub async fn list_events(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    query: web::Query<EventsQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let parsed = query.parse(state.clock.now())?;
    let for_page = parsed.clone();
    let (page, stores, more, deleted_stores, unmapped, custom_kinds) = state
        .run(move |db| {
            let (page, stores, more, deleted) = page_of_events(db, &for_page)?;
            Ok((
                page,
                stores,
                more,
                deleted,
                db.unacknowledged_unmapped()?,
                db.list_custom_kinds()?,
            ))
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
        // Offered when there is something to find (or it is the current choice).
        deleted_stores => deleted_stores || query.store == "deleted",
        kinds => kind_choices(&custom_kinds, &query.kind),
        statuses => STATUS_CHOICES,
        periods => ["all", "today", "7d", "30d"],
        q => context! {
            store => query.store.clone(),
            kind => query.kind.clone(),
            status => query.status.clone(),
            period => if query.period.is_empty() { "all".to_owned() } else { query.period.clone() },
        },
    };
    Page::new(&state, &req, &viewer, "events.html")
        .menu("events")
        .render(ctx)
        .await
}

/// The list with the same filters, from the newest event or from before `before_id`.
fn list_link(query: &EventsQuery, before_id: Option<EventId>) -> String {
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

/// The raw body for people: the bytes exactly as received (never re-serialised: key order,
/// spacing and escapes are what the platform sent), with whether it is UTF-8 and valid JSON.
struct RawText {
    body: String,
    utf8: bool,
    json: bool,
}

fn raw_text(raw: &RawDelivery) -> RawText {
    RawText {
        body: String::from_utf8_lossy(&raw.body).into_owned(),
        utf8: std::str::from_utf8(&raw.body).is_ok(),
        json: serde_json::from_slice::<serde::de::IgnoredAny>(&raw.body).is_ok(),
    }
}

/// The platform's own timestamp (RFC 3339) as unix seconds, for the `datetime` filter.
fn occurred_unix(occurred_at: &str) -> Option<i64> {
    occurred_at
        .parse::<jiff::Timestamp>()
        .ok()
        .map(|t| t.as_second())
}

/// `GET /eventos/{id}`: the raw body beside the normalised event.
pub async fn show_event(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    path: web::Path<EventId>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let (record, raw, store, job, needs_api) = state
        .run(move |db| {
            let (record, raw, store) = load_event(db, id)?;
            let needs_api = match &store {
                Some(s) if thin_unmapped(s.platform, &record, &raw) => {
                    db.api_credentials(s.id)?.is_none()
                }
                _ => false,
            };
            Ok((record, raw, store, db.enrich_job(id)?, needs_api))
        })
        .await?;
    let names: HashMap<StoreId, String> = store.iter().map(|s| (s.id, s.name.clone())).collect();
    let text = raw_text(&raw);
    let event = record.event.as_ref();
    let ctx = context! {
        e => row_view(&record, &names),
        reason_detail => record.reason.as_ref().map(|r| r.detail.clone()),
        occurred_at => event.and_then(|ev| ev.occurred_at.as_deref()).and_then(occurred_unix),
        // A platform date avisa could not read is shown as it came.
        occurred_raw => event.and_then(|ev| ev.occurred_at.clone()),
        erased_at => record.erased_at,
        buyer_from => record.buyer_from,
        // The platform-API fetch a thin event waits for: its failed calls and the next one.
        awaiting => job.map(|j| context! { tries => j.tries, next_at => j.next_at }),
        // A thin notification kept unmapped because the store has no API credentials yet: the
        // page says where to save them (saving fetches it too) instead of "map it".
        needs_api,
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
    Page::new(&state, &req, &viewer, "event.html")
        .menu("events")
        .render(ctx)
        .await
}

/// An unmapped event that is a thin notification avisa fills in from the platform's API
/// (`ingest::enrich::target`) when the store has saved its credentials.
fn thin_unmapped(platform: Platform, record: &EventRecord, raw: &RawDelivery) -> bool {
    let req = crate::ingest::Request::new(&raw.body, &raw.headers, &raw.query);
    record.status == crate::ingest::Status::Unmapped
        && crate::ingest::enrich::target(platform, &req, &record.reading()).is_some()
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
    state
        .run(move |db| db.acknowledge_unmapped_seen(seen))
        .await?;
    tracing::info!(by = viewer.user.id, "unmapped events acknowledged");
    Ok(redirect("/eventos?ok=unmapped_acknowledged"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::EventKind;
    use crate::ingest::Status;

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
            Ignored,
            ApiTokenInvalid,
            ApiTokenExpired,
            ApiNotFound,
            ApiNoAnswer,
            ApiUnreadable,
            ApiNoCredentials,
            ApiCertificateRefused,
            PhoneWithheld,
        ] {
            let reason = Reason {
                code,
                detail: String::new(),
            };
            for part in ["short", "help"] {
                wanted.push(format!("reason.{}.{part}", reason_code(&reason)));
            }
        }
        for status in [
            Status::Ok,
            Status::Unmapped,
            Status::Invalid,
            Status::Ignored,
            Status::Awaiting,
        ] {
            wanted.push(format!("event_status.{}", status_str(status)));
        }
        for kind in crate::ingest::InvalidKind::ALL {
            wanted.push(format!("event_status.{}", kind.code()));
        }
        for (lang, _) in LANGUAGES {
            let keys = catalog_keys(lang);
            let missing: Vec<_> = wanted.iter().filter(|k| !keys.contains(k)).collect();
            assert!(missing.is_empty(), "{lang} lacks {missing:?}");
        }
    }

    #[test]
    fn raw_bodies_are_shown_as_received_and_lossy_when_not_utf8() {
        let raw = |b: &[u8]| RawDelivery {
            body: b.to_vec(),
            ..RawDelivery::default()
        };
        let json = raw_text(&raw(br#"{"z":1,  "a":"\u00e9"}"#));
        assert!(json.json && json.utf8);
        assert_eq!(
            json.body, r#"{"z":1,  "a":"\u00e9"}"#,
            "key order and escapes kept"
        );
        assert_eq!(occurred_unix("2024-05-01T15:18:51Z"), Some(1_714_576_731));
        assert_eq!(occurred_unix("ontem"), None);
        let broken = raw_text(&raw(b"{\"a\":\xff"));
        assert!(!broken.json && !broken.utf8);
        assert!(broken.body.contains('\u{fffd}'));
    }
}
