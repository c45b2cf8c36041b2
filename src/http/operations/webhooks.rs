//! Outbound webhook endpoints, as the console (Configurações → Integrações) and the API
//! (`/api/v1/webhooks`) both manage them: validation of what the admin typed, the secret, and
//! the view that never shows a secret unless asked.

use serde::Serialize;

use crate::db::{DbError, NewEndpoint};
use crate::domain::outbound::{Endpoint, EndpointDisabled, OutboundEvent};
use crate::domain::{EndpointId, StoreId};
use crate::http::AppState;

/// What an admin asks for, before validation.
#[derive(Clone, Debug, Default)]
pub struct EndpointInput {
    pub url: String,
    pub description: String,
    pub events: Vec<String>,
    pub store_id: Option<StoreId>,
    /// Empty: avisa makes one.
    pub secret: String,
}

/// Why an endpoint was refused: a catalog key (`outbound.error.*`) for the console, English
/// for the API.
#[derive(Debug)]
pub enum EndpointRefusal {
    Invalid {
        key: &'static str,
        message: &'static str,
    },
    Db(DbError),
}

impl From<DbError> for EndpointRefusal {
    fn from(e: DbError) -> Self {
        EndpointRefusal::Db(e)
    }
}

fn invalid(key: &'static str, message: &'static str) -> EndpointRefusal {
    EndpointRefusal::Invalid { key, message }
}

/// An endpoint as the console and the API show it; `secret` only where it is meant to be read.
#[derive(Clone, Debug, Serialize)]
pub struct EndpointView {
    pub id: EndpointId,
    pub url: String,
    pub description: String,
    pub events: Vec<OutboundEvent>,
    pub store_id: Option<StoreId>,
    pub enabled: bool,
    /// `by_admin` or `failing` (every attempt failed for 3 days).
    pub disabled: Option<EndpointDisabled>,
    pub disabled_at: Option<i64>,
    pub failing_since: Option<i64>,
    pub created_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

impl EndpointView {
    pub fn of(e: Endpoint, with_secret: bool) -> EndpointView {
        EndpointView {
            id: e.id,
            url: e.url,
            description: e.description,
            events: e.events,
            store_id: e.store_id,
            enabled: e.disabled.is_none(),
            disabled: e.disabled,
            disabled_at: e.disabled_at,
            failing_since: e.failing_since,
            created_at: e.created_at,
            secret: with_secret.then_some(e.secret),
        }
    }
}

/// A fresh signing secret: `whsec_` and 64 hex digits.
pub fn new_secret() -> String {
    format!("whsec_{}", crate::http::password::random_token())
}

fn validate(input: EndpointInput) -> Result<NewEndpoint, EndpointRefusal> {
    let url = input.url.trim().to_owned();
    let parsed = url::Url::parse(&url)
        .map_err(|_| invalid("outbound.error.url", "url must be an absolute http(s) URL"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(invalid(
            "outbound.error.url",
            "url must be an absolute http(s) URL",
        ));
    }
    let mut events = Vec::new();
    for name in &input.events {
        let event = OutboundEvent::parse(name.trim())
            .ok_or_else(|| invalid("outbound.error.event", "unknown event name"))?;
        if !events.contains(&event) {
            events.push(event);
        }
    }
    if events.is_empty() {
        return Err(invalid(
            "outbound.error.no_events",
            "choose at least one event",
        ));
    }
    let secret = match input.secret.trim() {
        "" => new_secret(),
        s if s.len() < 16 || s.len() > 200 => {
            return Err(invalid(
                "outbound.error.secret",
                "secret must have 16 to 200 characters",
            ));
        }
        s => s.to_owned(),
    };
    Ok(NewEndpoint {
        url,
        description: input.description.trim().chars().take(120).collect(),
        events,
        store_id: input.store_id,
        secret,
    })
}

/// Registers an endpoint (its store must exist).
pub async fn create_endpoint(
    state: &AppState,
    input: EndpointInput,
) -> Result<Endpoint, EndpointRefusal> {
    let new = validate(input)?;
    let now = state.clock.now();
    let created = state
        .run(move |db| {
            if let Some(store_id) = new.store_id {
                match db.store(store_id) {
                    Err(DbError::NotFound) => return Ok(None),
                    Err(e) => return Err(e),
                    Ok(_) => {}
                }
            }
            db.create_endpoint(new, now).map(Some)
        })
        .await?;
    let endpoint = created.ok_or_else(|| invalid("outbound.error.store", "no such store"))?;
    tracing::info!(endpoint = endpoint.id.0, url = %endpoint.url, "outbound webhook endpoint added");
    Ok(endpoint)
}
