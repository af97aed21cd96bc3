//! Imports over the API: send a file (`POST /api/v1/imports`, answered 202
//! with the queued job), follow the job, list past jobs, and download the
//! failed rows to fix and re-send.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::paging::id_cursor;
use crate::import::jobs::{self, Job, Mode, NewJob, SubmitError, Upload};
use crate::import::progress;
use crate::web::AppState;
use crate::web::authz::{Authorized, Import};
use crate::web::download::attachment;
use crate::web::error::{ApiResult, AppError, ErrorBody};

/// Parameters of `POST /api/v1/imports`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportParams {
    /// The mapping profile's code, e.g. `erp-items`.
    pub profile: String,
    /// upsert (default), full or dry-run.
    pub mode: Option<String>,
    /// The file's name, shown in the job list (default `upload`).
    pub name: Option<String>,
}

/// A job with its live progress while it runs in this process.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobView {
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub job: Job,
    /// Rows and bytes read so far, while running.
    #[schema(value_type = Option<Object>)]
    pub progress: Option<ProgressView>,
    pub errors_url: String,
}

#[derive(Debug, Serialize)]
pub struct ProgressView {
    pub rows: u64,
    pub bytes: u64,
    pub percent: u64,
}

pub fn view(state: &AppState, job: Job) -> JobView {
    let progress = progress::of(&state.imports, &job).map(|p| ProgressView {
        rows: p.rows,
        bytes: p.bytes,
        percent: p.percent,
    });
    JobView {
        errors_url: format!("/api/v1/imports/{}/errors.csv", job.id),
        job,
        progress,
    }
}

/// Sends a file to import. The body is the file itself (CSV or JSON Lines,
/// as the profile says), streamed to disk. With an `Idempotency-Key`, the
/// same key answers the same job (also while it runs); the same key with a
/// different file, profile or mode is refused with 422.
#[utoipa::path(
    post,
    path = "/api/v1/imports",
    tag = "imports",
    params(
        ImportParams,
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry return the same job"),
    ),
    request_body(content = String, content_type = "text/csv", description = "The ERP file"),
    responses(
        (status = 202, description = "The job, queued (or the job this key made before)", body = JobView),
        (status = 400, description = "Bad parameters", body = ErrorBody),
        (status = 403, description = "The token lacks the import scope", body = ErrorBody),
        (status = 404, description = "No such profile", body = ErrorBody),
        (status = 413, description = "The file is larger than SLUICE_MAX_IMPORT_BYTES", body = ErrorBody),
        (status = 422, description = "The key was used for another request, or the profile does not fit the catalog", body = ErrorBody),
    )
)]
pub async fn create_import(
    State(state): State<AppState>,
    Authorized { caller, .. }: Authorized<Import>,
    query: Result<Query<ImportParams>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let Query(params) = query?;
    let mode_text = params.mode.unwrap_or_else(|| "upsert".to_owned());
    let mode = Mode::parse(&mode_text).ok_or(SubmitError::BadMode(mode_text))?;
    let key = match headers.get("idempotency-key") {
        Some(value) => Some(value.to_str().map_err(|_| SubmitError::BadKey)?.to_owned()),
        None => None,
    };
    let new = NewJob {
        profile: params.profile,
        mode,
        origin: "api",
        file_name: params
            .name
            .filter(|n| !n.trim().is_empty())
            .map_or_else(|| "upload".to_owned(), |n| n.chars().take(200).collect()),
        idempotency_key: key,
    };
    let upload = receive(&state, body).await?;
    let (job, created) =
        jobs::submit(&state.db, &caller.actor(), new, upload, state.clock.now()).await?;
    if created {
        state.imports.wake();
    }
    let location = format!("/api/v1/imports/{}", job.id);
    let mut response = (StatusCode::ACCEPTED, Json(view(&state, job))).into_response();
    if let Ok(location) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// Streams a request body into an upload under the import size limit.
pub async fn receive(state: &AppState, body: Body) -> Result<Upload, AppError> {
    use http_body_util::BodyExt;
    let mut upload = Upload::start(&state.config.data_dir, state.config.max_import_bytes).await?;
    let mut body = body;
    loop {
        let frame = crate::web::next_chunk(async {
            body.frame()
                .await
                .transpose()
                .map_err(|err| AppError::BadRequest(format!("the upload was interrupted: {err}")))
        })
        .await;
        let chunk = match frame {
            Ok(Some(frame)) => frame,
            Ok(None) => break,
            Err(err) => {
                upload.discard().await;
                return Err(err);
            }
        };
        if let Some(data) = chunk.data_ref()
            && let Err(err) = upload.write(data).await
        {
            upload.discard().await;
            return Err(err.into());
        }
    }
    Ok(upload)
}

/// Paging of `GET /api/v1/imports`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobQuery {
    /// The previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// Jobs with an id below this (the previous page's `next_before`; the
    /// older name of `cursor`).
    pub before: Option<i64>,
    /// 1 to 100; default 50.
    pub limit: Option<i64>,
}

