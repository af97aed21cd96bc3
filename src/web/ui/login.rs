//! Sign in and sign out.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use serde::Deserialize;

use super::{notice_text, render};
use crate::auth::login::{self, LoginAttempt};
use crate::auth::{AuthError, random_secret};
use crate::web::AppState;
use crate::web::PageResult;
use crate::web::cookies;
use crate::web::error::AppError;
use crate::web::extract::{ClientAddr, LoadedSession, PageForm, PageSession};
use crate::web::layers::no_store;
use crate::web::static_files;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    csrf: String,
    next: String,
    email: String,
    error: Option<String>,
    notice: Option<&'static str>,
    css_url: String,
    icon_url: String,
}

impl LoginPage {
    fn new(csrf: String, next: String) -> Self {
        LoginPage {
            csrf,
            next,
            email: String::new(),
            error: None,
            notice: None,
            css_url: static_files::url("app.css"),
            icon_url: static_files::url("favicon.svg"),
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
    notice: Option<String>,
}

/// Only local paths of printable ASCII, so the login page cannot bounce people
/// elsewhere (browsers drop tabs and newlines, turning `/\t/evil` into `//evil`).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && path.bytes().all(|b| b.is_ascii_graphic() && b != b'\\')
                && !path.starts_with("/login") =>
        {
            path.to_owned()
        }
        _ => "/".to_owned(),
    }
}

/// `GET /login`
pub async fn form(
    State(state): State<AppState>,
    session: axum::Extension<LoadedSession>,
    Query(query): Query<LoginQuery>,
    jar: CookieJar,
) -> Response {
    let next = safe_next(query.next.as_deref());
    if session.0.0.is_some() {
        return Redirect::to(&next).into_response();
    }
    let secure = state.config.secure_cookies;
    let existing = jar
        .get(&cookies::name(cookies::LOGIN_CSRF, secure))
        .map(|cookie| cookie.value().to_owned());
    let (jar, csrf) = match existing {
        Some(existing) => (jar, existing),
        None => {
            let fresh = random_secret();
            (
                jar.add(cookies::build(cookies::LOGIN_CSRF, fresh.clone(), secure)),
                fresh,
            )
        }
    };
    let mut page = LoginPage::new(csrf, next);
    page.notice = query.notice.as_deref().and_then(notice_text);
    no_store((jar, render(StatusCode::OK, &page)).into_response())
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
    #[serde(default)]
    next: String,
    csrf_token: String,
}

/// `POST /login`
pub async fn submit(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    jar: CookieJar,
    PageForm(form): PageForm<LoginForm>,
) -> PageResult {
    let secure = state.config.secure_cookies;
    let previous = jar
        .get(&cookies::name(cookies::SESSION, secure))
        .map(|cookie| crate::auth::hash_secret(cookie.value()));
    let next = safe_next(Some(&form.next));
    let attempt = LoginAttempt {
        email: form.email.clone(),
        password: form.password,
        client_addr: addr,
    };
    let outcome = login::login(
        &state.db,
        attempt,
        state.session_policy(),
        previous.as_deref(),
        state.clock.now(),
    )
    .await;
    match outcome {
        Ok(created) => {
            let jar = jar.add(cookies::build(
                cookies::SESSION,
                created.cookie_value,
                secure,
            ));
            Ok((jar, Redirect::to(&next)).into_response())
        }
        Err(err @ (AuthError::BadCredentials | AuthError::Throttled { .. })) => {
            let status = match err {
                AuthError::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
                _ => StatusCode::UNAUTHORIZED,
            };
            let mut page = LoginPage::new(form.csrf_token, next);
            page.email = form.email;
            page.error = Some(err.to_string());
            Ok(no_store(render(status, &page)))
        }
        Err(other) => Err(AppError::from(other).into()),
    }
}

/// `POST /logout`
pub async fn logout(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    jar: CookieJar,
    PageSession(session): PageSession,
) -> PageResult {
    login::logout(&state.db, &session, &addr, state.clock.now())
        .await
        .map_err(AppError::from)?;
    let jar = jar.add(cookies::removal(
        cookies::SESSION,
        state.config.secure_cookies,
    ));
    Ok((jar, Redirect::to("/login?notice=signed_out")).into_response())
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/settings/users")), "/settings/users");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(Some("/\t/evil.example")), "/");
        assert_eq!(safe_next(Some("/\n/evil.example")), "/");
        assert_eq!(safe_next(Some("/a b")), "/");
        assert_eq!(
            safe_next(Some("/audit?actor=x&action=y")),
            "/audit?actor=x&action=y"
        );
        assert_eq!(safe_next(None), "/");
    }
}
