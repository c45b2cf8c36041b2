//! The Templates pages: per store, the 22 kinds grouped the way merchants think of them, and the
//! editor (on/off, steps with delays and parts, the variables of the kind, validation on save,
//! preview with real fixture events). Anyone logged in may look and preview; admins save.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use minijinja::{Value, context};
use serde::{Deserialize, Serialize};

use super::template_form::{Action, EditorForm, FieldError, MAX_PARTS, MAX_STEPS};
use super::template_preview::{DelayView, PreviewView, preview};
use super::{render, render_status};
use crate::db::DbError;
use crate::domain::EventKind;
use crate::domain::Store;
use crate::domain::template::MessageTemplate;
use crate::http::AppState;
use crate::http::auth::{AdminViewer, Viewer, redirect};
use crate::http::error::{ApiError, blocking};
use crate::render::{default_template, variables_for};

/// The kinds as the list groups them: recovery first (what makes money back), then the rest.
pub const KIND_GROUPS: [(&str, &[EventKind]); 5] = [
    (
        "recovery",
        &[
            EventKind::CheckoutAbandoned,
            EventKind::BoletoGenerated,
            EventKind::PixGenerated,
            EventKind::PaymentRefused,
            EventKind::PaymentOverdue,
        ],
    ),
    (
        "orders",
        &[
            EventKind::OrderPaid,
            EventKind::PaymentInReview,
            EventKind::PaymentExpired,
            EventKind::OrderCompleted,
            EventKind::OrderCanceled,
            EventKind::OrderRefunded,
            EventKind::OrderChargeback,
        ],
    ),
    (
        "shipping",
        &[
            EventKind::OrderShipped,
            EventKind::ShippingOutForDelivery,
            EventKind::ShippingAwaitingPickup,
            EventKind::ShippingDelivered,
            EventKind::ShippingProblem,
        ],
    ),
    (
        "subscription",
        &[
            EventKind::SubscriptionStarted,
            EventKind::SubscriptionRenewed,
            EventKind::SubscriptionOverdue,
            EventKind::SubscriptionCanceled,
        ],
    ),
    ("access", &[EventKind::AccessGranted]),
];

/// Delays offered beside the free-text field (`StepDelay::parse` reads any of them).
const DELAY_SUGGESTIONS: [&str; 9] = ["0", "2m", "15m", "30m", "1h", "2h", "1d", "2d", "due"];

/// Filters the editor explains, each with an example (input, output).
const FILTERS: [(&str, &str, &str); 3] = [
    ("brl", "{{ total_cents | brl }}", "R$ 197,00"),
    ("first_name", "{{ customer.name | first_name }}", "Ana"),
    ("date_br", "{{ payment.due_at | date_br }}", "05/05/2025"),
];

/// How to show a passage only when a fact exists.
const IF_EXAMPLE: &str =
    "{% if payment.pix_qr_url %}\nQR Code: {{ payment.pix_qr_url }}\n{% endif %}";

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    loja: Option<String>,
}

fn ser<T: Serialize>(value: &T) -> Value {
    Value::from(minijinja::value::Serde(value))
}

/// One row of the list.
#[derive(Serialize)]
struct KindRow {
    kind: &'static str,
    enabled: bool,
    steps: usize,
    first_delay: Option<DelayView>,
    custom: bool,
}

fn row(kind: EventKind, stored: Option<MessageTemplate>) -> KindRow {
    let custom = stored.is_some();
    let template = stored.unwrap_or_else(|| default_template(kind));
    KindRow {
        kind: kind.as_str(),
        enabled: template.enabled,
        steps: template.steps.len(),
        first_delay: template
            .steps
            .first()
            .map(|s| DelayView::new(&s.delay.label())),
        custom,
    }
}

/// `GET /templates`: pick a store, see every kind's state.
pub async fn list_templates(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let wanted = query.loja.as_deref().and_then(|s| s.parse::<u64>().ok());
    let db = state.db.clone();
    let (stores, selected, rows) = blocking(move || {
        let mut stores = db.list_stores()?;
        stores.sort_by_key(|s| s.name.to_lowercase());
        let selected = wanted
            .and_then(|id| stores.iter().find(|s| s.id == id))
            .or_else(|| stores.first())
            .cloned();
        let mut groups = Vec::new();
        if let Some(selected) = &selected {
            for (group, kinds) in KIND_GROUPS {
                let mut rows = Vec::new();
                for kind in kinds {
                    rows.push(row(*kind, db.template(selected.id, *kind)?));
                }
                groups.push((group, rows));
            }
        }
        Ok((stores, selected, groups))
    })
    .await?;
    let groups: Vec<Value> = rows
        .iter()
        .map(|(key, rows)| context! { key => *key, rows => ser(rows) })
        .collect();
    let stores: Vec<Value> = stores
        .iter()
        .map(|s| context! { id => s.id, name => s.name.clone() })
        .collect();
    let ctx = context! {
        stores => stores,
        selected => selected.map(|s| context! {
            id => s.id, name => s.name, platform_label => s.platform.label(),
        }),
        groups => groups,
    };
    render(
        &state,
        &req,
        Some(&viewer),
        "templates.html",
        "templates",
        ctx,
    )
    .await
}

