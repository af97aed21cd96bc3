//! Import jobs as stored: what was sent (file, profile snapshot, mode,
//! idempotency key), where the job is (status, resume point, heartbeat), its
//! counts and its failed rows with their errors.

use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::any::AnyRow;
use sqlx::{Any, Executor, FromRow};
use tokio::io::AsyncWriteExt;

use super::profile::MappingProfile;
use super::profiles;
use crate::audit::Actor;
use crate::db::{Db, StoredBool, Timestamp, is_unique_violation};

/// How a job treats the catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Mode {
    /// Create and change; never disable.
    #[serde(rename = "upsert")]
    Upsert,
    /// Upsert, then disable products missing from the file.
    #[serde(rename = "full")]
    Full,
    /// Check and report what would happen; write nothing.
    #[serde(rename = "dry-run")]
    DryRun,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Upsert => "upsert",
            Mode::Full => "full",
            Mode::DryRun => "dry-run",
        }
    }

    pub fn parse(text: &str) -> Option<Mode> {
        [Mode::Upsert, Mode::Full, Mode::DryRun]
            .into_iter()
            .find(|m| m.as_str() == text)
    }
}

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Queued,
    Running,
    /// Every row applied (or, dry run, would apply).
    Succeeded,
    /// Some rows failed; the rest applied.
    Partial,
    /// Nothing applied: a bad file, an atomic job with failed rows, or a crash.
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Queued => "queued",
            Status::Running => "running",
            Status::Succeeded => "succeeded",
            Status::Partial => "partial",
            Status::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<Status> {
        [
            Status::Queued,
            Status::Running,
            Status::Succeeded,
            Status::Partial,
            Status::Failed,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }

    pub fn is_done(self) -> bool {
        matches!(self, Status::Succeeded | Status::Partial | Status::Failed)
    }
}

/// Rows by what became of them. `updated` and `proposed` may both count a
/// row that applied fast-lane values and proposed reviewed ones.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub read: i64,
    pub created: i64,
    pub updated: i64,
    pub unchanged: i64,
    pub proposed: i64,
    pub disabled: i64,
    pub failed: i64,
    /// Rows that applied but lost at least one mapped value their family or
    /// level cannot hold (see [`Job::dropped_values`]).
    pub rows_with_dropped_values: i64,
}

impl Counts {
    /// How a finished job with these counts ended.
    pub fn status(&self) -> Status {
        if self.failed == 0 {
            Status::Succeeded
        } else if self.failed < self.read {
            Status::Partial
        } else {
            Status::Failed
        }
    }

    pub fn add(&mut self, other: &Counts) {
        self.read += other.read;
        self.created += other.created;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
        self.proposed += other.proposed;
        self.disabled += other.disabled;
        self.failed += other.failed;
        self.rows_with_dropped_values += other.rows_with_dropped_values;
    }

    /// Every row that applied lost mapped values: nothing came in whole.
    pub fn every_row_lost_values(&self) -> bool {
        let applied = self.read - self.failed;
        applied > 0 && self.rows_with_dropped_values >= applied
    }
}

/// Mapped values an import did not place, for one column and reason: how
/// many rows, and the first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct DroppedColumn {
    pub column: String,
    pub attribute: String,
    pub reason: String,
    pub rows: i64,
    pub first_row: i64,
}

impl DroppedColumn {
    /// `3 rows (first row 2): column "stock_qty" → stock not imported: …`
    pub fn describe(&self) -> String {
        format!(
            "{} row{} (first row {}): column {:?} → {} not imported: {}",
            self.rows,
            if self.rows == 1 { "" } else { "s" },
            self.first_row,
            self.column,
            self.attribute,
            self.reason
        )
    }
}

