//! Permission extractors: a handler names the permission it needs in its
//! signature instead of checking it in its body.
//!
//! [`Authorized<P>`] is an API caller (bearer token) allowed `P`; a missing
//! or bad token is 401, a lacking role or scope 403, in the API error shape.
//! [`PageAuthorized<P>`] is a signed-in page user allowed `P`; without a
//! session the browser goes to the login page, a lacking role gets the 403
//! error page. Both check where the session or token is read, so rights
//! are judged before the path, query or body is.

use std::marker::PhantomData;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};

use crate::audit::Actor;
use crate::auth::sessions::Session;
use crate::auth::{Caller, Permission};
use crate::web::AppState;
use crate::web::PageError;
use crate::web::error::AppError;
use crate::web::extract::{ApiCaller, ClientAddr, PageSession};

/// A permission a handler can ask for by type.
pub trait Needs: Send + Sync + 'static {
    fn permission() -> Permission;
}

/// Users, tokens, schema, channels, profiles, jobs, the audit log.
#[derive(Debug)]
pub struct Administer;

impl Needs for Administer {
    fn permission() -> Permission {
        Permission::Administer
    }
}

/// Run ERP imports and read their jobs.
#[derive(Debug)]
pub struct Import;

impl Needs for Import {
    fn permission() -> Permission {
        Permission::Import
    }
}

/// An API caller allowed `P`.
#[derive(Debug)]
pub struct Authorized<P> {
    pub caller: Caller,
    needs: PhantomData<P>,
}

impl<P: Needs> FromRequestParts<AppState> for Authorized<P> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let ApiCaller(caller) = ApiCaller::from_request_parts(parts, state).await?;
        caller.require(&P::permission())?;
        Ok(Authorized {
            caller,
            needs: PhantomData,
        })
    }
}

/// The signed-in user of a page, allowed `P`, and the client's address for
/// the audit entries of what they change.
#[derive(Debug)]
pub struct PageAuthorized<P> {
    pub session: Session,
    addr: String,
    needs: PhantomData<P>,
}

impl<P> PageAuthorized<P> {
    /// Who changes something, for the audit log.
    pub fn actor(&self) -> Actor {
        self.session.caller().actor().from_addr(&self.addr)
    }
}

impl<P: Needs> FromRequestParts<AppState> for PageAuthorized<P> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let PageSession(session) = PageSession::from_request_parts(parts, state).await?;
        if let Err(refused) = session.caller().require(&P::permission()) {
            return Err(PageError(AppError::from(refused)).into_response());
        }
        let Ok(ClientAddr(addr)) = ClientAddr::from_request_parts(parts, state).await;
        Ok(PageAuthorized {
            session,
            addr,
            needs: PhantomData,
        })
    }
}

/// An admin on a settings page.
pub type AdminPage = PageAuthorized<Administer>;
/// An admin over the API.
pub type AdminApi = Authorized<Administer>;
