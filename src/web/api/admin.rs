//! Admin reads: users and the audit log (token scope `admin`, role admin).

use axum::Json;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::me::UserView;
use super::paging::id_cursor;
use crate::audit::{self, AuditFilter};
use crate::auth::users;
use crate::web::AppState;
use crate::web::authz::AdminApi;
use crate::web::error::{ApiResult, AppError, ErrorBody};

/// Every user, by e-mail.
#[utoipa::path(
    get,
    path = "/api/v1/users",
    tag = "admin",
    responses(
        (status = 200, description = "All users", body = Vec<UserView>),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Not an admin, or the token lacks the admin scope", body = ErrorBody),
    )
)]
pub async fn list_users(
    State(state): State<AppState>,
    _: AdminApi,
) -> ApiResult<Json<Vec<UserView>>> {
    let users = users::list(&state.db).await?;
    Ok(Json(users.iter().map(UserView::from).collect()))
}

/// Filters of the audit log.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Part of the actor's label (e-mail, token name).
    pub actor: Option<String>,
    /// An action (`auth.login`) or a prefix ending in a dot (`user.`).
    pub action: Option<String>,
    /// The previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// Entries with an id below this one (the previous page's `next_before`;
    /// the older name of `cursor`).
    pub before: Option<i64>,
    /// 1 to 500; default 100.
    pub limit: Option<i64>,
}

/// One audit entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntryView {
    pub id: i64,
    #[schema(value_type = String, format = DateTime)]
    pub at: String,
    pub actor_kind: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    pub client_addr: String,
}

/// A page of the audit log, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    pub entries: Vec<AuditEntryView>,
    /// Send as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
    /// The same position as a number, for `before` (the older name).
    pub next_before: Option<i64>,
}

/// The audit log, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/audit",
    tag = "admin",
    params(AuditQuery),
    responses(
        (status = 200, description = "A page of entries", body = AuditPage),
        (status = 400, description = "Bad parameters", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Not an admin, or the token lacks the admin scope", body = ErrorBody),
    )
)]
pub async fn list_audit(
    State(state): State<AppState>,
    _: AdminApi,
    query: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<AuditPage>> {
    let Query(query) = query?;
    let limit = query.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(AppError::BadRequest(format!(
            "limit must be between 1 and 500, not {limit}"
        )));
    }
    let entries = audit::list(
        &state.db,
        &AuditFilter {
            actor: query.actor,
            action: query.action,
            before: id_cursor(query.cursor.as_deref(), query.before)?,
            limit,
        },
    )
    .await?;
    let full = i64::try_from(entries.len()).unwrap_or(i64::MAX) == limit;
    let next_before = if full {
        entries.last().map(|e| e.id)
    } else {
        None
    };
    Ok(Json(AuditPage {
        entries: entries
            .into_iter()
            .map(|entry| AuditEntryView {
                id: entry.id,
                at: entry.at.to_stored(),
                actor_kind: entry.actor_kind,
                actor: entry.actor,
                action: entry.action,
                target: entry.target,
                details: entry.details,
                client_addr: entry.client_addr,
            })
            .collect(),
        next_cursor: next_before.map(|id| id.to_string()),
        next_before,
    }))
}
