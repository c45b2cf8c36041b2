//! What the console's template editor and the JSON API both do with templates: load a store's
//! template for a kind (stored or the shipped default), and preview unsaved steps. The editor's
//! content and its rules are `form`; the preview rendering is `preview`. No actix types.

pub mod form;
pub mod preview;

use crate::db::DbError;
use crate::db::EventFilter;
use crate::domain::template::MessageTemplate;
use crate::domain::{EventKind, Store, StoreId};
use crate::http::AppState;
use crate::http::samples::Sample;
use crate::ingest::Status;
use crate::render::default_template_for;
use form::EditorForm;
use preview::{OwnEvent, PreviewView};

/// How many of the store's own events the preview offers.
const RECENT_EVENTS: usize = 10;

/// The store, whether its template for `kind` is custom, and the template (stored or default);
/// `NotFound` when the store does not exist.
pub async fn load_template(
    state: &AppState,
    id: StoreId,
    kind: EventKind,
) -> Result<(Store, bool, MessageTemplate), DbError> {
    let (record, stored) = state
        .run(move |db| Ok((db.store(id)?, db.template(id, kind)?)))
        .await?;
    let custom = stored.is_some();
    let template = stored.unwrap_or_else(|| default_template_for(kind, record.platform));
    Ok((record, custom, template))
}

/// Renders the preview of `form` with the store's quiet hours and buyer-facing name.
pub async fn preview_template(
    state: &AppState,
    store: &Store,
    kind: EventKind,
    form: &EditorForm,
) -> Result<PreviewView, DbError> {
    let store_id = store.id;
    let (quiet, company, recent) = state
        .run(move |db| {
            let recent = db.list_events(&EventFilter {
                store_id: Some(store_id),
                kind: Some(kind),
                limit: RECENT_EVENTS,
                ..EventFilter::default()
            })?;
            Ok((
                db.message_settings()?.quiet_hours,
                db.console_settings()?.company_name,
                recent,
            ))
        })
        .await?;
    let own = recent
        .into_iter()
        .filter_map(|record| {
            let event = record.event?;
            Some(OwnEvent {
                sample: Sample {
                    id: format!("evento/{}", record.id),
                    platform: Some(store.platform),
                    ok: record.status == Status::Ok,
                    event,
                },
                received_at: record.received_at,
            })
        })
        .collect();
    Ok(preview::preview(
        form,
        store.platform,
        kind,
        store.buyer_facing_name(&company),
        own,
        quiet,
        state.clock.now(),
    ))
}
