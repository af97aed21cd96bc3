//! The job worker: each process runs one. It claims the oldest queued job
//! (or one whose worker died), runs it a step at a time, recording progress
//! and renewing its lease after each step, and finishes it. A schema change
//! purges its products a stretch per step and applies the schema in its
//! last step, in the same transaction that ends the job. A new job wakes
//! it at once; otherwise it looks every few seconds.

use std::time::Duration;
use tracing::Instrument;

use serde_json::Value;

use super::{Job, JobError, Status, Task};
use crate::catalog::schema::Schema;
use crate::publish::publisher::{self, PublishError};
use crate::schema_code::{self, SchemaError};
use crate::services::Services;
pub use crate::services::{Jobs, WorkerOptions};

/// A worker that has not renewed its lease for this long is taken for dead,
/// and its job is taken over. A step is one publisher round (about a second
/// for 1,000 products), far below it.
pub const LEASE: time::Duration = time::Duration::seconds(60);

/// A job taken over this often is given up rather than retried forever.
const MAX_ATTEMPTS: i64 = 5;

/// How often an idle worker looks for jobs queued by other nodes.
const TICK: Duration = Duration::from_secs(2);

/// One publisher round per step.
impl Default for WorkerOptions {
    fn default() -> Self {
        Self {
            step: publisher::ROUND,
            crash_after_steps: None,
        }
    }
}

/// How a run of a claimed job ended.
enum Ended {
    Finished,
    /// Another worker holds it now, or the simulated crash.
    Stopped,
}

/// Claims one job and runs it. Answers its id, or `None` when there was none.
pub async fn run_next(services: &Services) -> Result<Option<i64>, JobError> {
    // Every claim has its own owner: a lease names one run, not a process.
    let owner = uuid::Uuid::new_v4().simple().to_string();
    let now = services.clock.now();
    let Some(job) = super::claim(&services.db, &owner, now, now.plus(LEASE)).await? else {
        return Ok(None);
    };
    let id = job.id;
    tracing::info!(job.id = id, job.kind = job.task.kind(), job.target = %job.task.target(), attempt = job.attempts, "job started");
    let span = tracing::info_span!(
        "job",
        job.id = id,
        job.kind = job.task.kind(),
        job.target = %job.task.target(),
        job.attempt = job.attempts,
    );
    match run(services, job, &owner).instrument(span).await {
        Ok(Ended::Finished) => {}
        Ok(Ended::Stopped) => tracing::warn!(job.id = id, "job stopped before its end"),
        // Left claimed: after its lease another run takes it over and
        // resumes after its last step.
        Err(err) => {
            tracing::warn!(job.id = id, error = %err, "job step failed; it resumes after its lease")
        }
    }
    Ok(Some(id))
}

