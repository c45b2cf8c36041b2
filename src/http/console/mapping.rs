//! Mapeamento: the merchant teaches avisa a store's events. The page shows a held raw body as a
//! clickable tree (JSON or form), the event names seen with a kind to pick for each, and for a
//! `custom` store the fields; a preview reads the body with the form's mapping and renders the
//! message it would send. Save, remove, re-process, export and import.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use minijinja::{Value, context};
use serde::Deserialize;
use serde_json::Value as Json;

use crate::db::{HeldEvents, RawDelivery};
use crate::domain::{EventId, EventKind, Platform, StoreId};
use crate::http::AppState;
use crate::http::auth::{AdminViewer, Viewer, redirect};
use crate::http::console::Page;
use crate::http::error::ApiError;
use crate::http::operations::mappings::{self as ops, MappingRefusal};
use crate::ingest::mapping::{AmountUnit, Auth, Choice, FIELDS, Mapping};
use crate::ingest::{self, Request};

/// The most tree rows drawn: a huge body stays usable (its first rows are the interesting ones).
const MAX_ROWS: usize = 400;

#[derive(Deserialize)]
pub struct MappingQuery {
    #[serde(default)]
    evento: Option<EventId>,
}

/// One row of the raw body's tree: its path, depth, key and (for a leaf) its value.
fn tree_rows(value: &Json, path: &str, key: &str, depth: usize, out: &mut Vec<Value>) {
    if out.len() >= MAX_ROWS {
        return;
    }
    let children: Vec<(String, &Json)> = match value {
        Json::Object(map) => map.iter().map(|(k, v)| (k.clone(), v)).collect(),
        Json::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| (i.to_string(), v))
            .collect(),
        _ => Vec::new(),
    };
    let leaf = match value {
        // A long value is cut for the tree (its path is what a click takes).
        Json::String(s) if s.chars().count() > 80 => {
            Some(format!("{}…", s.chars().take(80).collect::<String>()))
        }
        Json::String(s) => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        Json::Bool(b) => Some(b.to_string()),
        Json::Null => Some("null".to_owned()),
        _ => None,
    };
    if depth > 0 {
        out.push(context! { path, key, depth, indent => depth.min(8), value => leaf });
    }
    for (child_key, child) in children {
        let child_path = if path.is_empty() {
            child_key.clone()
        } else {
            format!("{path}.{child_key}")
        };
        tree_rows(child, &child_path, &child_key, depth + 1, out);
    }
}

/// The raw body as tree rows, or why it cannot be drawn.
fn body_tree(raw: &RawDelivery) -> Result<Vec<Value>, String> {
    let request = Request::new(&raw.body, &raw.headers, &raw.query);
    let body = ingest::common::body_value(&request).map_err(|e| e.to_string())?;
    let mut rows = Vec::new();
    tree_rows(&body, "", "", 0, &mut rows);
    Ok(rows)
}

/// The mapping a form describes. Kinds come as `kind_name.N` / `kind.N` pairs, fields as
/// `field.<avisa field>`; an empty choice leaves a name unmapped.
fn mapping_from_form(pairs: &[(String, String)], platform: Platform) -> Mapping {
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default()
    };
    let mut mapping = Mapping::default();
    for (key, name) in pairs {
        let Some(n) = key.strip_prefix("kind_name.") else {
            continue;
        };
        let choice = get(&format!("kind.{n}"));
        if let Ok(choice) = Choice::try_from(choice) {
            mapping.kinds.insert(name.clone(), choice);
        }
    }
    if platform != Platform::Custom {
        return mapping;
    }
    mapping.event_field = get("event_field");
    for field in FIELDS {
        let path = get(&format!("field.{field}"));
        if !path.is_empty() {
            mapping.fields.insert(field.to_owned(), path);
        }
    }
    mapping.amount_unit = if get("amount_unit") == "cents" {
        AmountUnit::Cents
    } else {
        AmountUnit::Reais
    };
    let header = get("auth_header");
    mapping.auth = match get("auth_scheme").as_str() {
        "header" => Some(Auth::Header { header }),
        "hmac_sha256" => Some(Auth::HmacSha256 { header }),
        _ => None,
    };
    mapping
}

/// What the page is drawn from: the store, its mapping, the held events, the body shown.
struct Loaded {
    store: crate::domain::Store,
    mapping: Mapping,
    held: HeldEvents,
    /// The event whose body is shown and its delivery.
    shown: Option<(EventId, String, RawDelivery)>,
}

