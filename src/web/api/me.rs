//! `GET /api/v1/me`: the caller, as every connector checks its token.

use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::{Caller, Credential, User};
use crate::web::error::ErrorBody;
use crate::web::extract::ApiCaller;

/// A user as the API shows them.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub id: i64,
    pub email: String,
    pub name: String,
    #[schema(example = json!(["editor"]))]
    pub roles: Vec<String>,
    pub disabled: bool,
    #[schema(value_type = String, format = DateTime)]
    pub created: String,
    #[schema(value_type = String, format = DateTime)]
    pub updated: String,
}

impl From<&User> for UserView {
    fn from(user: &User) -> Self {
        UserView {
            id: user.id,
            email: user.email.clone(),
            name: user.name.clone(),
            roles: user
                .roles
                .iter()
                .map(|role| role.as_str().to_owned())
                .collect(),
            disabled: user.disabled,
            created: user.created_at.to_stored(),
            updated: user.updated_at.to_stored(),
        }
    }
}

/// The token a request came with.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenView {
    pub id: i64,
    pub name: String,
    #[schema(example = json!(["feed:google"]))]
    pub scopes: Vec<String>,
}

/// The caller: the user, their roles and, for a token, its scopes.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeResponse {
    pub user: UserView,
    pub roles: Vec<String>,
    /// The token's scopes; absent for a browser session.
    pub scopes: Option<Vec<String>>,
    pub token: Option<TokenView>,
}

impl From<&Caller> for MeResponse {
    fn from(caller: &Caller) -> Self {
        let user = UserView::from(&caller.user);
        let token = match &caller.credential {
            Credential::Token { id, name, scopes } => Some(TokenView {
                id: *id,
                name: name.clone(),
                scopes: scopes.iter().map(ToString::to_string).collect(),
            }),
            Credential::Session => None,
        };
        MeResponse {
            roles: user.roles.clone(),
            scopes: token.as_ref().map(|token| token.scopes.clone()),
            user,
            token,
        }
    }
}

/// Who am I? Any valid token may ask.
#[utoipa::path(
    get,
    path = "/api/v1/me",
    tag = "auth",
    responses(
        (status = 200, description = "The caller", body = MeResponse),
        (status = 401, description = "Missing, unknown or revoked token", body = ErrorBody),
    )
)]
pub async fn get_me(ApiCaller(caller): ApiCaller) -> Json<MeResponse> {
    Json(MeResponse::from(&caller))
}
