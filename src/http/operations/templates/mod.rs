//! What the console's template editor and the JSON API both do with templates: load a store's
//! template for a kind (stored or the shipped default), and preview unsaved steps. The editor's
//! content and its rules are `form`; the preview rendering is `preview`. No actix types.

pub mod form;
pub mod preview;

use crate::db::DbError;
use crate::domain::template::MessageTemplate;
use crate::domain::{EventKind, Store, StoreId};
use crate::http::AppState;
use crate::render::default_template;
use form::{EditorForm, FieldError};
use preview::PreviewView;

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
    Ok((
        record,
        custom,
        stored.unwrap_or_else(|| default_template(kind)),
    ))
}

/// Renders the preview of `form` with the store's quiet hours, on the rendering slots (off the
/// async workers; each render bounded by `render`'s fuel and output cap).
pub async fn preview_template(
    state: &AppState,
    store: &Store,
    kind: EventKind,
    form: &EditorForm,
) -> Result<PreviewView, DbError> {
    let quiet = state
        .run(|db| Ok(db.message_settings()?.quiet_hours))
        .await?;
    let (form, platform, name, now) = (
        form.clone(),
        store.platform,
        store.name.clone(),
        state.clock.now(),
    );
    Ok(state
        .rendering
        .run(move || preview::preview(&form, platform, kind, &name, quiet, now))
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
