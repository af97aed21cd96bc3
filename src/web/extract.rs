//! Extractors: the client address, the API caller (bearer token), the page
//! session, and form/JSON bodies whose rejections use Sluice's error shapes.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use serde::de::DeserializeOwned;

use crate::auth::sessions::Session;
use crate::auth::{Caller, tokens};
use crate::web::AppState;
use crate::web::PageError;
use crate::web::error::AppError;

/// The client's address: the connection's peer, or, with `SLUICE_TRUST_PROXY`,
/// the last `X-Forwarded-For` entry (the one our proxy wrote). `local` when
/// there is neither, as in tests.
#[derive(Debug, Clone)]
pub struct ClientAddr(pub String);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if state.config.trust_proxy {
            // Strictly the last entry: if our proxy wrote something unparsable,
            // fall back to the peer rather than trust an earlier, client-sent one.
            let forwarded = parts
                .headers
                .get_all("x-forwarded-for")
                .iter()
                .next_back()
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.rsplit(',').next())
                .and_then(|entry| entry.trim().parse::<IpAddr>().ok());
            if let Some(ip) = forwarded {
                return Ok(ClientAddr(ip.to_string()));
            }
        }
        let addr = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or_else(|| "local".to_owned(), |info| info.0.ip().to_string());
        Ok(ClientAddr(addr))
    }
}

/// The caller of an API route, from `Authorization: Bearer slc_…`.
#[derive(Debug, Clone)]
pub struct ApiCaller(pub Caller);

impl FromRequestParts<AppState> for ApiCaller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let header = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .ok_or_else(|| {
                AppError::Unauthorized(
                    "send an API token as `Authorization: Bearer slc_…`".to_owned(),
                )
            })?;
        let secret = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .map(str::trim)
            .ok_or_else(|| {
                AppError::Unauthorized(
                    "the Authorization header must say `Bearer slc_…`".to_owned(),
                )
            })?;
        let caller = tokens::authenticate(&state.db, secret, state.clock.now()).await?;
        Ok(ApiCaller(caller))
    }
}

/// What the session middleware found for this request.
#[derive(Debug, Clone)]
pub struct LoadedSession(pub Option<Session>);

/// The signed-in user of a page. Without a session, the browser is sent to
/// the login page and brought back afterwards.
#[derive(Debug, Clone)]
pub struct PageSession(pub Session);

impl<S: Send + Sync> FromRequestParts<S> for PageSession {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Response> {
        match parts.extensions.get::<LoadedSession>() {
            Some(LoadedSession(Some(session))) => Ok(PageSession(session.clone())),
            _ => {
                let next = parts.uri.path_and_query().map_or("/", |path| path.as_str());
                let target = if parts.method == axum::http::Method::GET && next != "/" {
                    format!("/login?next={}", urlencode(next))
                } else {
                    "/login".to_owned()
                };
                Err(Redirect::to(&target).into_response())
            }
        }
    }
}

impl PageSession {
    pub fn caller(&self) -> Caller {
        self.0.caller()
    }
}

/// Percent-encodes a query value.
pub fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// A page's form body (repeated keys become lists). Bad bodies get an error page.
#[derive(Debug)]
pub struct PageForm<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for PageForm<T> {
    type Rejection = PageError;

    async fn from_request(request: Request, state: &S) -> Result<Self, PageError> {
        match axum_extra::extract::Form::<T>::from_request(request, state).await {
            Ok(axum_extra::extract::Form(value)) => Ok(PageForm(value)),
            Err(rejection) if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
                Err(PageError(AppError::PayloadTooLarge(
                    "The form is larger than the request size limit.".to_owned(),
                )))
            }
            Err(rejection) => Err(PageError(AppError::BadRequest(format!(
                "The form could not be read: {}",
                rejection.body_text()
            )))),
        }
    }
}

/// A JSON body whose rejections use the API error shape.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, AppError> {
        let axum::Json(value) = axum::Json::<T>::from_request(request, state).await?;
        Ok(ApiJson(value))
    }
}

