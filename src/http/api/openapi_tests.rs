//! The spec covers the route table's `/api/v1` part, and nothing else.

use super::spec;
use crate::http::routes::ROUTES;

/// `(METHOD, path)` of every operation in the spec.
fn documented() -> Vec<(String, String)> {
    let spec = spec();
    let mut out = Vec::new();
    for (path, item) in &spec.paths.paths {
        for (method, op) in [
            ("GET", &item.get),
            ("POST", &item.post),
            ("PUT", &item.put),
            ("PATCH", &item.patch),
            ("DELETE", &item.delete),
        ] {
            if op.is_some() {
                out.push((method.to_owned(), path.clone()));
            }
        }
    }
    out
}

#[test]
fn every_api_route_of_the_table_is_in_the_spec() {
    let documented = documented();
    let missing: Vec<String> = ROUTES
        .iter()
        .filter(|r| r.path.starts_with("/api/v1/"))
        .filter(|r| !documented.contains(&(r.method.to_owned(), r.path.to_owned())))
        .map(|r| {
            format!(
                "{} {} is in the route table (src/http/routes.rs) but not in the OpenAPI spec: \
                 put #[utoipa::path({}, path = \"{}\", tag = …, summary = …, responses(…))] on its \
                 handler and name the handler in `paths(…)` of src/http/api/openapi.rs",
                r.method,
                r.path,
                r.method.to_lowercase(),
                r.path
            )
        })
        .collect();
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

#[test]
fn the_spec_documents_no_route_the_table_lacks() {
    let stray: Vec<String> = documented()
        .into_iter()
        .filter(|(m, p)| !ROUTES.iter().any(|r| r.method == m && r.path == p))
        .map(|(m, p)| format!("{m} {p} is in the spec but not in the route table"))
        .collect();
    assert!(stray.is_empty(), "{}", stray.join("\n"));
}
