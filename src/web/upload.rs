//! Reading a `multipart/form-data` upload: the one reader of the media API,
//! the media library page and the product page's upload.
//!
//! [`Parts`] streams the parts one at a time: every part with a file name
//! (or named like the form's file input, `file` unless told) is a
//! [`Part::File`], held in memory up to the per-file limit; every other
//! part a [`Part::Field`] of bounded UTF-8 text. A file past the per-file
//! limit is read to its end and thrown away ([`FileBody::TooLarge`]), so
//! the caller decides: refuse the request, or record the file as refused
//! and go on. Every wait for the next part or chunk is bounded by the idle
//! timeout ([`crate::web::next_chunk`]); the files' bytes, drained ones
//! included, by a total budget of files × per-file limit; the number of
//! files and of other parts by the caller's form. A form sent without a
//! file chosen (an empty, nameless file part) is skipped. [`read`] gathers
//! the whole upload for the API.

use axum::body::Bytes;
use axum::extract::Multipart;
use axum::extract::multipart::{Field, MultipartError, MultipartRejection};
use axum::http::StatusCode;
use bytes::BytesMut;

use crate::web::error::{AppError, FieldError};

/// What multipart framing, the form fields and a few part headers may add to
/// the files of an upload.
pub const MULTIPART_OVERHEAD: u64 = 1024 * 1024;

/// Most files one request may carry (unless the form says fewer).
pub const MAX_FILES: usize = 100;

/// The usual name of a file part.
pub const FILE_FIELD: &str = "file";

/// Longest form field (text) accepted, in bytes (unless the form says less).
const MAX_FIELD_BYTES: usize = 64 * 1024;

/// Most parts other than files (text fields, empty file inputs) one
/// request may carry (unless the form says fewer).
const MAX_OTHER_PARTS: usize = 100;

/// The body limit of a route that receives media uploads: the largest file
/// and the multipart overhead. Give the route
/// `DefaultBodyLimit::max(upload::body_limit(config.max_media_bytes))`.
pub fn body_limit(max_file_bytes: u64) -> usize {
    usize::try_from(max_file_bytes.saturating_add(MULTIPART_OVERHEAD)).unwrap_or(usize::MAX)
}

/// A file's bytes, or how large it turned out when it passed the per-file
/// limit (the rest was read and thrown away).
#[derive(Debug)]
pub enum FileBody {
    Bytes(Bytes),
    TooLarge(u64),
}

/// One part of an upload.
#[derive(Debug)]
pub enum Part {
    /// `field` is the part's name, `filename` the file name as sent (empty
    /// when there was none): sanitize it before keeping or showing it.
    File {
        field: String,
        filename: String,
        body: FileBody,
    },
    /// A text field, as sent (not trimmed).
    Field { name: String, value: String },
}

/// The parts of a multipart upload, read one at a time (see the module).
pub struct Parts {
    multipart: Multipart,
    file_field: &'static str,
    max_file_bytes: u64,
    max_files: usize,
    max_other_parts: usize,
    max_field_bytes: usize,
    /// File bytes read so far, drained ones included.
    taken: u64,
    parts: usize,
    files: usize,
}

impl Parts {
    /// The reader of `multipart`, each file held to `max_file_bytes`; at
    /// most [`MAX_FILES`] files, 100 other parts of at most 64 KiB each,
    /// files in parts named [`FILE_FIELD`] (or with a file name). A body
    /// that is not multipart is a 400.
    pub fn new(
        multipart: Result<Multipart, MultipartRejection>,
        max_file_bytes: u64,
    ) -> Result<Self, AppError> {
        let multipart = multipart.map_err(|rejection| {
            AppError::BadRequest(format!(
                "send the upload as multipart/form-data: {}",
                rejection.body_text()
            ))
        })?;
        Ok(Self {
            multipart,
            file_field: FILE_FIELD,
            max_file_bytes,
            max_files: MAX_FILES,
            max_other_parts: MAX_OTHER_PARTS,
            max_field_bytes: MAX_FIELD_BYTES,
            taken: 0,
            parts: 0,
            files: 0,
        })
    }

    /// The name of the form's file input: its parts are files even
    /// without a file name.
    #[must_use]
    pub fn file_field(mut self, name: &'static str) -> Self {
        self.file_field = name;
        self
    }

