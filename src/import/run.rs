//! Running an import job: a blocking reader thread streams the file, maps
//! each row and hands over batches through a short channel (memory stays
//! bounded whatever the file's size); the async side writes each batch
//! through the batched write path in one transaction together with the
//! batch's failed rows, the job's counts and its resume point. A crash
//! therefore loses at most the batch in flight, never half of one, and the
//! job resumes after the last committed batch.
//!
//! `dry-run` plans every batch and rolls it back. An `atomic` profile first
//! checks the whole file that way and applies it — in one transaction —
//! only when no row failed.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use sqlx::AnyConnection;

use super::jobs::{Counts, DroppedColumn, FailedRow, Job, Mode, RowError, Status};
use super::mapping::{self, DroppedValue, MappedRow};
use super::profile::{DecimalComma, MappingProfile};
use super::reader::{self, Dialect, SourceRow};
use crate::catalog::schema::{Owner, Schema};
use crate::catalog::store::{load_schema, sku_key};
use crate::db::{Clock, Db, Timestamp, is_unique_violation};
use crate::error::FieldError;
pub use crate::services::{Progress, RunOptions};
use crate::workflow::batch::{
    self, BatchContext, BatchRow, ExecuteError, JobModels, Plan, RowOutcome,
};
use crate::workflow::change::{ChangeTarget, Structure};
use crate::workflow::write::WriteError;

