//! Why a proposal action was refused.

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