    /// At most `files` files and `other` other parts (text fields, empty
    /// file inputs); the files' bytes at most `files` × the per-file limit.
    #[must_use]
    pub fn at_most(mut self, files: usize, other: usize) -> Self {
        self.max_files = files;
        self.max_other_parts = other;
        self
    }

    /// Text fields of at most `bytes` bytes.
    #[must_use]
    pub fn field_bytes(mut self, bytes: usize) -> Self {
        self.max_field_bytes = bytes;
        self
    }

    /// The next part, `None` after the last. Too many parts is a 400; too
    /// many files, a text field over its limit or files over the total
    /// budget a 413; a text field that is not UTF-8 a 422 naming it; a
    /// body that breaks off a 400, one that stalls a timeout.
    pub async fn next(&mut self) -> Result<Option<Part>, AppError> {
        let budget = self
            .max_file_bytes
            .saturating_mul(u64::try_from(self.max_files).unwrap_or(u64::MAX));
        loop {
            let multipart = &mut self.multipart;
            let next = crate::web::next_chunk(async {
                multipart.next_field().await.map_err(multipart_error)
            })
            .await?;
            let Some(mut field) = next else {
                return Ok(None);
            };
            self.parts += 1;
            if self.parts > self.max_files.saturating_add(self.max_other_parts) {
                return Err(AppError::BadRequest(format!(
                    "the upload has more parts than the form sends; send at most {} files in one request",
                    self.max_files
                )));
            }
            let name = field.name().unwrap_or_default().to_owned();
            // A part named like the file input is a file even without a
            // file name (as some HTTP clients send one).
            let filename = match field.file_name() {
                Some(filename) => Some(filename.to_owned()),
                None if name == self.file_field => Some(String::new()),
                None => None,
            };
            let Some(filename) = filename else {
                let value = read_text(&mut field, self.max_field_bytes, &name).await?;
                return Ok(Some(Part::Field { name, value }));
            };
            let body = read_file(&mut field, self.max_file_bytes, &mut self.taken, budget).await?;
            if filename.is_empty() && matches!(&body, FileBody::Bytes(bytes) if bytes.is_empty()) {
                // A file input left empty in a browser form.
                continue;
            }
            self.files += 1;
            if self.files > self.max_files {
                return Err(AppError::PayloadTooLarge(format!(
                    "send at most {} files in one request",
                    self.max_files
                )));
            }
            return Ok(Some(Part::File {
                field: name,
                filename,
                body,
            }));
        }
    }
}

/// A file part: its bytes up to `limit`, past it read to the end and
/// counted (within `budget` for all files together, `taken` so far).
async fn read_file(
    field: &mut Field<'_>,
    limit: u64,
    taken: &mut u64,
    budget: u64,
) -> Result<FileBody, AppError> {
    let mut buffer = BytesMut::new();
    let mut size: u64 = 0;
    while let Some(chunk) = next_chunk(field).await? {
        let len = u64::try_from(chunk.len()).unwrap_or(u64::MAX);
        size = size.saturating_add(len);
        *taken = taken.saturating_add(len);
        if *taken > budget {
            return Err(AppError::PayloadTooLarge(format!(
                "the files of the upload are larger than {budget} bytes in all; \
                 send fewer files, each of at most {limit} bytes"
            )));
        }
        if size <= limit {
            buffer.extend_from_slice(&chunk);
        } else if !buffer.is_empty() {
            buffer = BytesMut::new();
        }
    }
    Ok(if size > limit {
        FileBody::TooLarge(size)
    } else {
        FileBody::Bytes(buffer.freeze())
    })
}

/// A text part, refused past `limit` bytes or when it is not UTF-8.
async fn read_text(field: &mut Field<'_>, limit: usize, name: &str) -> Result<String, AppError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = next_chunk(field).await? {
        if bytes.len().saturating_add(chunk.len()) > limit {
            return Err(AppError::PayloadTooLarge(format!(
                "the field {name:?} is larger than {limit} bytes, the most accepted"
            )));
        }
        bytes.extend_from_slice(&chunk);
    }
    String::from_utf8(bytes).map_err(|_| {
        AppError::validation(vec![FieldError::field(
            name,
            format!("the field {name:?} is not UTF-8 text"),
        )])
    })
}

/// The next chunk of a part, within the idle timeout.
async fn next_chunk(field: &mut Field<'_>) -> Result<Option<Bytes>, AppError> {
    crate::web::next_chunk(async { field.chunk().await.map_err(multipart_error) }).await
}

