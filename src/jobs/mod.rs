//! Background jobs: long actions a person asks for (republishing a channel,
//! a schema change that purges values from many products)
//! queued in the `jobs` table and answered at once, then run by a worker in
//! short resumable steps with progress (done of total). A job is audited
//! when it is queued and when it is done, in the name of who asked.
//!
//! One worker holds a job at a time by its lease: claiming is one
//! conditional `UPDATE` (on PostgreSQL over a `FOR UPDATE SKIP LOCKED`
//! pick, so workers of several nodes never wait on each other), every step
//! renews the lease, and a job whose lease ran out (its worker died) is
//! taken over and resumed after its last recorded step.

pub mod worker;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::audit::{self, Actor, ActorKind, AuditEvent};
use crate::catalog::schema::Schema;
use crate::db::{Backend, Db, Timestamp};
use crate::schema_code::{self, Applied, SchemaError};

/// What a job does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Task {
    /// Rebuild every product's payload for a channel.
    Republish { channel: String },
    /// Apply a destructive schema change: purge the affected products in
    /// stretches, then change the schema. Judged when queued.
    SchemaApply {
        /// The stored schema's version the change was judged against: a
        /// schema that moved on since makes the job fail.
        base_version: i64,
        /// The plan as judged, one line per step (for people).
        plan: Vec<String>,
        /// The desired schema, as JSON.
        schema: Value,
    },
}

/// How a [`Task::SchemaApply`] is read from the job's payload.
#[derive(serde::Deserialize)]
struct SchemaPayload {
    base_version: i64,
    plan: Vec<String>,
    schema: Value,
}

impl Task {
    /// The kind stored with the job; also the audit action when it is done.
    pub fn kind(&self) -> &'static str {
        match self {
            Task::Republish { .. } => "channel.republish",
            Task::SchemaApply { .. } => "schema.apply",
        }
    }

    /// The audit action when it is queued.
    fn queued_action(&self) -> &'static str {
        match self {
            Task::Republish { .. } => "channel.republish.queued",
            Task::SchemaApply { .. } => "schema.apply.queued",
        }
    }

    /// What it needs beyond its target, stored as JSON.
    fn payload(&self) -> Option<String> {
        match self {
            Task::Republish { .. } => None,
            Task::SchemaApply {
                base_version,
                plan,
                schema,
            } => Some(
                serde_json::json!({
                    "base_version": base_version,
                    "plan": plan,
                    "schema": schema,
                })
                .to_string(),
            ),
        }
    }

    /// What it acts on, as the audit log names it.
    pub fn target(&self) -> String {
        match self {
            Task::Republish { channel } => format!("channel:{channel}"),
            Task::SchemaApply { .. } => "schema".to_owned(),
        }
    }

    fn parse(kind: &str, target: &str, payload: Option<&str>) -> Option<Task> {
        match kind {
            "channel.republish" => Some(Task::Republish {
                channel: target.strip_prefix("channel:")?.to_owned(),
            }),
            "schema.apply" if target == "schema" => {
                let payload: SchemaPayload = serde_json::from_str(payload?).ok()?;
                Some(Task::SchemaApply {
                    base_version: payload.base_version,
                    plan: payload.plan,
                    schema: payload.schema,
                })
            }
            _ => None,
        }
    }

    /// One line for people: "Republish all of channel web".
    pub fn describe(&self) -> String {
        match self {
            Task::Republish { channel } => format!("Republish all of channel {channel}"),
            Task::SchemaApply { plan, .. } => {
                // The first destructive step (what the job is for) in
                // words, without its "[destructive: …]" note.
                let first = plan
                    .iter()
                    .find(|line| line.contains("  [destructive: "))
                    .or(plan.first());
                let first = first.map_or_else(
                    || "no steps".to_owned(),
                    |line| {
                        let step = line.split("  [").next().unwrap_or(line);
                        match step.split_once(' ') {
                            Some(("+", rest)) => format!("create {rest}"),
                            Some(("~", rest)) => format!("change {rest}"),
                            Some(("-", rest)) => format!("delete {rest}"),
                            _ => step.to_owned(),
                        }
                    },
                );
                match plan.len() {
                    0 | 1 => format!("Schema change: {first}"),
                    n => format!("Schema change: {first} and {} more step(s)", n - 1),
                }
            }
        }
    }
}

