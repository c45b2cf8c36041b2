//! `GET /ajuda/api`: the JSON API's reference for logged-in users, rendered on the server from
//! the same OpenAPI description `GET /api/v1/openapi.json` serves (`http::api::openapi`), so the
//! page and the spec cannot disagree. No script, no CDN: one HTML page. Operations are grouped by
//! their tag (messages first: sending is what most integrations do), and the outbound webhooks'
//! signature check is shown from the same files docs/API.md quotes (`docs/snippets/`).

use actix_web::{HttpRequest, HttpResponse, web};
use minijinja::value::Serde;
use minijinja::{Value as Context, context};
use serde::Serialize;
use serde_json::Value;

use super::page::Page;
use crate::http::AppState;
use crate::http::api::openapi::spec;
use crate::http::auth::Viewer;
use crate::http::error::ApiError;

/// One operation as the page lists it.
#[derive(Debug, Serialize)]
pub struct OperationRef {
    pub anchor: String,
    pub method: String,
    pub path: String,
    pub tag: String,
    pub summary: String,
    pub description: String,
    pub params: Vec<ParamRef>,
    /// The request body's type (a schema name links to it), if the operation reads one.
    pub request: Option<String>,
    pub responses: Vec<ResponseRef>,
}

#[derive(Debug, Serialize)]
pub struct ParamRef {
    pub name: String,
    pub place: String,
    pub required: bool,
    pub kind: String,
    pub description: String,
}

#[derive(Debug, Serialize)]
pub struct ResponseRef {
    pub status: String,
    pub description: String,
    pub body: Option<String>,
}

/// The operations of one tag, in path order.
#[derive(Debug, Serialize)]
pub struct Group {
    pub tag: String,
    pub operations: Vec<OperationRef>,
}

/// The order the page lists the tags in; a tag not named here comes after them.
const TAG_ORDER: &[&str] = &[
    "messages",
    "stores",
    "templates",
    "events",
    "instances",
    "webhooks",
    "users",
    "operations",
    "meta",
];

/// Groups operations by tag, in `TAG_ORDER`, each keeping the spec's path order.
pub fn grouped(operations: Vec<OperationRef>) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    for op in operations {
        match groups.iter_mut().find(|g| g.tag == op.tag) {
            Some(group) => group.operations.push(op),
            None => groups.push(Group {
                tag: op.tag.clone(),
                operations: vec![op],
            }),
        }
    }
    let rank = |tag: &str| {
        TAG_ORDER
            .iter()
            .position(|t| *t == tag)
            .unwrap_or(TAG_ORDER.len())
    };
    groups.sort_by(|a, b| (rank(&a.tag), &a.tag).cmp(&(rank(&b.tag), &b.tag)));
    groups
}

/// The signature checks docs/API.md quotes, shown on the page as they are.
const VERIFY_SH: &str = include_str!("../../../docs/snippets/verify-signature.sh");
const VERIFY_JS: &str = include_str!("../../../docs/snippets/verify-signature.js");

/// One named schema with its fields.
#[derive(Debug, Serialize)]
pub struct SchemaRef {
    pub name: String,
    pub description: String,
    pub fields: Vec<ParamRef>,
}

/// A schema's type in one word: a component's name, `string`, `integer[]`, `object`.
fn kind_of(schema: &Value) -> String {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        return r.rsplit('/').next().unwrap_or(r).to_owned();
    }
    if let Some(any) = schema.get("oneOf").or_else(|| schema.get("anyOf")) {
        let kinds: Vec<String> = any
            .as_array()
            .into_iter()
            .flatten()
            .map(kind_of)
            .filter(|k| k != "null")
            .collect();
        return kinds.join(" | ");
    }
    let types: Vec<&str> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .filter(|t| *t != "null")
            .collect(),
        _ => vec![],
    };
    match types.first() {
        Some(&"array") => format!("{}[]", schema.get("items").map(kind_of).unwrap_or_default()),
        Some(t) => (*t).to_owned(),
        None => "object".to_owned(),
    }
}

fn text(value: &Value, key: &str) -> String {
    value
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// The body's schema of a request or response, if it has a JSON one.
fn body_kind(holder: &Value) -> Option<String> {
    let content = holder.get("content")?.as_object()?;
    let (media, value) = content.iter().next()?;
    match value.get("schema") {
        Some(schema) => Some(kind_of(schema)),
        None => Some(media.clone()),
    }
}

/// Every operation of the spec, in the spec's path order, and its named schemas.
pub fn reference(spec: &Value) -> (Vec<OperationRef>, Vec<SchemaRef>) {
    let mut operations = Vec::new();
    let paths = spec.get("paths").and_then(Value::as_object);
    for (path, item) in paths.into_iter().flatten() {
        for method in ["get", "post", "put", "patch", "delete"] {
            let Some(op) = item.get(method) else { continue };
            let params = op
                .get("parameters")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|p| ParamRef {
                    name: text(p, "name"),
                    place: text(p, "in"),
                    required: p.get("required").and_then(Value::as_bool).unwrap_or(false),
                    kind: p.get("schema").map(kind_of).unwrap_or_default(),
                    description: text(p, "description"),
                })
                .collect();
            let responses = op
                .get("responses")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .map(|(status, r)| ResponseRef {
                    status: status.clone(),
                    description: text(r, "description"),
                    body: body_kind(r),
                })
                .collect();
            let anchor = format!("{method}-{path}")
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                .collect();
            operations.push(OperationRef {
                anchor,
                method: method.to_uppercase(),
                path: path.clone(),
                tag: op
                    .get("tags")
                    .and_then(|t| t.get(0))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                summary: text(op, "summary"),
                description: text(op, "description"),
                params,
                request: op.get("requestBody").and_then(body_kind),
                responses,
            });
        }
    }
    let schemas = spec
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(name, schema)| {
            let required: Vec<&str> = schema
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            let fields = schema
                .get("properties")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .map(|(field, s)| ParamRef {
                    name: field.clone(),
                    place: String::new(),
                    required: required.contains(&field.as_str()),
                    kind: kind_of(s),
                    description: text(s, "description"),
                })
                .collect();
            SchemaRef {
                name: name.clone(),
                description: text(schema, "description"),
                fields,
            }
        })
        .collect();
    (operations, schemas)
}

/// `GET /ajuda/api`: every `/api/v1` operation with its parameters and bodies.
pub async fn show_api_reference(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
) -> Result<HttpResponse, ApiError> {
    let spec = serde_json::to_value(spec()).map_err(|e| ApiError::Internal(e.to_string()))?;
    let (operations, schemas) = reference(&spec);
    let groups = grouped(operations);
    let schema_names: Vec<&str> = schemas.iter().map(|s| s.name.as_str()).collect();
    Page::new(&state, &req, &viewer, "api_reference.html")
        .menu("account")
        .render(context! {
            info => Context::from(Serde(spec.get("info"))),
            groups => Context::from(Serde(&groups)),
            verify_sh => VERIFY_SH, verify_js => VERIFY_JS,
            schemas => Context::from(Serde(&schemas)),
            schema_names => Context::from(Serde(&schema_names)),
        })
        .await
}