async fn load(state: &AppState, id: StoreId, event: Option<EventId>) -> Result<Loaded, ApiError> {
    let loaded = state
        .run(move |db| {
            let store = db.store(id)?;
            let mapping = db
                .store_mapping(id)?
                .map(|m| (*m).clone())
                .unwrap_or_default();
            let held = db.held_events(id, 500)?;
            let wanted = event.or_else(|| held.latest.as_ref().map(|(r, _)| r.id));
            let shown = match wanted {
                Some(event_id) => {
                    let (record, raw, _) =
                        crate::http::operations::events::load_event(db, event_id)?;
                    (record.store_id == id).then(|| {
                        let name = record.event.map(|e| e.platform_event).unwrap_or_default();
                        (record.id, name, raw)
                    })
                }
                None => None,
            };
            Ok(Loaded {
                store,
                mapping,
                held,
                shown,
            })
        })
        .await?;
    if event.is_some() && loaded.shown.is_none() {
        return Err(ApiError::NotFound);
    }
    Ok(loaded)
}

/// The preview: the shown body read with `mapping`, and the first message it would plan; with
/// the event name the mapping reads in it.
async fn preview(state: &AppState, loaded: &Loaded, mapping: &Mapping) -> (Value, Option<String>) {
    let Some((_, _, raw)) = &loaded.shown else {
        return (Value::UNDEFINED, None);
    };
    let platform = loaded.store.platform;
    let readings = ingest::recognise_with(
        platform,
        Some(mapping),
        &Request::new(&raw.body, &raw.headers, &raw.query),
    );
    let Some(reading) = readings.into_iter().next() else {
        return (Value::UNDEFINED, None);
    };
    let event = reading.event.clone();
    let name = event.as_ref().map(|e| e.platform_event.clone());
    let store_id = loaded.store.id;
    let public_name = loaded.store.public_name.clone();
    let message = match event.as_ref().and_then(|e| e.kind.map(|k| (e.clone(), k))) {
        Some((event, kind)) => {
            let template = state
                .run(move |db| db.template(store_id, kind))
                .await
                .ok()
                .flatten()
                .unwrap_or_else(|| crate::render::default_template_for(kind, platform));
            let first = template
                .steps
                .first()
                .and_then(|s| s.parts.first())
                .cloned();
            match first {
                Some(part) => state
                    .rendering
                    .run(move || crate::render::render(&part, &event, &public_name))
                    .await
                    .ok(),
                None => None,
            }
        }
        None => None,
    };
    let view = context! {
        status => crate::http::operations::events::status_str(reading.status),
        reason => reading.reason.map(|r| r.detail),
        kind => event.as_ref().and_then(|e| e.kind.as_ref()).map(EventKind::as_str),
        event => event.map(|e| serde_json::to_string_pretty(&e).expect("an event serialises")),
        message => message,
    };
    (view, name)
}

/// Draws the page for `mapping` (the saved one, or a form's) with an optional error.
async fn render_page(
    state: &AppState,
    req: &HttpRequest,
    viewer: &Viewer,
    loaded: Loaded,
    mapping: Mapping,
    error: Option<String>,
) -> Result<HttpResponse, ApiError> {
    let (preview, read_name) = preview(state, &loaded, &mapping).await;
    let mut names = loaded.held.names.clone();
    names.extend(mapping.kinds.keys().cloned());
    names.extend(read_name);
    if let Some((_, name, _)) = &loaded.shown {
        names.insert(name.clone());
    }
    names.remove("");
    let kinds: Vec<Value> = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            context! { index => i, name, choice => mapping.kinds.get(name).map(|c| String::from(*c)).unwrap_or_default() }
        })
        .collect();
    let (tree, tree_error) = match &loaded.shown {
        Some((_, _, raw)) => match body_tree(raw) {
            Ok(rows) => (rows, None),
            Err(e) => (Vec::new(), Some(e)),
        },
        None => (Vec::new(), None),
    };
    let (auth_scheme, auth_header) = match &mapping.auth {
        Some(Auth::Header { header }) => ("header", header.clone()),
        Some(Auth::HmacSha256 { header }) => ("hmac_sha256", header.clone()),
        None => ("", String::new()),
    };
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let ctx = context! {
        store => context! { id => loaded.store.id, name => loaded.store.name.clone(), platform => loaded.store.platform.id(), label => loaded.store.platform.label() },
        custom => loaded.store.platform == Platform::Custom,
        event_id => loaded.shown.as_ref().map(|(id, _, _)| *id),
        held => loaded.held.count,
        tree => tree,
        tree_error => tree_error,
        kinds => kinds,
        all_kinds => EventKind::ALL.iter().map(|k| k.as_str()).collect::<Vec<_>>(),
        fields => FIELDS.iter().map(|f| context! { name => *f, path => mapping.fields.get(*f).cloned().unwrap_or_default() }).collect::<Vec<_>>(),
        event_field => mapping.event_field.clone(),
        amount_unit => if mapping.amount_unit == AmountUnit::Cents { "cents" } else { "reais" },
        auth_scheme => auth_scheme,
        auth_header => auth_header,
        unverified => mapping.unverified,
        preview => preview,
        error => error,
    };
    Page::new(state, req, viewer, "mapping.html")
        .menu("stores")
        .status(status)
        .render(ctx)
        .await
}

