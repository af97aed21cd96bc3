//! Shared domain error pieces: [`FieldError`], the shape in which every
//! module reports a problem with its input. No HTTP here: `web::error`
//! turns domain errors into pages and the API error shape.

use serde::Serialize;
use utoipa::ToSchema;

/// One problem with the input: which field (and where), and what to do.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row: Option<u64>,
    pub message: String,
}

impl FieldError {
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Self {
            field: Some(field.to_owned()),
            message: message.into(),
            ..Self::default()
        }
    }
}
