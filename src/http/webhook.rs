//! `POST /webhook/{token}[/{anything}]`: the platforms' door. Public by design; the unguessable
//! token finds the store, the platform's signature (when the merchant configured a secret) proves
//! the sender. The answer is 2xx only after the delivery is durable.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use std::pin::Pin;

use futures_core::Stream;

use super::AppState;
use super::error::ApiError;
use super::limits;
use crate::db::{DbError, Delivery, RawDelivery, Recorded};
use crate::domain::EventId;
use crate::ingest::{self, Reading, ReasonCode, Request};
use crate::queue::{BodyPermit, IntakeError};

/// The largest body avisa reads; larger ones are answered 413 before they are read.
pub const MAX_BODY: usize = 1024 * 1024;

/// Header names whose values are credentials: never stored, never shown.
fn is_secret_header(name: &str) -> bool {
    [
        "authorization",
        "cookie",
        "token",
        "secret",
        "password",
        "api-key",
        "apikey",
        "hottok",
    ]
    .iter()
    .any(|s| name.contains(s))
}

fn body_reason(reading: &Reading) -> bool {
    matches!(
        reading.reason.as_ref().map(|r| r.code),
        Some(
            ReasonCode::EmptyBody | ReasonCode::NotUtf8 | ReasonCode::BadJson | ReasonCode::BadForm
        )
    )
}

/// Finds the store by token, checks the signature, reads the delivery and answers once durable.
pub async fn receive_webhook(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String,)>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let token = path.into_inner().0;
    let found = match state.db.cached_store(&token) {
        Some(hit) => Some(hit),
        None => state.run(move |db| db.store_by_token(&token)).await?,
    };
    let Some(store) = found else {
        state.metrics.count_webhook("unknown", "unknown_token");
        return Err(ApiError::UnknownWebhook);
    };
    let platform = store.platform;
    let (body, permit) = match read_body(&state, &req, payload).await {
        Ok(read) => read,
        Err(e) => {
            state.metrics.count_webhook(platform.id(), e.code());
            return Err(e);
        }
    };
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .filter_map(|(n, v)| Some((n.as_str().to_ascii_lowercase(), v.to_str().ok()?.to_owned())))
        .collect();
    let query = req.query_string().to_owned();
    let now = state.clock.now();
    let request = Request::new(&body, &headers, &query);
    // The store's own mapping (merchant-made names, or a `custom` store's whole reading).
    let store_id = store.id;
    let mapping = match state.db.cached_mapping(store_id) {
        Some(hit) => hit,
        None => state.run(move |db| db.store_mapping(store_id)).await?,
    };

    let signature = match store.secret.as_deref().filter(|s| !s.is_empty()) {
        Some(secret) if platform == crate::domain::Platform::Custom => {
            ingest::mapping::verify_custom(mapping.as_deref(), secret, &request)
        }
        Some(secret) => ingest::verify_signature(platform, secret, &request, now),
        None => Ok(()),
    };
    let bad_signature = signature.is_err();
    let readings = match signature {
        Ok(()) => ingest::recognise_with(platform, mapping.as_deref(), &request),
        Err(e) => vec![Reading::invalid(ReasonCode::BadSignature, e.to_string())],
    };
    let rejected_body = readings.iter().all(body_reason);

    let delivery = Delivery {
        store_id: store.id,
        received_at: now,
        raw: RawDelivery {
            content_type: req
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            query: strip_secret_params(&query),
            headers: headers
                .into_iter()
                .filter(|(n, _)| !is_secret_header(n))
                .collect(),
            body,
        },
        readings,
    };
    let planned_before = state.db.messages_planned();
    let recorded = match state.intake.submit(delivery, permit).await {
        Ok(r) => {
            // New messages may be due at once (confirmations): let the outbox look now. A
            // commit that planned nothing (duplicates, no phone, unmapped) leaves it asleep.
            if state.db.messages_planned() != planned_before {
                state.outbox_wake.notify_one();
            }
            r
        }
        Err(IntakeError::Full) => {
            state.metrics.count_webhook(platform.id(), "busy");
            return Err(ApiError::Busy);
        }
        // Temporary refusals: nothing was written, the platform retries after Retry-After.
        Err(IntakeError::DiskFull) => {
            state.metrics.count_webhook(platform.id(), "disk_full");
            return Err(ApiError::Db(DbError::DiskFull));
        }
        Err(IntakeError::Unavailable | IntakeError::Closed) => {
            state
                .metrics
                .count_webhook(platform.id(), "storage_unavailable");
            return Err(ApiError::Db(DbError::Unavailable));
        }
        Err(e) => return Err(ApiError::Internal(e.to_string())),
    };
    let event_ids: Vec<EventId> = recorded
        .iter()
        .map(|r| match r {
            Recorded::New(id) | Recorded::Duplicate(id) => *id,
        })
        .collect();
    let duplicates: Vec<EventId> = recorded
        .iter()
        .filter_map(|r| match r {
            Recorded::Duplicate(id) => Some(*id),
            Recorded::New(_) => None,
        })
        .collect();

    // Refused deliveries are kept too: the error carries their event ids.
    let answer = if bad_signature {
        Err(ApiError::BadSignature { event_ids })
    } else if rejected_body {
        Err(ApiError::BadBody { event_ids })
    } else if duplicates.len() == recorded.len() {
        Ok(HttpResponse::Ok().json(json!({ "event_ids": event_ids, "duplicate": true })))
    } else {
        Ok(HttpResponse::Accepted()
            .json(json!({ "event_ids": event_ids, "duplicates": duplicates })))
    };
    let outcome = match &answer {
        Err(e) => e.code(),
        Ok(r) if r.status() == actix_web::http::StatusCode::OK => "duplicate",
        Ok(_) => "accepted",
    };
    state.metrics.count_webhook(platform.id(), outcome);
    answer
}

