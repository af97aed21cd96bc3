//! Page middleware: load the session once per request, and refuse any
//! state-changing request whose CSRF token does not match.

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::Response;

use super::cookies;
use super::extract::LoadedSession;
use crate::auth::sessions::{self};
use crate::web::AppState;
use crate::web::PageError;
use crate::web::error::AppError;

pub const CSRF_FIELD: &str = "csrf_token";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Resolves the session cookie, checks CSRF on unsafe methods, and leaves the
/// session in the request for [`super::extract::PageSession`].
pub async fn page_guard(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, PageError> {
    let secure = state.config.secure_cookies;
    let session = match cookies::read(request.headers(), cookies::SESSION, secure) {
        Some(value) => {
            sessions::resolve(&state.db, &value, state.session_policy(), state.clock.now()).await?
        }
        None => None,
    };

    let mut request = request;
    if is_state_changing(request.method()) {
        let expected = if request.uri().path() == "/login" {
            cookies::read(request.headers(), cookies::LOGIN_CSRF, secure)
        } else {
            session.as_ref().map(|session| session.csrf_token.clone())
        };
        // Without a session (and off the login form) the handler sends the
        // browser to the login page; there is nothing to protect yet.
        let needs_check = expected.is_some() || request.uri().path() == "/login";
        if needs_check {
            let (submitted, rebuilt) =
                submitted_token(request, state.config.max_body_bytes).await?;
            request = rebuilt;
            let matches = match (&expected, &submitted) {
                (Some(expected), Some(submitted)) => constant_time_eq(expected, submitted),
                _ => false,
            };
            if !matches {
                tracing::warn!(
                    http.path = request.uri().path(),
                    "csrf token missing or wrong"
                );
                return Err(PageError(AppError::Forbidden(
                    "This form has expired or did not come from Sluice. Go back, reload the page and try again."
                        .to_owned(),
                )));
            }
        }
    }
    request.extensions_mut().insert(LoadedSession(session));
    Ok(next.run(request).await)
}

fn is_state_changing(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Reads the token from the `X-CSRF-Token` header; for URL-encoded forms,
/// from the `csrf_token` field, buffering the body (within the body limit)
/// and putting it back for the handler; for a `multipart/form-data` upload
/// to `/imports`, `/media` or `/products/{sku}/media`, from `?csrf_token=`
/// in the form's action URL, leaving the
/// body untouched so the handler can stream the file.
async fn submitted_token(
    request: Request,
    limit: usize,
) -> Result<(Option<String>, Request), PageError> {
    if let Some(value) = request.headers().get(CSRF_HEADER) {
        let token = value.to_str().ok().map(str::to_owned);
        return Ok((token, request));
    }
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .map(|value| value.trim_start().to_ascii_lowercase())
        .unwrap_or_default();
    // Only the upload form streams a file; elsewhere a token in the URL is
    // not accepted (it would end up in histories and logs for nothing).
    if content_type.starts_with("multipart/form-data") {
        let token = streams_upload(request.uri().path())
            .then(|| query_token(request.uri().query()))
            .flatten();
        return Ok((token, request));
    }
    if !content_type.starts_with("application/x-www-form-urlencoded") {
        return Ok((None, request));
    }
    let (parts, body) = request.into_parts();
    let bytes = to_bytes(body, limit).await.map_err(|_| {
        PageError(AppError::PayloadTooLarge(format!(
            "The form is larger than the limit of {limit} bytes."
        )))
    })?;
    let token = url::form_urlencoded::parse(&bytes)
        .find(|(key, _)| key == CSRF_FIELD)
        .map(|(_, value)| value.into_owned());
    Ok((token, Request::from_parts(parts, Body::from(bytes))))
}

/// The forms that stream files: an import, the media library's upload and
/// a product's media upload (`/products/{sku}/media`).
fn streams_upload(path: &str) -> bool {
    path == "/imports" || path == "/media" || super::is_product_media_upload(path)
}

/// The `csrf_token` of a query string (the first one, as for form fields).
fn query_token(query: Option<&str>) -> Option<String> {
    url::form_urlencoded::parse(query?.as_bytes())
        .find(|(key, _)| key == CSRF_FIELD)
        .map(|(_, value)| value.into_owned())
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Marks a response as never cacheable (login and token pages).
pub fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Wakes the publisher after every request that may have committed a write
/// (an unsafe method that succeeded): a save, an approval, a schema or
/// channel change reaches the feeds at once instead of at the next tick.
/// One place for every page and API write; the response is built, so the
/// handler's transaction has committed.
pub async fn wake_publisher(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let writes = is_state_changing(request.method());
    let response = next.run(request).await;
    let status = response.status();
    if writes && (status.is_success() || status.is_redirection()) {
        state.publishing.wake();
    }
    response
}

#[cfg(test)]
mod tests {
    use super::{constant_time_eq, query_token};

    #[test]
    fn compares_whole_strings() {
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "abcd"));
    }

    #[test]
    fn reads_the_token_from_a_query_string() {
        assert_eq!(
            query_token(Some("a=1&csrf_token=x%2By&csrf_token=z")).as_deref(),
            Some("x+y")
        );
        assert_eq!(query_token(Some("a=1")), None);
        assert_eq!(query_token(None), None);
    }
}
