//! Import pages: the job history with the upload form (a file streamed to
//! disk part by part, never held in memory), the job page (status, counts,
//! warnings, a progress bar that refreshes itself without JavaScript while
//! the job runs, errors grouped by kind when it is done) and the failed rows
//! as a download. Jobs are submitted through [`crate::import::jobs::submit`]
//! and run by the import worker; the pages only show what it records.

use askama::Template;
use axum::Router;
use axum::extract::multipart::{Field, MultipartError, MultipartRejection};
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;

use super::{Choice, Chrome, FormErrors, render};
use crate::auth::sessions::Session;
use crate::auth::{Caller, Permission};
use crate::import::jobs::{self, Counts, ErrorGroup, Job, Mode, NewJob, SubmitError, Upload};
use crate::import::profiles;
use crate::import::{errors_file, progress};
use crate::web::AppState;
use crate::web::download::attachment;
use crate::web::error::{AppError, FieldError};
use crate::web::extract::{ClientAddr, PageSession, urlencode};
use crate::web::layers::CSRF_FIELD;
use crate::web::{PageError, PageResult};

pub fn routes() -> Router<AppState> {
    Router::new()
        // The upload is streamed to disk under `max_import_bytes`, which
        // `receive` enforces itself; the general request-body limit (meant for
        // forms) would refuse any real ERP file.
        .route(
            "/imports",
            get(list).post(upload).layer(DefaultBodyLimit::disable()),
        )
        .route("/imports/{id}", get(job_page))
        .route("/imports/{id}/errors.csv", get(errors_csv))
}

const PAGE_SIZE: i64 = 50;
/// Examples shown per kind of error on the job page.
const EXAMPLES: i64 = 3;
/// Largest text field of the upload form (profile code, mode, form key).
const MAX_TEXT_FIELD: usize = 1024;
/// The upload form has four fields; more parts than this are not our form.
const MAX_PARTS: usize = 8;

fn importer(session: &Session) -> Result<Caller, PageError> {
    let caller = session.caller();
    caller
        .require(&Permission::Import)
        .map_err(AppError::from)?;
    Ok(caller)
}

/// `1.5 MiB`, `820 bytes`.
fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} bytes");
    }
    let mut unit = 0;
    let mut scaled = bytes;
    while scaled >= 1024 * 1024 && unit + 1 < UNITS.len() {
        scaled /= 1024;
        unit += 1;
    }
    // One decimal, computed in integers: tenths of the unit.
    let tenths = scaled * 10 / 1024;
    let text = if tenths.is_multiple_of(10) {
        format!("{}", tenths / 10)
    } else {
        format!("{}.{}", tenths / 10, tenths % 10)
    };
    format!("{text} {}", UNITS[unit])
}

/// `850 ms`, `12.3 s`, `4 min 05 s`.
fn human_duration(ms: i64) -> String {
    match ms {
        ..1000 => format!("{} ms", ms.max(0)),
        1000..60_000 => format!("{}.{} s", ms / 1000, ms % 1000 / 100),
        _ => format!("{} min {:02} s", ms / 60_000, ms % 60_000 / 1000),
    }
}

/// `3 read · 1 created · 2 failed`: the non-zero counts after `read`.
fn counts_summary(counts: &Counts) -> String {
    let mut parts = vec![format!("{} read", counts.read)];
    for (n, label) in [
        (counts.created, "created"),
        (counts.updated, "updated"),
        (counts.proposed, "proposed"),
        (counts.unchanged, "unchanged"),
        (counts.disabled, "disabled"),
        (counts.failed, "failed"),
    ] {
        if n > 0 {
            parts.push(format!("{n} {label}"));
        }
    }
    parts.join(" · ")
}

// ---- the list and the upload form ----

/// A mode as the form offers it.
struct ModeChoice {
    value: &'static str,
    label: &'static str,
    hint: &'static str,
    warn: bool,
    selected: bool,
}

