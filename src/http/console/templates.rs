//! The Templates pages: per store, the 22 kinds grouped the way merchants think of them, and the
//! editor (on/off, steps with delays and parts, the variables of the kind, validation on save,
//! preview with real fixture events). Anyone logged in may look and preview; admins save. The
//! editor's content, its rules and the preview are `operations::templates`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use minijinja::{Value, context};
use serde::{Deserialize, Serialize};

use crate::domain::EventKind;
use crate::domain::Platform;
use crate::domain::Store;
use crate::domain::StoreId;
use crate::domain::template::MessageTemplate;
use crate::http::AppState;
use crate::http::auth::{AdminViewer, Viewer, redirect};
use crate::http::console::Page;
use crate::http::console::view::ser;
use crate::http::error::ApiError;
use crate::http::operations::templates::form::{
    Action, EditorForm, FieldError, MAX_PARTS, MAX_STEPS,
};
use crate::http::operations::templates::preview::{DelayView, PreviewView};
use crate::http::operations::templates::{
    budget_errors, load_template, preview_template as preview_of,
};
use crate::render::{default_template_for, variables_for};

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

/// The list's last group: the merchant's custom kinds (`/templates/personalizados`).
pub const CUSTOM_GROUP: &str = "custom";

/// Delays offered beside the free-text field (`StepDelay::parse` reads any of them).
const DELAY_SUGGESTIONS: [&str; 9] = [
    "na hora",
    "2 minutos",
    "15 minutos",
    "30 minutos",
    "1 hora",
    "2 horas",
    "1 dia",
    "2 dias",
    "no vencimento",
];

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

/// One row of the list.
#[derive(Serialize)]
struct KindRow {
    kind: String,
    enabled: bool,
    steps: usize,
    first_delay: Option<DelayView>,
    custom: bool,
}

fn row(kind: EventKind, platform: Platform, stored: Option<MessageTemplate>) -> KindRow {
    let custom = stored.is_some();
    let template = stored.unwrap_or_else(|| default_template_for(kind, platform));
    KindRow {
        kind: kind.as_str().to_owned(),
        enabled: template.enabled,
        steps: template.steps.len(),
        first_delay: template
            .steps
            .first()
            .map(|s| DelayView::new(&s.delay.label_pt())),
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
    let wanted = query
        .loja
        .as_deref()
        .and_then(|s| s.parse::<StoreId>().ok());
    let (stores, selected, rows) = state
        .run(move |db| {
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
                        rows.push(row(
                            *kind,
                            selected.platform,
                            db.template(selected.id, *kind)?,
                        ));
                    }
                    groups.push((group, rows));
                }
                // The merchant's own kinds, last (shown even when there are none: the link
                // to create one lives there).
                let mut rows = Vec::new();
                for def in db.list_custom_kinds()? {
                    if let Some(custom) = def.kind() {
                        let kind = EventKind::Custom(custom);
                        rows.push(row(
                            kind,
                            selected.platform,
                            db.template(selected.id, kind)?,
                        ));
                    }
                }
                groups.push((CUSTOM_GROUP, rows));
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
    Page::new(&state, &req, &viewer, "templates.html")
        .menu("templates")
        .render(ctx)
        .await
}

/// The store id and kind of an editor URL. Both are read after authentication (a typed `Path`
/// could refuse a request before the auth extractor had its say).
fn target(path: &web::Path<(String, String)>) -> Option<(StoreId, EventKind)> {
    Some((path.0.parse().ok()?, EventKind::parse_with_custom(&path.1)?))
}

/// The variables a kind declares for its templates (`vars.<name>`): a custom kind's, from its
/// definition; none for a canonical kind. A custom kind nobody created is not found.
async fn declared_vars(state: &AppState, kind: EventKind) -> Result<Vec<String>, ApiError> {
    let Some(custom) = kind.custom() else {
        return Ok(Vec::new());
    };
    let def = state.run(move |db| db.custom_kind(custom)).await?;
    Ok(def.ok_or(ApiError::NotFound)?.vars)
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
    /// A custom kind's declared variables (`vars.<name>`); none for a canonical kind.
    vars: Vec<String>,
}

async fn editor_page(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    viewer: &Viewer,
    editor: Editor,
    status: StatusCode,
) -> Result<HttpResponse, ApiError> {
    let mut variables: Vec<Value> = variables_for(editor.kind)
        .into_iter()
        .map(|name| context! { name => name, insert => format!("{{{{ {name} }}}}") })
        .collect();
    variables.extend(editor.vars.iter().map(|name| {
        context! { name => format!("vars.{name}"), insert => format!("{{{{ vars.{name} }}}}"), own => true }
    }));
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
        warnings => ser(&editor.form.warnings()),
        preview => editor.preview.as_ref().map(ser),
        variables => variables,
        filters => filters,
        delays => DELAY_SUGGESTIONS.to_vec(),
        max_steps => MAX_STEPS,
        max_parts => MAX_PARTS,
        if_example => IF_EXAMPLE,
    };
    Page::new(state, req, viewer, "template_edit.html")
        .menu("templates")
        .status(status)
        .render(ctx)
        .await
}