/// The same door with the cosmetic store-name tail (`/webhook/{token}/minha-loja`).
pub async fn receive_webhook_tail(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (token, _tail) = path.into_inner();
    receive_webhook(state, req, web::Path::from((token,)), payload).await
}

/// Reads the body against the intake's byte budget from its first byte: a body that does not fit
/// is refused (503, the platform retries) before it is buffered, so memory stays bounded however
/// many connections send at once. A body over `MAX_BODY` is 413; one that does not arrive within
/// the body deadline is 408 (`limits`).
async fn read_body(
    state: &AppState,
    req: &HttpRequest,
    mut payload: web::Payload,
) -> Result<(Vec<u8>, BodyPermit), ApiError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_BODY) {
        return Err(ApiError::BodyTooLarge);
    }
    let announced = declared.unwrap_or(0);
    let mut permit = state
        .intake
        .reserve(announced)
        .map_err(|_| ApiError::Busy)?;
    let mut body = Vec::with_capacity(announced);
    while let Some(chunk) = std::future::poll_fn(|cx| Pin::new(&mut payload).poll_next(cx)).await {
        let chunk = chunk.map_err(|e| {
            if limits::timed_out(&e) {
                ApiError::BodyTimeout
            } else {
                ApiError::BodyIncomplete
            }
        })?;
        let len = body.len() + chunk.len();
        if len > MAX_BODY {
            return Err(ApiError::BodyTooLarge);
        }
        permit.grow_to(len).map_err(|_| ApiError::Busy)?;
        body.extend_from_slice(&chunk);
    }
    Ok((body, permit))
}

/// Kiwify-style query signatures are fine to keep; query tokens are not.
fn strip_secret_params(query: &str) -> String {
    form_urlencoded::parse(query.as_bytes())
        .filter(|(k, _)| !is_secret_header(&k.to_ascii_lowercase()))
        .fold(
            form_urlencoded::Serializer::new(String::new()),
            |mut s, (k, v)| {
                s.append_pair(&k, &v);
                s
            },
        )
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_never_reach_the_stored_request() {
        assert!(is_secret_header("x-hotmart-hottok"));
        assert!(is_secret_header("authorization"));
        assert!(is_secret_header("x-avisa-token"));
        assert!(!is_secret_header("x-shopify-hmac-sha256"));
        assert_eq!(
            strip_secret_params("signature=ab&token=s3cret"),
            "signature=ab"
        );
    }
}