/// A job as the API and pages show it.
#[derive(Debug, Clone, Serialize)]
pub struct Job {
    pub id: i64,
    pub status: Status,
    pub profile: String,
    pub mode: Mode,
    pub origin: String,
    pub file: String,
    pub file_bytes: i64,
    pub file_sha256: String,
    pub by: String,
    pub counts: Counts,
    pub warnings: Vec<String>,
    /// Mapped values not imported because the row's family or level cannot
    /// hold them, per column, most rows first.
    pub dropped_values: Vec<DroppedColumn>,
    pub message: Option<String>,
    pub created: Timestamp,
    pub started: Option<Timestamp>,
    pub finished: Option<Timestamp>,
    pub duration_ms: Option<i64>,
    #[serde(skip)]
    pub user_id: Option<i64>,
    #[serde(skip)]
    pub actor_kind: String,
    #[serde(skip)]
    pub profile_definition: String,
    #[serde(skip)]
    pub file_path: String,
    #[serde(skip)]
    pub idempotency_key: Option<String>,
    #[serde(skip)]
    pub resume_row: i64,
    #[serde(skip)]
    pub attempts: i64,
    #[serde(skip)]
    pub header: Vec<String>,
    /// The uploaded file's delimiter and byte-order mark (CSV), for `errors.csv`.
    #[serde(skip)]
    pub file_delimiter: String,
    #[serde(skip)]
    pub file_bom: bool,
}

impl Job {
    /// `import job #12 (erp-items)`: the author of its proposals and history.
    pub fn label(&self) -> String {
        format!("import job #{} ({})", self.id, self.profile)
    }

    /// The actor its writes are recorded under: the job, on behalf of whoever sent it.
    pub fn actor(&self) -> Actor {
        let kind = match self.actor_kind.as_str() {
            "user" => crate::audit::ActorKind::User,
            "token" => crate::audit::ActorKind::Token,
            _ => crate::audit::ActorKind::System,
        };
        Actor {
            kind,
            user_id: self.user_id,
            label: format!("{} for {}", self.label(), self.by),
            client_addr: String::new(),
        }
    }

    pub fn profile(&self) -> Result<MappingProfile, String> {
        profiles::parse(&self.profile_definition)
    }
}

const COLUMNS: &str = "id, profile, profile_definition, mode, status, origin, file_name, file_path, \
     file_sha256, file_bytes, idempotency_key, user_id, actor_kind, actor_label, created_at, started_at, \
     finished_at, attempts, resume_row, header, read_count, created_count, updated_count, unchanged_count, \
     proposed_count, disabled_count, failed_count, warnings, message, file_delimiter, file_bom, \
     dropped_rows, dropped_values";

/// An `import_jobs` row as stored; [`JobRow::into_job`] decodes its texts.
#[derive(sqlx::FromRow)]
struct JobRow {
    id: i64,
    profile: String,
    profile_definition: String,
    mode: String,
    status: String,
    origin: String,
    file_name: String,
    file_path: String,
    file_sha256: String,
    file_bytes: i64,
    idempotency_key: Option<String>,
    user_id: Option<i64>,
    actor_kind: String,
    actor_label: String,
    created_at: Timestamp,
    started_at: Option<Timestamp>,
    finished_at: Option<Timestamp>,
    attempts: i64,
    resume_row: i64,
    header: String,
    read_count: i64,
    created_count: i64,
    updated_count: i64,
    unchanged_count: i64,
    proposed_count: i64,
    disabled_count: i64,
    failed_count: i64,
    warnings: String,
    message: Option<String>,
    file_delimiter: String,
    #[sqlx(try_from = "StoredBool")]
    file_bom: bool,
    dropped_rows: i64,
    dropped_values: String,
}