/// Where a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Queued,
    Running,
    Succeeded,
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Queued => "queued",
            Status::Running => "running",
            Status::Succeeded => "succeeded",
            Status::Failed => "failed",
        }
    }

    fn parse(text: &str) -> Status {
        match text {
            "queued" => Status::Queued,
            "running" => Status::Running,
            "succeeded" => Status::Succeeded,
            _ => Status::Failed,
        }
    }
}

/// A stored job.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: i64,
    pub task: Task,
    pub status: Status,
    /// Units of work done (products judged, for a republish).
    pub done: i64,
    /// Units of work in all, once the job has started.
    pub total: Option<i64>,
    /// Where the next step starts (the last product id judged).
    pub resume_after: i64,
    /// What the job has done so far, by name (`products`, `events`).
    pub result: Map<String, Value>,
    /// Why it failed.
    pub message: Option<String>,
    /// Who asked for it.
    pub by: String,
    pub attempts: i64,
    pub created: Timestamp,
    pub started: Option<Timestamp>,
    pub finished: Option<Timestamp>,
    /// Who asked, as the audit log records them (for the "done" entry).
    actor: Actor,
}

impl Job {
    /// True until it has succeeded or failed.
    pub fn in_flight(&self) -> bool {
        matches!(self.status, Status::Queued | Status::Running)
    }

    /// Whole percent done, when the total is known.
    pub fn percent(&self) -> Option<i64> {
        let total = self.total?;
        if total <= 0 {
            return Some(if self.in_flight() { 0 } else { 100 });
        }
        Some((self.done.clamp(0, total) * 100) / total)
    }

    /// A counter of the result (0 until the job has counted it).
    pub fn count(&self, name: &str) -> i64 {
        self.result.get(name).and_then(Value::as_i64).unwrap_or(0)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error("there is no job {0}")]
    NotFound(i64),
}

const COLUMNS: &str = "id, kind, target, payload, status, done_count, total_count, resume_after, \
     result, message, actor_kind, actor_user_id, actor_label, client_addr, attempts, created_at, \
     started_at, finished_at";

/// A `jobs` row as stored; [`JobRow::into_job`] reads its task and result.
#[derive(sqlx::FromRow)]
struct JobRow {
    id: i64,
    kind: String,
    target: String,
    payload: Option<String>,
    status: String,
    done_count: i64,
    total_count: Option<i64>,
    resume_after: i64,
    result: String,
    message: Option<String>,
    actor_kind: String,
    actor_user_id: Option<i64>,
    actor_label: String,
    client_addr: String,
    attempts: i64,
    created_at: Timestamp,
    started_at: Option<Timestamp>,
    finished_at: Option<Timestamp>,
}

impl JobRow {
    fn into_job(self) -> Result<Job, sqlx::Error> {
        let (kind, target) = (&self.kind, &self.target);
        let task = Task::parse(kind, target, self.payload.as_deref()).ok_or_else(|| {
            sqlx::Error::Decode(format!("unknown job kind {kind} for {target}").into())
        })?;
        let result = match serde_json::from_str(&self.result) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        };
        let actor = Actor {
            kind: match self.actor_kind.as_str() {
                "user" => ActorKind::User,
                "token" => ActorKind::Token,
                "anonymous" => ActorKind::Anonymous,
                _ => ActorKind::System,
            },
            user_id: self.actor_user_id,
            label: self.actor_label.clone(),
            client_addr: self.client_addr,
        };
        Ok(Job {
            id: self.id,
            task,
            status: Status::parse(&self.status),
            done: self.done_count,
            total: self.total_count,
            resume_after: self.resume_after,
            result,
            message: self.message,
            by: self.actor_label,
            attempts: self.attempts,
            created: self.created_at,
            started: self.started_at,
            finished: self.finished_at,
            actor,
        })
    }
}