/// Why a run stopped without finishing the job.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The test hook fired: the job stays `running` until a worker resumes it.
    #[error("simulated crash")]
    Crashed,
    /// The job cannot run (missing file, bad header, bad profile): it fails.
    #[error("{0}")]
    Fatal(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl From<WriteError> for RunError {
    fn from(err: WriteError) -> Self {
        match err {
            WriteError::Database(db) => RunError::Database(db),
            other => RunError::Fatal(other.to_string()),
        }
    }
}

/// What the reader hands over.
struct Batch {
    /// The file's header and dialect, with the first batch (for `errors.csv`).
    header: Option<(Vec<String>, Dialect)>,
    /// Mapped rows on their way to the write path …
    rows: Vec<BatchRow>,
    /// … and the rows as they came, for `errors.csv` (same order) …
    sources: Vec<SourceRow>,
    /// … the mapped cells each row could not hold …
    dropped: Vec<Vec<DroppedValue>>,
    /// … and, for a variant, the row of the file its model is on (when earlier).
    parent_rows: Vec<Option<u64>>,
    failed: Vec<FailedRow>,
    read: u64,
    last_row: u64,
}

/// What the reader found over the whole file.
struct ReadEnd {
    header: Vec<String>,
    seen: Seen,
    rows: u64,
}

/// The SKUs a file names: every one, failed rows included (`full` keeps them
/// enabled), and how many rows named none (then `full` disables nothing).
#[derive(Debug, Default)]
struct Seen {
    skus: HashSet<String>,
    without_sku: u64,
}

/// A reader wrapper that counts bytes, for the progress bar.
struct Counting<R> {
    inner: R,
    bytes: Arc<Progress>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes.bytes.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// A row's cells for `errors.csv`: the values as meant, so the apostrophe
/// `errors.csv` puts before a formula-like cell is added once on the way
/// out and removed once on the way in, however often a file goes round.
fn cells_of(source: &SourceRow) -> Vec<String> {
    match &source.line {
        Some(line) => vec![line.clone()],
        None => source
            .cells
            .iter()
            .map(|cell| mapping::unescape_formula(cell).to_owned())
            .collect(),
    }
}

/// How many rows `decimal_comma = "auto"` looks at before deciding.
const DECIMAL_SAMPLE_ROWS: usize = 1000;

/// Settles `decimal_comma = "auto"` from the file's first rows: the number,
/// measurement and price columns the profile maps.
fn settle_decimal_comma(
    profile: &mut MappingProfile,
    schema: &Schema,
    sample: &[Result<SourceRow, reader::ReadError>],
    delimiter: u8,
) {
    if profile.decimal_comma != DecimalComma::Auto {
        return;
    }
    use crate::catalog::schema::AttributeType;
    let numeric: Vec<&str> = profile
        .columns
        .iter()
        .filter(|m| {
            schema.attribute(&m.attribute).is_some_and(|a| {
                matches!(
                    a.kind,
                    AttributeType::Number | AttributeType::Measurement | AttributeType::Price
                )
            })
        })
        .map(|m| m.column.as_str())
        .collect();
    let cells = sample
        .iter()
        .filter_map(|row| row.as_ref().ok())
        .flat_map(|row| numeric.iter().filter_map(|column| row.get(column)));
    profile.decimal_comma = if reader::detect_decimal_comma(cells, delimiter) {
        DecimalComma::Yes
    } else {
        DecimalComma::No
    };
}

fn read_failure(row: u64, message: String) -> FailedRow {
    FailedRow {
        row,
        cells: Vec::new(),
        errors: vec![RowError {
            row,
            kind: "row".to_owned(),
            column: None,
            value: String::new(),
            message,
        }],
    }
}

/// Splits a mapped row's values by owner: ERP-owned ones are imported,
/// Sluice-owned ones (only columns marked `seed`) may seed new products.
fn to_batch_row(schema: &Schema, mapped: MappedRow, digest: String) -> BatchRow {
    let (values, seed) = mapped.values.into_iter().partition(|change| {
        schema
            .attribute(&change.key.attribute)
            .is_none_or(|a| a.owner == Owner::Erp)
    });
    BatchRow {
        row: mapped.row,
        sku: mapped.sku,
        kind: mapped.kind,
        family: mapped.family,
        parent: mapped.parent,
        categories: mapped.categories,
        values,
        seed,
        digest: Some(digest),
    }
}

/// The digest of a row as read through a profile under a schema version
/// (`prefix`): the same bytes through the same mapping give the same product.
fn row_digest(prefix: &[u8], source: &SourceRow) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    hasher.update(prefix);
    match &source.line {
        Some(line) => hasher.update(line.as_bytes()),
        None => {
            for cell in &source.cells {
                hasher.update((cell.len() as u64).to_le_bytes());
                hasher.update(cell.as_bytes());
            }
        }
    }
    hex::encode(&hasher.finalize()[..16])
}

/// Reads the file on a blocking thread and sends batches. Rows up to
/// `resume_row` were committed by an earlier run: only their SKUs are noted.
#[expect(
    clippy::too_many_arguments,
    reason = "the reader thread's inputs are all distinct"
)]
fn read_file(
    path: &str,
    digest_prefix: &[u8],
    profile: &MappingProfile,
    schema: &Schema,
    resume_row: u64,
    batch_size: usize,
    progress: Arc<Progress>,
    send: &tokio::sync::mpsc::Sender<Batch>,
) -> Result<ReadEnd, RunError> {
    let file = std::fs::File::open(path)
        .map_err(|err| RunError::Fatal(format!("the uploaded file cannot be opened: {err}")))?;
    let mut rows = reader::open(
        Counting {
            inner: file,
            bytes: progress.clone(),
        },
        profile,
    )
    .map_err(|err| RunError::Fatal(err.to_string()))?;
    let header = rows.header.clone();
    let dialect = rows.dialect;
    // The same first rows decide on every run of the job, resumed ones too.
    let sample: Vec<_> = if profile.decimal_comma == DecimalComma::Auto {
        rows.by_ref().take(DECIMAL_SAMPLE_ROWS).collect()
    } else {
        Vec::new()
    };
    let mut settled = profile.clone();
    settle_decimal_comma(&mut settled, schema, &sample, dialect.delimiter);
    let profile = &settled;
    if profile.format == crate::import::profile::SourceFormat::Csv
        && !header.contains(&profile.identifier)
    {
        return Err(RunError::Fatal(format!(
            "the file has no column {:?}, which the profile reads the SKU from; its columns are {}",
            profile.identifier,
            header.join(", ")
        )));
    }
    let mut first_row: HashMap<String, u64> = HashMap::new();
    let mut without_sku = 0u64;
    let mut batch = Batch {
        header: Some((header.clone(), dialect)),
        rows: Vec::new(),
        sources: Vec::new(),
        dropped: Vec::new(),
        parent_rows: Vec::new(),
        failed: Vec::new(),
        read: 0,
        last_row: resume_row,
    };
    let mut total = 0u64;
    for source in sample.into_iter().chain(rows) {
        let (number, outcome) = match source {
            Ok(source) => (source.row, Some(source)),
            Err(err) => (err.row, {
                if err.row > resume_row {
                    batch.failed.push(read_failure(err.row, err.message));
                }
                None
            }),
        };
        total += 1;
        let sku = outcome
            .as_ref()
            .and_then(|s| s.get(&profile.identifier))
            .map(|c| mapping::unescape_formula(c).trim().to_owned())
            .unwrap_or_default();
        let duplicate_of = if sku.is_empty() {
            without_sku += 1;
            None
        } else {
            let key = sku_key(&sku);
            match first_row.get(&key) {
                Some(first) => Some(*first),
                None => {
                    first_row.insert(key, number);
                    None
                }
            }
        };
        if number <= resume_row {
            continue;
        }
        progress.rows.store(number, Ordering::Relaxed);
        batch.read += 1;
        batch.last_row = number;
        if let Some(source) = outcome {
            if let Some(first) = duplicate_of {
                batch.failed.push(FailedRow {
                    row: number,
                    cells: cells_of(&source),
                    errors: vec![RowError {
                        row: number,
                        kind: "duplicate_sku".to_owned(),
                        column: Some(profile.identifier.clone()),
                        value: sku.clone(),
                        message: format!(
                            "the SKU {sku} is also on row {first}; each SKU may appear once per file (only its first row is read)"
                        ),
                    }],
                });
            } else {
                match mapping::map_row(profile, schema, number, |c| source.get(c)) {
                    Ok(mut mapped) => {
                        let digest = row_digest(digest_prefix, &source);
                        batch.dropped.push(std::mem::take(&mut mapped.dropped));
                        batch.parent_rows.push(
                            mapped
                                .parent
                                .as_deref()
                                .and_then(|parent| first_row.get(&sku_key(parent)).copied())
                                .filter(|row| *row < number),
                        );
                        batch.rows.push(to_batch_row(schema, mapped, digest));
                        batch.sources.push(source);
                    }
                    Err(errors) => batch.failed.push(FailedRow {
                        row: number,
                        cells: cells_of(&source),
                        errors: errors
                            .into_iter()
                            .map(|e| RowError {
                                row: number,
                                kind: e.column.clone().unwrap_or_else(|| "row".to_owned()),
                                column: e.column,
                                value: e.value,
                                message: e.message,
                            })
                            .collect(),
                    }),
                }
            }
        }
        if batch.rows.len() + batch.failed.len() >= batch_size {
            let full = std::mem::replace(
                &mut batch,
                Batch {
                    header: None,
                    rows: Vec::new(),
                    sources: Vec::new(),
                    dropped: Vec::new(),
                    parent_rows: Vec::new(),
                    failed: Vec::new(),
                    read: 0,
                    last_row: number,
                },
            );
            if send.blocking_send(full).is_err() {
                // The writer stopped (an error or a crash); it reports why.
                break;
            }
        }
    }
    if batch.read > 0 || batch.header.is_some() {
        let _ = send.blocking_send(batch);
    }
    let seen = Seen {
        skus: first_row.into_keys().collect(),
        without_sku,
    };
    Ok(ReadEnd {
        header,
        seen,
        rows: total,
    })
}

