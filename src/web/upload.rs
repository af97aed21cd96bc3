//! Reading a `multipart/form-data` upload of one or more files: every part
//! with a file name (or named `file`) is a file, every other part a form
//! field. Files are
//! held in memory, each within the media size limit, and the whole body
//! within [`body_limit`], so one request never holds more than about one
//! largest file. The media API, the media library page and the product
//! page's upload all read their files here.

use axum::body::Bytes;
use axum::extract::Multipart;
use axum::extract::multipart::{Field, MultipartError, MultipartRejection};
use axum::http::StatusCode;

use crate::web::error::{AppError, FieldError};

/// What multipart framing, the form fields and a few part headers may add to
/// the files of an upload.
pub const MULTIPART_OVERHEAD: u64 = 1024 * 1024;

/// Most files one request may carry.
pub const MAX_FILES: usize = 100;

/// The usual name of a file part.
pub const FILE_FIELD: &str = "file";

/// Longest form field (text) accepted, in bytes.
const MAX_FIELD_BYTES: usize = 64 * 1024;

/// The body limit of a route that receives media uploads: the largest file
/// and the multipart overhead. Give the route
/// `DefaultBodyLimit::max(upload::body_limit(config.max_media_bytes))`.
pub fn body_limit(max_file_bytes: u64) -> usize {
    usize::try_from(max_file_bytes.saturating_add(MULTIPART_OVERHEAD)).unwrap_or(usize::MAX)
}

/// The files and fields of an upload, in the order they came.
#[derive(Debug, Default)]
pub struct UploadForm {
    /// `(file name as sent, bytes)`; parts of an empty file input (no name,
    /// no bytes) are left out.
    pub files: Vec<(String, Bytes)>,
    /// `(name, value)` of every part without a file name.
    pub fields: Vec<(String, String)>,
}

impl UploadForm {
    /// The first value of the field `name`.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(field, _)| field == name)
            .map(|(_, value)| value.as_str())
    }
}

/// Reads every part of `multipart`. A file over `max_file_bytes`, a body
/// over the route's limit or more than [`MAX_FILES`] files is a 413 naming
/// the limit (nothing is kept); a body that is not multipart, or breaks
/// off, is a 400.
pub async fn read(
    multipart: Result<Multipart, MultipartRejection>,
    max_file_bytes: u64,
) -> Result<UploadForm, AppError> {
    let mut multipart = multipart.map_err(|rejection| {
        AppError::BadRequest(format!(
            "send the files as multipart/form-data: {}",
            rejection.body_text()
        ))
    })?;
    let mut form = UploadForm::default();
    loop {
        let next =
            crate::web::next_chunk(async { multipart.next_field().await.map_err(multipart_error) })
                .await?;
        let Some(field) = next else { break };
        let name = field.name().unwrap_or_default().to_owned();
        // A part named `file` is a file even without a file name (as some
        // HTTP clients send one); the domain names it `upload`.
        let file_name = match field.file_name() {
            Some(file_name) => Some(file_name.to_owned()),
            None if name == FILE_FIELD => Some(String::new()),
            None => None,
        };
        match file_name {
            Some(file_name) => {
                let bytes =
                    read_part(field, max_file_bytes, &format!("the file {file_name:?}")).await?;
                if file_name.is_empty() && bytes.is_empty() {
                    // A file input left empty in a browser form.
                    continue;
                }
                if form.files.len() == MAX_FILES {
                    return Err(AppError::PayloadTooLarge(format!(
                        "send at most {MAX_FILES} files in one request"
                    )));
                }
                form.files.push((file_name, bytes));
            }
            None => {
                let limit = u64::try_from(MAX_FIELD_BYTES).unwrap_or(u64::MAX);
                let bytes = read_part(field, limit, &format!("the field {name:?}")).await?;
                let value = String::from_utf8(bytes.to_vec()).map_err(|_| {
                    AppError::validation(vec![FieldError::field(
                        &name,
                        "the field is not UTF-8 text",
                    )])
                })?;
                form.fields.push((name, value));
            }
        }
    }
    Ok(form)
}

/// One part's bytes, refused as soon as they pass `limit`.
async fn read_part(mut field: Field<'_>, limit: u64, what: &str) -> Result<Bytes, AppError> {
    let mut parts: Vec<Bytes> = Vec::new();
    let mut size: u64 = 0;
    while let Some(chunk) =
        crate::web::next_chunk(async { field.chunk().await.map_err(multipart_error) }).await?
    {
        size = size.saturating_add(u64::try_from(chunk.len()).unwrap_or(u64::MAX));
        if size > limit {
            return Err(AppError::PayloadTooLarge(format!(
                "{what} is larger than {limit} bytes, the most accepted"
            )));
        }
        parts.push(chunk);
    }
    Ok(match parts.len() {
        0 => Bytes::new(),
        1 => parts.swap_remove(0),
        _ => Bytes::from(parts.concat()),
    })
}

fn multipart_error(err: MultipartError) -> AppError {
    if err.status() == StatusCode::PAYLOAD_TOO_LARGE {
        AppError::PayloadTooLarge(
            "the upload is larger than the request size limit (the largest file accepted \
             and a little for the form); send fewer or smaller files"
                .to_owned(),
        )
    } else {
        AppError::BadRequest(format!(
            "the upload could not be read as multipart/form-data: {}",
            err.body_text()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::body_limit;

    #[test]
    fn the_body_limit_leaves_room_for_the_form() {
        assert_eq!(body_limit(100), 100 + 1024 * 1024);
        assert_eq!(body_limit(u64::MAX), usize::MAX);
    }
}
