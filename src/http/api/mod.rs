//! The JSON API (`/api/v1/...`), one file per resource: handlers read `*Input` bodies, call
//! `operations`, and answer `*View`s. Errors answer from the one table in `error.rs`.

pub mod backup;
pub mod events;
pub mod instances;
pub mod mappings;
pub mod messages;
pub mod openapi;
pub mod stores;
pub mod templates;
pub mod users;
pub mod webhooks;

use serde::Deserialize;

use super::error::ApiError;

/// A JSON body as `T`; a malformed one is a validation error (422), never a bare 400.
fn parse_body<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::Validation(format!("invalid JSON: {e}")))
}
