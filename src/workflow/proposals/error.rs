//! Why a proposal action was refused.

use crate::error::FieldError;
use crate::workflow::write::WriteError;

/// Why a workflow action was refused.
#[derive(Debug, thiserror::Error)]
pub enum WorkflowError {
    #[error("no proposal {0}")]
    NotFound(i64),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    WrongState(String),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Write(#[from] WriteError),
    #[error(transparent)]
    Auth(#[from] crate::auth::AuthError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl From<WorkflowError> for crate::error::AppError {
    fn from(err: WorkflowError) -> Self {
        use crate::error::AppError;
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
