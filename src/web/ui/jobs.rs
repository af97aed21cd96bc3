//! A background job's page (`/jobs/{id}`): what it does, who queued it, and
//! its progress as a `<progress>` bar that refreshes itself (no JavaScript)
//! until the job is done.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;

use super::{Chrome, render};
use crate::jobs::{self, Job, Status, Task};
use crate::web::AppState;
use crate::web::PageResult;
use crate::web::authz::AdminPage;
use crate::web::error::AppError;
use crate::web::extract::urlencode;

pub fn routes() -> Router<AppState> {
    Router::new().route("/jobs/{id}", get(page))
}

#[derive(Template)]
#[template(path = "jobs/page.html")]
struct JobPage {
    chrome: Chrome,
    id: i64,
    title: String,
    back: Option<(String, String)>,
    status: &'static str,
    by: String,
    created: String,
    started: String,
    finished: String,
    in_flight: bool,
    queued: bool,
    percent: Option<i64>,
    done: i64,
    total: i64,
    attempts: i64,
    outcome: Option<String>,
    message: Option<String>,
}

/// What a finished job did, in a sentence.
fn outcome(job: &Job) -> Option<String> {
    if job.status != Status::Succeeded {
        return None;
    }
    match &job.task {
        Task::Republish { .. } => {
            let products = job.count("products");
            let events = job.count("events");
            Some(format!(
                "Republished {products} product{}: {events} feed event{} (identical payloads publish nothing).",
                if products == 1 { "" } else { "s" },
                if events == 1 { "" } else { "s" },
            ))
        }
        Task::SchemaApply { .. } => {
            let purged = job.count("purged");
            Some(format!(
                "Applied the schema change ({} step{}): {purged} product{} lost values the schema no longer defines, each with a history entry.",
                job.count("steps"),
                if job.count("steps") == 1 { "" } else { "s" },
                if purged == 1 { "" } else { "s" },
            ))
        }
    }
}

/// Where the job's subject lives.
fn back(task: &Task) -> Option<(String, String)> {
    match task {
        Task::Republish { channel } => Some((
            format!("/channels/{}", urlencode(channel)),
            format!("Channel {channel}"),
        )),
        Task::SchemaApply { .. } => Some(("/settings/schema".to_owned(), "Schema".to_owned())),
    }
}

/// `GET /jobs/{id}`
async fn page(
    State(state): State<AppState>,
    admin: AdminPage,
    Path(id): Path<String>,
) -> PageResult {
    // Jobs are admins' actions, and their pages read like the audit log
    // (who did what, when): admins only, as in the API.
    let session = admin.session;
    let missing = || AppError::NotFound(format!("There is no job {id}."));
    let number: i64 = id.parse().map_err(|_| missing())?;
    let job = jobs::get(&state.db, number).await?.ok_or_else(missing)?;
    let page = JobPage {
        chrome: Chrome::new(
            &session,
            match job.task {
                Task::Republish { .. } => "/channels",
                Task::SchemaApply { .. } => "/settings",
            },
            None,
        ),
        id: job.id,
        title: job.task.describe(),
        back: back(&job.task),
        status: job.status.as_str(),
        by: job.by.clone(),
        created: job.created.display(),
        started: job.started.map(|t| t.display()).unwrap_or_default(),
        finished: job.finished.map(|t| t.display()).unwrap_or_default(),
        in_flight: job.in_flight(),
        queued: job.status == Status::Queued,
        percent: job.percent(),
        done: job.done,
        total: job.total.unwrap_or(0),
        attempts: job.attempts,
        outcome: outcome(&job),
        message: job.message.clone(),
    };
    Ok(render(StatusCode::OK, &page))
}
