//! One exhaustive mapping from errors to HTTP: stable snake_case codes, 404 for not found, 409 for
//! conflicts, 422 for validation, never a blanket 400.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

use crate::store::StoreError;

/// An error answered to a JSON API caller or a console page.
#[derive(Debug)]
pub enum ApiError {
    Unauthenticated,
    Forbidden,
    NotFound,
    Validation(String),
    CsrfRejected,
    Store(StoreError),
    Internal(String),
}

impl ApiError {
    /// The stable code clients branch on.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthenticated => "unauthenticated",
            ApiError::Forbidden => "forbidden",
            ApiError::NotFound => "not_found",
            ApiError::Validation(_) => "validation_failed",
            ApiError::CsrfRejected => "csrf_rejected",
            ApiError::Store(StoreError::Locked(_)) => "database_locked",
            ApiError::Store(StoreError::NewerSchema { .. }) => "database_newer",
            ApiError::Store(StoreError::NotFound) => "not_found",
            ApiError::Store(StoreError::Conflict(_)) => "conflict",
            ApiError::Store(StoreError::Io(_) | StoreError::Db(_)) => "storage_failed",
            ApiError::Internal(_) => "internal",
        }
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
            ApiError::Store(e) => write!(f, "{e}"),
            ApiError::Internal(e) => f.write_str(e),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError::Store(e)
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(_: actix_web::error::BlockingError) -> Self {
        ApiError::Internal("the worker pool is shutting down".into())
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Unauthenticated => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden | ApiError::CsrfRejected => StatusCode::FORBIDDEN,
            ApiError::NotFound | ApiError::Store(StoreError::NotFound) => StatusCode::NOT_FOUND,
            ApiError::Store(StoreError::Conflict(_)) => StatusCode::CONFLICT,
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Store(_) | ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if self.status_code().is_server_error() {
            tracing::error!(code = self.code(), error = %self, "request failed");
        }
        let mut response = HttpResponse::build(self.status_code());
        response.json(json!({ "error": { "code": self.code(), "message": self.to_string() } }))
    }
}

/// Runs a blocking storage call off the async workers.
pub async fn blocking<T, F>(f: F) -> Result<T, ApiError>
where
    F: FnOnce() -> Result<T, StoreError> + Send + 'static,
    T: Send + 'static,
{
    Ok(actix_web::web::block(f).await??)
}
