//! `AppError`: the one place where errors become HTTP. API handlers return
//! it and get the JSON error shape; page handlers return
//! [`PageError`](super::PageError) and get an HTML page. Domain errors are
//! mapped here (the domain knows nothing of HTTP). Internal details are
//! logged once here and never shown.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::AuthError;
pub use crate::error::FieldError;
use crate::import::jobs::SubmitError;
use crate::media::MediaError;
use crate::workflow::proposals::WorkflowError;
use crate::workflow::write::WriteError;

/// Every way a request can fail.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    BadRequest(String),
    /// A 400 whose details name the parameter at fault.
    #[error("{message}")]
    BadRequestDetails {
        message: String,
        details: Vec<FieldError>,
    },
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{message}")]
    ForbiddenFields {
        message: String,
        details: Vec<FieldError>,
    },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("{0}")]
    Timeout(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{message}")]
    ConflictDetails {
        message: String,
        details: Vec<FieldError>,
    },
    #[error("{0}")]
    PreconditionFailed(String),
    #[error("{0}")]
    PreconditionRequired(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{message}")]
    Validation {
        message: String,
        details: Vec<FieldError>,
    },
    #[error("{0}")]
    TooManyRequests(String),
    #[error("the service is not ready: {0}")]
    Unavailable(String),
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl AppError {
    pub fn internal(err: impl Into<anyhow::Error>) -> Self {
        AppError::Internal(err.into())
    }

    pub fn validation(details: Vec<FieldError>) -> Self {
        let message = match details.as_slice() {
            [only] => only.message.clone(),
            _ => format!("{} problems with the input", details.len()),
        };
        AppError::Validation { message, details }
    }

    /// A 400 naming the request parameter at fault.
    pub fn bad_parameter(field: &str, message: impl Into<String>) -> Self {
        let detail = FieldError::field(field, message);
        AppError::BadRequestDetails {
            message: format!("{field}: {}", detail.message),
            details: vec![detail],
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AppError::BadRequest(_) | AppError::BadRequestDetails { .. } => StatusCode::BAD_REQUEST,
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) | AppError::ForbiddenFields { .. } => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            AppError::Timeout(_) => StatusCode::REQUEST_TIMEOUT,
            AppError::Conflict(_) | AppError::ConflictDetails { .. } => StatusCode::CONFLICT,
            AppError::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            AppError::PreconditionRequired(_) => StatusCode::PRECONDITION_REQUIRED,
            AppError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Validation { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable machine-readable code of the API error shape.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::BadRequest(_) | AppError::BadRequestDetails { .. } => "bad_request",
            AppError::Unauthorized(_) => "unauthorized",
            AppError::Forbidden(_) | AppError::ForbiddenFields { .. } => "forbidden",
            AppError::NotFound(_) => "not_found",
            AppError::MethodNotAllowed(_) => "method_not_allowed",
            AppError::Timeout(_) => "timeout",
            AppError::Conflict(_) | AppError::ConflictDetails { .. } => "conflict",
            AppError::PreconditionFailed(_) => "precondition_failed",
            AppError::PreconditionRequired(_) => "precondition_required",
            AppError::PayloadTooLarge(_) => "payload_too_large",
            AppError::Validation { .. } => "validation_failed",
            AppError::TooManyRequests(_) => "too_many_requests",
            AppError::Unavailable(_) => "unavailable",
            AppError::Internal(_) => "internal",
        }
    }

    /// What a person may be shown: everything but internal errors.
    pub fn public_message(&self) -> String {
        match self {
            AppError::Internal(_) => {
                "Something went wrong on our side. It has been logged; please try again.".to_owned()
            }
            other => other.to_string(),
        }
    }

    pub fn details(&self) -> &[FieldError] {
        match self {
            AppError::Validation { details, .. }
            | AppError::BadRequestDetails { details, .. }
            | AppError::ForbiddenFields { details, .. }
            | AppError::ConflictDetails { details, .. } => details,
            _ => &[],
        }
    }

    /// Logs internal errors, once, where they become a response.
    pub fn log(&self) {
        if let AppError::Internal(err) = self {
            tracing::error!(error = format!("{err:#}"), "request failed");
        }
    }
}

/// `{"error": {"code", "message", "details"}}`
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
    pub details: Vec<FieldError>,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        self.log();
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code().to_owned(),
                message: self.public_message(),
                details: self.details().to_vec(),
            },
        };
        let mut response = (self.status(), axum::Json(body)).into_response();
        if matches!(self, AppError::Unauthorized(_)) {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"sluice\""),
            );
        }
        response
    }
}

impl From<AuthError> for AppError {
    fn from(err: AuthError) -> Self {
        match err {
            AuthError::Unauthenticated => AppError::Unauthorized(err.to_string()),
            AuthError::InvalidToken(message) => AppError::Unauthorized(message.to_owned()),
            AuthError::BadCredentials => AppError::Unauthorized(err.to_string()),
            AuthError::Forbidden(message) => AppError::Forbidden(message),
            AuthError::Invalid { field, message } => {
                AppError::validation(vec![FieldError::field(field, message)])
            }
            AuthError::EmailTaken(_) => {
                AppError::validation(vec![FieldError::field("email", err.to_string())])
            }
            AuthError::NotFound(what) => AppError::NotFound(format!("{what} not found")),
            AuthError::Throttled { .. } => AppError::TooManyRequests(err.to_string()),
            AuthError::Database(db) => AppError::internal(db),
            AuthError::Hashing(message) => AppError::internal(anyhow::anyhow!(message)),
        }
    }
}