/// A write-path error on a row, named by the file's column where there is one.
fn row_errors(
    profile: &MappingProfile,
    row: &BatchRow,
    source: &SourceRow,
    errors: Vec<FieldError>,
) -> Vec<RowError> {
    let number = row.row;
    errors
        .into_iter()
        .map(|e| {
            let field = e.field.clone().unwrap_or_else(|| "row".to_owned());
            let structure_column = match ChangeTarget::parse(&field, None, None) {
                ChangeTarget::Structure(Structure::Sku) => Some(profile.identifier.clone()),
                ChangeTarget::Structure(Structure::Family) => profile.family.column.clone(),
                ChangeTarget::Structure(Structure::Parent) => profile.parent.clone(),
                ChangeTarget::Categories => profile.categories.as_ref().map(|c| c.column.clone()),
                _ => None,
            };
            let mapped_column = profile
                .columns
                .iter()
                .find(|m| m.attribute == field)
                .map(|m| m.column.clone());
            let column = structure_column.or(mapped_column);
            let value = column
                .as_deref()
                .and_then(|c| source.get(c))
                .map(mapping::unescape_formula)
                .unwrap_or_default()
                .to_owned();
            RowError {
                row: number,
                kind: column.clone().unwrap_or(field),
                column,
                value,
                message: e.message,
            }
        })
        .collect()
}

/// A variant refused because its model does not exist, when the model's
/// own row came earlier in the file: that row failed, and saying so points
/// at the one fix that matters.
fn name_failed_model(errors: &mut [RowError], row: &BatchRow, model_row: u64) {
    let Some(parent) = row.parent.as_deref() else {
        return;
    };
    let missing = format!("there is no model {parent}");
    for error in errors.iter_mut().filter(|e| e.message == missing) {
        error.message = format!(
            "the model {parent} is on row {model_row}, and the model's row {model_row} failed; fix that row and send both again"
        );
    }
}

/// The dropped values of a batch's rows that applied (`failed`: the batch's
/// failed rows), tallied per column, attribute and reason. Counted by
/// mapping and reason first; the words are built once per entry.
fn dropped_of(
    batch: &Batch,
    failed: &[FailedRow],
    profile: &MappingProfile,
) -> (i64, Vec<DroppedColumn>) {
    let failed: HashSet<u64> = failed.iter().map(|f| f.row).collect();
    let mut rows = 0i64;
    // (value, family) → (rows, first row)
    let mut counted: Vec<((DroppedValue, &str), i64, i64)> = Vec::new();
    for (row, dropped) in batch.rows.iter().zip(&batch.dropped) {
        if dropped.is_empty() || failed.contains(&row.row) {
            continue;
        }
        rows += 1;
        let number = i64::try_from(row.row).unwrap_or(i64::MAX);
        for value in dropped {
            let key = (*value, row.family.as_str());
            match counted.iter_mut().find(|(k, _, _)| *k == key) {
                Some((_, count, first)) => {
                    *count += 1;
                    *first = (*first).min(number);
                }
                None => counted.push((key, 1, number)),
            }
        }
    }
    let mut tally: Vec<DroppedColumn> = Vec::new();
    for ((value, family), count, first) in counted {
        merge_dropped(
            &mut tally,
            vec![DroppedColumn {
                column: value.column(profile).to_owned(),
                attribute: value.attribute(profile).to_owned(),
                reason: value.reason(profile, family),
                rows: count,
                first_row: first,
            }],
        );
    }
    (rows, tally)
}