impl JobRow {
    fn into_job(self) -> Result<Job, sqlx::Error> {
        let decode = |what: &str| sqlx::Error::Decode(format!("import job {what}").into());
        let (started, finished) = (self.started_at, self.finished_at);
        Ok(Job {
            id: self.id,
            status: Status::parse(&self.status).ok_or_else(|| decode("status"))?,
            profile: self.profile,
            mode: Mode::parse(&self.mode).ok_or_else(|| decode("mode"))?,
            origin: self.origin,
            file: self.file_name,
            file_bytes: self.file_bytes,
            file_sha256: self.file_sha256,
            by: self.actor_label,
            counts: Counts {
                read: self.read_count,
                created: self.created_count,
                updated: self.updated_count,
                unchanged: self.unchanged_count,
                proposed: self.proposed_count,
                disabled: self.disabled_count,
                failed: self.failed_count,
                rows_with_dropped_values: self.dropped_rows,
            },
            warnings: serde_json::from_str(&self.warnings).unwrap_or_default(),
            dropped_values: {
                let mut dropped: Vec<DroppedColumn> =
                    serde_json::from_str(&self.dropped_values).unwrap_or_default();
                dropped.sort_by(|a, b| b.rows.cmp(&a.rows).then(a.first_row.cmp(&b.first_row)));
                dropped
            },
            message: self.message,
            created: self.created_at,
            duration_ms: match (started, finished) {
                (Some(start), Some(end)) => {
                    i64::try_from(end.since(start).whole_milliseconds()).ok()
                }
                _ => None,
            },
            started,
            finished,
            user_id: self.user_id,
            actor_kind: self.actor_kind,
            profile_definition: self.profile_definition,
            file_path: self.file_path,
            idempotency_key: self.idempotency_key,
            resume_row: self.resume_row,
            attempts: self.attempts,
            header: serde_json::from_str(&self.header).unwrap_or_default(),
            file_delimiter: self.file_delimiter,
            file_bom: self.file_bom,
        })
    }
}

fn from_row(row: &AnyRow) -> Result<Job, sqlx::Error> {
    JobRow::from_row(row)?.into_job()
}

/// Why a job could not be submitted.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error("there is no mapping profile {0}")]
    NoProfile(String),
    #[error("the mapping profile {profile} does not fit the catalog: {}", problems.join("; "))]
    BadProfile {
        profile: String,
        problems: Vec<String>,
    },
    #[error("{0:?} is not a mode; use upsert, full or dry-run")]
    BadMode(String),
    #[error(
        "the Idempotency-Key {0:?} was used for a different request (another file, profile or mode); use a new key"
    )]
    KeyReused(String),
    #[error("the Idempotency-Key must be 1 to 200 visible ASCII characters")]
    BadKey,
    #[error("the file is empty")]
    Empty,
    #[error("the file is larger than the import limit of {0} bytes")]
    TooLarge(u64),
    #[error("cannot store the upload: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// What is being submitted.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub profile: String,
    pub mode: Mode,
    /// `api`, `browser`, `cli`, `demo`.
    pub origin: &'static str,
    pub file_name: String,
    pub idempotency_key: Option<String>,
}

/// Where uploads wait for their worker.
pub fn upload_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("imports")
}

/// A file being received: written to the upload folder while hashed, so any
/// size passes with bounded memory.
pub struct Upload {
    path: PathBuf,
    file: tokio::fs::File,
    hasher: Sha256,
    bytes: u64,
    limit: u64,
    /// Set once the file is handed to a job; until then dropping the upload
    /// (a refused, failed or abandoned request) removes the partial file.
    kept: bool,
}

