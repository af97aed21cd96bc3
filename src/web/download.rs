//! A file download streamed to the client: its media type, an attachment
//! file name, and a body that arrives in chunks.

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, header};
use axum::response::Response;
use futures_util::{Stream, StreamExt};

/// `stream` as an attachment named `file_name`.
pub fn attachment<S, B>(content_type: &'static str, file_name: &str, stream: S) -> Response
where
    S: Stream<Item = Result<B, std::io::Error>> + Send + 'static,
    B: Into<Bytes> + 'static,
{
    // A compressing body polls again after the end; `Unfold` would panic there.
    let mut response = Response::new(Body::from_stream(stream.fuse()));
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(disposition) = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\""))
    {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, disposition);
    }
    response
}
