//! Proposals over the API: list, read, approve (all or some fields),
//! reject (comment required), withdraw, and restore a past version.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::paging::id_cursor;
use crate::auth::{Caller, Permission};
use crate::catalog::product::ValueKey;
use crate::web::AppState;
use crate::web::error::{ApiResult, AppError, ErrorBody};
use crate::web::extract::{ApiCaller, ApiJson};
use crate::workflow::proposals::{self, Comment, Proposal, ProposalFilter, Status};

/// Filters of `GET /api/v1/proposals`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProposalQuery {
    /// draft, submitted, approved, rejected, conflict or withdrawn.
    pub status: Option<String>,
    /// Part of the author's e-mail.
    pub author: Option<String>,
    pub sku: Option<String>,
    /// The previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// Proposals with an id below this (the previous page's `next_before`;
    /// the older name of `cursor`).
    pub before: Option<i64>,
    /// 1 to 100; default 50.
    pub limit: Option<i64>,
}

/// A page of proposals, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProposalPage {
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<Proposal>,
    /// Send as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
    /// The same position as a number, for `before` (the older name).
    pub next_before: Option<i64>,
}

/// Proposals, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/proposals",
    tag = "review",
    params(ProposalQuery),
    responses(
        (status = 200, description = "A page of proposals", body = ProposalPage),
        (status = 400, description = "Bad parameters", body = ErrorBody),
    )
)]
pub async fn list_proposals(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    query: Result<Query<ProposalQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<ProposalPage>> {
    caller.require(&Permission::ReadCatalog)?;
    let Query(query) = query?;
    let limit = query.limit.unwrap_or(50);
    if !(1..=100).contains(&limit) {
        return Err(AppError::BadRequest(format!(
            "limit must be between 1 and 100, not {limit}"
        )));
    }
    let statuses = match query.status.as_deref().filter(|s| !s.is_empty()) {
        Some(text) => vec![Status::parse(text).ok_or_else(|| {
            AppError::BadRequest(format!(
                "status {text:?} is not draft, submitted, approved, rejected, conflict or withdrawn"
            ))
        })?],
        None => Vec::new(),
    };
    let items = proposals::list(
        &state.db,
        &ProposalFilter {
            statuses,
            author: query.author.filter(|a| !a.is_empty()),
            sku: query.sku.filter(|s| !s.is_empty()),
            before_id: id_cursor(query.cursor.as_deref(), query.before)?,
            limit,
            ..ProposalFilter::default()
        },
    )
    .await?;
    let full = i64::try_from(items.len()).unwrap_or(i64::MAX) == limit;
    let last_id = items.last().map(|p| p.id);
    let items: Vec<Proposal> = items
        .into_iter()
        .filter(|p| p.visible_to(&caller))
        .collect();
    let next_before = if full { last_id } else { None };
    Ok(Json(ProposalPage {
        next_cursor: next_before.map(|id| id.to_string()),
        next_before,
        items,
    }))
}

/// A proposal with its comment thread.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProposalDetail {
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub proposal: Proposal,
    #[schema(value_type = Vec<Object>)]
    pub comments: Vec<Comment>,
}

/// One proposal.
#[utoipa::path(
    get,
    path = "/api/v1/proposals/{id}",
    tag = "review",
    params(("id" = i64, Path, description = "The proposal's id")),
    responses(
        (status = 200, description = "The proposal and its comments", body = ProposalDetail),
        (status = 404, description = "No such proposal", body = ErrorBody),
    )
)]
pub async fn get_proposal(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<i64>,
) -> ApiResult<Json<ProposalDetail>> {
    caller.require(&Permission::ReadCatalog)?;
    let proposal = proposals::get(state.db.pool(), id).await?;
    if !proposal.visible_to(&caller) {
        return Err(AppError::NotFound(format!("no proposal {id}")));
    }
    let comments = proposals::comments(&state.db, id).await?;
    Ok(Json(ProposalDetail { proposal, comments }))
}

/// A field of a proposal.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldRef {
    pub attribute: String,
    #[serde(default)]
    pub locale: Option<String>,
    #[serde(default)]
    pub channel: Option<String>,
}

/// The optional body of an approval: the fields to approve (default: all open ones).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApproveBody {
    pub fields: Option<Vec<FieldRef>>,
}