impl Drop for Upload {
    fn drop(&mut self) {
        if !self.kept {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

impl Upload {
    pub async fn start(data_dir: &Path, limit: u64) -> Result<Upload, SubmitError> {
        let dir = upload_dir(data_dir);
        tokio::fs::create_dir_all(&dir).await?;
        let path = dir.join(format!("{}.upload", uuid::Uuid::new_v4()));
        let file = tokio::fs::File::create(&path).await?;
        Ok(Upload {
            path,
            file,
            hasher: Sha256::new(),
            bytes: 0,
            limit,
            kept: false,
        })
    }

    pub async fn write(&mut self, chunk: &[u8]) -> Result<(), SubmitError> {
        self.bytes += chunk.len() as u64;
        if self.bytes > self.limit {
            return Err(SubmitError::TooLarge(self.limit));
        }
        self.hasher.update(chunk);
        self.file.write_all(chunk).await?;
        Ok(())
    }

    /// Removes the partial file (an aborted or refused upload).
    pub async fn discard(self) {
        drop(self);
    }

    async fn finish(mut self) -> Result<(PathBuf, String, u64), SubmitError> {
        self.file.flush().await?;
        self.file.sync_all().await?;
        self.kept = true;
        let hash = hex::encode(std::mem::take(&mut self.hasher).finalize());
        Ok((self.path.clone(), hash, self.bytes))
    }
}

fn valid_key(key: &str) -> bool {
    !key.is_empty() && key.len() <= 200 && key.bytes().all(|b| b.is_ascii_graphic())
}

/// Queues a job for an uploaded file. With an idempotency key already used
/// by the same user, answers that job (`false`: not new) when the request
/// is the same, and refuses a different one.
pub async fn submit(
    db: &Db,
    actor: &Actor,
    new: NewJob,
    upload: Upload,
    now: Timestamp,
) -> Result<(Job, bool), SubmitError> {
    if let Some(key) = &new.idempotency_key
        && !valid_key(key)
    {
        upload.discard().await;
        return Err(SubmitError::BadKey);
    }
    let (path, sha256, bytes) = upload.finish().await?;
    let result = submit_stored(db, actor, &new, &path, &sha256, bytes, now).await;
    if !matches!(result, Ok((_, true))) {
        let _ = tokio::fs::remove_file(&path).await;
    }
    result
}

async fn submit_stored(
    db: &Db,
    actor: &Actor,
    new: &NewJob,
    path: &Path,
    sha256: &str,
    bytes: u64,
    now: Timestamp,
) -> Result<(Job, bool), SubmitError> {
    if let Some(key) = &new.idempotency_key
        && let Some(job) = by_key(db.pool(), actor.user_id, key).await?
    {
        return same_request(job, new, sha256);
    }
    if bytes == 0 {
        return Err(SubmitError::Empty);
    }
    let stored = profiles::get(db.pool(), &new.profile)
        .await?
        .ok_or_else(|| SubmitError::NoProfile(new.profile.clone()))?;
    let schema = crate::catalog::store::load_schema(db.pool()).await?;
    let problems = stored.profile.check(&schema);
    if !problems.is_empty() {
        return Err(SubmitError::BadProfile {
            profile: new.profile.clone(),
            problems,
        });
    }
    let warnings = stored.profile.ownership_warnings(&schema);
    let inserted = sqlx::query_scalar::<_, i64>(
        "INSERT INTO import_jobs (profile, profile_definition, mode, status, origin, file_name, file_path, \
         file_sha256, file_bytes, idempotency_key, user_id, actor_kind, actor_label, created_at, warnings) \
         VALUES ($1, $2, $3, 'queued', $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id",
    )
    .bind(&new.profile)
    .bind(&stored.toml)
    .bind(new.mode.as_str())
    .bind(new.origin)
    .bind(&new.file_name)
    .bind(path.to_string_lossy().into_owned())
    .bind(sha256)
    .bind(i64::try_from(bytes).unwrap_or(i64::MAX))
    .bind(&new.idempotency_key)
    .bind(actor.user_id)
    .bind(actor.kind.as_str())
    .bind(&actor.label)
    .bind(now)
    .bind(serde_json::to_string(&warnings).unwrap_or_else(|_| "[]".into()))
    .fetch_one(db.pool())
    .await;
    match inserted {
        Ok(id) => {
            let job = get(db.pool(), id).await?.ok_or(sqlx::Error::RowNotFound)?;
            Ok((job, true))
        }
        // The same key sent twice at once: the other request won.
        Err(err) if is_unique_violation(&err) => {
            let key = new.idempotency_key.clone().unwrap_or_default();
            let job = by_key(db.pool(), actor.user_id, &key)
                .await?
                .ok_or(sqlx::Error::RowNotFound)?;
            same_request(job, new, sha256)
        }
        Err(err) => Err(err.into()),
    }
}

fn same_request(job: Job, new: &NewJob, sha256: &str) -> Result<(Job, bool), SubmitError> {
    if job.file_sha256 == sha256 && job.profile == new.profile && job.mode == new.mode {
        Ok((job, false))
    } else {
        Err(SubmitError::KeyReused(
            new.idempotency_key.clone().unwrap_or_default(),
        ))
    }
}

async fn by_key<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    user_id: Option<i64>,
    key: &str,
) -> Result<Option<Job>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM import_jobs WHERE idempotency_key = $1 AND user_id IS NOT DISTINCT FROM $2"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(key)
        .bind(user_id)
        .fetch_optional(executor)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// One job.
pub async fn get<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    id: i64,
) -> Result<Option<Job>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM import_jobs WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(executor)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Jobs, newest first, before the id `before` (a cursor).
pub async fn list(db: &Db, before: Option<i64>, limit: i64) -> Result<Vec<Job>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM import_jobs WHERE ($1 IS NULL OR id < $1) ORDER BY id DESC LIMIT $2"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(before)
        .bind(limit)
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(from_row).collect()
}