const MODES: [(Mode, &str, &str, bool); 3] = [
    (
        Mode::Upsert,
        "Upsert",
        "Creates new products and updates existing ones; products missing from the file stay as they are.",
        false,
    ),
    (
        Mode::Full,
        "Full",
        "Like upsert, then disables every product that is missing from the file. Use it only with a complete export.",
        true,
    ),
    (
        Mode::DryRun,
        "Dry run",
        "Checks the file and reports what it would create, change and disable; writes nothing.",
        false,
    ),
];

fn mode_choices(current: Mode) -> Vec<ModeChoice> {
    MODES
        .iter()
        .map(|&(mode, label, hint, warn)| ModeChoice {
            value: mode.as_str(),
            label,
            hint,
            warn,
            selected: mode == current,
        })
        .collect()
}

struct JobRow {
    id: i64,
    href: String,
    file: String,
    profile: String,
    mode: &'static str,
    status: &'static str,
    counts: String,
    duration: String,
    by: String,
    when: String,
}

impl From<Job> for JobRow {
    fn from(job: Job) -> Self {
        JobRow {
            href: format!("/imports/{}", job.id),
            id: job.id,
            counts: counts_summary(&job.counts),
            duration: job.duration_ms.map(human_duration).unwrap_or_default(),
            mode: job.mode.as_str(),
            status: job.status.as_str(),
            when: job.created.display(),
            file: job.file,
            profile: job.profile,
            by: job.by,
        }
    }
}

#[derive(Template)]
#[template(path = "imports/list.html")]
struct ListPage {
    chrome: Chrome,
    action: String,
    key: String,
    profiles: Vec<Choice>,
    modes: Vec<ModeChoice>,
    limit: String,
    errors: FormErrors,
    rows: Vec<JobRow>,
    next_page: Option<String>,
    first_page: bool,
}

/// What the upload form had, to show it again.
#[derive(Debug, Default)]
struct FormInput {
    profile: String,
    mode: String,
    key: String,
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    before: Option<String>,
}

/// A new form key: a double-submitted form answers the job of the first.
fn new_form_key() -> String {
    format!("browser-{}", uuid::Uuid::new_v4().simple())
}

async fn list_page(
    state: &AppState,
    session: &Session,
    before: Option<i64>,
    input: FormInput,
    errors: FormErrors,
    status: StatusCode,
) -> PageResult<Response> {
    let stored = profiles::list(state.db.pool()).await?;
    let found = jobs::list(&state.db, before, PAGE_SIZE + 1).await?;
    let more = found.len() > usize::try_from(PAGE_SIZE).unwrap_or(usize::MAX);
    let rows: Vec<JobRow> = found
        .into_iter()
        .take(usize::try_from(PAGE_SIZE).unwrap_or(0))
        .map(JobRow::from)
        .collect();
    let next_page = if more {
        rows.last().map(|row| format!("/imports?before={}", row.id))
    } else {
        None
    };
    let mode = Mode::parse(&input.mode).unwrap_or(Mode::Upsert);
    let profiles = stored
        .into_iter()
        .map(|p| {
            let label = if p.profile.label.trim().is_empty() {
                p.profile.code.clone()
            } else {
                format!("{} ({})", p.profile.label, p.profile.code)
            };
            Choice {
                selected: p.profile.code == input.profile,
                value: p.profile.code,
                label,
            }
        })
        .collect();
    let chrome = Chrome::new(session, "/imports", None);
    let page = ListPage {
        action: format!("/imports?{CSRF_FIELD}={}", urlencode(&chrome.csrf)),
        chrome,
        key: if input.key.is_empty() {
            new_form_key()
        } else {
            input.key
        },
        profiles,
        modes: mode_choices(mode),
        limit: human_bytes(state.config.max_import_bytes),
        errors,
        rows,
        next_page,
        first_page: before.is_none(),
    };
    Ok(render(status, &page))
}