async fn run(services: &Services, mut job: Job, owner: &str) -> Result<Ended, JobError> {
    let db = &services.db;
    if job.attempts > MAX_ATTEMPTS {
        let message = format!(
            "the job was interrupted {MAX_ATTEMPTS} times and was given up; queue it again"
        );
        super::finish(
            db,
            &job,
            owner,
            Status::Failed,
            Some(&message),
            services.clock.now(),
        )
        .await?;
        return Ok(Ended::Finished);
    }
    let options = services.jobs.options();
    let mut steps = 0_u32;
    loop {
        if options.crash_after_steps.is_some_and(|n| steps >= n) {
            return Ok(Ended::Stopped);
        }
        let step = match job.task.clone() {
            Task::Republish { channel } => {
                republish_step(services, &mut job, &channel, options.step)
                    .await
                    .map(|more| if more { Stepped::More } else { Stepped::Done })
            }
            Task::SchemaApply {
                base_version,
                schema,
                ..
            } => {
                schema_step(
                    services,
                    &mut job,
                    owner,
                    base_version,
                    &schema,
                    options.step,
                )
                .await
            }
        };
        let now = services.clock.now();
        match step {
            Ok(Stepped::Finished { held }) => {
                tracing::info!(job.id = job.id, done = job.done, "job finished");
                return Ok(if held {
                    Ended::Finished
                } else {
                    Ended::Stopped
                });
            }
            Ok(Stepped::Recorded) => {
                steps += 1;
                services.publishing.wake();
            }
            Ok(Stepped::More) => {
                steps += 1;
                // What the step published goes out now.
                services.publishing.wake();
                if !super::advance(db, &job, owner, now.plus(LEASE)).await? {
                    return Ok(Ended::Stopped);
                }
            }
            Ok(Stepped::Done) => {
                job.total = Some(job.done);
                let finished = super::finish(db, &job, owner, Status::Succeeded, None, now).await?;
                tracing::info!(job.id = job.id, done = job.done, "job finished");
                return Ok(if finished {
                    Ended::Finished
                } else {
                    Ended::Stopped
                });
            }
            Err(StepError::Failed(message)) => {
                super::finish(db, &job, owner, Status::Failed, Some(&message), now).await?;
                return Ok(Ended::Finished);
            }
            // An interruption (a dropped connection, a failover, a busy
            // database) leaves the job claimed, to be resumed after its
            // lease; any other database error will not go away by retrying.
            Err(StepError::Db(err)) if crate::db::is_transient(&err) => return Err(err.into()),
            Err(StepError::Db(err)) => {
                tracing::error!(job.id = job.id, error = %err, "job failed on a database error");
                let message = format!(
                    "the database refused a step ({err}); the steps before it stay applied"
                );
                super::finish(db, &job, owner, Status::Failed, Some(&message), now).await?;
                return Ok(Ended::Finished);
            }
        }
    }
}

/// Where a job stands after a step.
enum Stepped {
    /// More to do; the progress is yet to be recorded.
    More,
    /// More to do; the step recorded its progress in its own commit.
    Recorded,
    /// Nothing more to do: the job is to be finished.
    Done,
    /// The step finished the job itself, in its own transaction; `held` is
    /// false when another worker had taken it over (nothing was committed).
    Finished { held: bool },
}

enum StepError {
    /// The job cannot go on (its channel was removed).
    Failed(String),
    Db(sqlx::Error),
}

impl From<sqlx::Error> for StepError {
    fn from(err: sqlx::Error) -> Self {
        StepError::Db(err)
    }
}

/// One round of a republish; false when every product has been judged.
async fn republish_step(
    services: &Services,
    job: &mut Job,
    channel: &str,
    step: usize,
) -> Result<bool, StepError> {
    let db = &services.db;
    if job.total.is_none() {
        job.total = Some(publisher::republish_total(db).await?);
    }
    // The schema as it is now: a change since the job was queued counts.
    let schema = services.schema.get(db).await?;
    let now = services.clock.now();
    match publisher::republish_round(
        db,
        &schema,
        &services.config.public_url,
        channel,
        job.resume_after,
        step,
        now,
    )
    .await
    {
        Ok(Some((last, round))) => {
            job.resume_after = last;
            job.done += i64::try_from(round.products).unwrap_or(i64::MAX);
            for (name, n) in [("products", round.products), ("events", round.events)] {
                let before = job.count(name);
                let sum = before.saturating_add(i64::try_from(n).unwrap_or(i64::MAX));
                job.result.insert(name.to_owned(), sum.into());
            }
            Ok(true)
        }
        Ok(None) => Ok(false),
        Err(PublishError::UnknownChannel(code)) => Err(StepError::Failed(format!(
            "the channel {code} no longer exists"
        ))),
        Err(PublishError::Db(err)) => Err(StepError::Db(err)),
    }
}

