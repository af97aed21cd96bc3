//! Errors shown to a browser: an [`AppError`] becomes an HTML page with the
//! status, a plain message and a way back, and no internals.

use axum::response::{IntoResponse, Response};

use crate::web::error::AppError;

/// An [`AppError`] shown to a browser: an HTML page with the status, a plain
/// message and a way back, and no internals.
#[derive(Debug)]
pub struct PageError(pub AppError);

impl<E: Into<AppError>> From<E> for PageError {
    fn from(err: E) -> Self {
        PageError(err.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        self.0.log();
        let status = self.0.status();
        super::ui::error_page(status, &self.0.public_message())
    }
}

/// Result of a page handler.
pub type PageResult<T = Response> = Result<T, PageError>;