/// `GET /lojas/{id}/mapeamento[?evento=N]`.
pub async fn show_mapping(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    id: web::Path<StoreId>,
    query: web::Query<MappingQuery>,
) -> Result<HttpResponse, ApiError> {
    let loaded = load(&state, id.into_inner(), query.evento).await?;
    let mapping = loaded.mapping.clone();
    render_page(&state, &req, &viewer, loaded, mapping, None).await
}

/// `POST /lojas/{id}/mapeamento/previa`: the page again, previewing the form's mapping.
pub async fn preview_mapping(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    id: web::Path<StoreId>,
    query: web::Query<MappingQuery>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, ApiError> {
    let loaded = load(&state, id.into_inner(), query.evento).await?;
    let mapping = mapping_from_form(&form, loaded.store.platform);
    // Paths as they will be saved (form keys become dotted); an invalid one is shown as typed.
    let mapping = mapping
        .clone()
        .validate(loaded.store.platform)
        .unwrap_or(mapping);
    render_page(&state, &req, &viewer, loaded, mapping, None).await
}

/// `POST /lojas/{id}/mapeamento`: saves the form's mapping (a preset becomes verified).
pub async fn save_mapping(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminViewer,
    id: web::Path<StoreId>,
    query: web::Query<MappingQuery>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let loaded = load(&state, id, query.evento).await?;
    let mapping = mapping_from_form(&form, loaded.store.platform);
    match ops::save_mapping(&state, id, mapping.clone(), false).await {
        Ok(_) => {
            tracing::info!(store_id = id.0, by = admin.0.user.id, "mapping saved");
            Ok(redirect(&format!(
                "/lojas/{id}?ok=mapping_saved#mapeamento"
            )))
        }
        Err(MappingRefusal::Invalid(e)) => {
            render_page(&state, &req, &admin.0, loaded, mapping, Some(e.to_string())).await
        }
        Err(MappingRefusal::Db(e)) => Err(e.into()),
    }
}

/// `POST /lojas/{id}/mapeamento/remover`.
pub async fn remove_mapping(
    state: web::Data<AppState>,
    admin: AdminViewer,
    id: web::Path<StoreId>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    ops::remove_mapping(&state, id).await?;
    tracing::info!(store_id = id.0, by = admin.0.user.id, "mapping removed");
    Ok(redirect(&format!(
        "/lojas/{id}?ok=mapping_removed#mapeamento"
    )))
}

/// `POST /lojas/{id}/reprocessar`: re-reads the held unmapped events with the mapping.
pub async fn reprocess_events(
    state: web::Data<AppState>,
    admin: AdminViewer,
    id: web::Path<StoreId>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let done = ops::reprocess(&state, id).await?;
    tracing::info!(
        store_id = id.0,
        by = admin.0.user.id,
        recognised = done.recognised,
        "unmapped events re-processed"
    );
    let flash = match done.recognised {
        0 => "reprocessed_none",
        1 => "reprocessed_one",
        _ => "reprocessed_many",
    };
    Ok(redirect(&format!(
        "/lojas/{id}?ok={flash}&n={}#mapeamento",
        done.recognised
    )))
}

/// `GET /lojas/{id}/mapeamento.json`: the mapping as a file to share (no secret is in it).
pub async fn export_mapping(
    state: web::Data<AppState>,
    _viewer: Viewer,
    id: web::Path<StoreId>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let (platform, mapping) = ops::show_mapping(&state, id).await?;
    let body = serde_json::to_string_pretty(&mapping).expect("a mapping serialises");
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((
            "Content-Disposition",
            format!(
                "attachment; filename=\"avisa-mapeamento-{}.json\"",
                platform.id()
            ),
        ))
        .body(body))
}