/// A page of jobs, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobPage {
    pub items: Vec<JobView>,
    /// Send as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
    /// The same position as a number, for `before` (the older name).
    pub next_before: Option<i64>,
}

/// Past and running jobs with their counts and durations, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/imports",
    tag = "imports",
    params(JobQuery),
    responses(
        (status = 200, description = "A page of jobs", body = JobPage),
        (status = 400, description = "Bad parameters", body = ErrorBody),
    )
)]
pub async fn list_imports(
    State(state): State<AppState>,
    _: Authorized<Import>,
    query: Result<Query<JobQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<JobPage>> {
    let Query(query) = query?;
    let limit = query.limit.unwrap_or(50);
    if !(1..=100).contains(&limit) {
        return Err(AppError::BadRequest(format!(
            "limit must be between 1 and 100, not {limit}"
        )));
    }
    let before = id_cursor(query.cursor.as_deref(), query.before)?;
    let found = jobs::list(&state.db, before, limit + 1)
        .await
        .map_err(AppError::internal)?;
    let more = found.len() > usize::try_from(limit).unwrap_or(usize::MAX);
    let items: Vec<JobView> = found
        .into_iter()
        .take(usize::try_from(limit).unwrap_or(0))
        .map(|job| view(&state, job))
        .collect();
    let next_before = if more {
        items.last().map(|v| v.job.id)
    } else {
        None
    };
    Ok(Json(JobPage {
        items,
        next_cursor: next_before.map(|id| id.to_string()),
        next_before,
    }))
}

async fn find(state: &AppState, id: i64) -> Result<Job, AppError> {
    jobs::get(state.db.pool(), id)
        .await
        .map_err(AppError::internal)?
        .ok_or_else(|| AppError::NotFound(format!("there is no import job {id}")))
}

/// One job: status, counts, warnings, timing and (while running) progress.
#[utoipa::path(
    get,
    path = "/api/v1/imports/{id}",
    tag = "imports",
    params(("id" = i64, Path, description = "The job's id")),
    responses(
        (status = 200, description = "The job", body = JobView),
        (status = 404, description = "No such job", body = ErrorBody),
    )
)]
pub async fn get_import(
    State(state): State<AppState>,
    _: Authorized<Import>,
    Path(id): Path<i64>,
) -> ApiResult<Json<JobView>> {
    let job = find(&state, id).await?;
    Ok(Json(view(&state, job)))
}

/// The failed rows exactly as they came plus an `error` column (CSV jobs),
/// or the failed lines with an `error` key (JSON Lines jobs). Cells that a
/// spreadsheet would read as a formula get a leading apostrophe, which the
/// importer removes again.
#[utoipa::path(
    get,
    path = "/api/v1/imports/{id}/errors.csv",
    tag = "imports",
    params(("id" = i64, Path, description = "The job's id")),
    responses(
        (status = 200, description = "The failed rows", content_type = "text/csv"),
        (status = 404, description = "No such job", body = ErrorBody),
    )
)]
pub async fn import_errors(
    State(state): State<AppState>,
    _: Authorized<Import>,
    Path(id): Path<i64>,
) -> ApiResult<Response> {
    let job = find(&state, id).await?;
    Ok(errors_file(state, job))
}

/// The failed rows as a download, streamed page by page.
fn errors_file(state: AppState, job: Job) -> Response {
    let (file, stream) = crate::import::errors_file::errors_file(state.db.clone(), job);
    attachment(file.content_type, &file.file_name, stream)
}