/// Merges a batch's tally of dropped values into the job's.
fn merge_dropped(into: &mut Vec<DroppedColumn>, from: Vec<DroppedColumn>) {
    for entry in from {
        match into.iter_mut().find(|d| {
            d.column == entry.column && d.attribute == entry.attribute && d.reason == entry.reason
        }) {
            Some(known) => {
                known.rows += entry.rows;
                known.first_row = known.first_row.min(entry.first_row);
            }
            None => into.push(entry),
        }
    }
}

/// How a pass treats the catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pass {
    /// Check only; store errors and counts.
    Check,
    /// Apply batch by batch, each batch committed with the job's progress.
    Apply,
    /// Apply everything in one transaction (atomic profiles, after a clean check).
    ApplyAll,
}

struct Runner<'a> {
    db: &'a Db,
    clock: &'a Clock,
    job: &'a Job,
    profile: MappingProfile,
    schema: Schema,
    actor: crate::audit::Actor,
    label: String,
    options: RunOptions,
    progress: Arc<Progress>,
    /// Mapped values not placed so far (a resumed job starts from the stored tally).
    dropped: Vec<DroppedColumn>,
    /// The file's header, once read.
    file_header: Vec<String>,
}

/// Runs a claimed job to its end (or to a simulated crash).
pub async fn run(
    db: &Db,
    clock: &Clock,
    job: &Job,
    options: RunOptions,
    progress: Arc<Progress>,
) -> Result<(), RunError> {
    let profile = job
        .profile()
        .map_err(|err| RunError::Fatal(format!("the job's mapping profile is not valid: {err}")))?;
    let schema = load_schema(db.pool()).await?;
    let runner = Runner {
        db,
        clock,
        job,
        actor: job.actor(),
        label: job.label(),
        profile,
        schema,
        options,
        progress,
        dropped: job.dropped_values.clone(),
        file_header: job.header.clone(),
    };
    runner.run().await
}