/// `GET /templates/{id}/{kind}`.
pub async fn edit_template(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, kind) = target(&path).ok_or(ApiError::NotFound)?;
    let vars = declared_vars(&state, kind).await?;
    let (store, custom, template) = load_template(&state, id, kind).await?;
    let form = EditorForm::from_template(&template);
    let preview = Some(preview_of(&state, &store, kind, &form).await?);
    let editor = Editor {
        store,
        kind,
        custom,
        form,
        errors: Vec::new(),
        preview,
        vars,
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
    let (id, kind) = target(&path).ok_or(ApiError::NotFound)?;
    let vars = declared_vars(&state, kind).await?;
    let (store, custom, _) = load_template(&state, id, kind).await?;
    let (form, _) = EditorForm::from_pairs(&pairs(&body));
    let checked = match form.validate_with_vars(kind, &vars) {
        Ok(template) => {
            let over = budget_errors(&state, &store, kind, &form).await;
            if over.is_empty() {
                Ok(template)
            } else {
                Err(over)
            }
        }
        Err(errors) => Err(errors),
    };
    match checked {
        Ok(template) => {
            state.run(move |db| db.save_template(id, &template)).await?;
            tracing::info!(store_id = id.0, kind = %kind, by = admin.0.user.id, "template saved");
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
                vars,
            };
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            editor_page(&state, &req, &admin.0, editor, status).await
        }
    }
}

/// `POST /templates/{id}/{kind}/padrao`: back to the shipped default.
pub async fn reset_template(
    state: web::Data<AppState>,
    admin: AdminViewer,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, kind) = target(&path).ok_or(ApiError::NotFound)?;
    declared_vars(&state, kind).await?;
    state
        .run(move |db| {
            db.store(id)?;
            db.reset_template(id, kind)
        })
        .await?;
    tracing::info!(store_id = id.0, kind = %kind, by = admin.0.user.id, "template reset");
    Ok(redirect(&format!(
        "/templates/{id}/{kind}?ok=template_reset"
    )))
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
    let (id, kind) = target(&path).ok_or(ApiError::NotFound)?;
    let vars = declared_vars(&state, kind).await?;
    let (store, custom, _) = load_template(&state, id, kind).await?;
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
        vars,
    };
    editor_page(&state, &req, &viewer, editor, StatusCode::OK).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::ui::{LANGUAGES, catalog_keys};
    use crate::render::VARIABLES;

    /// The editor's own examples are templates a merchant copies: the render guard allows them.
    #[test]
    fn the_editors_examples_are_allowed_templates() {
        for source in FILTERS
            .iter()
            .map(|(_, example, _)| *example)
            .chain([IF_EXAMPLE])
        {
            crate::render::validate(source).unwrap_or_else(|e| panic!("{source}: {e}"));
        }
    }

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
        wanted.push(format!("templates.group.{CUSTOM_GROUP}"));
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
            "not_allowed",
            "render_failed",
            "bad_delay",
            "empty_step",
            "too_long",
            "too_much_work",
            "output_too_long",
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