/// Queues `task` for `actor` and records that in the audit log, in one
/// transaction. The worker picks it up; the caller answers at once.
pub async fn enqueue(db: &Db, task: &Task, actor: &Actor, now: Timestamp) -> Result<Job, JobError> {
    let mut tx = db.begin_write().await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO jobs (kind, target, payload, status, actor_kind, actor_user_id, actor_label, \
         client_addr, created_at) VALUES ($1, $2, $3, 'queued', $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(task.kind())
    .bind(task.target())
    .bind(task.payload())
    .bind(actor.kind.as_str())
    .bind(actor.user_id)
    .bind(&actor.label)
    .bind(&actor.client_addr)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    audit::record(
        &mut *tx,
        actor,
        AuditEvent::new(task.queued_action(), task.target()).detail("job", id),
        now,
    )
    .await?;
    tx.commit().await?;
    get(db, id).await?.ok_or(JobError::NotFound(id))
}

/// One job by id.
pub async fn get(db: &Db, id: i64) -> Result<Option<Job>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM jobs WHERE id = $1");
    sqlx::query_as::<_, JobRow>(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(db.pool())
        .await?
        .map(JobRow::into_job)
        .transpose()
}

/// What became of a schema change a person asked for.
#[derive(Debug)]
pub enum SchemaChange {
    /// Applied at once (nothing to purge from products), or nothing to do.
    Applied(Applied),
    /// Products hold values it removes: queued as a job that purges them
    /// in stretches, then applies it.
    Queued(Box<Job>),
}

/// Changes the schema for a request: judged at once (invalid, stale,
/// refused destructive steps answer now), applied at once when no product
/// holds a value it removes, and otherwise queued as a [`Task::SchemaApply`]
/// job, so a purge of many products never runs inside a request.
pub async fn change_schema(
    db: &Db,
    actor: &Actor,
    desired: &Schema,
    allow_destructive: bool,
    now: Timestamp,
) -> Result<SchemaChange, SchemaError> {
    let judged = schema_code::judge(db, desired, None).await?;
    if judged.plan.is_empty() || !judged.affects_products() {
        let applied = schema_code::apply(db, actor, desired, allow_destructive, false, now).await?;
        return Ok(SchemaChange::Applied(applied));
    }
    judged.refuse_unless(allow_destructive)?;
    let task = Task::SchemaApply {
        base_version: judged.base_version,
        plan: schema_code::plan_lines(&judged.plan),
        schema: serde_json::to_value(desired)
            .map_err(|err| SchemaError::Syntax(err.to_string()))?,
    };
    match enqueue(db, &task, actor, now).await {
        Ok(job) => Ok(SchemaChange::Queued(Box::new(job))),
        Err(JobError::Db(err)) => Err(SchemaError::Database(err)),
        Err(JobError::NotFound(_)) => Err(SchemaError::Database(sqlx::Error::RowNotFound)),
    }
}

/// Which jobs [`claim`] may take: queued ones, and running ones whose
/// worker let the lease run out.
/// Only kinds this build can run are claimed: during a rolling upgrade an
/// older node leaves a newer kind to the nodes that know it.
const CLAIMABLE: &str = "(kind IN ('channel.republish', 'schema.apply') \
     AND (status = 'queued' OR (status = 'running' AND lease_until < $3)))";

/// Takes the oldest claimable job for `owner` until `lease_until`. Two
/// workers never both get it: the `UPDATE` re-checks that the job is still
/// claimable (on PostgreSQL after locking the row the pick skipped to;
/// SQLite runs one writer at a time).
pub async fn claim(
    db: &Db,
    owner: &str,
    now: Timestamp,
    lease_until: Timestamp,
) -> Result<Option<Job>, sqlx::Error> {
    let skip_locked = match db.backend() {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let sql = format!(
        "UPDATE jobs SET status = 'running', lease_owner = $1, lease_until = $2, \
         attempts = attempts + 1, started_at = COALESCE(started_at, $3) \
         WHERE id = (SELECT id FROM jobs WHERE {CLAIMABLE} ORDER BY id LIMIT 1{skip_locked}) \
         AND {CLAIMABLE} RETURNING {COLUMNS}"
    );
    let Some(row) = sqlx::query_as::<_, JobRow>(sqlx::AssertSqlSafe(sql))
        .bind(owner)
        .bind(lease_until)
        .bind(now)
        .fetch_optional(db.pool())
        .await?
    else {
        return Ok(None);
    };
    let id = row.id;
    match row.into_job() {
        Ok(job) => Ok(Some(job)),
        Err(unreadable) => {
            // A job whose stored task cannot be read would otherwise be
            // claimed again after every lease, for ever.
            tracing::error!(job.id = id, error = %unreadable, "a job cannot be read; it is failed");
            sqlx::query(
                "UPDATE jobs SET status = 'failed', message = $1, finished_at = $2, \
                 lease_owner = NULL WHERE id = $3",
            )
            .bind(format!(
                "the job cannot be read ({unreadable}); queue it again"
            ))
            .bind(now)
            .bind(id)
            .execute(db.pool())
            .await?;
            Ok(None)
        }
    }
}

/// Records a step: progress, resume point and result so far, and renews the
/// lease. False when `owner` no longer holds the job (its lease ran out and
/// another worker took it over): the caller stops.
pub async fn advance(
    db: &Db,
    job: &Job,
    owner: &str,
    lease_until: Timestamp,
) -> Result<bool, sqlx::Error> {
    let mut conn = db.pool().acquire().await?;
    advance_in(&mut conn, job, owner, lease_until).await
}

/// [`advance`] inside the caller's transaction: the step's work and its
/// record commit together, or (when `owner` lost the job) not at all.
pub async fn advance_in(
    conn: &mut sqlx::AnyConnection,
    job: &Job,
    owner: &str,
    lease_until: Timestamp,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE jobs SET done_count = $1, total_count = $2, resume_after = $3, result = $4, \
         lease_until = $5 WHERE id = $6 AND status = 'running' AND lease_owner = $7",
    )
    .bind(job.done)
    .bind(job.total)
    .bind(job.resume_after)
    .bind(Value::Object(job.result.clone()).to_string())
    .bind(lease_until)
    .bind(job.id)
    .bind(owner)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Ends a job (succeeded, or failed with `message`) and records its outcome
/// in the audit log in the name of who asked, in one transaction, so the
/// "done" entry is written exactly once. False when `owner` had lost it.
pub async fn finish(
    db: &Db,
    job: &Job,
    owner: &str,
    status: Status,
    message: Option<&str>,
    now: Timestamp,
) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let finished = finish_in(&mut tx, job, owner, status, message, now).await?;
    if finished {
        tx.commit().await?;
    }
    Ok(finished)
}

/// [`finish`] in the caller's transaction, so a job's last step and its end
/// commit together (or not at all, when `owner` had lost it: then the
/// caller rolls back).
pub async fn finish_in(
    tx: &mut sqlx::AnyConnection,
    job: &Job,
    owner: &str,
    status: Status,
    message: Option<&str>,
    now: Timestamp,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE jobs SET status = $1, message = $2, done_count = $3, total_count = $4, \
         result = $5, finished_at = $6, lease_owner = NULL, lease_until = NULL \
         WHERE id = $7 AND status = 'running' AND lease_owner = $8",
    )
    .bind(status.as_str())
    .bind(message)
    .bind(job.done)
    .bind(job.total)
    .bind(Value::Object(job.result.clone()).to_string())
    .bind(now)
    .bind(job.id)
    .bind(owner)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    let mut event = AuditEvent::new(job.task.kind(), job.task.target())
        .detail("job", job.id)
        .detail("status", status.as_str());
    for (name, value) in &job.result {
        event = event.detail(name, value.clone());
    }
    if let Some(message) = message {
        event = event.detail("message", message);
    }
    audit::record(&mut *tx, &job.actor, event, now).await?;
    Ok(true)
}