/// Approves all open fields, or the listed ones (the rest stay open). Fields
/// changed in master since the proposal was made turn it into a conflict.
#[utoipa::path(
    post,
    path = "/api/v1/proposals/{id}/approve",
    tag = "review",
    params(("id" = i64, Path, description = "The proposal's id")),
    request_body(content = Option<ApproveBody>, description = "Optional: the fields to approve"),
    responses(
        (status = 200, description = "The proposal after the decision (approved, submitted with fields left open, or conflict)", body = Object),
        (status = 400, description = "An unreadable body (judged after rights and state)", body = ErrorBody),
        (status = 403, description = "Not an approver, or your own proposal", body = ErrorBody),
        (status = 404, description = "No such proposal (someone else's draft included)", body = ErrorBody),
        (status = 409, description = "Not a submitted proposal", body = ErrorBody),
        (status = 422, description = "A listed field is not open, or a value is invalid now", body = ErrorBody),
    )
)]
pub async fn approve_proposal(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<i64>,
    body: Bytes,
) -> ApiResult<Json<Proposal>> {
    let fields: Option<Vec<ValueKey>> = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        let parsed: ApproveBody = match serde_json::from_slice(&body) {
            Ok(parsed) => parsed,
            Err(err) => {
                let err =
                    AppError::BadRequest(format!("the body must be {{\"fields\": [...]}}: {err}"));
                return Err(after_rights(&state, &caller, id, err).await);
            }
        };
        parsed.fields.map(|fields| {
            fields
                .into_iter()
                .map(|f| ValueKey::new(&f.attribute, f.locale.as_deref(), f.channel.as_deref()))
                .collect()
        })
    };
    let schema = state.schema.get(&state.db).await?;
    let proposal = proposals::approve(
        &state.db,
        &schema,
        &caller,
        id,
        fields.as_deref(),
        state.config.allow_self_approval,
        state.clock.now(),
    )
    .await?;
    Ok(Json(proposal))
}

/// A decision's body that cannot be read is refused only after what the
/// decision itself checks first (rights, existence, state): someone who may
/// not decide learns that, not how to phrase the body.
async fn after_rights(
    state: &AppState,
    caller: &Caller,
    id: i64,
    unreadable: AppError,
) -> AppError {
    match proposals::check_review(&state.db, caller, id, state.config.allow_self_approval).await {
        Ok(_) => unreadable,
        Err(refused) => refused.into(),
    }
}

/// The body of a rejection.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectBody {
    /// Required; a missing one is refused like an empty one (422), after
    /// rights and state.
    #[serde(default)]
    pub comment: String,
}

/// Rejects a proposal; a comment is required.
#[utoipa::path(
    post,
    path = "/api/v1/proposals/{id}/reject",
    tag = "review",
    params(("id" = i64, Path, description = "The proposal's id")),
    request_body = RejectBody,
    responses(
        (status = 200, description = "The rejected proposal", body = Object),
        (status = 403, description = "Not an approver, or your own proposal", body = ErrorBody),
        (status = 404, description = "No such proposal (someone else's draft included)", body = ErrorBody),
        (status = 409, description = "Not a submitted proposal", body = ErrorBody),
        (status = 422, description = "No comment (judged after rights and state)", body = ErrorBody),
    )
)]
pub async fn reject_proposal(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<i64>,
    body: Result<ApiJson<RejectBody>, AppError>,
) -> ApiResult<Json<Proposal>> {
    let body = match body {
        Ok(ApiJson(body)) => body,
        Err(unreadable) => return Err(after_rights(&state, &caller, id, unreadable).await),
    };
    let proposal = proposals::reject(
        &state.db,
        &caller,
        id,
        &body.comment,
        state.config.allow_self_approval,
        state.clock.now(),
    )
    .await?;
    Ok(Json(proposal))
}

/// The author withdraws a proposal.
#[utoipa::path(
    post,
    path = "/api/v1/proposals/{id}/withdraw",
    tag = "review",
    params(("id" = i64, Path, description = "The proposal's id")),
    responses(
        (status = 200, description = "The withdrawn proposal", body = Object),
        (status = 403, description = "Not the author", body = ErrorBody),
        (status = 404, description = "No such proposal (someone else's draft included)", body = ErrorBody),
        (status = 409, description = "Already decided", body = ErrorBody),
    )
)]
pub async fn withdraw_proposal(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<i64>,
) -> ApiResult<Json<Proposal>> {
    Ok(Json(
        proposals::withdraw(&state.db, &caller, id, state.clock.now()).await?,
    ))
}

/// The body of a restore.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RestoreBody {
    pub version: i64,
}

/// Proposes to restore a past version: a new submitted proposal.
#[utoipa::path(
    post,
    path = "/api/v1/products/{sku}/restore",
    tag = "review",
    params(("sku" = String, Path, description = "The SKU")),
    request_body = RestoreBody,
    responses(
        (status = 201, description = "The proposal that restores the version", body = Object),
        (status = 403, description = "No right to edit the catalog", body = ErrorBody),
        (status = 404, description = "No such product", body = ErrorBody),
        (status = 422, description = "No such version, or nothing to restore (judged after rights and existence)", body = ErrorBody),
    )
)]
pub async fn restore_version(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(sku): Path<String>,
    body: Result<ApiJson<RestoreBody>, AppError>,
) -> ApiResult<Response> {
    // Rights and existence first: an unreadable body is judged after them.
    let body = match body {
        Ok(ApiJson(body)) => body,
        Err(unreadable) => {
            proposals::check_restore(&state.db, &caller, &sku).await?;
            return Err(unreadable);
        }
    };
    let schema = state.schema.get(&state.db).await?;
    let proposal = proposals::restore(
        &state.db,
        &schema,
        &caller,
        &sku,
        body.version,
        state.clock.now(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(proposal)).into_response())
}