impl Runner<'_> {
    async fn run(mut self) -> Result<(), RunError> {
        let job = self.job;
        let checks_first = job.mode == Mode::DryRun || self.profile.atomic;
        // A check pass writes no products, so an interrupted one starts over.
        let resume_row = if checks_first {
            reset(self.db, job.id).await?;
            self.dropped.clear();
            1
        } else {
            u64::try_from(job.resume_row).unwrap_or(1)
        };
        let mut counts = if checks_first {
            Counts::default()
        } else {
            job.counts
        };
        let first = if checks_first {
            Pass::Check
        } else {
            Pass::Apply
        };
        let (pass_counts, seen) = self.pass(first, resume_row).await?;
        counts.add(&pass_counts);
        if self.profile.atomic && job.mode != Mode::DryRun {
            if counts.failed > 0 {
                return finish(
                    self.db,
                    job.id,
                    Status::Failed,
                    Some(format!(
                        "{} of {} rows failed and the profile is atomic: nothing was applied; fix the rows in errors.csv and re-send the whole file",
                        counts.failed, counts.read
                    )),
                    self.clock.now(),
                )
                .await;
            }
            self.progress = Arc::new(Progress::default());
            self.dropped.clear();
            let (applied, _) = self.pass(Pass::ApplyAll, 1).await?;
            counts = applied;
        }
        if job.mode == Mode::Full {
            // A file without rows, one that lost its SKUs, or one whose every
            // row failed names no products; disabling "the rest" would switch
            // off the catalog.
            let refusal = if counts.read == 0 {
                Some(
                    "the file has no rows: a full import would disable every product, so nothing was done"
                        .to_owned(),
                )
            } else if seen.without_sku > 0 {
                Some(format!(
                    "{} {} no SKU, so the file cannot say which products are missing; nothing was disabled",
                    seen.without_sku,
                    if seen.without_sku == 1 {
                        "row has"
                    } else {
                        "rows have"
                    }
                ))
            } else if counts.failed == counts.read {
                Some("every row failed, so nothing was disabled".to_owned())
            } else {
                None
            };
            match refusal {
                // The rows that applied stay applied.
                Some(message) => {
                    let status = if counts.failed < counts.read {
                        Status::Partial
                    } else {
                        Status::Failed
                    };
                    return finish(self.db, job.id, status, Some(message), self.clock.now()).await;
                }
                None => counts.disabled = self.disable_missing(&seen.skus, false).await?,
            }
        } else if job.mode == Mode::DryRun {
            // What `full` would disable is worth knowing before sending one.
            counts.disabled = self.disable_missing(&seen.skus, true).await?;
            let mut tx = self.db.begin_write().await?;
            set_counts(&mut tx, job.id, &counts, self.clock.now()).await?;
            tx.commit().await?;
        }
        let status = counts.status();
        let message =
            (status == Status::Failed).then(|| format!("all {} rows failed", counts.read));
        // Every row lost mapped values: not a clean success, and it says why.
        if status == Status::Succeeded && counts.every_row_lost_values() {
            return finish(
                self.db,
                job.id,
                Status::Partial,
                Some(self.lost_values_message(&counts)),
                self.clock.now(),
            )
            .await;
        }
        finish(self.db, job.id, status, message, self.clock.now()).await
    }

    /// Why a job whose every row lost values is partial, with the likely cause.
    fn lost_values_message(&self, counts: &Counts) -> String {
        let mut message = format!(
            "every row lost mapped values ({} of {} rows): see the values not imported",
            counts.rows_with_dropped_values, counts.read
        );
        if let Some(parent) = &self.profile.parent
            && self.profile.format == crate::import::profile::SourceFormat::Csv
            && !self.file_header.contains(parent)
        {
            message.push_str(&format!(
                "; the file has no column {parent:?}, which the profile reads a variant's model from, so every row was read as a model or simple product"
            ));
        }
        message
    }

    /// One pass over the file.
    async fn pass(&mut self, pass: Pass, resume_row: u64) -> Result<(Counts, Seen), RunError> {
        let (send, receive) = tokio::sync::mpsc::channel::<Batch>(1);
        let path = self.job.file_path.clone();
        let profile = self.profile.clone();
        let schema = self.schema.clone();
        let batch_size = self.options.batch_size.max(1);
        let progress = self.progress.clone();
        let digest_prefix = {
            use sha2::{Digest, Sha256};
            let mut hasher = Sha256::new();
            hasher.update(self.job.profile_definition.as_bytes());
            hasher.update(self.schema.version.to_le_bytes());
            hasher.finalize().to_vec()
        };
        let reading = tokio::task::spawn_blocking(move || {
            read_file(
                &path,
                &digest_prefix,
                &profile,
                &schema,
                resume_row,
                batch_size,
                progress,
                &send,
            )
        });
        // Applying, batch N+1 is checked on a second connection while batch
        // N is written: the checks of one overlap the writes of the other.
        let (planned_send, mut planned) = tokio::sync::mpsc::channel::<(Batch, Option<Plan>)>(1);
        let planner = if pass == Pass::Apply {
            tokio::spawn(plan_ahead(
                self.db.clone(),
                self.schema.clone(),
                self.actor.clone(),
                self.label.clone(),
                self.clock.clone(),
                receive,
                planned_send,
            ))
        } else {
            tokio::spawn(async move {
                let mut receive = receive;
                while let Some(batch) = receive.recv().await {
                    if planned_send.send((batch, None)).await.is_err() {
                        break;
                    }
                }
            })
        };
        let mut counts = Counts::default();
        let mut batches = 0usize;
        let mut dry_models = JobModels::default();
        let mut whole = match pass {
            Pass::ApplyAll => Some(self.db.begin_write().await?),
            _ => None,
        };
        let mut failure = None;
        while let Some((batch, plan)) = planned.recv().await {
            if self.options.crash_after_batches == Some(batches) && pass == Pass::Apply {
                // Write part of the batch, then vanish without committing.
                let mut tx = self.db.begin_write().await?;
                let ctx = self.context(false);
                let _ = batch::import_rows(
                    &mut tx,
                    &ctx,
                    &batch.rows,
                    &mut dry_models,
                    self.clock.now(),
                )
                .await;
                drop(tx);
                return Err(RunError::Crashed);
            }
            let result = match &mut whole {
                Some(tx) => {
                    let applied = self
                        .apply_batch(tx, pass, &batch, &mut dry_models)
                        .await
                        .map(|(mut batch_counts, failed)| {
                            let (rows, dropped) = dropped_of(&batch, &failed, &self.profile);
                            batch_counts.rows_with_dropped_values = rows;
                            merge_dropped(&mut self.dropped, dropped);
                            (batch_counts, failed)
                        });
                    // The job's row is written only at the end of this long
                    // transaction; on PostgreSQL the heartbeat goes through
                    // another connection so no other node takes the job over.
                    if self.db.backend() == crate::db::Backend::Postgres {
                        let _ =
                            sqlx::query("UPDATE import_jobs SET heartbeat_at = $1 WHERE id = $2")
                                .bind(self.clock.now())
                                .bind(self.job.id)
                                .execute(self.db.pool())
                                .await;
                    }
                    applied
                }
                None => {
                    let mut tx = self.db.begin_write().await?;
                    let applied = match plan {
                        Some(plan) => {
                            self.apply_plan(&mut tx, &batch, plan, &mut dry_models)
                                .await
                        }
                        None => {
                            self.apply_batch(&mut tx, pass, &batch, &mut dry_models)
                                .await
                        }
                    };
                    match applied {
                        Ok((mut batch_counts, failed)) => {
                            let (rows, dropped) = dropped_of(&batch, &failed, &self.profile);
                            batch_counts.rows_with_dropped_values = rows;
                            merge_dropped(&mut self.dropped, dropped);
                            let progress = BatchProgress {
                                counts: &batch_counts,
                                failed: &failed,
                                last_row: batch.last_row,
                                header: batch.header.as_ref().map(|(h, d)| (h.as_slice(), *d)),
                                dropped: &self.dropped,
                            };
                            store_progress(&mut tx, self.job.id, progress, self.clock.now())
                                .await?;
                            tx.commit().await?;
                            Ok((batch_counts, Vec::new()))
                        }
                        Err(err) => Err(err),
                    }
                }
            };
            match result {
                Ok((batch_counts, _)) => counts.add(&batch_counts),
                Err(err) => {
                    failure = Some(err);
                    break;
                }
            }
            batches += 1;
        }
        drop(planned);
        let _ = planner.await;
        let end = reading
            .await
            .map_err(|err| RunError::Fatal(format!("the reader stopped: {err}")))??;
        if let Some(err) = failure {
            return Err(err);
        }
        if let Some(mut tx) = whole {
            set_counts(&mut tx, self.job.id, &counts, self.clock.now()).await?;
            store_dropped(&mut tx, self.job.id, &self.dropped).await?;
            tx.commit().await?;
        }
        self.file_header = end.header.clone();
        tracing::debug!(
            job = self.job.id,
            rows = end.rows,
            header = end.header.len(),
            "import pass done"
        );
        Ok((counts, end.seen))
    }

    fn context(&self, dry_run: bool) -> BatchContext<'_> {
        BatchContext {
            schema: &self.schema,
            actor: &self.actor,
            job_label: &self.label,
            dry_run,
        }
    }

    /// Writes (or checks) one batch in `tx`; answers its counts and failed rows.
    async fn apply_batch(
        &self,
        tx: &mut AnyConnection,
        pass: Pass,
        batch: &Batch,
        dry_models: &mut JobModels,
    ) -> Result<(Counts, Vec<FailedRow>), RunError> {
        let rows = &batch.rows;
        let ctx = self.context(pass == Pass::Check);
        let now = self.clock.now();
        let outcomes = {
            let mut savepoint = sqlx::Connection::begin(&mut *tx).await?;
            match batch::import_rows(&mut savepoint, &ctx, rows, dry_models, now).await {
                Ok(outcomes) if pass == Pass::Check => {
                    savepoint.rollback().await?;
                    outcomes
                }
                Ok(outcomes) => {
                    savepoint.commit().await?;
                    outcomes
                }
                // A unique violation (a concurrent writer took a SKU or an
                // axis combination): redo the batch row by row so only the
                // offending rows fail.
                Err(WriteError::Database(err))
                    if is_unique_violation(&err) && pass != Pass::ApplyAll =>
                {
                    savepoint.rollback().await?;
                    self.row_by_row(tx, &ctx, rows, dry_models, now).await?
                }
                Err(err) => {
                    savepoint.rollback().await?;
                    return Err(err.into());
                }
            }
        };
        let (counts, failed) = self.tally(batch, outcomes);
        if pass == Pass::ApplyAll {
            return Ok((counts, Vec::new()));
        }
        Ok((counts, failed))
    }

    /// Writes a batch checked ahead; a batch whose products moved since, or
    /// that meets a unique violation, is checked and written again here.
    async fn apply_plan(
        &self,
        tx: &mut AnyConnection,
        batch: &Batch,
        plan: Plan,
        job_models: &mut JobModels,
    ) -> Result<(Counts, Vec<FailedRow>), RunError> {
        let ctx = self.context(false);
        let mut savepoint = sqlx::Connection::begin(&mut *tx).await?;
        match batch::execute_plan(&mut savepoint, &ctx, plan, self.clock.now()).await {
            Ok(outcomes) => {
                savepoint.commit().await?;
                Ok(self.tally(batch, outcomes))
            }
            Err(ExecuteError::MasterMoved) => {
                savepoint.rollback().await?;
                self.apply_batch(tx, Pass::Apply, batch, job_models).await
            }
            Err(ExecuteError::Write(WriteError::Database(err))) if is_unique_violation(&err) => {
                savepoint.rollback().await?;
                self.apply_batch(tx, Pass::Apply, batch, job_models).await
            }
            Err(ExecuteError::Write(err)) => {
                savepoint.rollback().await?;
                Err(err.into())
            }
        }
    }

    /// A batch's counts and failed rows from its outcomes.
    fn tally(&self, batch: &Batch, outcomes: Vec<RowOutcome>) -> (Counts, Vec<FailedRow>) {
        let mut counts = Counts {
            read: i64::try_from(batch.read).unwrap_or(i64::MAX),
            failed: i64::try_from(batch.failed.len()).unwrap_or(i64::MAX),
            ..Counts::default()
        };
        let mut failed = batch.failed.clone();
        for (index, ((row, source), outcome)) in batch
            .rows
            .iter()
            .zip(&batch.sources)
            .zip(outcomes)
            .enumerate()
        {
            match outcome {
                RowOutcome::Created => counts.created += 1,
                RowOutcome::Changed { updated, proposed } => {
                    counts.updated += i64::from(updated);
                    counts.proposed += i64::from(proposed);
                }
                RowOutcome::Unchanged => counts.unchanged += 1,
                RowOutcome::Failed(errors) => {
                    counts.failed += 1;
                    let mut errors = row_errors(&self.profile, row, source, errors);
                    if let Some(model_row) = batch.parent_rows.get(index).copied().flatten() {
                        name_failed_model(&mut errors, row, model_row);
                    }
                    failed.push(FailedRow {
                        row: row.row,
                        cells: cells_of(source),
                        errors,
                    });
                }
            }
        }
        failed.sort_by_key(|f| f.row);
        (counts, failed)
    }

    async fn row_by_row(
        &self,
        tx: &mut AnyConnection,
        ctx: &BatchContext<'_>,
        rows: &[BatchRow],
        dry_models: &mut JobModels,
        now: Timestamp,
    ) -> Result<Vec<RowOutcome>, RunError> {
        let mut outcomes = Vec::with_capacity(rows.len());
        for row in rows {
            let mut savepoint = sqlx::Connection::begin(&mut *tx).await?;
            match batch::import_rows(
                &mut savepoint,
                ctx,
                std::slice::from_ref(row),
                dry_models,
                now,
            )
            .await
            {
                Ok(mut one) => {
                    savepoint.commit().await?;
                    outcomes.push(one.pop().unwrap_or(RowOutcome::Unchanged));
                }
                Err(WriteError::Database(err)) if is_unique_violation(&err) => {
                    savepoint.rollback().await?;
                    let message = if err.to_string().contains("axis") {
                        "another variant of the model already has these axis values".to_owned()
                    } else {
                        format!("a product with the SKU {} already exists", row.sku)
                    };
                    outcomes.push(RowOutcome::Failed(vec![FieldError::field("sku", message)]));
                }
                Err(err) => {
                    savepoint.rollback().await?;
                    return Err(err.into());
                }
            }
        }
        Ok(outcomes)
    }

    /// `full`: disables enabled products the file did not name, 500 at a time.
    async fn disable_missing(
        &self,
        seen: &HashSet<String>,
        dry_run: bool,
    ) -> Result<i64, RunError> {
        let missing: Vec<String> = batch::enabled_skus(self.db)
            .await?
            .into_iter()
            .filter(|sku| !seen.contains(&sku_key(sku)))
            .collect();
        // A resumed job counts on from what its interrupted run disabled
        // (those products are no longer enabled, so not found again).
        let mut disabled = if dry_run {
            0
        } else {
            u64::try_from(self.job.counts.disabled).unwrap_or(0)
        };
        for chunk in missing.chunks(500) {
            let ctx = self.context(dry_run);
            let mut tx = self.db.begin_write().await?;
            disabled += batch::disable(&mut tx, &ctx, chunk, self.clock.now()).await?;
            let counts = Counts {
                disabled: i64::try_from(disabled).unwrap_or(i64::MAX),
                ..Counts::default()
            };
            if !dry_run {
                sqlx::query(
                    "UPDATE import_jobs SET disabled_count = $1, heartbeat_at = $2 WHERE id = $3",
                )
                .bind(counts.disabled)
                .bind(self.clock.now())
                .bind(self.job.id)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
            }
        }
        Ok(i64::try_from(disabled).unwrap_or(i64::MAX))
    }
}

