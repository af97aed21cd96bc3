//! Extractors: the client address, the API caller (bearer token), the page
//! session, and form/JSON bodies whose rejections use Sluice's error shapes.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use serde::de::DeserializeOwned;

use crate::app::AppState;
use crate::auth::sessions::Session;
use crate::auth::{Caller, tokens};
use crate::error::{AppError, PageError};

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
