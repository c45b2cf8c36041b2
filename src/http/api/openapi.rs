//! The OpenAPI description of `/api/v1`, generated from the handlers' `#[utoipa::path]`
//! attributes and the `ToSchema` derives on the bodies they read and answer, so it moves with
//! the code. `GET /api/v1/openapi.json` serves it; the console's API reference (`/ajuda/api`)
//! renders it. `openapi_tests.rs` fails when a `/api/v1` line of the route table is missing here.
//!
//! **Adding an `/api/v1` route:** put `#[utoipa::path(<method>, path = "<the table's path>",
//! tag = "<resource>", summary = "…", responses(…))]` on its handler (with `request_body = T`
//! and `ToSchema` on `T` when it reads one), then name the handler in `paths(…)` below.

use actix_web::HttpResponse;
use utoipa::OpenApi;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};

use super::{backup, events, instances, mappings, messages, stores, templates, users, webhooks};
use crate::http::auth::Viewer;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "avisa API",
        description = "avisa's JSON API: stores, instances, events, messages and the send API. \
            Every call needs a login: an API token (Usuários → Tokens) as \
            `Authorization: Bearer <token>`, or the console's session cookie (then unsafe \
            methods also need the `X-CSRF-Token` header). Errors answer \
            `{\"error\": {\"code\", \"message\"}}` with a stable `code`."
    ),
    paths(
        stores::list_stores,
        stores::create_store,
        stores::show_store,
        stores::update_store,
        stores::delete_store,
        stores::regenerate_store_token,
        mappings::show_mapping,
        mappings::save_mapping,
        mappings::reprocess_events,
        instances::list_instances,
        instances::create_instance,
        instances::show_instance,
        instances::update_instance,
        instances::delete_instance,
        instances::link_store,
        templates::preview_template,
        events::list_events,
        events::show_event,
        messages::list_messages,
        messages::send_message,
        messages::show_message,
        messages::cancel_message,
        messages::reschedule_message,
        messages::mark_order_paid,
        backup::create_backup,
        webhooks::list_webhooks,
        webhooks::create_webhook,
        webhooks::show_webhook,
        webhooks::delete_webhook,
        users::show_me,
        users::list_users,
        show_openapi,
    ),
    modifiers(&Security),
    security(("token" = []), ("session" = [])),
)]
struct ApiDoc;

/// The login schemes every operation accepts.
struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new("avisa_session"))),
        );
    }
}

/// The whole `/api/v1` description.
pub fn spec() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// `GET /api/v1/openapi.json`: this description, for code generators and n8n.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "meta",
    summary = "This API's OpenAPI description",
    responses((status = 200, description = "The OpenAPI 3 document", content_type = "application/json"))
)]
pub async fn show_openapi(_viewer: Viewer) -> HttpResponse {
    HttpResponse::Ok().json(spec())
}

#[cfg(test)]
#[path = "openapi_tests.rs"]
mod openapi_tests;