/// How many jobs failed in the last day (for the dashboard).
/// How many import jobs came from `origin` (`demo`, …).
pub async fn count_from_origin(db: &Db, origin: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) AS n FROM import_jobs WHERE origin = $1")
        .bind(origin)
        .fetch_one(db.pool())
        .await
}

pub async fn failed_since(db: &Db, since: Timestamp) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT COUNT(*) AS n FROM import_jobs WHERE status IN ('failed', 'partial') AND created_at >= $1",
    )
    .bind(since)
    .fetch_one(db.pool())
    .await
}

/// Jobs submitted per UTC day from `since` on, as `(YYYY-MM-DD, count)`,
/// oldest first; days without any are left out (the dashboard's chart).
pub async fn per_day(db: &Db, since: Timestamp) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let day = crate::db::utc_day("created_at");
    let sql = format!(
        "SELECT {day} AS day, COUNT(*) AS n FROM import_jobs \
         WHERE created_at >= $1 GROUP BY {day} ORDER BY day"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(since)
        .fetch_all(db.pool())
        .await?;
    crate::db::day_counts(&rows)
}

/// A job left `running` longer than this without a heartbeat belongs to a
/// worker that died; another worker resumes it.
pub const LEASE: time::Duration = time::Duration::seconds(60);

/// Takes the oldest queued job, or a running one whose worker died, and
/// marks it running for this worker. Two workers racing for one job: the
/// conditional update lets exactly one win.
///
/// SQLite serves one process, so at start every `running` job is an orphan:
/// [`requeue_orphans`] hands them back at once instead of after the lease.
/// With `only`, claims that job or nothing (the CLI runs the job it queued).
pub async fn claim(db: &Db, now: Timestamp, only: Option<i64>) -> Result<Option<Job>, sqlx::Error> {
    let stale = now.minus(LEASE);
    let candidate: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM import_jobs WHERE (status = 'queued' OR (status = 'running' AND heartbeat_at < $1)) \
         AND ($2 IS NULL OR id = $2) ORDER BY id LIMIT 1",
    )
    .bind(stale)
    .bind(only)
    .fetch_optional(db.pool())
    .await?;
    let Some(id) = candidate else {
        return Ok(None);
    };
    let claimed = sqlx::query(
        "UPDATE import_jobs SET status = 'running', heartbeat_at = $1, started_at = COALESCE(started_at, $1), \
         attempts = attempts + 1 \
         WHERE id = $2 AND (status = 'queued' OR (status = 'running' AND heartbeat_at < $3))",
    )
    .bind(now)
    .bind(id)
    .bind(stale)
    .execute(db.pool())
    .await?;
    if claimed.rows_affected() == 0 {
        return Ok(None);
    }
    get(db.pool(), id).await
}

