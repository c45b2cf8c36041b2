//! The one HTTP-facing error table: every error a handler, the webhook or the middleware answers
//! has one line here with its status and stable snake_case code (404 for not found, 409 for
//! conflicts, 422 for validation, never a blanket 400). JSON callers (`/api/`, `/webhook/`) get
//! `{"error": {"code", "message"}}`; console routes get an HTML page for 403/404/5xx (see
//! `console::html_errors`). `docs/API.md` lists the same table.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

use super::operations::events::UnknownFilter;
use super::operations::messages::FilterError;
use crate::db::DbError;
use crate::domain::EventId;

/// The header a failure's id travels in, for the console's error page.
pub const ERROR_ID_HEADER: &str = "x-avisa-error-id";

/// An error answered to a JSON API caller, a platform's webhook or a console page.
#[derive(Debug)]
pub enum ApiError {
    Unauthenticated,
    Forbidden,
    NotFound,
    Validation(String),
    CsrfRejected,
    /// No store has this webhook token.
    UnknownWebhook,
    /// The ingestion queue is full; the platform retries.
    Busy,
    /// The webhook's signature or token does not match; the delivery was kept (its event ids).
    BadSignature {
        event_ids: Vec<EventId>,
    },
    /// The webhook body cannot be read; the delivery was kept (its event ids).
    BadBody {
        event_ids: Vec<EventId>,
    },
    /// The body is larger than a webhook may be; nothing was read past the limit.
    BodyTooLarge,
    /// The body did not arrive within the body deadline; the connection is closed.
    BodyTimeout,
    /// The client stopped before the end of its body.
    BodyIncomplete,
    Db(DbError),
    Internal(String),
}

impl ApiError {
    /// The table: status and stable code of each error (clients branch on the code).
    fn entry(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::Unauthenticated => (StatusCode::UNAUTHORIZED, "unauthenticated"),
            ApiError::Forbidden => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Validation(_) => (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            ApiError::CsrfRejected => (StatusCode::FORBIDDEN, "csrf_rejected"),
            ApiError::UnknownWebhook => (StatusCode::NOT_FOUND, "unknown_webhook"),
            ApiError::Busy => (StatusCode::SERVICE_UNAVAILABLE, "busy"),
            ApiError::BadSignature { .. } => (StatusCode::UNAUTHORIZED, "bad_signature"),
            ApiError::BadBody { .. } => (StatusCode::BAD_REQUEST, "bad_body"),
            ApiError::BodyTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large"),
            ApiError::BodyTimeout => (StatusCode::REQUEST_TIMEOUT, "body_timeout"),
            ApiError::BodyIncomplete => (StatusCode::BAD_REQUEST, "body_incomplete"),
            ApiError::Db(DbError::NotFound) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Db(DbError::Conflict(_)) => (StatusCode::CONFLICT, "conflict"),
            ApiError::Db(DbError::Locked(_)) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "database_locked")
            }
            ApiError::Db(DbError::NewerSchema { .. }) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "database_newer")
            }
            // Nothing was written; the platform retries (Retry-After) and avisa recovers by itself.
            ApiError::Db(DbError::DiskFull) => (StatusCode::SERVICE_UNAVAILABLE, "disk_full"),
            ApiError::Db(DbError::Unavailable) => {
                (StatusCode::SERVICE_UNAVAILABLE, "storage_unavailable")
            }
            ApiError::Db(DbError::Io(_) | DbError::Engine(_)) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "storage_failed")
            }
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }

    /// Seconds a caller should wait before retrying, for the refusals that are temporary.
    fn retry_after(&self) -> Option<&'static str> {
        match self {
            ApiError::Busy | ApiError::Db(DbError::Unavailable) => Some("5"),
            ApiError::Db(DbError::DiskFull) => Some("60"),
            _ => None,
        }
    }

    /// The stable code clients branch on.
    pub fn code(&self) -> &'static str {
        self.entry().1
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiError::Unauthenticated => f.write_str("log in first"),
            ApiError::Forbidden => f.write_str("your role does not allow this"),
            ApiError::NotFound => f.write_str("not found"),
            ApiError::Validation(what) => f.write_str(what),
            ApiError::CsrfRejected => {
                f.write_str("the form expired or came from another site; reload the page")
            }
            ApiError::UnknownWebhook => f.write_str("no store has this webhook URL"),
            ApiError::Busy => f.write_str("avisa is busy; retry shortly"),
            ApiError::BadSignature { .. } => {
                f.write_str("the signature or token does not match this store's secret")
            }
            ApiError::BadBody { .. } => {
                f.write_str("the body cannot be read; it was kept for inspection")
            }
            ApiError::BodyTooLarge => f.write_str("the body is larger than 1 MiB"),
            ApiError::BodyTimeout => f.write_str("the body did not arrive in time"),
            ApiError::BodyIncomplete => f.write_str("the body ended before its announced length"),
            ApiError::Db(e) => write!(f, "{e}"),
            ApiError::Internal(e) => f.write_str(e),
        }
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        ApiError::Db(e)
    }
}