/// The store id and kind of an editor URL. Both are read after authentication (a typed `Path`
/// could refuse a request before the auth extractor had its say).
fn target(path: &web::Path<(String, String)>) -> Option<(u64, EventKind)> {
    Some((path.0.parse().ok()?, EventKind::parse(&path.1)?))
}

/// A form body as its fields, in order.
fn pairs(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body).into_owned().collect()
}

/// What the editor page shows besides the layout.
struct Editor {
    store: Store,
    kind: EventKind,
    custom: bool,
    form: EditorForm,
    errors: Vec<FieldError>,
    preview: Option<PreviewView>,
}

async fn editor_page(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    viewer: &Viewer,
    editor: Editor,
    status: StatusCode,
) -> Result<HttpResponse, ApiError> {
    let variables: Vec<Value> = variables_for(editor.kind)
        .into_iter()
        .map(|name| context! { name => name, insert => format!("{{{{ {name} }}}}") })
        .collect();
    let filters: Vec<Value> = FILTERS
        .iter()
        .map(|(name, example, result)| context! { name => *name, example => *example, result => *result })
        .collect();
    let ctx = context! {
        store => context! {
            id => editor.store.id,
            name => editor.store.name.clone(),
            platform_label => editor.store.platform.label(),
        },
        kind => editor.kind.as_str(),
        custom => editor.custom,
        form => ser(&editor.form),
        errors => ser(&editor.errors),
        preview => editor.preview.as_ref().map(ser),
        variables => variables,
        filters => filters,
        delays => DELAY_SUGGESTIONS.to_vec(),
        max_steps => MAX_STEPS,
        max_parts => MAX_PARTS,
        if_example => IF_EXAMPLE,
    };
    render_status(
        state,
        req,
        Some(viewer),
        "template_edit.html",
        "templates",
        ctx,
        status,
    )
    .await
}

/// The console's 404 page, for a store or kind that does not exist.
async fn missing(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    viewer: &Viewer,
) -> Result<HttpResponse, ApiError> {
    render_status(
        state,
        req,
        Some(viewer),
        "not_found.html",
        "templates",
        context! {},
        StatusCode::NOT_FOUND,
    )
    .await
}

/// The store, whether its template for `kind` is custom, and the template (stored or default).
/// `None` when the store does not exist.
async fn load(
    state: &web::Data<AppState>,
    id: u64,
    kind: EventKind,
) -> Result<Option<(Store, bool, MessageTemplate)>, ApiError> {
    let db = state.db.clone();
    let loaded = blocking(move || {
        let record = match db.store(id) {
            Ok(record) => record,
            Err(DbError::NotFound) => return Ok(None),
            Err(e) => return Err(e),
        };
        let stored = db.template(id, kind)?;
        Ok(Some((record, stored)))
    })
    .await?;
    Ok(loaded.map(|(record, stored)| {
        let custom = stored.is_some();
        (
            record,
            custom,
            stored.unwrap_or_else(|| default_template(kind)),
        )
    }))
}

/// Renders the preview of `form` with the store's quiet hours.
async fn preview_of(
    state: &web::Data<AppState>,
    store: &Store,
    kind: EventKind,
    form: &EditorForm,
) -> Result<PreviewView, ApiError> {
    let settings = state.db.clone();
    let quiet = blocking(move || Ok(settings.message_settings()?.quiet_hours)).await?;
    Ok(preview(
        form,
        store.platform,
        kind,
        &store.name,
        quiet,
        state.clock.now(),
    ))
}

/// `GET /templates/{id}/{kind}`.
pub async fn edit_template(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let Some((id, kind)) = target(&path) else {
        return missing(&state, &req, &viewer).await;
    };
    let Some((store, custom, template)) = load(&state, id, kind).await? else {
        return missing(&state, &req, &viewer).await;
    };
    let form = EditorForm::from_template(&template);
    let preview = Some(preview_of(&state, &store, kind, &form).await?);
    let editor = Editor {
        store,
        kind,
        custom,
        form,
        errors: Vec::new(),
        preview,
    };
    editor_page(&state, &req, &viewer, editor, StatusCode::OK).await
}

/// `POST /templates/{id}/{kind}`: validates every step and part, then saves.
pub async fn save_template(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminViewer,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let Some((id, kind)) = target(&path) else {
        return missing(&state, &req, &admin.0).await;
    };
    let Some((store, custom, _)) = load(&state, id, kind).await? else {
        return missing(&state, &req, &admin.0).await;
    };
    let (form, _) = EditorForm::from_pairs(&pairs(&body));
    match form.validate(kind) {
        Ok(template) => {
            let db = state.db.clone();
            blocking(move || db.save_template(id, &template)).await?;
            tracing::info!(store_id = id, kind = %kind, by = admin.0.user.id, "template saved");
            Ok(redirect(&format!("/templates/{id}/{kind}?ok=saved")))
        }
        Err(errors) => {
            let editor = Editor {
                store,
                kind,
                custom,
                form,
                errors,
                preview: None,
            };
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            editor_page(&state, &req, &admin.0, editor, status).await
        }
    }
}

