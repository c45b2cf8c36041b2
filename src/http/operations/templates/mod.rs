//! What the console's template editor and the JSON API both do with templates: load a store's
//! template for a kind (stored or the shipped default), and preview unsaved steps. The editor's
//! content and its rules are `form`; the preview rendering is `preview`. No actix types.

pub mod ask_reply_form;
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
use form::{EditorForm, FieldError};
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

/// Renders the preview of `form` with the store's quiet hours and buyer-facing name, on the
/// rendering slots (off the async workers; each render bounded by `render`'s fuel and output cap).
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
    let own: Vec<OwnEvent> = recent
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
    let (form, platform, name, now) = (
        form.clone(),
        store.platform,
        store.buyer_facing_name(&company).to_owned(),
        state.clock.now(),
    );
    Ok(state
        .rendering
        .run(move || preview::preview(&form, platform, kind, &name, own, quiet, now))
        .await)
}

/// Save-time check of what parsing cannot see: each part rendered with every sample of the
/// store's platform and kind, on the rendering slots; the parts over the work or length budget.
pub async fn budget_errors(
    state: &AppState,
    store: &Store,
    kind: EventKind,
    form: &EditorForm,
) -> Vec<FieldError> {
    let (form, platform, name) = (form.clone(), store.platform, store.name.clone());
    state
        .rendering
        .run(move || preview::budget_errors(&form, platform, kind, &name))
        .await
}