/// Checks batches ahead of the writer, each on a connection of its own
/// outside the write transaction (the writer verifies every version).
async fn plan_ahead(
    db: Db,
    schema: Schema,
    actor: crate::audit::Actor,
    label: String,
    clock: Clock,
    mut receive: tokio::sync::mpsc::Receiver<Batch>,
    send: tokio::sync::mpsc::Sender<(Batch, Option<Plan>)>,
) {
    let ctx = BatchContext {
        schema: &schema,
        actor: &actor,
        job_label: &label,
        dry_run: false,
    };
    let mut job_models = JobModels::default();
    while let Some(batch) = receive.recv().await {
        // Any failure here only means the writer checks the batch itself.
        let plan = match db.pool().acquire().await {
            Ok(mut conn) => batch::plan_rows(
                &mut conn,
                &ctx,
                &batch.rows,
                &mut job_models,
                false,
                clock.now(),
            )
            .await
            .ok(),
            Err(_) => None,
        };
        if send.send((batch, plan)).await.is_err() {
            break;
        }
    }
}

/// Clears what an interrupted check pass stored.
async fn reset(db: &Db, job_id: i64) -> Result<(), sqlx::Error> {
    let mut tx = db.begin_write().await?;
    for sql in [
        "DELETE FROM import_errors WHERE job_id = $1",
        "DELETE FROM import_failed_rows WHERE job_id = $1",
        "UPDATE import_jobs SET resume_row = 1, read_count = 0, created_count = 0, updated_count = 0, \
         unchanged_count = 0, proposed_count = 0, disabled_count = 0, failed_count = 0, dropped_rows = 0, \
         dropped_values = '[]' WHERE id = $1",
    ] {
        sqlx::query(sql).bind(job_id).execute(&mut *tx).await?;
    }
    tx.commit().await
}

