//! The signed-in user's own account: see roles, change password.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{Chrome, FormErrors, render};
use crate::auth::users;
use crate::web::AppState;
use crate::web::PageResult;
use crate::web::error::{AppError, FieldError};
use crate::web::extract::{ClientAddr, PageForm, PageSession};

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    chrome: Chrome,
    roles: String,
    errors: FormErrors,
}

fn page(session: &crate::auth::sessions::Session, errors: FormErrors) -> AccountPage {
    AccountPage {
        chrome: Chrome::new(session, "/account", None),
        roles: session.user.roles.to_stored(),
        errors,
    }
}

/// `GET /account`
pub async fn show(PageSession(session): PageSession) -> Response {
    render(StatusCode::OK, &page(&session, FormErrors::default()))
}

#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    current_password: String,
    password: String,
}

/// `POST /account/password`: ends the user's other sessions, keeps this one.
pub async fn change_password(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    PageSession(session): PageSession,
    PageForm(form): PageForm<PasswordForm>,
) -> PageResult {
    let checked = users::check_password(
        &state.db,
        &session.user,
        form.current_password,
        &addr,
        state.clock.now(),
    )
    .await;
    let current_ok = match checked {
        Ok(ok) => ok,
        Err(err @ crate::auth::AuthError::Throttled { .. }) => {
            let errors = FormErrors::from_error(AppError::validation(vec![FieldError::field(
                "current_password",
                err.to_string(),
            )]))?;
            return Ok(render(
                StatusCode::TOO_MANY_REQUESTS,
                &page(&session, errors),
            ));
        }
        Err(err) => return Err(AppError::from(err).into()),
    };
    if !current_ok {
        let errors = FormErrors::from_error(AppError::validation(vec![FieldError::field(
            "current_password",
            "this is not your current password",
        )]))?;
        return Ok(render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &page(&session, errors),
        ));
    }
    let actor = session.caller().actor().from_addr(&addr);
    let changed = users::set_password(
        &state.db,
        &actor,
        session.user.id,
        form.password,
        Some(&session.id_hash),
        state.clock.now(),
    )
    .await;
    match changed {
        Ok(()) => Ok(Redirect::to("/?notice=password_changed").into_response()),
        Err(err) => {
            let errors = FormErrors::from_error(err.into())?;
            Ok(render(
                StatusCode::UNPROCESSABLE_ENTITY,
                &page(&session, errors),
            ))
        }
    }
}
