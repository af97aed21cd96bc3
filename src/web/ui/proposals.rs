//! Review pages: the queue of proposals (filters, paging, bulk approve) and
//! the proposal page (side-by-side diff with word-level highlighting, the
//! validation of the open changes now, their readiness impact per channel,
//! the comment thread, and the actions that apply to the signed-in user:
//! approve all or some fields, reject with a comment, submit, withdraw,
//! rebase a conflict). Every action goes through
//! [`crate::workflow::proposals`], which enforces roles and four eyes.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::Value as Json;
use similar::{Algorithm, DiffOp};

use super::labels::{HtmlDiff, Labels};
use super::{Choice, Chrome, category_choices, choices, render};
use crate::auth::sessions::Session;
use crate::auth::{Caller, Permission};
use crate::catalog::product::ValueKey;
use crate::catalog::schema::Schema;
use crate::catalog::store;
use crate::db::Timestamp;
use crate::publish::readiness::{self, ChannelImpact};
use crate::web::AppState;
use crate::web::error::{AppError, FieldError};
use crate::web::extract::{PageForm, PageSession, urlencode};
use crate::web::{PageError, PageResult};
use crate::workflow::proposals::{
    self, FieldState, Proposal, ProposalFilter, ProposedChange, Resolution, Status, WorkflowError,
};
use crate::workflow::queue::{self, QueueFilter};
use crate::workflow::write::{self, WriteError};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/proposals", get(queue))
        .route("/proposals/bulk-approve", post(bulk_approve))
        .route("/proposals/{id}", get(page))
        .route("/proposals/{id}/comments", post(add_comment))
        .route("/proposals/{id}/approve", post(approve))
        .route("/proposals/{id}/reject", post(reject))
        .route("/proposals/{id}/submit", post(submit))
        .route("/proposals/{id}/withdraw", post(withdraw))
        .route("/proposals/{id}/rebase", post(rebase))
}

const PAGE_SIZE: usize = 50;
const AGES: [(&str, &str, i64); 3] = [
    ("1", "older than 1 day", 1),
    ("3", "older than 3 days", 3),
    ("7", "older than 7 days", 7),
];

fn read_catalog(session: &Session) -> Result<Caller, PageError> {
    let caller = session.caller();
    caller
        .require(&Permission::ReadCatalog)
        .map_err(AppError::from)?;
    Ok(caller)
}

/// `3 days ago`, `5 hours ago`, `just now`.
fn age(now: Timestamp, at: Timestamp) -> String {
    let seconds = now.since(at).whole_seconds().max(0);
    let (count, unit) = match seconds {
        0..60 => return "just now".to_owned(),
        60..3600 => (seconds / 60, "minute"),
        3600..86_400 => (seconds / 3600, "hour"),
        _ => (seconds / 86_400, "day"),
    };
    let plural = if count == 1 { "" } else { "s" };
    format!("{count} {unit}{plural} ago")
}

/// Locale and channel of a change, for people (`en_US · web`).
fn scope_text(locale: Option<&str>, channel: Option<&str>) -> String {
    [locale, channel]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" · ")
}

/// A field key as a form value: `attribute|locale|channel`, empty parts for none.
fn encode_key(change: &ProposedChange) -> String {
    format!(
        "{}|{}|{}",
        change.attribute,
        change.locale.as_deref().unwrap_or(""),
        change.channel.as_deref().unwrap_or("")
    )
}

fn decode_key(text: &str) -> Result<ValueKey, AppError> {
    let parts: Vec<&str> = text.split('|').collect();
    match parts.as_slice() {
        [attribute, locale, channel] if !attribute.is_empty() => Ok(ValueKey::new(
            attribute,
            Some(*locale).filter(|l| !l.is_empty()),
            Some(*channel).filter(|c| !c.is_empty()),
        )),
        _ => Err(AppError::BadRequest(format!(
            "The form names the field {text:?}, which is not attribute|locale|channel; reload the page."
        ))),
    }
}

// ---- word-level diff ----

/// A run of text in one side of a diff; `changed` when the other side lacks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub text: String,
    pub changed: bool,
}