/// Removes uploads no queued or running job refers to and that are older
/// than an hour (left by a crash while receiving; the hour spares uploads
/// another node is receiving into a shared data folder). Answers how many.
pub async fn sweep_uploads(db: &Db, data_dir: &Path) -> Result<u64, sqlx::Error> {
    let Ok(mut entries) = tokio::fs::read_dir(upload_dir(data_dir)).await else {
        return Ok(0);
    };
    let live: std::collections::HashSet<String> = sqlx::query_scalar(
        "SELECT file_path FROM import_jobs WHERE status IN ('queued', 'running')",
    )
    .fetch_all(db.pool())
    .await?
    .into_iter()
    .collect();
    let mut removed = 0;
    while let Ok(Some(entry)) = entries.next_entry().await {
        let path = entry.path();
        let old = entry
            .metadata()
            .await
            .ok()
            .and_then(|m| m.modified().ok())
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > std::time::Duration::from_secs(3600));
        let upload = path.extension().is_some_and(|e| e == "upload");
        if upload
            && old
            && !live.contains(&path.to_string_lossy().into_owned())
            && tokio::fs::remove_file(&path).await.is_ok()
        {
            removed += 1;
        }
    }
    Ok(removed)
}

/// Hands a running job back to the queue after a transient database error
/// interrupted it: the next claim (this worker's or another node's) resumes
/// it after its last committed batch. `attempt` is the claim this worker
/// holds: a job another worker took over meanwhile (its heartbeat went
/// stale, so it was claimed again, with a higher attempt) is not taken back
/// from it. Answers whether it was still this worker's.
pub async fn requeue(db: &Db, id: i64, attempt: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE import_jobs SET status = 'queued' \
         WHERE id = $1 AND status = 'running' AND attempts = $2",
    )
    .bind(id)
    .bind(attempt)
    .execute(db.pool())
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Requeues jobs a dead process left `running` (SQLite only: one process).
pub async fn requeue_orphans(db: &Db) -> Result<u64, sqlx::Error> {
    if db.backend() != crate::db::Backend::Sqlite {
        return Ok(0);
    }
    let done = sqlx::query("UPDATE import_jobs SET status = 'queued' WHERE status = 'running'")
        .execute(db.pool())
        .await?;
    Ok(done.rows_affected())
}

/// One error of one row, ready to store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    pub row: u64,
    /// What kind of problem (the file's column, or `row`, `sku`, `duplicate_sku` …): errors are grouped by it.
    pub kind: String,
    pub column: Option<String>,
    pub value: String,
    pub message: String,
}

/// A failed row: its cells as they came and its errors.
#[derive(Debug, Clone)]
pub struct FailedRow {
    pub row: u64,
    pub cells: Vec<String>,
    pub errors: Vec<RowError>,
}

/// Stores failed rows and their errors (inside the batch's transaction).
pub async fn store_failed(
    conn: &mut sqlx::AnyConnection,
    job_id: i64,
    failed: &[FailedRow],
) -> Result<(), sqlx::Error> {
    use crate::db::bulk::{self, Param};
    let rows = failed
        .iter()
        .map(|f| {
            vec![
                Param::Int(job_id),
                Param::Int(i64::try_from(f.row).unwrap_or(i64::MAX)),
                Param::Text(serde_json::to_string(&f.cells).unwrap_or_else(|_| "[]".into())),
            ]
        })
        .collect();
    bulk::values(
        conn,
        "INSERT INTO import_failed_rows (job_id, row_number, cells)",
        "ON CONFLICT DO NOTHING",
        rows,
    )
    .await?;
    let errors = failed
        .iter()
        .flat_map(|f| f.errors.iter())
        .map(|e| {
            vec![
                Param::Int(job_id),
                Param::Int(i64::try_from(e.row).unwrap_or(i64::MAX)),
                Param::Text(e.kind.clone()),
                Param::OptText(e.column.clone()),
                Param::Text(e.value.chars().take(500).collect()),
                Param::Text(e.message.clone()),
            ]
        })
        .collect();
    bulk::values(
        conn,
        "INSERT INTO import_errors (job_id, row_number, kind, column_name, value, message)",
        "",
        errors,
    )
    .await?;
    Ok(())
}