/// `GET /imports`
async fn list(
    State(state): State<AppState>,
    PageSession(session): PageSession,
    Query(query): Query<ListQuery>,
) -> PageResult<Response> {
    importer(&session)?;
    let before =
        match query.before.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => Some(text.parse::<i64>().map_err(|_| {
                AppError::BadRequest(format!("before must be a job id, not {text:?}"))
            })?),
        };
    list_page(
        &state,
        &session,
        before,
        FormInput::default(),
        FormErrors::default(),
        StatusCode::OK,
    )
    .await
}

/// What the multipart form carried.
#[derive(Default)]
struct Received {
    input: FormInput,
    file_name: String,
    file_bytes: u64,
    upload: Option<Upload>,
}

fn multipart_error(err: &MultipartError) -> AppError {
    if err.status() == StatusCode::PAYLOAD_TOO_LARGE {
        AppError::PayloadTooLarge("The upload is larger than the request size limit.".to_owned())
    } else {
        AppError::BadRequest(format!("The upload could not be read: {}", err.body_text()))
    }
}

/// A small text field, refused when longer than [`MAX_TEXT_FIELD`].
async fn text_field(mut field: Field<'_>, name: &str) -> Result<String, AppError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(|e| multipart_error(&e))? {
        if bytes.len() + chunk.len() > MAX_TEXT_FIELD {
            return Err(AppError::BadRequest(format!(
                "The form field {name} is longer than {MAX_TEXT_FIELD} bytes."
            )));
        }
        bytes.extend_from_slice(&chunk);
    }
    String::from_utf8(bytes)
        .map(|text| text.trim().to_owned())
        .map_err(|_| AppError::BadRequest(format!("The form field {name} is not UTF-8 text.")))
}

/// The name a browser sent for the file, without any folder part.
fn clean_file_name(name: Option<&str>) -> String {
    let name = name.unwrap_or_default();
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default().trim();
    base.chars().filter(|c| !c.is_control()).take(200).collect()
}

/// Reads the form part by part; the file goes to disk chunk by chunk.
async fn read_form(
    state: &AppState,
    multipart: &mut Multipart,
    received: &mut Received,
) -> Result<(), AppError> {
    let mut parts = 0;
    while let Some(mut field) = multipart
        .next_field()
        .await
        .map_err(|e| multipart_error(&e))?
    {
        parts += 1;
        if parts > MAX_PARTS {
            return Err(AppError::BadRequest(
                "The upload has more parts than the import form sends.".to_owned(),
            ));
        }
        let name = field.name().unwrap_or_default().to_owned();
        match name.as_str() {
            "file" => {
                if received.upload.is_some() {
                    return Err(AppError::BadRequest("Send one file per import.".to_owned()));
                }
                received.file_name = clean_file_name(field.file_name());
                let upload = received.upload.insert(
                    Upload::start(&state.config.data_dir, state.config.max_import_bytes).await?,
                );
                while let Some(chunk) = crate::web::next_chunk(async {
                    field.chunk().await.map_err(|e| multipart_error(&e))
                })
                .await?
                {
                    upload.write(&chunk).await.map_err(too_large_page)?;
                    received.file_bytes += chunk.len() as u64;
                }
            }
            "profile" => received.input.profile = text_field(field, "profile").await?,
            "mode" => received.input.mode = text_field(field, "mode").await?,
            "key" => received.input.key = text_field(field, "key").await?,
            // A token in the body as well as in the URL does no harm.
            CSRF_FIELD => {
                text_field(field, CSRF_FIELD).await?;
            }
            other => {
                return Err(AppError::BadRequest(format!(
                    "The upload has a field {other:?} that the import form does not send."
                )));
            }
        }
    }
    Ok(())
}