/// Words (letters and digits), runs of whitespace, and single other characters.
fn tokens(text: &str) -> Vec<&str> {
    #[derive(PartialEq, Clone, Copy)]
    enum Class {
        Word,
        Space,
        Other,
    }
    let class = |c: char| {
        if c.is_alphanumeric() {
            Class::Word
        } else if c.is_whitespace() {
            Class::Space
        } else {
            Class::Other
        }
    };
    let mut out = Vec::new();
    let mut start = 0;
    let mut current: Option<Class> = None;
    for (at, c) in text.char_indices() {
        let kind = class(c);
        if let Some(previous) = current
            && (previous != kind || kind == Class::Other)
        {
            out.push(&text[start..at]);
            start = at;
        }
        current = Some(kind);
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

/// Joins tokens into segments, merging neighbours with the same mark; a
/// whitespace run between two changed runs counts as changed, so a replaced
/// phrase reads as one highlight.
fn segments(tokens: &[&str], changed: &[bool]) -> Vec<Segment> {
    let mut marks = changed.to_vec();
    for i in 1..tokens.len().saturating_sub(1) {
        if !marks[i] && marks[i - 1] && marks[i + 1] && tokens[i].trim().is_empty() {
            marks[i] = true;
        }
    }
    let mut out: Vec<Segment> = Vec::new();
    for (token, mark) in tokens.iter().zip(marks) {
        match out.last_mut() {
            Some(last) if last.changed == mark => last.text.push_str(token),
            _ => out.push(Segment {
                text: (*token).to_owned(),
                changed: mark,
            }),
        }
    }
    out
}

/// How long one word diff may search for the smallest difference; past it,
/// a huge text gets a coarser (still correct) diff instead of holding the request.
const DIFF_BUDGET: Duration = Duration::from_millis(50);

/// Word-level diff of two texts: `before` with the removed words marked,
/// `after` with the added words marked (Myers' diff over the tokens).
pub fn word_diff(before: &str, after: &str) -> (Vec<Segment>, Vec<Segment>) {
    let old = tokens(before);
    let new = tokens(after);
    let mut old_changed = vec![true; old.len()];
    let mut new_changed = vec![true; new.len()];
    let deadline = Instant::now().checked_add(DIFF_BUDGET);
    for op in similar::capture_diff_slices_deadline(Algorithm::Myers, &old, &new, deadline) {
        if let DiffOp::Equal {
            old_index,
            new_index,
            len,
        } = op
        {
            old_changed[old_index..old_index + len].fill(false);
            new_changed[new_index..new_index + len].fill(false);
        }
    }
    (segments(&old, &old_changed), segments(&new, &new_changed))
}

// ---- the queue ----

#[derive(Debug, Default, Deserialize)]
struct QueueQuery {
    status: Option<String>,
    family: Option<String>,
    category: Option<String>,
    author: Option<String>,
    sku: Option<String>,
    age: Option<String>,
    channel: Option<String>,
    before_id: Option<String>,
    notice: Option<String>,
}

struct QueueRow {
    id: i64,
    href: String,
    sku: String,
    product_href: String,
    family: String,
    author: String,
    status: &'static str,
    open: usize,
    summary: String,
    age: String,
    selectable: bool,
}

#[derive(Template)]
#[template(path = "proposals/queue.html")]
struct QueuePage {
    chrome: Chrome,
    rows: Vec<QueueRow>,
    statuses: Vec<Choice>,
    families: Vec<Choice>,
    categories: Vec<Choice>,
    channels: Vec<Choice>,
    ages: Vec<Choice>,
    author: String,
    sku: String,
    any_selectable: bool,
    next_page: Option<String>,
    heading: &'static str,
}

/// May this caller approve this proposal now? The domain's review check
/// (role, four eyes, state), as a yes or no for the page.
fn may_review(caller: &Caller, proposal: &Proposal, allow_self_approval: bool) -> bool {
    proposals::check_reviewer(caller, proposal, allow_self_approval).is_ok()
}

fn summary(schema: &Schema, proposal: &Proposal) -> String {
    let open: Vec<&ProposedChange> = proposal.open_changes().collect();
    let shown: Vec<&ProposedChange> = if open.is_empty() {
        proposal.changes.iter().collect()
    } else {
        open
    };
    let mut labels: Vec<String> = Vec::new();
    for change in shown {
        let scope = scope_text(change.locale.as_deref(), change.channel.as_deref());
        let label = if scope.is_empty() {
            Labels::new(schema, "en_US").field(&change.attribute)
        } else {
            format!(
                "{} ({scope})",
                Labels::new(schema, "en_US").field(&change.attribute)
            )
        };
        if !labels.contains(&label) {
            labels.push(label);
        }
    }
    if labels.len() > 4 {
        let more = labels.len() - 3;
        labels.truncate(3);
        labels.push(format!("{more} more"));
    }
    labels.join(", ")
}

fn non_empty(value: Option<&String>) -> Option<&str> {
    value.map(|v| v.trim()).filter(|v| !v.is_empty())
}

/// `GET /proposals`
async fn queue(
    State(state): State<AppState>,
    PageSession(session): PageSession,
    query: Result<Query<QueueQuery>, axum::extract::rejection::QueryRejection>,
) -> PageResult {
    let caller = read_catalog(&session)?;
    let Query(query) = query.map_err(AppError::from)?;
    let schema = state.schema.get(&state.db).await?;
    let now = state.clock.now();

    let status = non_empty(query.status.as_ref()).unwrap_or("submitted");
    let statuses = match status {
        "any" => Vec::new(),
        text => vec![Status::parse(text).ok_or_else(|| {
            AppError::BadRequest(format!("There is no proposal status {text:?}."))
        })?],
    };
    let family = non_empty(query.family.as_ref());
    if let Some(code) = family
        && schema.family(code).is_none()
    {
        return Err(AppError::BadRequest(format!("There is no family {code}.")).into());
    }
    let category = non_empty(query.category.as_ref());
    let categories = match category {
        Some(code) => {
            if schema.category(code).is_none() {
                return Err(AppError::BadRequest(format!("There is no category {code}.")).into());
            }
            Some(queue::category_subtree(&schema, code))
        }
        None => None,
    };
    let channel = non_empty(query.channel.as_ref());
    if let Some(code) = channel
        && schema.channel(code).is_none()
    {
        return Err(AppError::BadRequest(format!("There is no channel {code}.")).into());
    }
    let age_choice = non_empty(query.age.as_ref());
    let submitted_before = match age_choice {
        Some(choice) => {
            let (_, _, days) = AGES.iter().find(|(v, ..)| *v == choice).ok_or_else(|| {
                AppError::BadRequest(format!("Choose an age of 1, 3 or 7 days, not {choice:?}."))
            })?;
            Some(now.minus(time::Duration::days(*days)))
        }
        None => None,
    };
    let before_id = match non_empty(query.before_id.as_ref()) {
        Some(text) => Some(text.parse::<i64>().map_err(|_| {
            AppError::BadRequest(format!("The page marker {text:?} is not a number."))
        })?),
        None => None,
    };
    let author = non_empty(query.author.as_ref());
    let sku = non_empty(query.sku.as_ref());
    let filter = QueueFilter {
        proposals: ProposalFilter {
            statuses,
            author: author.map(str::to_owned),
            sku: sku.map(str::to_owned),
            family: family.map(str::to_owned),
            categories,
            submitted_before,
            before_id,
            ..ProposalFilter::default()
        },
        channel: channel.map(str::to_owned),
    };
    let found = queue::page(&state.db, &schema, &filter, PAGE_SIZE).await?;

    let allow_self = state.config.allow_self_approval;
    let rows: Vec<QueueRow> = found
        .proposals
        .iter()
        .map(|p| QueueRow {
            id: p.id,
            href: format!("/proposals/{}", p.id),
            product_href: format!("/products/{}", urlencode(&p.sku)),
            sku: p.sku.clone(),
            family: p.family.clone(),
            author: p.author.clone(),
            status: p.status.as_str(),
            open: p.open_changes().count(),
            summary: summary(&schema, p),
            age: p.submitted.map_or_else(
                || format!("created {}", age(now, p.created)),
                |at| age(now, at),
            ),
            selectable: may_review(&caller, p, allow_self),
        })
        .collect();
    let next_page = found.next_before.map(|id| {
        let mut href = format!("/proposals?before_id={id}&status={}", urlencode(status));
        for (name, value) in [
            ("family", family),
            ("category", category),
            ("author", author),
            ("sku", sku),
            ("age", age_choice),
            ("channel", channel),
        ] {
            if let Some(value) = value {
                href.push_str(&format!("&{name}={}", urlencode(value)));
            }
        }
        href
    });
    let mut status_options = vec![("any".to_owned(), "Any status".to_owned())];
    status_options.extend(
        Status::ALL
            .iter()
            .map(|s| (s.as_str().to_owned(), s.as_str().to_owned())),
    );
    let page = QueuePage {
        chrome: Chrome::new(&session, "/proposals", query.notice.as_deref()),
        any_selectable: rows.iter().any(|r| r.selectable),
        rows,
        statuses: choices(status_options, Some(status)),
        families: choices(
            schema.families.iter().map(|f| {
                (
                    f.code.clone(),
                    f.labels
                        .get("en_US")
                        .cloned()
                        .unwrap_or_else(|| f.code.clone()),
                )
            }),
            family,
        ),
        categories: category_choices(&schema, category),
        channels: choices(
            schema
                .channels
                .iter()
                .map(|c| (c.code.clone(), c.code.clone())),
            channel,
        ),
        ages: choices(
            AGES.iter()
                .map(|(v, l, _)| ((*v).to_owned(), (*l).to_owned())),
            age_choice,
        ),
        author: author.unwrap_or_default().to_owned(),
        sku: sku.unwrap_or_default().to_owned(),
        next_page,
        heading: if status == "submitted" {
            "Review queue"
        } else {
            "Proposals"
        },
    };
    Ok(render(StatusCode::OK, &page))
}

// ---- bulk approve ----

#[derive(Debug, Default, Deserialize)]
struct BulkForm {
    #[serde(default)]
    ids: Vec<i64>,
}

struct BulkRow {
    id: i64,
    href: String,
    sku: String,
    ok: bool,
    outcome: String,
}

#[derive(Template)]
#[template(path = "proposals/bulk.html")]
struct BulkPage {
    chrome: Chrome,
    approved: usize,
    total: usize,
    rows: Vec<BulkRow>,
    error: Option<&'static str>,
}

/// `POST /proposals/bulk-approve`: approves each chosen proposal fully, each
/// on its own, and reports what happened to every one.
async fn bulk_approve(
    State(state): State<AppState>,
    PageSession(session): PageSession,
    PageForm(form): PageForm<BulkForm>,
) -> PageResult {
    let caller = read_catalog(&session)?;
    caller
        .require(&Permission::Review)
        .map_err(AppError::from)?;
    let mut ids = form.ids;
    ids.sort_unstable_by(|a, b| b.cmp(a));
    ids.dedup();
    if ids.is_empty() {
        let page = BulkPage {
            chrome: Chrome::new(&session, "/proposals", None),
            approved: 0,
            total: 0,
            rows: Vec::new(),
            error: Some("Select at least one proposal to approve."),
        };
        return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page));
    }
    let schema = state.schema.get(&state.db).await?;
    let mut rows = Vec::with_capacity(ids.len());
    for id in ids.iter().copied().take(500) {
        let result = proposals::approve(
            &state.db,
            &schema,
            &caller,
            id,
            None,
            state.config.allow_self_approval,
            state.clock.now(),
        )
        .await;
        let href = format!("/proposals/{id}");
        rows.push(match result {
            Ok(p) if p.status == Status::Approved => BulkRow {
                id,
                href,
                sku: p.sku,
                ok: true,
                outcome: "approved".to_owned(),
            },
            Ok(p) => BulkRow {
                id,
                href,
                sku: p.sku,
                ok: false,
                outcome: format!(
                    "now {}: a field it changes was changed in master since; its author must rebase",
                    p.status.as_str()
                ),
            },
            Err(err) => {
                let sku = match proposals::get(state.db.pool(), id).await {
                    // Someone else's draft does not exist: not even its SKU shows.
                    Ok(p) if p.visible_to(&caller) => p.sku,
                    _ => String::new(),
                };
                let err = AppError::from(err);
                if matches!(err, AppError::Internal(_)) {
                    return Err(err.into());
                }
                BulkRow {
                    id,
                    href,
                    sku,
                    ok: false,
                    outcome: error_text(&err),
                }
            }
        });
    }
    let page = BulkPage {
        chrome: Chrome::new(&session, "/proposals", None),
        approved: rows.iter().filter(|r| r.ok).count(),
        total: rows.len(),
        rows,
        error: None,
    };
    Ok(render(StatusCode::OK, &page))
}