/// What one committed batch adds to its job.
struct BatchProgress<'a> {
    counts: &'a Counts,
    failed: &'a [FailedRow],
    last_row: u64,
    header: Option<(&'a [String], Dialect)>,
    /// The job's whole tally of dropped values, this batch included.
    dropped: &'a [DroppedColumn],
}

/// A job's tally of values not imported.
async fn store_dropped(
    conn: &mut AnyConnection,
    job_id: i64,
    dropped: &[DroppedColumn],
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE import_jobs SET dropped_values = $1 WHERE id = $2")
        .bind(serde_json::to_string(dropped).unwrap_or_else(|_| "[]".into()))
        .bind(job_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// A batch's failed rows, the job's counts and its resume point, in the batch's transaction.
async fn store_progress(
    conn: &mut AnyConnection,
    job_id: i64,
    progress: BatchProgress<'_>,
    now: Timestamp,
) -> Result<(), sqlx::Error> {
    let BatchProgress {
        counts,
        failed,
        last_row,
        header,
        dropped,
    } = progress;
    super::jobs::store_failed(conn, job_id, failed).await?;
    if let Some((header, dialect)) = header {
        sqlx::query(
            "UPDATE import_jobs SET header = $1, file_delimiter = $2, file_bom = $3 WHERE id = $4",
        )
        .bind(serde_json::to_string(header).unwrap_or_else(|_| "[]".into()))
        .bind(char::from(dialect.delimiter).to_string())
        .bind(dialect.bom)
        .bind(job_id)
        .execute(&mut *conn)
        .await?;
    }
    if counts.rows_with_dropped_values > 0 {
        store_dropped(conn, job_id, dropped).await?;
    }
    sqlx::query(
        "UPDATE import_jobs SET read_count = read_count + $1, created_count = created_count + $2, \
         updated_count = updated_count + $3, unchanged_count = unchanged_count + $4, \
         proposed_count = proposed_count + $5, failed_count = failed_count + $6, resume_row = $7, \
         heartbeat_at = $8, dropped_rows = dropped_rows + $10 WHERE id = $9",
    )
    .bind(counts.read)
    .bind(counts.created)
    .bind(counts.updated)
    .bind(counts.unchanged)
    .bind(counts.proposed)
    .bind(counts.failed)
    .bind(i64::try_from(last_row).unwrap_or(i64::MAX))
    .bind(now)
    .bind(job_id)
    .bind(counts.rows_with_dropped_values)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn set_counts(
    conn: &mut AnyConnection,
    job_id: i64,
    counts: &Counts,
    now: Timestamp,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE import_jobs SET read_count = $1, created_count = $2, updated_count = $3, unchanged_count = $4, \
         proposed_count = $5, failed_count = $6, disabled_count = $9, heartbeat_at = $7, dropped_rows = $10 \
         WHERE id = $8",
    )
    .bind(counts.read)
    .bind(counts.created)
    .bind(counts.updated)
    .bind(counts.unchanged)
    .bind(counts.proposed)
    .bind(counts.failed)
    .bind(now)
    .bind(job_id)
    .bind(counts.disabled)
    .bind(counts.rows_with_dropped_values)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Ends a job: its status, why (when it failed), when; the upload is removed.
pub async fn finish(
    db: &Db,
    job_id: i64,
    status: Status,
    message: Option<String>,
    now: Timestamp,
) -> Result<(), RunError> {
    let path: Option<String> = sqlx::query_scalar(
        "UPDATE import_jobs SET status = $1, message = $2, finished_at = $3, heartbeat_at = $3 \
         WHERE id = $4 RETURNING file_path",
    )
    .bind(status.as_str())
    .bind(message)
    .bind(now)
    .bind(job_id)
    .fetch_optional(db.pool())
    .await?;
    if let Some(path) = path {
        let _ = tokio::fs::remove_file(path).await;
    }
    Ok(())
}
