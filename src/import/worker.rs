//! Background workers: each process runs one import worker that takes the
//! oldest queued job (or a job whose worker died: see [`jobs::LEASE`]) and
//! runs it; a new upload wakes it at once.

use std::time::Duration;

use tracing::Instrument;

use super::jobs::{self, Status};
use super::run::{self, RunError};
pub use crate::services::Imports;
use crate::services::Services;

/// A job interrupted this often is given up rather than retried forever.
const MAX_ATTEMPTS: i64 = 3;

/// Claims one job and runs it. Answers its id, or `None` when there was none.
pub async fn run_next(services: &Services) -> Result<Option<i64>, sqlx::Error> {
    run_claimed(services, None).await
}

/// Claims and runs the job `id` (unless another worker has it); a run that
/// a transient database error interrupted is resumed at once, until the job
/// ends or another worker has it.
pub async fn run_job(services: &Services, id: i64) -> Result<Option<i64>, sqlx::Error> {
    let mut ran = None;
    while let Some(done) = run_claimed(services, Some(id)).await? {
        ran = Some(done);
    }
    Ok(ran)
}

async fn run_claimed(services: &Services, only: Option<i64>) -> Result<Option<i64>, sqlx::Error> {
    let Some(job) = jobs::claim(&services.db, services.clock.now(), only).await? else {
        return Ok(None);
    };
    if job.attempts > MAX_ATTEMPTS {
        let message = format!("the job was interrupted {MAX_ATTEMPTS} times; send the file again");
        finish_failed(services, job.id, message).await;
        return Ok(Some(job.id));
    }
    // One span per run, so a job's log lines can be followed together.
    let span = tracing::info_span!(
        "import",
        import.job_id = job.id,
        import.profile = %job.profile,
        import.mode = job.mode.as_str(),
        import.attempt = job.attempts,
    );
    let id = job.id;
    run_import(services, job).instrument(span).await;
    Ok(Some(id))
}
/// Runs a claimed import to its end and records how it ended.
async fn run_import(services: &Services, job: jobs::Job) {
    tracing::info!(job = job.id, profile = %job.profile, mode = job.mode.as_str(), attempt = job.attempts, "import started");
    let progress = services.imports.track(job.id);
    let result = run::run(
        &services.db,
        &services.clock,
        &job,
        services.imports.options(),
        progress,
    )
    .await;
    services.imports.untrack(job.id);
    // What the job applied goes out now rather than at the publisher's next tick.
    services.publishing.wake();
    match result {
        Ok(()) => {
            if let Ok(Some(done)) = jobs::get(services.db.pool(), job.id).await {
                tracing::info!(
                    job = job.id,
                    status = done.status.as_str(),
                    read = done.counts.read,
                    failed = done.counts.failed,
                    "import finished"
                );
            }
        }
        Err(RunError::Crashed) => tracing::warn!(job = job.id, "import stopped (simulated crash)"),
        Err(RunError::Fatal(message)) => finish_failed(services, job.id, message).await,
        Err(RunError::Database(err)) if crate::db::is_transient(&err) => {
            interrupted(services, &job, &err).await;
        }
        Err(RunError::Database(err)) => {
            tracing::error!(job = job.id, error = %err, "import failed on a database error");
            finish_failed(
                services,
                job.id,
                format!("the database failed while importing ({err}); applied batches stay applied, and sending the file again is safe"),
            )
            .await;
        }
    }
}

/// A transient database error (a dropped connection, a failover, a
/// deadlock, a busy SQLite) interrupts a job like a crash: it goes back to
/// the queue and resumes after its last committed batch; the third
/// interruption fails it.
async fn interrupted(services: &Services, job: &jobs::Job, err: &sqlx::Error) {
    if job.attempts >= MAX_ATTEMPTS {
        tracing::error!(job = job.id, attempt = job.attempts, error = %err, "import interrupted by a database error; giving up");
        let message = format!(
            "the job was interrupted {MAX_ATTEMPTS} times, the last time by the database ({err}); applied batches stay applied, and sending the file again is safe"
        );
        finish_failed(services, job.id, message).await;
        return;
    }
    tracing::warn!(job = job.id, attempt = job.attempts, error = %err, "import interrupted by a database error; it resumes from its last batch");
    // A moment's pause, longer each time, so a database that is failing
    // over or busy with another process's long write can recover before
    // the next attempt is spent.
    tokio::time::sleep(std::time::Duration::from_millis(
        500 * job.attempts.max(1) as u64,
    ))
    .await;
    // When the database cannot take even this, the job stays `running` and
    // is resumed once its lease runs out, as after a crash.
    if let Err(requeue) = jobs::requeue(&services.db, job.id, job.attempts).await {
        tracing::warn!(job = job.id, error = %requeue, "cannot requeue the interrupted import");
    }
}

async fn finish_failed(services: &Services, job_id: i64, message: String) {
    if let Err(err) = run::finish(
        &services.db,
        job_id,
        Status::Failed,
        Some(message),
        services.clock.now(),
    )
    .await
    {
        tracing::error!(job = job_id, error = %err, "cannot mark the import failed");
    }
}

/// Runs jobs until there are none left (the CLI and tests).
pub async fn drain(services: &Services) -> Result<(), sqlx::Error> {
    while run_next(services).await?.is_some() {}
    Ok(())
}

/// The worker loop: run what is queued, then wait for a wake-up or the next tick.
pub fn spawn(services: Services) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        match jobs::sweep_uploads(&services.db, &services.config.data_dir).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(files = n, "removed abandoned import uploads"),
            Err(err) => tracing::warn!(error = %err, "cannot sweep import uploads"),
        }
        match jobs::requeue_orphans(&services.db).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(jobs = n, "resuming imports interrupted by the last stop"),
            Err(err) => tracing::warn!(error = %err, "cannot requeue interrupted imports"),
        }
        loop {
            match run_next(&services).await {
                Ok(Some(_)) => continue,
                Ok(None) => {}
                Err(err) => tracing::warn!(error = %err, "import worker cannot reach the database"),
            }
            tokio::select! {
                () = services.imports.woken() => {}
                () = tokio::time::sleep(Duration::from_secs(5)) => {}
            }
        }
    })
}