/// Hands back the jobs a stopped process left running, at once rather than
/// after their lease (SQLite only: one process uses the file, so a job
/// running at start has no live worker). Answers how many.
pub async fn requeue_orphans(db: &Db) -> Result<u64, sqlx::Error> {
    if db.backend() != Backend::Sqlite {
        return Ok(0);
    }
    let done = sqlx::query(
        "UPDATE jobs SET status = 'queued', lease_owner = NULL, lease_until = NULL \
         WHERE status = 'running'",
    )
    .execute(db.pool())
    .await?;
    Ok(done.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tasks_round_trip_through_kind_and_target() {
        let task = Task::Republish {
            channel: "web".to_owned(),
        };
        assert_eq!(Task::parse(task.kind(), &task.target(), None), Some(task));
        assert_eq!(Task::parse("channel.republish", "web", None), None);
        assert_eq!(Task::parse("unknown", "channel:web", None), None);
        let task = Task::SchemaApply {
            base_version: 4,
            plan: vec!["- attribute color".to_owned()],
            schema: serde_json::json!({"attributes": []}),
        };
        let payload = task.payload();
        assert_eq!(
            Task::parse(task.kind(), &task.target(), payload.as_deref()),
            Some(task)
        );
        assert_eq!(Task::parse("schema.apply", "schema", None), None);
    }
}