/// One step of a schema change: the first counts the products to purge,
/// each purges a stretch of them (resuming after the last product purged),
/// and the last, once no stretch is left, applies the schema and ends the
/// job in one transaction. A schema that moved on since the change was
/// judged fails the job rather than apply a stale plan.
async fn schema_step(
    services: &Services,
    job: &mut Job,
    owner: &str,
    base_version: i64,
    schema: &Value,
    step: usize,
) -> Result<Stepped, StepError> {
    let db = &services.db;
    let mut desired: Schema = serde_json::from_value(schema.clone())
        .map_err(|err| StepError::Failed(format!("the queued schema cannot be read: {err}")))?;
    desired.version = base_version;
    let failed = |err: SchemaError, job: &Job| match err {
        SchemaError::Database(err) => StepError::Db(err),
        SchemaError::Stale { base, current } => StepError::Failed(format!(
            "the schema changed since this change was queued (version {base}, now {current}), \
             so it was not applied{}; make the change again on the current schema",
            match job.count("purged") {
                0 => String::new(),
                n => format!(
                    " ({n} product(s) purged before that keep their history and can be restored)"
                ),
            }
        )),
        other => StepError::Failed(other.to_string()),
    };
    if job.total.is_none() {
        let total = schema_code::purge_total(db, &desired)
            .await
            .map_err(|err| failed(err, job))?;
        job.total = Some(total);
    }
    let now = services.clock.now();
    // The stretch and its record commit together: a worker that lost the
    // job writes nothing, and a taken-over job never misses a stretch's count.
    let mut tx = db.begin_write().await?;
    let purged =
        schema_code::purge_stretch_in(&mut tx, &job.actor, &desired, job.resume_after, step, now)
            .await
            .map_err(|err| failed(err, job))?;
    if let Some(last) = purged.last {
        job.resume_after = last;
        job.done += i64::try_from(purged.judged).unwrap_or(i64::MAX);
        add(job, "purged", purged.changed);
        if !super::advance_in(&mut tx, job, owner, now.plus(LEASE)).await? {
            return Ok(Stepped::Finished { held: false });
        }
        tx.commit().await?;
        return Ok(Stepped::Recorded);
    }
    drop(tx);
    // Every stretch is done: the schema changes, and the job ends, at once.
    let mut tx = db.begin_write().await?;
    let applied = schema_code::apply_in(&mut tx, &job.actor, &desired, None, true, now)
        .await
        .map_err(|err| failed(err, job))?;
    job.result
        .insert("steps".to_owned(), applied.plan.steps.len().into());
    job.result.insert(
        "plan".to_owned(),
        schema_code::plan_lines(&applied.plan).into(),
    );
    let total = job.total.unwrap_or(0).max(job.done);
    (job.done, job.total) = (total, Some(total));
    let held = super::finish_in(&mut tx, job, owner, Status::Succeeded, None, now).await?;
    if held {
        tx.commit().await?;
        // The publisher judges every product against the new schema.
        services.publishing.wake();
    }
    Ok(Stepped::Finished { held })
}

/// Adds `n` to the result's counter `name`.
fn add(job: &mut Job, name: &str, n: usize) {
    let sum = job
        .count(name)
        .saturating_add(i64::try_from(n).unwrap_or(i64::MAX));
    job.result.insert(name.to_owned(), sum.into());
}

/// Runs jobs until none is claimable (the CLI, tests, benchmarks).
pub async fn drain(services: &Services) -> Result<(), JobError> {
    while run_next(services).await?.is_some() {}
    Ok(())
}

/// The worker loop: run what is claimable, then wait for a wake-up or the next tick.
pub fn spawn(services: Services) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        match super::requeue_orphans(&services.db).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(jobs = n, "resuming jobs interrupted by the last stop"),
            Err(err) => tracing::warn!(error = %err, "cannot requeue interrupted jobs"),
        }
        loop {
            match run_next(&services).await {
                Ok(Some(_)) => continue,
                Ok(None) => {}
                Err(err) => tracing::warn!(error = %err, "job worker cannot reach the database"),
            }
            tokio::select! {
                () = services.jobs.woken() => {}
                () = tokio::time::sleep(TICK) => {}
            }
        }
    })
}
