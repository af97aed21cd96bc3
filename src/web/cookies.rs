//! Cookie names and attributes. With `SLUICE_SECURE_COOKIES=true` cookies are
//! `Secure` and carry the `__Host-` prefix, which pins them to this host and path `/`.

use axum::http::HeaderMap;
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};

pub const SESSION: &str = "sluice_session";
pub const LOGIN_CSRF: &str = "sluice_login_csrf";

pub fn name(base: &str, secure: bool) -> String {
    if secure {
        format!("__Host-{base}")
    } else {
        base.to_owned()
    }
}

/// An HttpOnly, SameSite=Lax cookie for the whole site that ends with the browser session.
pub fn build(base: &str, value: String, secure: bool) -> Cookie<'static> {
    Cookie::build((name(base, secure), value))
        .http_only(true)
        .same_site(SameSite::Lax)
        .path("/")
        .secure(secure)
        .build()
}

/// A cookie that tells the browser to forget `base`.
pub fn removal(base: &str, secure: bool) -> Cookie<'static> {
    let mut cookie = build(base, String::new(), secure);
    cookie.make_removal();
    cookie
}

pub fn read(headers: &HeaderMap, base: &str, secure: bool) -> Option<String> {
    CookieJar::from_headers(headers)
        .get(&name(base, secure))
        .map(|cookie| cookie.value().to_owned())
}
