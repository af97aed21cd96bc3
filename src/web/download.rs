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
    response
        .headers_mut()
        .insert(header::CONTENT_DISPOSITION, disposition(file_name));
    response
}

/// `Content-Disposition: attachment` naming `file_name` as RFC 6266 says:
/// a plain ASCII `filename` (quotes, backslashes and anything else outside
/// printable ASCII replaced by `_`) for old clients, and the exact name as
/// `filename*=UTF-8''…` (percent-encoded) when it differs.
pub fn disposition(file_name: &str) -> HeaderValue {
    let fallback: String = file_name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut value = format!("attachment; filename=\"{fallback}\"");
    if fallback != file_name {
        value.push_str("; filename*=UTF-8''");
        for byte in file_name.bytes() {
            // attr-char (RFC 8187): ALPHA / DIGIT / "!#$&+-.^_`|~"
            if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
                value.push(char::from(byte));
            } else {
                value.push_str(&format!("%{byte:02X}"));
            }
        }
    }
    HeaderValue::from_str(&value).unwrap_or(HeaderValue::from_static("attachment"))
}

#[cfg(test)]
mod tests {
    use super::disposition;

    #[test]
    fn names_are_quoted_safely_and_kept_exactly() {
        assert_eq!(
            disposition("photo 1.jpg"),
            "attachment; filename=\"photo 1.jpg\""
        );
        assert_eq!(
            disposition("a\"b\\c.png"),
            "attachment; filename=\"a_b_c.png\"; filename*=UTF-8''a%22b%5Cc.png"
        );
        assert_eq!(
            disposition("Müsli.jpg"),
            "attachment; filename=\"M_sli.jpg\"; filename*=UTF-8''M%C3%BCsli.jpg"
        );
    }
}