#[derive(Deserialize)]
pub struct ImportForm {
    #[serde(default)]
    mapping: String,
}

/// `POST /lojas/{id}/mapeamento/importar`: a shared mapping file's text, pasted or uploaded.
pub async fn import_mapping(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminViewer,
    id: web::Path<StoreId>,
    form: web::Form<ImportForm>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let loaded = load(&state, id, None).await?;
    let refused = match serde_json::from_str::<Mapping>(&form.mapping) {
        Ok(mapping) => {
            // Someone else's mapping is confirmed here only after a real event here: whatever
            // the file says, it is "não verificado" until the merchant saves it with one.
            let mapping = Mapping {
                unverified: true,
                ..mapping
            };
            match ops::save_mapping(&state, id, mapping, true).await {
                Ok(_) => {
                    tracing::info!(store_id = id.0, by = admin.0.user.id, "mapping imported");
                    return Ok(redirect(&format!(
                        "/lojas/{id}/mapeamento?ok=mapping_saved"
                    )));
                }
                Err(MappingRefusal::Invalid(e)) => e.to_string(),
                Err(MappingRefusal::Db(e)) => return Err(e.into()),
            }
        }
        Err(e) => format!("invalid JSON: {e}"),
    };
    let mapping = loaded.mapping.clone();
    render_page(&state, &req, &admin.0, loaded, mapping, Some(refused)).await
}

/// The store page's "Mapeamento próprio" card: shown for a `custom` store, or when the merchant
/// mapped something; `None` hides it.
pub async fn store_summary(
    state: &AppState,
    store: &crate::domain::Store,
) -> Result<Option<Value>, ApiError> {
    let id = store.id;
    let mapping = state.run(move |db| db.store_mapping(id)).await?;
    if mapping.is_none() && store.platform != Platform::Custom {
        return Ok(None);
    }
    let mapping = mapping.map(|m| (*m).clone());
    let exists = mapping.is_some();
    let mapping = mapping.unwrap_or_default();
    Ok(Some(context! {
        exists,
        unverified => mapping.unverified,
        fields => mapping.fields.len(),
        kinds => mapping.kinds.iter().map(|(name, c)| context! { name, kind => String::from(*c) }).collect::<Vec<_>>(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapping_form_pairs_become_a_mapping() {
        let pairs: Vec<(String, String)> = [
            ("event_field", "tipo"),
            ("kind_name.0", "venda ok"),
            ("kind.0", "order.paid"),
            ("kind_name.1", "teste"),
            ("kind.1", "ignore"),
            ("kind_name.2", "outro"),
            ("kind.2", ""),
            ("field.customer.phone", "cliente[fone]"),
            ("field.total", "valor"),
            ("field.order_id", ""),
            ("amount_unit", "cents"),
            ("auth_scheme", "header"),
            ("auth_header", "X-Token"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let mapping = mapping_from_form(&pairs, Platform::Custom)
            .validate(Platform::Custom)
            .expect("valid");
        assert_eq!(mapping.kinds.len(), 2);
        assert_eq!(mapping.kinds["teste"], Choice::Ignore);
        assert_eq!(mapping.fields["customer.phone"], "cliente.fone");
        assert!(!mapping.fields.contains_key("order_id"));
        assert_eq!(mapping.amount_unit, AmountUnit::Cents);
        assert_eq!(
            mapping.auth,
            Some(Auth::Header {
                header: "x-token".into()
            })
        );
        // A known platform's form carries kinds only, whatever else is posted.
        let known = mapping_from_form(&pairs, Platform::Kiwify);
        assert!(known.fields.is_empty() && known.event_field.is_empty());
    }

    #[test]
    fn mapping_tree_rows_name_every_path() {
        let body = serde_json::json!({"a": {"b": [1, {"c": "x"}]}});
        let mut rows = Vec::new();
        tree_rows(&body, "", "", 0, &mut rows);
        let paths: Vec<String> = rows
            .iter()
            .map(|r| r.get_attr("path").expect("path").to_string())
            .collect();
        assert_eq!(paths, ["a", "a.b", "a.b.0", "a.b.1", "a.b.1.c"]);
    }
}
