//! Admin settings: users and API tokens.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;

use super::{Chrome, FormErrors, NavItem, NoticeQuery, render, settings_nav};
use crate::auth::sessions::Session;
use crate::auth::tokens::{self, ApiToken, CreatedToken};
use crate::auth::users::{self, NewUser, User};
use crate::auth::{AuthError, Role, Roles, Scope, Scopes};
use crate::web::AppState;
use crate::web::authz::AdminPage;
use crate::web::error::AppError;
use crate::web::extract::PageForm;
use crate::web::layers::no_store;
use crate::web::{PageError, PageResult};

const ROLE_NAMES: [&str; 4] = ["admin", "editor", "approver", "viewer"];
const FIXED_SCOPES: [&str; 4] = ["catalog:read", "catalog:write", "import", "admin"];

fn parse_roles(names: &[String]) -> Result<Roles, AuthError> {
    let roles = names
        .iter()
        .map(|name| {
            Role::parse(name)
                .ok_or_else(|| AuthError::invalid("roles", format!("unknown role {name:?}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Roles::new(roles)
}

// ---- users ----

#[derive(Debug, Default, Deserialize)]
pub struct UserForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    password: String,
}

impl UserForm {
    fn checked(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }
}

#[derive(Template)]
#[template(path = "settings/users.html")]
struct UsersPage {
    chrome: Chrome,
    settings_nav: Vec<NavItem>,
    users: Vec<User>,
    all_roles: [&'static str; 4],
    form: UserForm,
    errors: FormErrors,
}

async fn users_page(
    state: &AppState,
    session: &Session,
    form: UserForm,
    errors: FormErrors,
    notice: Option<&str>,
) -> Result<UsersPage, PageError> {
    Ok(UsersPage {
        chrome: Chrome::new(session, "/settings", notice),
        settings_nav: settings_nav("/settings/users"),
        users: users::list(&state.db).await.map_err(AppError::from)?,
        all_roles: ROLE_NAMES,
        form,
        errors,
    })
}

/// `GET /settings/users`
pub async fn users(
    State(state): State<AppState>,
    admin: AdminPage,
    Query(query): Query<NoticeQuery>,
) -> PageResult {
    let session = admin.session;
    let form = UserForm {
        roles: vec!["viewer".to_owned()],
        ..UserForm::default()
    };
    let page = users_page(
        &state,
        &session,
        form,
        FormErrors::default(),
        query.notice.as_deref(),
    )
    .await?;
    Ok(render(StatusCode::OK, &page))
}

/// `POST /settings/users`
pub async fn create_user(
    State(state): State<AppState>,
    admin: AdminPage,
    PageForm(mut form): PageForm<UserForm>,
) -> PageResult {
    let actor = admin.actor();
    let session = admin.session;
    let outcome = match parse_roles(&form.roles) {
        Ok(roles) => {
            let new = NewUser {
                email: form.email.clone(),
                name: form.name.clone(),
                roles,
                password: std::mem::take(&mut form.password),
            };
            users::create(&state.db, &actor, new, state.clock.now()).await
        }
        Err(err) => Err(err),
    };
    match outcome {
        Ok(user) => Ok(
            Redirect::to(&format!("/settings/users/{}?notice=user_created", user.id))
                .into_response(),
        ),
        Err(err) => {
            let errors = FormErrors::from_error(err.into())?;
            let page = users_page(&state, &session, form, errors, None).await?;
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
    }
}

#[derive(Template)]
#[template(path = "settings/user.html")]
struct UserPage {
    chrome: Chrome,
    settings_nav: Vec<NavItem>,
    user: User,
    all_roles: [&'static str; 4],
    form: UserForm,
    errors: FormErrors,
}

fn user_page(
    session: &Session,
    user: User,
    form: Option<UserForm>,
    errors: FormErrors,
    notice: Option<&str>,
) -> UserPage {
    let form = form.unwrap_or_else(|| UserForm {
        email: user.email.clone(),
        name: user.name.clone(),
        roles: user.roles.iter().map(|r| r.as_str().to_owned()).collect(),
        password: String::new(),
    });
    UserPage {
        chrome: Chrome::new(session, "/settings", notice),
        settings_nav: settings_nav("/settings/users"),
        user,
        all_roles: ROLE_NAMES,
        form,
        errors,
    }
}

async fn load_user(state: &AppState, id: i64) -> Result<User, PageError> {
    users::get(&state.db, id)
        .await
        .map_err(|err| PageError(AppError::from(err)))
}

/// `GET /settings/users/{id}`
pub async fn user(
    State(state): State<AppState>,
    admin: AdminPage,
    Path(id): Path<i64>,
    Query(query): Query<NoticeQuery>,
) -> PageResult {
    let session = admin.session;
    let user = load_user(&state, id).await?;
    Ok(render(
        StatusCode::OK,
        &user_page(
            &session,
            user,
            None,
            FormErrors::default(),
            query.notice.as_deref(),
        ),
    ))
}

/// Re-renders the user page with the error next to its field, or fails the page.
async fn user_error(
    state: &AppState,
    session: &Session,
    id: i64,
    form: Option<UserForm>,
    err: AuthError,
) -> PageResult {
    let errors = FormErrors::from_error(err.into())?;
    let user = load_user(state, id).await?;
    Ok(render(
        StatusCode::UNPROCESSABLE_ENTITY,
        &user_page(session, user, form, errors, None),
    ))
}

/// `POST /settings/users/{id}`: name and roles.
pub async fn update_user(
    State(state): State<AppState>,
    admin: AdminPage,
    Path(id): Path<i64>,
    PageForm(form): PageForm<UserForm>,
) -> PageResult {
    let actor = admin.actor();
    let session = admin.session;
    let outcome = match parse_roles(&form.roles) {
        Ok(roles) => {
            users::update_profile(&state.db, &actor, id, &form.name, roles, state.clock.now()).await
        }
        Err(err) => Err(err),
    };
    match outcome {
        Ok(_) => {
            Ok(Redirect::to(&format!("/settings/users/{id}?notice=user_updated")).into_response())
        }
        Err(err) => user_error(&state, &session, id, Some(form), err).await,
    }
}

#[derive(Debug, Deserialize)]
pub struct ResetForm {
    #[serde(default)]
    password: String,
}

/// `POST /settings/users/{id}/password`: ends all of the user's sessions.
pub async fn reset_password(
    State(state): State<AppState>,
    admin: AdminPage,
    Path(id): Path<i64>,
    PageForm(form): PageForm<ResetForm>,
) -> PageResult {
    let actor = admin.actor();
    let session = admin.session;
    // Resetting one's own password here keeps the current session, like /account.
    let keep = (id == session.user.id).then_some(session.id_hash.as_str());
    match users::set_password(
        &state.db,
        &actor,
        id,
        form.password,
        keep,
        state.clock.now(),
    )
    .await
    {
        Ok(()) => Ok(
            Redirect::to(&format!("/settings/users/{id}?notice=password_reset")).into_response(),
        ),
        Err(err) => user_error(&state, &session, id, None, err).await,
    }
}

async fn set_disabled(state: AppState, admin: AdminPage, id: i64, disabled: bool) -> PageResult {
    let actor = admin.actor();
    let session = admin.session;
    match users::set_disabled(&state.db, &actor, id, disabled, state.clock.now()).await {
        Ok(_) => {
            let notice = if disabled {
                "user_disabled"
            } else {
                "user_enabled"
            };
            Ok(Redirect::to(&format!("/settings/users/{id}?notice={notice}")).into_response())
        }
        Err(err) => user_error(&state, &session, id, None, err).await,
    }
}

/// `POST /settings/users/{id}/disable`: ends the user's sessions; their tokens stop working.
pub async fn disable_user(
    State(state): State<AppState>,
    admin: AdminPage,
    Path(id): Path<i64>,
) -> PageResult {
    set_disabled(state, admin, id, true).await
}

/// `POST /settings/users/{id}/enable`
pub async fn enable_user(
    State(state): State<AppState>,
    admin: AdminPage,
    Path(id): Path<i64>,
) -> PageResult {
    set_disabled(state, admin, id, false).await
}

// ---- tokens ----

#[derive(Debug, Default, Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    user: String,
    #[serde(default)]
    scopes: Vec<String>,
    /// Channel codes for `feed:` scopes, separated by spaces or commas; `*` for all.
    #[serde(default)]
    feeds: String,
}

impl TokenForm {
    fn checked(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    fn parse_scopes(&self) -> Result<Scopes, AuthError> {
        let mut scopes = self
            .scopes
            .iter()
            .map(|s| Scope::parse(s))
            .collect::<Result<Vec<_>, _>>()?;
        for channel in self
            .feeds
            .split([',', ' '])
            .filter(|c| !c.trim().is_empty())
        {
            scopes.push(Scope::parse(&format!("feed:{}", channel.trim()))?);
        }
        Scopes::new(scopes)
    }
}

#[derive(Template)]
#[template(path = "settings/tokens.html")]
struct TokensPage {
    chrome: Chrome,
    settings_nav: Vec<NavItem>,
    tokens: Vec<ApiToken>,
    users: Vec<User>,
    fixed_scopes: [&'static str; 4],
    form: TokenForm,
    errors: FormErrors,
    created: Option<CreatedToken>,
}

async fn tokens_page(
    state: &AppState,
    session: &Session,
    form: TokenForm,
    errors: FormErrors,
    created: Option<CreatedToken>,
    notice: Option<&str>,
) -> Result<TokensPage, PageError> {
    Ok(TokensPage {
        chrome: Chrome::new(session, "/settings", notice),
        settings_nav: settings_nav("/settings/tokens"),
        tokens: tokens::list(&state.db).await.map_err(AppError::from)?,
        users: users::list(&state.db).await.map_err(AppError::from)?,
        fixed_scopes: FIXED_SCOPES,
        form,
        errors,
        created,
    })
}

/// `GET /settings/tokens`
pub async fn tokens(
    State(state): State<AppState>,
    admin: AdminPage,
    Query(query): Query<NoticeQuery>,
) -> PageResult {
    let session = admin.session;
    let form = TokenForm {
        scopes: vec!["catalog:read".to_owned()],
        ..TokenForm::default()
    };
    let page = tokens_page(
        &state,
        &session,
        form,
        FormErrors::default(),
        None,
        query.notice.as_deref(),
    )
    .await?;
    Ok(render(StatusCode::OK, &page))
}

/// `POST /settings/tokens`: the answer shows the secret once (not a redirect,
/// so the secret is never stored to be shown again).
pub async fn create_token(
    State(state): State<AppState>,
    admin: AdminPage,
    PageForm(form): PageForm<TokenForm>,
) -> PageResult {
    let actor = admin.actor();
    let session = admin.session;
    let outcome = match form.parse_scopes() {
        Ok(scopes) => {
            tokens::create(
                &state.db,
                &actor,
                &form.name,
                &form.user,
                scopes,
                state.clock.now(),
            )
            .await
        }
        Err(err) => Err(err),
    };
    match outcome {
        Ok(created) => {
            let page = tokens_page(
                &state,
                &session,
                TokenForm::default(),
                FormErrors::default(),
                Some(created),
                None,
            )
            .await?;
            Ok(no_store(render(StatusCode::CREATED, &page)))
        }
        Err(err) => {
            let errors = FormErrors::from_error(err.into())?;
            let page = tokens_page(&state, &session, form, errors, None, None).await?;
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
    }
}

/// `POST /settings/tokens/{id}/revoke`
pub async fn revoke_token(
    State(state): State<AppState>,
    admin: AdminPage,
    Path(id): Path<i64>,
) -> PageResult {
    let actor = admin.actor();
    tokens::revoke(&state.db, &actor, id, state.clock.now())
        .await
        .map_err(AppError::from)?;
    Ok(Redirect::to("/settings/tokens?notice=token_revoked").into_response())
}