/// `POST /templates/{id}/{kind}/padrao`: back to the shipped default.
pub async fn reset_template(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminViewer,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let Some((id, kind)) = target(&path) else {
        return missing(&state, &req, &admin.0).await;
    };
    let db = state.db.clone();
    match blocking(move || {
        db.store(id)?;
        db.reset_template(id, kind)
    })
    .await
    {
        Ok(()) => {
            tracing::info!(store_id = id, kind = %kind, by = admin.0.user.id, "template reset");
            Ok(redirect(&format!(
                "/templates/{id}/{kind}?ok=template_reset"
            )))
        }
        Err(ApiError::Db(DbError::NotFound)) => missing(&state, &req, &admin.0).await,
        Err(e) => Err(e),
    }
}

/// `POST /templates/{id}/{kind}/previa`: the editor again, with the typed content previewed
/// (and reshaped when an add/remove button was pressed). Saves nothing.
pub async fn preview_template(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let Some((id, kind)) = target(&path) else {
        return missing(&state, &req, &viewer).await;
    };
    let Some((store, custom, _)) = load(&state, id, kind).await? else {
        return missing(&state, &req, &viewer).await;
    };
    let (mut form, action) = EditorForm::from_pairs(&pairs(&body));
    form.apply(action.unwrap_or(Action::Preview));
    let preview = Some(preview_of(&state, &store, kind, &form).await?);
    let editor = Editor {
        store,
        kind,
        custom,
        form,
        errors: Vec::new(),
        preview,
    };
    editor_page(&state, &req, &viewer, editor, StatusCode::OK).await
}

/// The JSON preview request: unsaved steps of a store's template.
#[derive(Debug, Deserialize)]
pub struct PreviewInput {
    store_id: u64,
    kind: String,
    steps: Vec<PreviewStepInput>,
    sample: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct PreviewStepInput {
    delay: String,
    parts: Vec<String>,
}

/// `POST /api/v1/templates/preview`: the same preview as the editor's, as JSON.
pub async fn api_preview_template(
    state: web::Data<AppState>,
    _viewer: Viewer,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let input: PreviewInput = serde_json::from_slice(&body)
        .map_err(|e| ApiError::Validation(format!("invalid JSON: {e}")))?;
    let kind = EventKind::parse(&input.kind)
        .ok_or_else(|| ApiError::Validation(format!("unknown kind `{}`", input.kind)))?;
    if input.steps.is_empty() || input.steps.len() > MAX_STEPS {
        return Err(ApiError::Validation(format!(
            "a template has 1 to {MAX_STEPS} steps"
        )));
    }
    if input.steps.iter().any(|s| s.parts.len() > MAX_PARTS) {
        return Err(ApiError::Validation(format!(
            "a step has at most {MAX_PARTS} parts"
        )));
    }
    let id = input.store_id;
    let db = state.db.clone();
    let store = blocking(move || db.store(id)).await?;
    let form = EditorForm {
        enabled: true,
        steps: input
            .steps
            .into_iter()
            .map(|s| super::template_form::StepForm {
                delay: s.delay,
                parts: s.parts,
            })
            .collect(),
        sample: input.sample,
    };
    let view = preview_of(&state, &store, kind, &form).await?;
    Ok(HttpResponse::Ok().json(view))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::ui::{LANGUAGES, catalog_keys};
    use crate::render::VARIABLES;

    #[test]
    fn every_kind_is_listed_once() {
        let listed: Vec<EventKind> = KIND_GROUPS
            .iter()
            .flat_map(|(_, kinds)| kinds.iter().copied())
            .collect();
        assert_eq!(listed.len(), EventKind::ALL.len());
        for kind in EventKind::ALL {
            assert!(listed.contains(&kind), "{kind} is not listed");
        }
    }

    /// Keys the templates build at render time (`t("templates.var." ~ name)`), which the
    /// literal-key test cannot see.
    #[test]
    fn every_built_key_is_in_the_catalogs() {
        let mut wanted: Vec<String> = VARIABLES
            .iter()
            .map(|v| format!("templates.var.{v}"))
            .collect();
        wanted.extend(
            KIND_GROUPS
                .iter()
                .map(|(g, _)| format!("templates.group.{g}")),
        );
        wanted.extend(
            FILTERS
                .iter()
                .map(|(f, _, _)| format!("templates.filter.{f}")),
        );
        for unit in ["now", "m", "h", "d", "due"] {
            wanted.push(format!("templates.unit.{unit}"));
        }
        for code in [
            "unknown_variable",
            "syntax",
            "render_failed",
            "bad_delay",
            "empty_step",
            "too_long",
        ] {
            wanted.push(format!("templates.error.{code}"));
        }
        for source in ["platform", "other_platform", "synthetic"] {
            wanted.push(format!("templates.preview.source.{source}"));
        }
        wanted.push("flash.template_reset".to_owned());
        for (lang, _) in LANGUAGES {
            let keys = catalog_keys(lang);
            for key in &wanted {
                assert!(keys.contains(key), "{lang} lacks {key}");
            }
        }
    }
}