/// An error for people: the message, and each field problem with its place.
fn error_text(err: &AppError) -> String {
    let details = err.details();
    if details.is_empty() {
        return err.public_message();
    }
    details
        .iter()
        .map(detail_text)
        .collect::<Vec<_>>()
        .join("; ")
}

fn detail_text(detail: &FieldError) -> String {
    match &detail.field {
        Some(field) => {
            let scope = scope_text(detail.locale.as_deref(), detail.channel.as_deref());
            if scope.is_empty() {
                format!("{field}: {}", detail.message)
            } else {
                format!("{field} ({scope}): {}", detail.message)
            }
        }
        None => detail.message.clone(),
    }
}

// ---- the proposal page ----

/// One image of a before or after strip.
struct MediaThumb {
    id: String,
    href: String,
    thumb: String,
    alt: String,
    /// `main` (position 1) or `gallery`.
    role: &'static str,
    /// `pending`, `approved`, `rejected` or `missing`.
    status: &'static str,
    /// `added` (after only), `removed` (before only), `moved` (in both,
    /// out of order), or empty.
    mark: &'static str,
}

/// An `assets` change as two thumbnail strips.
struct MediaDiff {
    before: Vec<MediaThumb>,
    after: Vec<MediaThumb>,
}

fn is_assets(schema: &Schema, attribute: &str) -> bool {
    schema
        .attribute(attribute)
        .is_some_and(|a| a.kind == crate::catalog::schema::AttributeType::Assets)
}