/// One entity tag of a conditional header: `"opaque"` or weak `W/"opaque"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityTag {
    pub weak: bool,
    pub opaque: String,
}

/// `*` or a list of entity tags (RFC 9110 13.1.1, 13.1.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagCondition {
    Any,
    Tags(Vec<EntityTag>),
}

impl TagCondition {
    /// Reads every line of `name` as one list; `None` when the header is
    /// absent, an error naming the header when it is not `*` or a list of
    /// quoted tags.
    pub fn from_headers(
        headers: &header::HeaderMap,
        name: header::HeaderName,
    ) -> Result<Option<Self>, AppError> {
        let mut lines = headers.get_all(&name).iter().peekable();
        if lines.peek().is_none() {
            return Ok(None);
        }
        let bad = || {
            AppError::BadRequest(format!(
                "{name} must be * or a list of ETags from GET, like \"3\" or \"3\", \"4\""
            ))
        };
        let mut texts = Vec::new();
        for line in lines {
            texts.push(line.to_str().map_err(|_| bad())?);
        }
        let text = texts.join(",");
        if text.trim() == "*" {
            return Ok(Some(TagCondition::Any));
        }
        parse_tag_list(&text)
            .map(|tags| Some(TagCondition::Tags(tags)))
            .ok_or_else(bad)
    }

    /// Strong comparison, for `If-Match`: a weak tag never matches.
    pub fn matches_strongly(&self, current: impl Fn(&str) -> bool) -> bool {
        match self {
            TagCondition::Any => true,
            TagCondition::Tags(tags) => tags.iter().any(|t| !t.weak && current(&t.opaque)),
        }
    }

    /// Weak comparison, for `If-None-Match`: weak and strong tags alike.
    pub fn matches_weakly(&self, current: impl Fn(&str) -> bool) -> bool {
        match self {
            TagCondition::Any => true,
            TagCondition::Tags(tags) => tags.iter().any(|t| current(&t.opaque)),
        }
    }
}

/// `#entity-tag`: tags separated by commas (empty members allowed, as the
/// list syntax says), each `"…"` or `W/"…"` with no quote inside.
fn parse_tag_list(text: &str) -> Option<Vec<EntityTag>> {
    let mut tags = Vec::new();
    let mut rest = text;
    loop {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        if rest.is_empty() {
            break;
        }
        let (weak, quoted) = match rest.strip_prefix("W/") {
            Some(after) => (true, after),
            None => (false, rest),
        };
        let inner = quoted.strip_prefix('"')?;
        let end = inner.find('"')?;
        tags.push(EntityTag {
            weak,
            opaque: inner[..end].to_owned(),
        });
        rest = inner[end + 1..].trim_start_matches([' ', '\t']);
        // After a tag comes the end or a comma, never another tag directly.
        if !(rest.is_empty() || rest.starts_with(',')) {
            return None;
        }
    }
    (!tags.is_empty()).then_some(tags)
}

#[cfg(test)]
mod tests {
    use super::{EntityTag, parse_tag_list};

    fn tag(weak: bool, opaque: &str) -> EntityTag {
        EntityTag {
            weak,
            opaque: opaque.to_owned(),
        }
    }

    #[test]
    fn reads_tag_lists() {
        assert_eq!(parse_tag_list("\"3\""), Some(vec![tag(false, "3")]));
        assert_eq!(
            parse_tag_list(" W/\"3\" ,\"4.2\",, \"\""),
            Some(vec![tag(true, "3"), tag(false, "4.2"), tag(false, "")])
        );
        for bad in [
            "",
            " , ",
            "3",
            "\"3",
            "W/3",
            "w/\"3\"",
            "\"3\" \"4\"",
            "\"3\"x",
            "*",
        ] {
            assert_eq!(parse_tag_list(bad), None, "{bad:?}");
        }
    }
}
