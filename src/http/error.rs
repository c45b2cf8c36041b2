//! One exhaustive mapping from errors to HTTP: stable snake_case codes, 404 for not found, 409 for
//! conflicts, 422 for validation, never a blanket 400.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

use crate::db::DbError;

/// An error answered to a JSON API caller or a console page.
#[derive(Debug)]
pub enum ApiError {
    Unauthenticated,
    Forbidden,
    NotFound,
    Validation(String),
    CsrfRejected,
    Db(DbError),
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
            ApiError::Db(DbError::Locked(_)) => "database_locked",
            ApiError::Db(DbError::NewerSchema { .. }) => "database_newer",
            ApiError::Db(DbError::NotFound) => "not_found",
            ApiError::Db(DbError::Conflict(_)) => "conflict",
            ApiError::Db(DbError::Io(_) | DbError::Engine(_)) => "storage_failed",
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
            ApiError::NotFound | ApiError::Db(DbError::NotFound) => StatusCode::NOT_FOUND,
            ApiError::Db(DbError::Conflict(_)) => StatusCode::CONFLICT,
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Db(_) | ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
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
    F: FnOnce() -> Result<T, DbError> + Send + 'static,
    T: Send + 'static,
{
    Ok(actix_web::web::block(f).await??)
}