fn asset_ids(data: Option<&Json>) -> Vec<String> {
    data.and_then(Json::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The assets the proposal's `assets` changes name, by id.
async fn linked_assets(
    state: &AppState,
    schema: &Schema,
    proposal: &Proposal,
) -> Result<HashMap<String, crate::media::Asset>, PageError> {
    let ids: Vec<String> = proposal
        .changes
        .iter()
        .filter(|c| is_assets(schema, &c.attribute))
        .flat_map(|c| {
            let mut ids = asset_ids(c.before.as_ref());
            ids.extend(asset_ids(c.after.as_ref()));
            ids
        })
        .collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut conn = state.db.pool().acquire().await.map_err(AppError::from)?;
    Ok(crate::media::assets::many(&mut conn, &ids)
        .await
        .map_err(AppError::from)?
        .into_iter()
        .map(|a| (a.id.clone(), a))
        .collect())
}

/// Before and after as strips: what the longest common order keeps is
/// unmarked; the rest is added, removed, or (in both lists) moved.
fn media_diff(
    assets: &HashMap<String, crate::media::Asset>,
    before: &[String],
    after: &[String],
) -> MediaDiff {
    let mut kept_before = vec![false; before.len()];
    let mut kept_after = vec![false; after.len()];
    for op in similar::capture_diff_slices(Algorithm::Myers, before, after) {
        if let DiffOp::Equal {
            old_index,
            new_index,
            len,
        } = op
        {
            kept_before[old_index..old_index + len].fill(true);
            kept_after[new_index..new_index + len].fill(true);
        }
    }
    let strip = |ids: &[String], kept: &[bool], other: &[String], gone: &'static str| {
        ids.iter()
            .zip(kept)
            .enumerate()
            .map(|(index, (id, kept))| {
                let asset = assets.get(id);
                MediaThumb {
                    href: format!("/media/{}", urlencode(id)),
                    thumb: format!("/media/{}/thumbnail", urlencode(id)),
                    alt: asset.map(|a| a.filename.clone()).unwrap_or_default(),
                    role: if index == 0 { "main" } else { "gallery" },
                    status: asset.map_or("missing", |a| a.status.as_str()),
                    mark: match (kept, other.contains(id)) {
                        (true, _) => "",
                        (false, true) => "moved",
                        (false, false) => gone,
                    },
                    id: id.clone(),
                }
            })
            .collect()
    };
    MediaDiff {
        before: strip(before, &kept_before, after, "removed"),
        after: strip(after, &kept_after, before, "added"),
    }
}

struct DiffRow {
    key: String,
    label: String,
    scope: String,
    before: Vec<Segment>,
    after: Vec<Segment>,
    /// For an `assets` attribute: both lists as thumbnail strips.
    media: Option<MediaDiff>,
    /// For rich text: the diff of the raw HTML, shown on demand.
    html_diff: Option<HtmlDiff>,
    state: &'static str,
    selectable: bool,
    checked: bool,
}

struct ConflictRow {
    name: String,
    label: String,
    scope: String,
    base: String,
    theirs: String,
    mine: String,
    choice: Option<Resolution>,
}

impl ConflictRow {
    fn keeps_mine(&self) -> bool {
        self.choice == Some(Resolution::KeepMine)
    }

    fn takes_theirs(&self) -> bool {
        self.choice == Some(Resolution::TakeTheirs)
    }
}

struct ReadinessRow {
    channel: String,
    verdict: &'static str,
    good: bool,
    filled: Vec<String>,
    now_missing: Vec<String>,
    still_missing: Vec<String>,
}

struct CommentRow {
    author: String,
    at: String,
    kind: String,
    body: String,
}

/// What the user typed and what was wrong with it, kept when a form is refused.
#[derive(Debug, Default)]
struct PageInput {
    comment: String,
    comment_error: Option<String>,
    reject_comment: String,
    reject_error: Option<String>,
    submit_note: String,
    submit_error: Option<String>,
    approve_error: Option<String>,
    rebase_error: Option<String>,
    checked: Vec<String>,
    resolutions: HashMap<String, Resolution>,
}

#[derive(Template)]
#[template(path = "proposals/page.html")]
struct ProposalPage {
    chrome: Chrome,
    id: i64,
    href: String,
    sku: String,
    product_href: String,
    family: String,
    status: &'static str,
    author: String,
    note: String,
    source: String,
    base_version: i64,
    current_version: Option<i64>,
    created: String,
    submitted: Option<String>,
    decided: Option<String>,
    rows: Vec<DiffRow>,
    conflicts: Vec<ConflictRow>,
    /// `None`: nothing open to check; `Some(empty)`: every open change passes.
    validation: Option<Vec<String>>,
    readiness: Vec<ReadinessRow>,
    comments: Vec<CommentRow>,
    can_review: bool,
    own_proposal_hint: bool,
    self_approval: bool,
    can_submit: bool,
    can_withdraw: bool,
    can_rebase: bool,
    can_comment: bool,
    input: PageInput,
}

/// A channel's readiness impact as the page shows it.
fn readiness_row(impact: ChannelImpact) -> ReadinessRow {
    ReadinessRow {
        channel: impact.channel,
        verdict: impact.verdict.as_str(),
        good: impact.verdict.ends_ready(),
        filled: impact.filled,
        now_missing: impact.now_missing,
        still_missing: impact.still_missing,
    }
}

async fn build_page(
    state: &AppState,
    session: &Session,
    id: i64,
    input: PageInput,
    notice: Option<&str>,
) -> Result<ProposalPage, PageError> {
    let caller = read_catalog(session)?;
    let proposal = proposals::get(state.db.pool(), id).await?;
    if !proposal.visible_to(&caller) {
        return Err(AppError::NotFound(format!("There is no proposal {id}.")).into());
    }
    let schema = state.schema.get(&state.db).await?;
    let stored = store::find_by_id(state.db.pool(), proposal.product_id).await?;
    let model = match stored.as_ref().and_then(|s| s.parent_id) {
        Some(parent) => store::find_by_id(state.db.pool(), parent)
            .await?
            .map(|p| p.product),
        None => None,
    };
    let now = state.clock.now();
    let allow_self = state.config.allow_self_approval;
    let is_author = proposal.author_user_id == Some(caller.user.id);
    let can_review = may_review(&caller, &proposal, allow_self);

    let labels = Labels::new(&schema, "en_US");
    let linked = linked_assets(state, &schema, &proposal).await?;
    let rows = proposal
        .changes
        .iter()
        .map(|change| {
            let before = labels.text(&change.attribute, change.before.as_ref());
            let after = labels.text(&change.attribute, change.after.as_ref());
            let (before, after) = match (before, after) {
                (Some(b), Some(a)) => word_diff(&b, &a),
                (b, a) => {
                    let whole = |text: Option<String>| {
                        text.map(|text| {
                            vec![Segment {
                                text,
                                changed: true,
                            }]
                        })
                        .unwrap_or_default()
                    };
                    (whole(b), whole(a))
                }
            };
            let key = encode_key(change);
            DiffRow {
                media: is_assets(&schema, &change.attribute).then(|| {
                    media_diff(
                        &linked,
                        &asset_ids(change.before.as_ref()),
                        &asset_ids(change.after.as_ref()),
                    )
                }),
                label: labels.field(&change.attribute),
                scope: scope_text(change.locale.as_deref(), change.channel.as_deref()),
                html_diff: labels.html_diff(
                    &change.attribute,
                    change.before.as_ref(),
                    change.after.as_ref(),
                ),
                before,
                after,
                state: match change.state {
                    FieldState::Open => "open",
                    FieldState::Applied => "applied",
                    FieldState::Conflict => "conflict",
                    FieldState::Dropped => "dropped",
                },
                selectable: can_review && change.state == FieldState::Open,
                checked: input.checked.contains(&key),
                key,
            }
        })
        .collect();

    let can_rebase = is_author && proposal.status == Status::Conflict;
    let conflicts = if proposal.status == Status::Conflict {
        proposal
            .changes
            .iter()
            .filter(|c| c.state == FieldState::Conflict)
            .map(|change| {
                let name = format!("r:{}", encode_key(change));
                let shown = |data: Option<&Json>| {
                    labels
                        .text(&change.attribute, data)
                        .unwrap_or_else(|| "(no value)".to_owned())
                };
                ConflictRow {
                    label: labels.field(&change.attribute),
                    scope: scope_text(change.locale.as_deref(), change.channel.as_deref()),
                    base: shown(change.before.as_ref()),
                    theirs: shown(change.theirs.as_ref()),
                    mine: shown(change.after.as_ref()),
                    choice: input.resolutions.get(&name).copied(),
                    name,
                }
            })
            .collect()
    } else {
        Vec::new()
    };

    let changes = proposal.open_change_set();
    let (validation, readiness) = match &stored {
        Some(stored) if !changes.is_empty() => {
            let master = &stored.product;
            // Checked as the writer approval applies it with (an import
            // proposal as the import), so the page says what approval does.
            let writer = proposals::applying_writer(&proposal, caller.actor());
            let validation = match write::preview(&schema, &writer, master, &changes) {
                Ok(_) => Vec::new(),
                Err(WriteError::Invalid(errors) | WriteError::Forbidden(errors)) => {
                    errors.iter().map(detail_text).collect()
                }
                Err(other) => vec![error_text(&AppError::from(other))],
            };
            let (before, _, after) = readiness::impact_values(master, model.as_ref(), &changes);
            let linked = readiness::linked_assets(&state.db, &schema, [&before, &after]).await?;
            (
                Some(validation),
                readiness::impact(&schema, master, model.as_ref(), &changes, &linked)
                    .into_iter()
                    .map(readiness_row)
                    .collect(),
            )
        }
        _ => (None, Vec::new()),
    };

    let comments = proposals::comments(&state.db, id)
        .await?
        .into_iter()
        .map(|c| CommentRow {
            author: c.author,
            at: c.at.display(),
            kind: c.kind,
            body: c.body,
        })
        .collect();

    Ok(ProposalPage {
        chrome: Chrome::new(session, "/proposals", notice),
        id,
        href: format!("/proposals/{id}"),
        product_href: format!("/products/{}", urlencode(&proposal.sku)),
        sku: proposal.sku.clone(),
        family: proposal.family.clone(),
        status: proposal.status.as_str(),
        author: proposal.author.clone(),
        note: proposal.note.clone(),
        source: proposal.source.clone(),
        base_version: proposal.base_version,
        current_version: stored.as_ref().map(|s| s.product.version),
        created: format!(
            "{} ({})",
            proposal.created.display(),
            age(now, proposal.created)
        ),
        submitted: proposal
            .submitted
            .map(|at| format!("{} ({})", at.display(), age(now, at))),
        decided: match (&proposal.decided_by, proposal.decided_at) {
            (Some(by), Some(at)) => Some(format!("{by}, {}", at.display())),
            (Some(by), None) => Some(by.clone()),
            (None, Some(at)) => Some(at.display()),
            (None, None) => None,
        },
        rows,
        conflicts,
        validation,
        readiness,
        comments,
        can_review,
        own_proposal_hint: is_author
            && proposal.status == Status::Submitted
            && !allow_self
            && caller.may(&Permission::Review),
        self_approval: allow_self && is_author && can_review,
        can_submit: is_author
            && proposal.status == Status::Draft
            && caller.may(&Permission::EditCatalog),
        can_withdraw: is_author && proposal.status.is_open(),
        can_rebase,
        can_comment: caller.may(&Permission::EditCatalog) || caller.may(&Permission::Review),
        input,
    })
}

#[derive(Debug, Deserialize)]
struct PageQuery {
    notice: Option<String>,
}

/// `GET /proposals/{id}`
async fn page(
    State(state): State<AppState>,
    PageSession(session): PageSession,
    Path(id): Path<i64>,
    Query(query): Query<PageQuery>,
) -> PageResult {
    let page = build_page(
        &state,
        &session,
        id,
        PageInput::default(),
        query.notice.as_deref(),
    )
    .await?;
    Ok(render(StatusCode::OK, &page))
}

/// A refused action's message to show beside its form (422), or the error
/// page for everything that is not about the input.
fn input_error(err: WorkflowError) -> Result<String, PageError> {
    let err = AppError::from(err);
    match err {
        AppError::Validation { .. } => Ok(error_text(&err)),
        other => Err(PageError(other)),
    }
}

async fn rerender(state: &AppState, session: &Session, id: i64, input: PageInput) -> PageResult {
    let page = build_page(state, session, id, input, None).await?;
    Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

fn done(id: i64, notice: &str) -> PageResult {
    Ok(Redirect::to(&format!("/proposals/{id}?notice={notice}")).into_response())
}

#[derive(Debug, Default, Deserialize)]
struct CommentForm {
    #[serde(default)]
    body: String,
}

/// `POST /proposals/{id}/comments`
async fn add_comment(
    State(state): State<AppState>,
    PageSession(session): PageSession,
    Path(id): Path<i64>,
    PageForm(form): PageForm<CommentForm>,
) -> PageResult {
    let caller = read_catalog(&session)?;
    match proposals::comment(&state.db, &caller, id, &form.body, state.clock.now()).await {
        Ok(()) => done(id, "comment_added"),
        Err(err) => {
            let input = PageInput {
                comment_error: Some(input_error(err)?),
                comment: form.body,
                ..PageInput::default()
            };
            rerender(&state, &session, id, input).await
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct ApproveForm {
    #[serde(default)]
    fields: Vec<String>,
    #[serde(default)]
    scope: String,
}

/// `POST /proposals/{id}/approve`: all open fields (`scope=all`) or the checked ones.
async fn approve(
    State(state): State<AppState>,
    PageSession(session): PageSession,
    Path(id): Path<i64>,
    PageForm(form): PageForm<ApproveForm>,
) -> PageResult {
    let caller = read_catalog(&session)?;
    let allow_self = state.config.allow_self_approval;
    let fields = if form.scope == "all" {
        None
    } else {
        match form
            .fields
            .iter()
            .map(|f| decode_key(f))
            .collect::<Result<Vec<_>, _>>()
        {
            Ok(fields) => Some(fields),
            Err(forged) => {
                // Rights, existence and state before the form, as the API does.
                proposals::check_review(&state.db, &caller, id, allow_self).await?;
                return Err(forged.into());
            }
        }
    };
    if fields.as_ref().is_some_and(Vec::is_empty) {
        // Rights, existence, four eyes and state first: an empty choice from
        // someone who may not approve is still that refusal, not a form error.
        proposals::check_review(&state.db, &caller, id, allow_self).await?;
        let input = PageInput {
            approve_error: Some("Choose at least one field to approve, or approve all.".to_owned()),
            ..PageInput::default()
        };
        return rerender(&state, &session, id, input).await;
    }
    let schema = state.schema.get(&state.db).await?;
    let result = proposals::approve(
        &state.db,
        &schema,
        &caller,
        id,
        fields.as_deref(),
        allow_self,
        state.clock.now(),
    )
    .await;
    match result {
        Ok(p) => done(
            id,
            match p.status {
                Status::Approved => "proposal_approved",
                Status::Conflict => "proposal_conflict",
                _ => "fields_approved",
            },
        ),
        Err(err) => {
            let input = PageInput {
                approve_error: Some(input_error(err)?),
                checked: form.fields,
                ..PageInput::default()
            };
            rerender(&state, &session, id, input).await
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct RejectForm {
    #[serde(default)]
    comment: String,
}

/// `POST /proposals/{id}/reject`: a comment is required.
async fn reject(
    State(state): State<AppState>,
    PageSession(session): PageSession,
    Path(id): Path<i64>,
    PageForm(form): PageForm<RejectForm>,
) -> PageResult {
    let caller = read_catalog(&session)?;
    let result = proposals::reject(
        &state.db,
        &caller,
        id,
        &form.comment,
        state.config.allow_self_approval,
        state.clock.now(),
    )
    .await;
    match result {
        Ok(_) => done(id, "proposal_rejected"),
        // Only a reviewer who may decide it now gets this far: the comment
        // is checked after rights, existence and state.
        Err(WorkflowError::Invalid(message)) => {
            let input = PageInput {
                reject_error: Some(message),
                reject_comment: form.comment,
                ..PageInput::default()
            };
            rerender(&state, &session, id, input).await
        }
        Err(err) => Err(err.into()),
    }
}

#[derive(Debug, Default, Deserialize)]
struct SubmitForm {
    #[serde(default)]
    note: String,
}

/// `POST /proposals/{id}/submit`: the author sends their draft to review.
async fn submit(
    State(state): State<AppState>,
    PageSession(session): PageSession,
    Path(id): Path<i64>,
    PageForm(form): PageForm<SubmitForm>,
) -> PageResult {
    let caller = read_catalog(&session)?;
    match proposals::submit(&state.db, &caller, id, &form.note, state.clock.now()).await {
        Ok(_) => done(id, "proposal_submitted"),
        Err(err) => {
            let input = PageInput {
                submit_error: Some(input_error(err)?),
                submit_note: form.note,
                ..PageInput::default()
            };
            rerender(&state, &session, id, input).await
        }
    }
}

/// `POST /proposals/{id}/withdraw`
async fn withdraw(
    State(state): State<AppState>,
    PageSession(session): PageSession,
    Path(id): Path<i64>,
) -> PageResult {
    let caller = read_catalog(&session)?;
    proposals::withdraw(&state.db, &caller, id, state.clock.now()).await?;
    done(id, "proposal_withdrawn")
}

/// `POST /proposals/{id}/rebase`: `r:attribute|locale|channel` = `mine` or
/// `theirs` for every conflicting field.
async fn rebase(
    State(state): State<AppState>,
    PageSession(session): PageSession,
    Path(id): Path<i64>,
    PageForm(form): PageForm<HashMap<String, String>>,
) -> PageResult {
    let caller = read_catalog(&session)?;
    let mut resolutions = Vec::new();
    let mut kept = HashMap::new();
    for (name, choice) in &form {
        let Some(encoded) = name.strip_prefix("r:") else {
            continue;
        };
        let resolution = match choice.as_str() {
            "mine" => Ok(Resolution::KeepMine),
            "theirs" => Ok(Resolution::TakeTheirs),
            other => Err(AppError::BadRequest(format!(
                "Choose keep mine or take theirs, not {other:?}."
            ))),
        };
        match resolution.and_then(|r| Ok((decode_key(encoded)?, r))) {
            Ok((key, resolution)) => {
                resolutions.push((key, resolution));
                kept.insert(name.clone(), resolution);
            }
            Err(forged) => {
                // Rights, existence and state before the form.
                proposals::check_rebase(&state.db, &caller, id).await?;
                return Err(forged.into());
            }
        }
    }
    let schema = state.schema.get(&state.db).await?;
    let result = proposals::rebase(
        &state.db,
        &schema,
        &caller,
        id,
        &resolutions,
        state.clock.now(),
    )
    .await;
    match result {
        Ok(p) if p.status == Status::Withdrawn => done(id, "proposal_rebased_empty"),
        Ok(_) => done(id, "proposal_rebased"),
        Err(err) => {
            let input = PageInput {
                rebase_error: Some(input_error(err)?),
                resolutions: kept,
                ..PageInput::default()
            };
            rerender(&state, &session, id, input).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marked(segments: &[Segment]) -> String {
        segments
            .iter()
            .map(|s| {
                if s.changed {
                    format!("[{}]", s.text)
                } else {
                    s.text.clone()
                }
            })
            .collect()
    }

    #[test]
    fn word_diff_marks_removed_and_added_words() {
        let (before, after) = word_diff("Light trail shoe, blue", "Light trail runner, blue");
        assert_eq!(marked(&before), "Light trail [shoe], blue");
        assert_eq!(marked(&after), "Light trail [runner], blue");
    }

    #[test]
    fn word_diff_joins_a_replaced_phrase() {
        let (before, after) = word_diff("a quick brown fox", "a slow red fox");
        assert_eq!(marked(&before), "a [quick brown] fox");
        assert_eq!(marked(&after), "a [slow red] fox");
    }

    #[test]
    fn word_diff_handles_insertions_and_empty_sides() {
        let (before, after) = word_diff("one three", "one two three");
        assert_eq!(marked(&before), "one three");
        assert_eq!(marked(&after), "one [two ]three");
        let (before, after) = word_diff("", "new");
        assert!(before.is_empty());
        assert_eq!(marked(&after), "[new]");
        let (before, after) = word_diff("same", "same");
        assert_eq!(marked(&before), "same");
        assert_eq!(marked(&after), "same");
    }

    #[test]
    fn field_keys_round_trip() {
        let key = decode_key("name|en_US|").unwrap();
        assert_eq!(key, ValueKey::new("name", Some("en_US"), None));
        let key = decode_key("description|de_DE|web").unwrap();
        assert_eq!(
            key,
            ValueKey::new("description", Some("de_DE"), Some("web"))
        );
        assert!(decode_key("name").is_err());
        assert!(decode_key("|en_US|").is_err());
    }
}
