//! Error pages: the plain one every error becomes, the one inside the
//! signed-in layout, and the middleware that swaps the first for the second
//! when the visitor has a session.

use askama::Template;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};

use super::Chrome;
use crate::auth::sessions::{self, Session};
use crate::web::AppState;
use crate::web::cookies;
use crate::web::static_files;

/// How long an error page waits for the session to show the navigation.
const SESSION_LOOKUP_LIMIT: std::time::Duration = std::time::Duration::from_secs(2);

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    status: u16,
    title: &'a str,
    message: &'a str,
    css_url: String,
    icon_url: String,
}

/// A plain error page: status, message, a way back. Never internals.
///
/// The message rides along in the response's extensions, so that
/// [`error_pages_keep_navigation`] can show it again
/// inside the signed-in layout when the visitor has a session.
pub fn error_page(status: StatusCode, message: &str) -> Response {
    let page = ErrorPage {
        status: status.as_u16(),
        title: status.canonical_reason().unwrap_or("Error"),
        message,
        css_url: static_files::url("app.css"),
        icon_url: static_files::url("favicon.svg"),
    };
    let mut response = match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        // The error template has no fallible parts; keep a plain answer just in case.
        Err(_) => (status, message.to_owned()).into_response(),
    };
    response
        .extensions_mut()
        .insert(ErrorPageMessage(message.to_owned()));
    response
}

/// What an error page said, kept for re-rendering it with navigation.
#[derive(Debug, Clone)]
pub struct ErrorPageMessage(pub String);

#[derive(Template)]
#[template(path = "error_signed_in.html")]
struct SignedInErrorPage<'a> {
    chrome: Chrome,
    status: u16,
    title: &'a str,
    message: &'a str,
}

/// The error page inside the signed-in layout: the navigation stays, so a
/// 404 or 403 is a step aside, not a dead end.
pub fn error_page_with_navigation(
    status: StatusCode,
    message: &str,
    session: &Session,
) -> Option<Response> {
    let page = SignedInErrorPage {
        chrome: Chrome::new(session, "", None),
        status: status.as_u16(),
        title: status.canonical_reason().unwrap_or("Error"),
        message,
    };
    page.render()
        .ok()
        .map(|html| (status, Html(html)).into_response())
}

/// Error pages keep the navigation: a page that ends in an error page (a
/// handler's 403/404/422, an unknown path, a 405 or 413 shaped below the
/// handlers) is rendered again inside the signed-in layout when the visitor
/// has a session. The session is looked up only on that error path, so
/// ordinary pages pay nothing; without one, the plain page stays. Server
/// errors keep the plain page (the database may be what failed), and the
/// lookup gives up after [`SESSION_LOOKUP_LIMIT`].
pub async fn error_pages_keep_navigation(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let secure = state.config.secure_cookies;
    let cookie = cookies::read(request.headers(), cookies::SESSION, secure);
    let is_api = request.uri().path().starts_with("/api/");
    let response = next.run(request).await;
    let (Some(cookie), false) = (cookie, is_api) else {
        return response;
    };
    let Some(ErrorPageMessage(message)) = response.extensions().get::<ErrorPageMessage>().cloned()
    else {
        return response;
    };
    let status = response.status();
    // A server error may be the database itself: don't wait on it again.
    if status.is_server_error() {
        return response;
    }
    let lookup = sessions::resolve(
        &state.db,
        &cookie,
        state.session_policy(),
        state.clock.now(),
    );
    let session = match tokio::time::timeout(SESSION_LOOKUP_LIMIT, lookup).await {
        Ok(Ok(Some(session))) => session,
        // No session, a failed or slow lookup: the plain page already says what went wrong.
        _ => return response,
    };
    let Some(mut page) = error_page_with_navigation(status, &message, &session) else {
        return response;
    };
    // Keep what the handler or a layer set (Allow on a 405, Retry-After …).
    for (name, value) in response.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            page.headers_mut().append(name.clone(), value.clone());
        }
    }
    page
}