/// The size limit, said so that a person knows what to do.
fn too_large_page(err: SubmitError) -> AppError {
    match err {
        SubmitError::TooLarge(limit) => {
            let exact = if limit < 1024 {
                String::new()
            } else {
                format!(" ({limit} bytes)")
            };
            AppError::PayloadTooLarge(format!(
                "The file is larger than the import limit of {}{exact}, set by SLUICE_MAX_IMPORT_BYTES. \
                 Split the export into smaller files, or ask an administrator to raise the limit.",
                human_bytes(limit)
            ))
        }
        other => other.into(),
    }
}

/// `POST /imports?csrf_token=…` (multipart: file, profile, mode, key)
async fn upload(
    State(state): State<AppState>,
    PageSession(session): PageSession,
    ClientAddr(addr): ClientAddr,
    multipart: Result<Multipart, MultipartRejection>,
) -> PageResult<Response> {
    let caller = importer(&session)?;
    let mut multipart = multipart.map_err(|rejection| {
        AppError::BadRequest(format!(
            "Send the import form as multipart/form-data: {}",
            rejection.body_text()
        ))
    })?;
    let mut received = Received::default();
    if let Err(err) = read_form(&state, &mut multipart, &mut received).await {
        if let Some(upload) = received.upload.take() {
            upload.discard().await;
        }
        return Err(PageError(err));
    }
    let Received {
        mut input,
        file_name,
        file_bytes,
        upload,
    } = received;

    let mut problems = Vec::new();
    if input.profile.is_empty() {
        problems.push(FieldError::field("profile", "Choose a mapping profile."));
    }
    let mode = if input.mode.is_empty() {
        Some(Mode::Upsert)
    } else {
        Mode::parse(&input.mode)
    };
    if mode.is_none() {
        problems.push(FieldError::field("mode", "Choose upsert, full or dry run."));
    }
    // A form sent without a file chosen has an empty, nameless file part.
    if upload.is_none() || (file_name.is_empty() && file_bytes == 0) {
        problems.push(FieldError::field("file", "Choose a file to import."));
    }
    let (mode, upload) = match (mode, upload) {
        (Some(mode), Some(upload)) if problems.is_empty() => (mode, upload),
        (_, upload) => {
            if let Some(upload) = upload {
                upload.discard().await;
            }
            return form_again(&state, &session, input, problems).await;
        }
    };
    let new = NewJob {
        profile: input.profile.clone(),
        mode,
        origin: "browser",
        file_name: if file_name.is_empty() {
            "upload".to_owned()
        } else {
            file_name
        },
        idempotency_key: Some(input.key.clone()).filter(|k| !k.is_empty()),
    };
    let actor = caller.actor().from_addr(&addr);
    match jobs::submit(&state.db, &actor, new, upload, state.clock.now()).await {
        Ok((job, created)) => {
            if created {
                state.imports.wake();
                tracing::info!(
                    import.job_id = job.id,
                    import.profile = %job.profile,
                    import.mode = job.mode.as_str(),
                    "import queued from the browser"
                );
            }
            Ok(Redirect::to(&format!("/imports/{}", job.id)).into_response())
        }
        Err(err) => {
            let problem = match err {
                SubmitError::Empty => FieldError::field("file", "The file is empty."),
                SubmitError::NoProfile(code) => FieldError::field(
                    "profile",
                    format!("There is no mapping profile {code} (any more); choose another."),
                ),
                SubmitError::BadProfile { profile, problems } => FieldError::field(
                    "profile",
                    format!(
                        "The mapping profile {profile} does not fit the catalog: {}. An administrator can fix it under Settings → Mapping profiles.",
                        problems.join("; ")
                    ),
                ),
                SubmitError::BadMode(_) => {
                    FieldError::field("mode", "Choose upsert, full or dry run.")
                }
                // The form's key was used for another file (the form was sent
                // again after going back): a fresh form, and the file again.
                SubmitError::KeyReused(_) | SubmitError::BadKey => {
                    input.key.clear();
                    FieldError::field(
                        "file",
                        "This form was already used to send another file. Choose the file again and send it with this new form.",
                    )
                }
                other => return Err(PageError(too_large_page(other))),
            };
            form_again(&state, &session, input, vec![problem]).await
        }
    }
}

