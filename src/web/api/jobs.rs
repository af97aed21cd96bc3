//! Background jobs over the API: an action that queues one (republish)
//! answers 202 with the job and its `Location`; `GET /api/v1/jobs/{id}`
//! follows it to the end.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::db::Timestamp;
use crate::jobs::{self, Job, JobError};
use crate::web::AppState;
use crate::web::authz::AdminApi;
use crate::web::error::{ApiResult, AppError, ErrorBody};

impl From<JobError> for AppError {
    fn from(err: JobError) -> Self {
        match err {
            JobError::Db(err) => err.into(),
            JobError::NotFound(id) => AppError::NotFound(format!("there is no job {id}")),
        }
    }
}

/// Done of total, once the job has counted its work.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobProgress {
    pub done: i64,
    pub total: Option<i64>,
    pub percent: Option<i64>,
}

/// A background job.
#[derive(Debug, Serialize, ToSchema)]
pub struct BackgroundJob {
    pub id: i64,
    /// e.g. `channel.republish`
    pub kind: String,
    /// e.g. `channel:web`
    pub target: String,
    /// queued, running, succeeded or failed
    pub status: String,
    pub progress: JobProgress,
    /// What it has done so far (a republish: `products`, `events`).
    #[schema(value_type = Object)]
    pub result: Map<String, Value>,
    /// Why it failed.
    pub message: Option<String>,
    /// Who queued it.
    pub by: String,
    pub attempts: i64,
    #[schema(value_type = String)]
    pub created: Timestamp,
    #[schema(value_type = Option<String>)]
    pub started: Option<Timestamp>,
    #[schema(value_type = Option<String>)]
    pub finished: Option<Timestamp>,
    /// The job's page in the browser.
    pub page: String,
}

impl From<Job> for BackgroundJob {
    fn from(job: Job) -> Self {
        Self {
            id: job.id,
            kind: job.task.kind().to_owned(),
            target: job.task.target(),
            status: job.status.as_str().to_owned(),
            progress: JobProgress {
                done: job.done,
                total: job.total,
                percent: job.percent(),
            },
            message: job.message.clone(),
            by: job.by.clone(),
            attempts: job.attempts,
            created: job.created,
            started: job.started,
            finished: job.finished,
            page: format!("/jobs/{}", job.id),
            result: job.result,
        }
    }
}

/// 202 Accepted with the job and where to follow it.
pub(crate) fn accepted(job: Job) -> Response {
    let location = format!("/api/v1/jobs/{}", job.id);
    let mut response = (StatusCode::ACCEPTED, Json(BackgroundJob::from(job))).into_response();
    if let Ok(location) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// A background job: its status, progress and result.
#[utoipa::path(
    get,
    path = "/api/v1/jobs/{id}",
    tag = "jobs",
    params(("id" = i64, Path, description = "The job")),
    responses(
        (status = 200, description = "The job", body = BackgroundJob),
        (status = 403, description = "Only admins follow jobs", body = ErrorBody),
        (status = 404, description = "No such job", body = ErrorBody),
    )
)]
pub async fn get_job(
    State(state): State<AppState>,
    _: AdminApi,
    Path(id): Path<i64>,
) -> ApiResult<Json<BackgroundJob>> {
    let job = jobs::get(&state.db, id)
        .await?
        .ok_or(JobError::NotFound(id))?;
    Ok(Json(job.into()))
}