// Domain errors, mapped here so the domain knows nothing of HTTP.

impl From<WriteError> for AppError {
    fn from(err: WriteError) -> Self {
        // A refused field's Display is its first message: the one shown.
        let message = err.to_string();
        match err {
            WriteError::NotFound(_) => AppError::NotFound(message),
            WriteError::Forbidden(details) => AppError::ForbiddenFields { message, details },
            WriteError::Invalid(details) => AppError::validation(details),
            WriteError::Stale { .. } => AppError::PreconditionFailed(message),
            WriteError::SkuTaken(_) | WriteError::SchemaChanged => AppError::Conflict(message),
            WriteError::Database(db) => AppError::internal(db),
        }
    }
}

impl From<WorkflowError> for AppError {
    fn from(err: WorkflowError) -> Self {
        match err {
            WorkflowError::NotFound(_) => AppError::NotFound(err.to_string()),
            WorkflowError::Forbidden(message) => AppError::Forbidden(message),
            WorkflowError::WrongState(message) => AppError::Conflict(message),
            WorkflowError::Invalid(message) => AppError::validation(vec![FieldError {
                message,
                ..FieldError::default()
            }]),
            WorkflowError::Write(write) => write.into(),
            WorkflowError::Auth(auth) => auth.into(),
            WorkflowError::Database(db) => AppError::internal(db),
        }
    }
}

impl From<SubmitError> for AppError {
    fn from(err: SubmitError) -> Self {
        match err {
            SubmitError::NoProfile(_) => AppError::NotFound(err.to_string()),
            SubmitError::BadProfile { ref problems, .. } => AppError::validation(
                problems
                    .iter()
                    .map(|p| FieldError::field("profile", p.clone()))
                    .collect(),
            ),
            SubmitError::BadMode(_) | SubmitError::BadKey => AppError::BadRequest(err.to_string()),
            SubmitError::Empty => {
                AppError::validation(vec![FieldError::field("file", err.to_string())])
            }
            SubmitError::KeyReused(_) => {
                AppError::validation(vec![FieldError::field("Idempotency-Key", err.to_string())])
            }
            SubmitError::TooLarge(_) => AppError::PayloadTooLarge(err.to_string()),
            SubmitError::Io(io) => AppError::internal(io),
            SubmitError::Database(db) => AppError::internal(db),
        }
    }
}

impl From<MediaError> for AppError {
    fn from(err: MediaError) -> Self {
        let message = err.to_string();
        match err {
            MediaError::TooLarge { .. } => AppError::PayloadTooLarge(message),
            // What the file is: the part of the form at fault is the file.
            MediaError::Empty
            | MediaError::Unsupported { .. }
            | MediaError::TooManyPixels { .. }
            | MediaError::Corrupt { .. } => {
                AppError::validation(vec![FieldError::field("file", message)])
            }
            MediaError::NotFound(_) | MediaError::NoPreset(_) => AppError::NotFound(message),
            MediaError::Invalid(_) => AppError::validation(vec![FieldError {
                message,
                ..FieldError::default()
            }]),
            MediaError::Forbidden(_) => AppError::Forbidden(message),
            MediaError::Stale { .. } => AppError::PreconditionFailed(message),
            MediaError::Storage(_) => AppError::internal(anyhow::anyhow!(message)),
            MediaError::Db(db) => AppError::internal(db),
        }
    }
}

impl From<sqlx::Error> for AppError {
    fn from(err: sqlx::Error) -> Self {
        AppError::internal(err)
    }
}

impl From<axum::extract::rejection::JsonRejection> for AppError {
    fn from(rejection: axum::extract::rejection::JsonRejection) -> Self {
        match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => AppError::PayloadTooLarge(rejection.body_text()),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                AppError::BadRequest("send the body as application/json".to_owned())
            }
            StatusCode::UNPROCESSABLE_ENTITY => AppError::validation(vec![FieldError {
                message: rejection.body_text(),
                ..FieldError::default()
            }]),
            _ => AppError::BadRequest(rejection.body_text()),
        }
    }
}

impl From<axum::extract::rejection::QueryRejection> for AppError {
    fn from(rejection: axum::extract::rejection::QueryRejection) -> Self {
        AppError::BadRequest(rejection.body_text())
    }
}

impl From<axum::extract::rejection::FormRejection> for AppError {
    fn from(rejection: axum::extract::rejection::FormRejection) -> Self {
        match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => AppError::PayloadTooLarge(rejection.body_text()),
            _ => AppError::BadRequest(rejection.body_text()),
        }
    }
}

/// Result of a JSON API handler.
pub type ApiResult<T> = Result<T, AppError>;