/// A broken or too large multipart body, as the API and the pages say it.
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

/// Reads every part of `multipart` (the API: all files in memory, the
/// route's body limit keeps that to about one largest file). A file over
/// `max_file_bytes`, a body over the route's limit or more than
/// [`MAX_FILES`] files is a 413 naming the limit (nothing is kept); a body
/// that is not multipart, or breaks off, is a 400.
pub async fn read(
    multipart: Result<Multipart, MultipartRejection>,
    max_file_bytes: u64,
) -> Result<UploadForm, AppError> {
    let mut parts = Parts::new(multipart, max_file_bytes)?;
    let mut form = UploadForm::default();
    while let Some(part) = parts.next().await? {
        match part {
            Part::File {
                filename,
                body: FileBody::Bytes(bytes),
                ..
            } => form.files.push((filename, bytes)),
            Part::File {
                filename,
                body: FileBody::TooLarge(_),
                ..
            } => {
                return Err(AppError::PayloadTooLarge(format!(
                    "the file {filename:?} is larger than {max_file_bytes} bytes, the most accepted"
                )));
            }
            Part::Field { name, value } => form.fields.push((name, value)),
        }
    }
    Ok(form)
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::extract::FromRequest;
    use axum::http::{Request, header};

    use super::*;

    const BOUNDARY: &str = "XyZ";

    /// `(part name, file name, bytes)` as one multipart body.
    fn body(parts: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
        let mut body = Vec::new();
        for (name, filename, bytes) in parts {
            body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
            let disposition = match filename {
                Some(filename) => {
                    format!("form-data; name=\"{name}\"; filename=\"{filename}\"")
                }
                None => format!("form-data; name=\"{name}\""),
            };
            body.extend_from_slice(
                format!("Content-Disposition: {disposition}\r\n\r\n").as_bytes(),
            );
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
        body
    }

    async fn form(parts: &[(&str, Option<&str>, &[u8])]) -> Result<Multipart, MultipartRejection> {
        let request = Request::post("/")
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .body(Body::from(body(parts)))
            .unwrap();
        Multipart::from_request(request, &()).await
    }

    async fn all(mut parts: Parts) -> Result<Vec<Part>, AppError> {
        let mut all = Vec::new();
        while let Some(part) = parts.next().await? {
            all.push(part);
        }
        Ok(all)
    }

    fn describe(part: &Part) -> String {
        match part {
            Part::File {
                field,
                filename,
                body: FileBody::Bytes(bytes),
            } => format!("file {field} {filename:?} {}", bytes.len()),
            Part::File {
                field,
                filename,
                body: FileBody::TooLarge(size),
            } => format!("file {field} {filename:?} too large {size}"),
            Part::Field { name, value } => format!("field {name} {value:?}"),
        }
    }

    #[test]
    fn the_body_limit_leaves_room_for_the_form() {
        assert_eq!(body_limit(100), 100 + 1024 * 1024);
        assert_eq!(body_limit(u64::MAX), usize::MAX);
    }

    #[tokio::test]
    async fn parts_come_in_order_and_empty_file_inputs_are_skipped() {
        let multipart = form(&[
            ("tags", None, b" a, b "),
            ("file", Some("one.png"), b"12345"),
            ("file", Some(""), b""),
            ("file", None, b"xyz"),
            ("photo", Some("two.png"), b"1"),
        ])
        .await;
        let parts = all(Parts::new(multipart, 10).unwrap()).await.unwrap();
        let seen: Vec<String> = parts.iter().map(describe).collect();
        assert_eq!(
            seen,
            [
                "field tags \" a, b \"",
                "file file \"one.png\" 5",
                "file file \"\" 3",
                "file photo \"two.png\" 1",
            ]
        );
        // Another file input: a nameless `file` part is text then.
        let multipart = form(&[("file", None, b"x".as_slice()), ("files", None, b"")]).await;
        let parts = all(Parts::new(multipart, 10).unwrap().file_field("files"))
            .await
            .unwrap();
        let seen: Vec<String> = parts.iter().map(describe).collect();
        assert_eq!(seen, ["field file \"x\""]);
    }

    #[tokio::test]
    async fn a_file_past_the_limit_is_drained_and_reading_goes_on() {
        let big = [7_u8; 25];
        let multipart = form(&[
            ("file", Some("big.png"), &big),
            ("file", Some("exact.png"), &big[..10]),
            ("tags", None, b"after"),
        ])
        .await;
        let parts = all(Parts::new(multipart, 10).unwrap()).await.unwrap();
        let seen: Vec<String> = parts.iter().map(describe).collect();
        assert_eq!(
            seen,
            [
                "file file \"big.png\" too large 25",
                "file file \"exact.png\" 10",
                "field tags \"after\"",
            ]
        );
    }

    #[tokio::test]
    async fn the_files_budget_counts_drained_bytes() {
        // Two files of at most 10 bytes: 20 bytes in all, drained ones too.
        let multipart = form(&[
            ("file", Some("a.png"), &[1_u8; 15]),
            ("file", Some("b.png"), &[2_u8; 6]),
        ])
        .await;
        let err = all(Parts::new(multipart, 10).unwrap().at_most(2, 1))
            .await
            .unwrap_err();
        assert_eq!(err.status(), StatusCode::PAYLOAD_TOO_LARGE, "{err}");
        assert!(err.to_string().contains("20 bytes in all"), "{err}");
    }

    #[tokio::test]
    async fn too_many_files_or_parts_are_refused() {
        let multipart = form(&[
            ("file", Some("a.png"), b"1"),
            ("file", Some("b.png"), b"2"),
            ("file", Some("c.png"), b"3"),
        ])
        .await;
        let err = all(Parts::new(multipart, 10).unwrap().at_most(2, 5))
            .await
            .unwrap_err();
        assert_eq!(err.status(), StatusCode::PAYLOAD_TOO_LARGE, "{err}");
        assert!(err.to_string().contains("at most 2 files"), "{err}");

        let multipart = form(&[("a", None, b"1"), ("b", None, b"2"), ("c", None, b"3")]).await;
        let err = all(Parts::new(multipart, 10).unwrap().at_most(1, 1))
            .await
            .unwrap_err();
        assert_eq!(err.status(), StatusCode::BAD_REQUEST, "{err}");
    }

    #[tokio::test]
    async fn text_fields_are_bounded_and_utf8() {
        let multipart = form(&[("tags", None, b"abcdef")]).await;
        let err = all(Parts::new(multipart, 10).unwrap().field_bytes(5))
            .await
            .unwrap_err();
        assert_eq!(err.status(), StatusCode::PAYLOAD_TOO_LARGE, "{err}");
        assert!(err.to_string().contains("\"tags\""), "{err}");

        let multipart = form(&[("tags", None, b"\xff\xfe")]).await;
        let err = all(Parts::new(multipart, 10).unwrap()).await.unwrap_err();
        assert_eq!(err.status(), StatusCode::UNPROCESSABLE_ENTITY, "{err}");
        assert_eq!(err.details()[0].field.as_deref(), Some("tags"));
    }

    #[tokio::test]
    async fn a_broken_or_foreign_body_is_a_bad_request() {
        let request = Request::post("/")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from("{}"))
            .unwrap();
        let err = Parts::new(Multipart::from_request(request, &()).await, 10)
            .err()
            .unwrap();
        assert_eq!(err.status(), StatusCode::BAD_REQUEST, "{err}");

        // Cut off inside a part.
        let mut cut = body(&[("file", Some("a.png"), b"12345")]);
        cut.truncate(cut.len() - 12);
        let request = Request::post("/")
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .body(Body::from(cut))
            .unwrap();
        let parts = Parts::new(Multipart::from_request(request, &()).await, 10).unwrap();
        let err = all(parts).await.unwrap_err();
        assert_eq!(err.status(), StatusCode::BAD_REQUEST, "{err}");
    }

    #[tokio::test]
    async fn read_refuses_a_file_past_the_limit_naming_it() {
        let multipart = form(&[
            ("tags", None, b"x"),
            ("file", Some("small.png"), b"1"),
            ("file", Some("huge.png"), &[0_u8; 11]),
        ])
        .await;
        let err = read(multipart, 10).await.unwrap_err();
        assert_eq!(err.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert!(err.to_string().contains("\"huge.png\""), "{err}");
        assert!(err.to_string().contains("10 bytes"), "{err}");

        let multipart = form(&[("tags", None, b"x"), ("file", Some("a.png"), b"1")]).await;
        let form = read(multipart, 10).await.unwrap();
        assert_eq!(form.field("tags"), Some("x"));
        assert_eq!(form.files.len(), 1);
    }
}