/// A kind of error with its count and first examples.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorGroup {
    pub kind: String,
    pub count: i64,
    pub examples: Vec<RowError>,
}

/// Errors grouped by kind, most frequent first, with up to `examples` each.
pub async fn error_groups(
    db: &Db,
    job_id: i64,
    examples: i64,
) -> Result<Vec<ErrorGroup>, sqlx::Error> {
    let counts: Vec<KindCount> = sqlx::query_as(
        "SELECT kind, COUNT(*) AS n FROM import_errors WHERE job_id = $1 GROUP BY kind ORDER BY n DESC, kind",
    )
    .bind(job_id)
    .fetch_all(db.pool())
    .await?;
    let mut groups = Vec::new();
    for KindCount { kind, n } in counts {
        let found: Vec<ErrorRow> = sqlx::query_as(
            "SELECT row_number, kind, column_name, value, message FROM import_errors \
             WHERE job_id = $1 AND kind = $2 ORDER BY row_number, id LIMIT $3",
        )
        .bind(job_id)
        .bind(&kind)
        .bind(examples)
        .fetch_all(db.pool())
        .await?;
        groups.push(ErrorGroup {
            count: n,
            examples: found.into_iter().map(RowError::from).collect(),
            kind,
        });
    }
    Ok(groups)
}

#[derive(sqlx::FromRow)]
struct KindCount {
    kind: String,
    n: i64,
}

/// An `import_errors` row as stored.
#[derive(sqlx::FromRow)]
struct ErrorRow {
    row_number: i64,
    kind: String,
    column_name: Option<String>,
    value: String,
    message: String,
}

impl From<ErrorRow> for RowError {
    fn from(row: ErrorRow) -> Self {
        RowError {
            row: u64::try_from(row.row_number).unwrap_or(0),
            kind: row.kind,
            column: row.column_name,
            value: row.value,
            message: row.message,
        }
    }
}

#[derive(sqlx::FromRow)]
struct FailedRowRow {
    row_number: i64,
    cells: String,
}

/// Failed rows in file order, with their errors joined, `limit` at a time after `after_row`.
pub async fn failed_rows(
    db: &Db,
    job_id: i64,
    after_row: i64,
    limit: i64,
) -> Result<Vec<FailedRow>, sqlx::Error> {
    let rows: Vec<FailedRowRow> = sqlx::query_as(
        "SELECT row_number, cells FROM import_failed_rows WHERE job_id = $1 AND row_number > $2 \
         ORDER BY row_number LIMIT $3",
    )
    .bind(job_id)
    .bind(after_row)
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
        return Ok(Vec::new());
    };
    let (from, to) = (first.row_number, last.row_number);
    let errors: Vec<ErrorRow> = sqlx::query_as(
        "SELECT row_number, kind, column_name, value, message FROM import_errors \
         WHERE job_id = $1 AND row_number >= $2 AND row_number <= $3 ORDER BY row_number, id",
    )
    .bind(job_id)
    .bind(from)
    .bind(to)
    .fetch_all(db.pool())
    .await?;
    let errors: Vec<RowError> = errors.into_iter().map(RowError::from).collect();
    Ok(rows
        .into_iter()
        .map(|row| {
            let number = u64::try_from(row.row_number).unwrap_or(0);
            FailedRow {
                row: number,
                cells: serde_json::from_str(&row.cells).unwrap_or_default(),
                errors: errors.iter().filter(|e| e.row == number).cloned().collect(),
            }
        })
        .collect())
}