/// A message filter the list cannot use.
impl From<FilterError> for ApiError {
    fn from(e: FilterError) -> Self {
        ApiError::Validation(match e {
            FilterError::Store => "unknown store filter".to_owned(),
            FilterError::Status => "unknown status filter".to_owned(),
            FilterError::View => "unknown view filter (fila, historico)".to_owned(),
            FilterError::Phone(why) => format!("phone filter: {why}"),
        })
    }
}

/// An event filter the list cannot use.
impl From<UnknownFilter> for ApiError {
    fn from(UnknownFilter(what): UnknownFilter) -> Self {
        ApiError::Validation(format!("unknown {what} filter"))
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.entry().0
    }

    fn error_response(&self) -> HttpResponse {
        // Refusals that carry Retry-After (busy intake, full disk, reopening storage) are planned
        // back-pressure, logged once by their owner, not per request. Any other 5xx is ours: the
        // caller (maybe anonymous) gets its code and an id to quote, the detail (paths, storage
        // errors) goes only to the log under that id.
        let failure_id = (self.status_code().is_server_error() && self.retry_after().is_none())
            .then(|| hex::encode(super::password::random_bytes::<6>()));
        let error = match &failure_id {
            Some(id) => {
                tracing::error!(code = self.code(), error_id = %id, error = %self, "request failed");
                json!({
                    "code": self.code(),
                    "message": format!("internal error; quote id {id} to the administrator"),
                    "id": id,
                })
            }
            None => json!({ "code": self.code(), "message": self.to_string() }),
        };
        let mut response = HttpResponse::build(self.status_code());
        if let Some(id) = &failure_id {
            response.insert_header((ERROR_ID_HEADER, id.as_str()));
        }
        if let Some(seconds) = self.retry_after() {
            response.insert_header((header::RETRY_AFTER, seconds));
        }
        if matches!(self, ApiError::BodyTimeout) {
            // The rest of a slow body is not worth waiting for.
            response.force_close();
        }
        match self {
            // The delivery was kept: the platform (and the merchant) can find it by these ids.
            ApiError::BadSignature { event_ids } | ApiError::BadBody { event_ids } => {
                response.json(json!({ "error": error, "event_ids": event_ids }))
            }
            _ => response.json(json!({ "error": error })),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_codes_keep_their_statuses() {
        assert_eq!(ApiError::UnknownWebhook.status_code(), 404);
        assert_eq!(ApiError::Busy.status_code(), 503);
        let kept = ApiError::BadSignature {
            event_ids: vec![EventId(1)],
        };
        assert_eq!(
            (kept.status_code().as_u16(), kept.code()),
            (401, "bad_signature")
        );
        let unreadable = ApiError::BadBody { event_ids: vec![] };
        assert_eq!(unreadable.status_code(), 400);
    }

    #[test]
    fn a_failure_answers_its_code_and_an_id_and_keeps_the_detail_for_the_log() {
        let failure = ApiError::from(DbError::Engine(
            "database: I/O error: No space left on device".into(),
        ));
        let response = failure.error_response();
        assert_eq!(response.status(), 500);
        let id = response
            .headers()
            .get(ERROR_ID_HEADER)
            .expect("an error id")
            .to_str()
            .expect("ascii")
            .to_owned();
        assert_eq!(id.len(), 12);
        let body = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
            .block_on(actix_web::body::to_bytes(response.into_body()))
            .expect("body");
        let body: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
        assert_eq!(body["error"]["code"], "storage_failed");
        assert_eq!(body["error"]["id"], id.as_str());
        assert!(!body.to_string().contains("No space"), "{body}");
        // Errors the caller can act on keep their message.
        let validation = ApiError::Validation("unknown kind `x`".into()).error_response();
        assert!(!validation.headers().contains_key(ERROR_ID_HEADER));
    }

    #[test]
    fn a_full_disk_is_a_temporary_refusal_not_a_failure() {
        for (error, code) in [
            (DbError::DiskFull, "disk_full"),
            (DbError::Unavailable, "storage_unavailable"),
        ] {
            let error = ApiError::from(error);
            assert_eq!((error.status_code().as_u16(), error.code()), (503, code));
            assert!(
                error
                    .error_response()
                    .headers()
                    .contains_key(header::RETRY_AFTER)
            );
        }
    }

    #[test]
    fn missing_records_are_404_whichever_layer_noticed() {
        assert_eq!(ApiError::NotFound.status_code(), 404);
        assert_eq!(ApiError::from(DbError::NotFound).status_code(), 404);
        assert_eq!(ApiError::from(DbError::NotFound).code(), "not_found");
    }
}