/// The list with the form as sent and its problems (422); the file must be
/// chosen again (browsers never refill a file input).
async fn form_again(
    state: &AppState,
    session: &Session,
    input: FormInput,
    problems: Vec<FieldError>,
) -> PageResult<Response> {
    let errors = FormErrors::from_error(AppError::validation(problems))?;
    list_page(
        state,
        session,
        None,
        input,
        errors,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

// ---- one job ----

/// A count with its label for this job's mode.
struct CountRow {
    label: &'static str,
    value: i64,
    hint: &'static str,
}

fn count_rows(counts: &Counts, mode: Mode) -> Vec<CountRow> {
    let dry = mode == Mode::DryRun;
    let mut rows = vec![
        CountRow {
            label: "Rows read",
            value: counts.read,
            hint: "",
        },
        CountRow {
            label: if dry { "Would be created" } else { "Created" },
            value: counts.created,
            hint: "new products",
        },
        CountRow {
            label: if dry { "Would be updated" } else { "Updated" },
            value: counts.updated,
            hint: "products whose fast-lane values changed at once",
        },
        CountRow {
            label: if dry { "Would be proposed" } else { "Proposed" },
            value: counts.proposed,
            hint: "products with reviewed-lane changes waiting for an approver",
        },
        CountRow {
            label: "Unchanged",
            value: counts.unchanged,
            hint: "rows that already matched the catalog",
        },
    ];
    if mode != Mode::Upsert || counts.disabled > 0 {
        rows.push(CountRow {
            label: if dry {
                "Would be disabled by a full import"
            } else {
                "Disabled"
            },
            value: counts.disabled,
            hint: "products missing from the file",
        });
    }
    rows.push(CountRow {
        label: if dry { "Would fail" } else { "Failed" },
        value: counts.failed,
        hint: "rows with errors; nothing of them was applied",
    });
    if counts.rows_with_dropped_values > 0 {
        rows.push(CountRow {
            label: "Lost mapped values",
            value: counts.rows_with_dropped_values,
            hint: "rows that applied without some of their mapped values (listed below)",
        });
    }
    rows
}

/// One example of a kind of error.
struct ExampleRow {
    row: u64,
    column: String,
    value: String,
    message: String,
}

struct GroupView {
    kind: String,
    count: i64,
    examples: Vec<ExampleRow>,
    more: i64,
}

impl From<ErrorGroup> for GroupView {
    fn from(group: ErrorGroup) -> Self {
        let shown = i64::try_from(group.examples.len()).unwrap_or(0);
        GroupView {
            more: (group.count - shown).max(0),
            examples: group
                .examples
                .into_iter()
                .map(|e| ExampleRow {
                    row: e.row,
                    column: e.column.unwrap_or_default(),
                    value: shorten(&e.value, 80),
                    message: e.message,
                })
                .collect(),
            kind: group.kind,
            count: group.count,
        }
    }
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut short: String = text.chars().take(max).collect();
        short.push('…');
        short
    }
}

#[derive(Template)]
#[template(path = "imports/job.html")]
struct JobPage {
    chrome: Chrome,
    id: i64,
    status: &'static str,
    file: String,
    size: String,
    profile: String,
    mode: &'static str,
    dry_run: bool,
    full: bool,
    by: String,
    created: String,
    started: String,
    finished: String,
    duration: String,
    rate: String,
    in_flight: bool,
    queued: bool,
    done: bool,
    percent: Option<u64>,
    rows_read: u64,
    counts: Vec<CountRow>,
    failed: i64,
    warnings: Vec<String>,
    /// Values not imported, one line per column and reason.
    dropped: Vec<String>,
    message: Option<String>,
    groups: Vec<GroupView>,
    errors_href: String,
}

async fn find(state: &AppState, id: &str) -> Result<Job, AppError> {
    let missing = || AppError::NotFound(format!("There is no import job {id}."));
    let id: i64 = id.parse().map_err(|_| missing())?;
    jobs::get(state.db.pool(), id).await?.ok_or_else(missing)
}

/// `GET /imports/{id}`
async fn job_page(
    State(state): State<AppState>,
    PageSession(session): PageSession,
    Path(id): Path<String>,
) -> PageResult<Response> {
    importer(&session)?;
    let job = find(&state, &id).await?;
    let done = job.status.is_done();
    let groups = if done && job.counts.failed > 0 {
        jobs::error_groups(&state.db, job.id, EXAMPLES).await?
    } else {
        Vec::new()
    };
    let progress = progress::of(&state.imports, &job);
    let rate = match job.duration_ms {
        Some(ms) if ms > 0 && job.counts.read > 0 => {
            format!("{} rows/s", job.counts.read.saturating_mul(1000) / ms)
        }
        _ => String::new(),
    };
    let page = JobPage {
        chrome: Chrome::new(&session, "/imports", None),
        id: job.id,
        status: job.status.as_str(),
        size: human_bytes(u64::try_from(job.file_bytes).unwrap_or(0)),
        profile: job.profile.clone(),
        mode: job.mode.as_str(),
        dry_run: job.mode == Mode::DryRun,
        full: job.mode == Mode::Full,
        by: job.by.clone(),
        created: job.created.display(),
        started: job.started.map(|t| t.display()).unwrap_or_default(),
        finished: job.finished.map(|t| t.display()).unwrap_or_default(),
        duration: job.duration_ms.map(human_duration).unwrap_or_default(),
        rate,
        in_flight: !done,
        queued: job.status == jobs::Status::Queued,
        done,
        percent: progress.map(|p| p.percent),
        rows_read: progress.map_or_else(|| u64::try_from(job.counts.read).unwrap_or(0), |p| p.rows),
        counts: count_rows(&job.counts, job.mode),
        failed: job.counts.failed,
        warnings: job.warnings.clone(),
        dropped: job.dropped_values.iter().map(|d| d.describe()).collect(),
        message: job.message.clone(),
        groups: groups.into_iter().map(GroupView::from).collect(),
        errors_href: format!("/imports/{}/errors.csv", job.id),
        file: job.file,
    };
    Ok(render(StatusCode::OK, &page))
}

/// `GET /imports/{id}/errors.csv`: the failed rows with an `error` column,
/// the same file as the API's.
async fn errors_csv(
    State(state): State<AppState>,
    PageSession(session): PageSession,
    Path(id): Path<String>,
) -> PageResult<Response> {
    importer(&session)?;
    let job = find(&state, &id).await?;
    let (file, stream) = errors_file::errors_file(state.db.clone(), job);
    Ok(attachment(file.content_type, &file.file_name, stream))
}

#[cfg(test)]
mod tests {
    use super::{clean_file_name, human_bytes, human_duration};

    #[test]
    fn sizes_and_durations_read_well() {
        assert_eq!(human_bytes(820), "820 bytes");
        assert_eq!(human_bytes(1024), "1 KiB");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(1024 * 1024 * 1024), "1 GiB");
        assert_eq!(human_duration(850), "850 ms");
        assert_eq!(human_duration(12_345), "12.3 s");
        assert_eq!(human_duration(245_000), "4 min 05 s");
    }

    #[test]
    fn file_names_lose_their_folders() {
        assert_eq!(clean_file_name(Some("C:\\exports\\items.csv")), "items.csv");
        assert_eq!(clean_file_name(Some("../items.csv")), "items.csv");
        assert_eq!(clean_file_name(None), "");
    }
}
