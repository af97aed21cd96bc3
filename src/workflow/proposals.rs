//! Proposals: changes to reviewed-lane attributes and to a product's
//! structure (categories, enabled) wait here until a second person approves
//! them. The master record never holds an unapproved reviewed-lane value.
//!
//! A person's edits accumulate in one draft per author and product until
//! they submit it with a note (the API submits at once). An approver
//! approves all or some fields, or rejects with a comment; approval applies
//! through the single write path. A field changed in master since the
//! proposal was made turns the proposal into a conflict that its author
//! rebases (keep mine / take theirs, per field) and resubmits.

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use sqlx::any::AnyRow;
use sqlx::{Any, AnyConnection, Executor, Row};

use super::write::{self, ChangeSet, Outcome, ValueChange, WriteError, Writer};
use crate::audit::{self, Actor, AuditEvent};
use crate::auth::{Caller, Permission};
use crate::catalog::product::{Product, ValueKey};
use crate::catalog::schema::{Lane, Schema};
use crate::catalog::{store, values};
use crate::db::{Backend, Db, Timestamp};
use crate::error::FieldError;

/// Where a proposal is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Draft,
    Submitted,
    Approved,
    Rejected,
    Conflict,
    Withdrawn,
}

impl Status {
    pub const ALL: [Status; 6] = [
        Status::Draft,
        Status::Submitted,
        Status::Approved,
        Status::Rejected,
        Status::Conflict,
        Status::Withdrawn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::Submitted => "submitted",
            Status::Approved => "approved",
            Status::Rejected => "rejected",
            Status::Conflict => "conflict",
            Status::Withdrawn => "withdrawn",
        }
    }

    pub fn parse(text: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Still waiting for someone (the author or an approver).
    pub fn is_open(self) -> bool {
        matches!(self, Status::Draft | Status::Submitted | Status::Conflict)
    }
}

/// Where a field of a proposal stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldState {
    /// Waiting for a decision.
    Open,
    /// Approved and written to master.
    Applied,
    /// Master changed it since: the author must rebase.
    Conflict,
    /// Given up at rebase (the author took theirs).
    Dropped,
}

/// One proposed change: before (master when proposed) and after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProposedChange {
    pub attribute: String,
    pub locale: Option<String>,
    pub channel: Option<String>,
    pub before: Option<Json>,
    pub after: Option<Json>,
    pub state: FieldState,
    /// Master's value when a conflict was found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub theirs: Option<Json>,
}

impl ProposedChange {
    pub fn key(&self) -> ValueKey {
        ValueKey::new(
            &self.attribute,
            self.locale.as_deref(),
            self.channel.as_deref(),
        )
    }
}

/// Adds a proposed change to the change set that would apply it.
fn add_to_change_set(set: &mut ChangeSet, change: &ProposedChange) {
    match change.attribute.as_str() {
        "enabled" => set.enabled = change.after.as_ref().and_then(Json::as_bool),
        "categories" => {
            set.categories = Some(crate::catalog::product::category_codes(
                change.after.as_ref(),
            ));
        }
        _ => set.values.push(ValueChange {
            key: change.key(),
            data: change.after.clone(),
        }),
    }
}

/// A proposal as stored.
#[derive(Debug, Clone, Serialize)]
pub struct Proposal {
    pub id: i64,
    pub sku: String,
    #[serde(skip)]
    pub product_id: i64,
    pub family: String,
    pub status: Status,
    pub author: String,
    #[serde(skip)]
    pub author_user_id: Option<i64>,
    pub source: String,
    pub note: String,
    pub base_version: i64,
    pub changes: Vec<ProposedChange>,
    pub created: Timestamp,
    pub updated: Timestamp,
    pub submitted: Option<Timestamp>,
    pub decided_by: Option<String>,
    pub decided_at: Option<Timestamp>,
}

impl Proposal {
    /// The open changes as the change set that would apply them.
    pub fn open_change_set(&self) -> ChangeSet {
        let mut set = ChangeSet::default();
        for change in self.open_changes() {
            add_to_change_set(&mut set, change);
        }
        set
    }

    /// A draft is its author's private work; everything else is visible to
    /// every reader of the catalog.
    pub fn visible_to(&self, caller: &Caller) -> bool {
        self.status != Status::Draft || self.author_user_id == Some(caller.user.id)
    }

    pub fn open_changes(&self) -> impl Iterator<Item = &ProposedChange> {
        self.changes.iter().filter(|c| c.state == FieldState::Open)
    }
}

/// A comment on a proposal (decisions are comments too).
#[derive(Debug, Clone, Serialize)]
pub struct Comment {
    pub author: String,
    pub at: Timestamp,
    pub kind: String,
    pub body: String,
}

/// Why a workflow action was refused.
#[derive(Debug, thiserror::Error)]
pub enum WorkflowError {
    #[error("no proposal {0}")]
    NotFound(i64),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    WrongState(String),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Write(#[from] WriteError),
    #[error(transparent)]
    Auth(#[from] crate::auth::AuthError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl From<WorkflowError> for crate::error::AppError {
    fn from(err: WorkflowError) -> Self {
        use crate::error::AppError;
        match err {
            WorkflowError::NotFound(_) => AppError::NotFound(err.to_string()),
            WorkflowError::Forbidden(message) => AppError::Forbidden(message),
            WorkflowError::WrongState(message) => AppError::Conflict(message),
            WorkflowError::Invalid(message) => AppError::validation(vec![FieldError {
                message,
                ..FieldError::default()
            }]),
            WorkflowError::Write(write) => write.into(),
            WorkflowError::Auth(auth) => auth.into(),
            WorkflowError::Database(db) => AppError::internal(db),
        }
    }
}

const COLUMNS: &str = "id, product_id, sku, family, author_user_id, author_label, source, status, note, \
     base_version, changes, created_at, updated_at, submitted_at, decided_by_label, decided_at";

fn from_row(row: &AnyRow) -> Result<Proposal, sqlx::Error> {
    let status: String = row.try_get("status")?;
    let changes: String = row.try_get("changes")?;
    Ok(Proposal {
        id: row.try_get("id")?,
        product_id: row.try_get("product_id")?,
        sku: row.try_get("sku")?,
        family: row.try_get("family")?,
        status: Status::parse(&status)
            .ok_or_else(|| sqlx::Error::Decode(format!("proposal status {status}").into()))?,
        author: row.try_get("author_label")?,
        author_user_id: row.try_get("author_user_id")?,
        source: row.try_get("source")?,
        note: row.try_get("note")?,
        base_version: row.try_get("base_version")?,
        changes: serde_json::from_str(&changes).map_err(|err| sqlx::Error::Decode(err.into()))?,
        created: row.try_get("created_at")?,
        updated: row.try_get("updated_at")?,
        submitted: row.try_get("submitted_at")?,
        decided_by: row.try_get("decided_by_label")?,
        decided_at: row.try_get("decided_at")?,
    })
}

/// One proposal.
pub async fn get<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    id: i64,
) -> Result<Proposal, WorkflowError> {
    let sql = format!("SELECT {COLUMNS} FROM proposals WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(executor)
        .await?
        .ok_or(WorkflowError::NotFound(id))?;
    Ok(from_row(&row)?)
}

async fn get_locked(conn: &mut AnyConnection, id: i64) -> Result<Proposal, WorkflowError> {
    let lock = Backend::of(conn).lock_rows_of("proposals");
    let sql = format!("SELECT {COLUMNS} FROM proposals WHERE id = $1{lock}");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(WorkflowError::NotFound(id))?;
    Ok(from_row(&row)?)
}

/// The proposal as `caller` may know it: someone else's draft does not
/// exist for them, on every route.
fn visible(caller: &Caller, proposal: Proposal) -> Result<Proposal, WorkflowError> {
    if proposal.visible_to(caller) {
        Ok(proposal)
    } else {
        Err(WorkflowError::NotFound(proposal.id))
    }
}

/// Filters of the review queue and `GET /api/v1/proposals`.
#[derive(Debug, Clone, Default)]
pub struct ProposalFilter {
    pub statuses: Vec<Status>,
    /// Part of the author's e-mail.
    pub author: Option<String>,
    pub sku: Option<String>,
    pub family: Option<String>,
    /// Proposals of products in any of these categories.
    pub categories: Option<Vec<String>>,
    /// Submitted before this moment (age filter).
    pub submitted_before: Option<Timestamp>,
    /// Proposals with an id below this (paging, newest first).
    pub before_id: Option<i64>,
    pub limit: i64,
}

/// Proposals, newest first.
pub async fn list(db: &Db, filter: &ProposalFilter) -> Result<Vec<Proposal>, WorkflowError> {
    let statuses: Vec<&str> = filter.statuses.iter().map(|s| s.as_str()).collect();
    let mut conditions = vec![
        "($1 IS NULL OR LOWER(author_label) LIKE $1)".to_owned(),
        "($2 IS NULL OR sku = $2)".to_owned(),
        "($3 IS NULL OR family = $3)".to_owned(),
        "($4 IS NULL OR submitted_at < $4)".to_owned(),
        "($5 IS NULL OR id < $5)".to_owned(),
    ];
    let mut next = 7;
    let mut placeholders = |count: usize| {
        let list: Vec<String> = (0..count.max(1))
            .map(|i| format!("${}", next + i))
            .collect();
        next += count.max(1);
        list.join(", ")
    };
    if !statuses.is_empty() {
        conditions.push(format!("status IN ({})", placeholders(statuses.len())));
    }
    let categories = filter.categories.clone();
    if let Some(codes) = &categories {
        conditions.push(format!(
            "EXISTS (SELECT 1 FROM product_categories pc WHERE pc.product_id = proposals.product_id \
             AND pc.category IN ({}))",
            placeholders(codes.len())
        ));
    }
    let sql = format!(
        "SELECT {COLUMNS} FROM proposals WHERE {} ORDER BY id DESC LIMIT $6",
        conditions.join(" AND ")
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(
            filter
                .author
                .as_deref()
                .map(|a| format!("%{}%", a.to_lowercase().replace(['%', '_'], ""))),
        )
        .bind(filter.sku.clone())
        .bind(filter.family.clone())
        .bind(filter.submitted_before)
        .bind(filter.before_id)
        .bind(filter.limit.clamp(1, 500));
    for status in &statuses {
        query = query.bind(*status);
    }
    if let Some(codes) = &categories {
        if codes.is_empty() {
            query = query.bind("-none-");
        }
        for code in codes {
            query = query.bind(code.clone());
        }
    }
    let rows = query.fetch_all(db.pool()).await?;
    Ok(rows.iter().map(from_row).collect::<Result<_, _>>()?)
}

/// Submitted proposals waiting for review.
pub async fn queue_size(db: &Db) -> Result<i64, WorkflowError> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM proposals WHERE status = 'submitted'")
        .fetch_one(db.pool())
        .await?;
    Ok(row.try_get("n")?)
}

/// The product as its author sees it in the form: master with their own
/// draft's open changes on top, and the value keys the draft supplies.
pub fn with_draft(master: &Product, draft: Option<&Proposal>) -> (Product, Vec<ValueKey>) {
    let mut shown = master.clone();
    let mut drafted = Vec::new();
    for change in draft.into_iter().flat_map(Proposal::open_changes) {
        let key = change.key();
        shown.set_field(&key, change.after.as_ref());
        if !matches!(change.attribute.as_str(), "enabled" | "categories") {
            drafted.push(key);
        }
    }
    (shown, drafted)
}

/// The author's open draft for a product, if any.
pub async fn draft_of(
    db: &Db,
    product_id: i64,
    user_id: i64,
) -> Result<Option<Proposal>, WorkflowError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM proposals WHERE product_id = $1 AND author_user_id = $2 AND status = 'draft'"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(product_id)
        .bind(user_id)
        .fetch_optional(db.pool())
        .await?;
    Ok(row.as_ref().map(from_row).transpose()?)
}

pub async fn comments(db: &Db, id: i64) -> Result<Vec<Comment>, WorkflowError> {
    let rows = sqlx::query("SELECT author_label, at, kind, body FROM proposal_comments WHERE proposal_id = $1 ORDER BY id")
        .bind(id)
        .fetch_all(db.pool())
        .await?;
    rows.iter()
        .map(|row| {
            Ok(Comment {
                author: row.try_get("author_label")?,
                at: row.try_get("at")?,
                kind: row.try_get("kind")?,
                body: row.try_get("body")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Into::into)
}

async fn add_comment(
    conn: &mut AnyConnection,
    id: i64,
    actor: &Actor,
    kind: &str,
    body: &str,
    now: Timestamp,
) -> Result<(), WorkflowError> {
    sqlx::query(
        "INSERT INTO proposal_comments (proposal_id, author_user_id, author_label, at, kind, body) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(actor.user_id)
    .bind(&actor.label)
    .bind(now)
    .bind(kind)
    .bind(body)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn save(
    conn: &mut AnyConnection,
    proposal: &Proposal,
    now: Timestamp,
) -> Result<(), WorkflowError> {
    sqlx::query(
        "UPDATE proposals SET status = $1, note = $2, base_version = $3, changes = $4, updated_at = $5, \
         submitted_at = $6, decided_by_label = $7, decided_at = $8 WHERE id = $9",
    )
    .bind(proposal.status.as_str())
    .bind(&proposal.note)
    .bind(proposal.base_version)
    .bind(serde_json::to_string(&proposal.changes).unwrap_or_else(|_| "[]".into()))
    .bind(now)
    .bind(proposal.submitted)
    .bind(proposal.decided_by.clone())
    .bind(proposal.decided_at)
    .bind(proposal.id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The lane a person's change of `attribute` takes. Asset links are always
/// reviewed, whatever the attribute says; unknown attributes go to review
/// (where they are refused like anywhere else).
pub fn lane_of(schema: &Schema, attribute: &str) -> Lane {
    match schema.attribute(attribute) {
        Some(found) if found.kind == crate::catalog::schema::AttributeType::Assets => {
            Lane::Reviewed
        }
        Some(found) => found.lane,
        None => Lane::Reviewed,
    }
}

/// Splits a person's change set: fast-lane values apply at once; reviewed-lane
/// values and structure changes (enabled, categories) go to review.
pub fn split(schema: &Schema, changes: &ChangeSet) -> (ChangeSet, ChangeSet) {
    let mut direct = ChangeSet::default();
    let mut reviewed = ChangeSet {
        enabled: changes.enabled,
        categories: changes.categories.clone(),
        ..ChangeSet::default()
    };
    for change in &changes.values {
        match lane_of(schema, &change.key.attribute) {
            Lane::Fast => direct.values.push(change.clone()),
            Lane::Reviewed => reviewed.values.push(change.clone()),
        }
    }
    (direct, reviewed)
}

/// What an edit did: the product after its fast-lane part, and the proposal
/// holding its reviewed part (if it had one).
#[derive(Debug, Clone)]
pub struct Edited {
    pub product: Product,
    pub proposal: Option<Proposal>,
}

/// A person's edit of one product.
#[derive(Debug, Clone, Copy)]
pub struct Edit<'a> {
    pub sku: &'a str,
    /// The version the edit is based on; a product that moved on is refused.
    pub base_version: i64,
    pub changes: &'a ChangeSet,
    /// `None`: reviewed changes go to the author's draft (the browser);
    /// `Some(note)`: they are submitted at once (the API).
    pub submit_note: Option<&'a str>,
}

/// A person's edit of a product. Fast-lane values go through the write path
/// now; the rest is checked exactly as a write would check it and added to
/// the author's draft or submitted at once (see [`Edit`]).
pub async fn edit(
    db: &Db,
    schema: &Schema,
    caller: &Caller,
    edit: Edit<'_>,
    now: Timestamp,
) -> Result<Edited, WorkflowError> {
    let Edit {
        sku,
        base_version,
        changes,
        submit_note,
    } = edit;
    caller.require(&Permission::EditCatalog)?;
    let actor = caller.actor();
    let writer = Writer::Person(actor.clone());
    let (direct, reviewed) = split(schema, changes);
    let current = store::find(db.pool(), sku)
        .await?
        .ok_or_else(|| WriteError::NotFound(sku.to_owned()))?;
    if current.product.version != base_version {
        return Err(WriteError::Stale {
            base: base_version,
            current: current.product.version,
        }
        .into());
    }
    // Check the reviewed part against master before anything is written.
    let (_, proposed) = write::preview(schema, &writer, &current.product, &reviewed)?;
    let mut tx = db.begin_write().await?;
    let product = if direct.is_empty() {
        current.product.clone()
    } else {
        let outcome = write::update_in(
            &mut tx,
            db.backend(),
            schema,
            &writer,
            sku,
            Some(base_version),
            &direct,
            now,
        )
        .await?;
        outcome.product().clone()
    };
    // Fields sent but equal to master leave the author's draft (edited back).
    let touched: Vec<ValueKey> = reviewed
        .values
        .iter()
        .map(|c| c.key.clone())
        .chain(
            reviewed
                .enabled
                .map(|_| ValueKey::new("enabled", None, None)),
        )
        .chain(
            reviewed
                .categories
                .as_ref()
                .map(|_| ValueKey::new("categories", None, None)),
        )
        .collect();
    let existing_draft = match submit_note {
        None => draft_of(db, product.id, caller.user.id).await?,
        Some(_) => None,
    };
    let proposal = if proposed.is_empty() && existing_draft.is_none() {
        None
    } else {
        let incoming = Incoming {
            base_version,
            proposed,
            touched: &touched,
            submit_note,
        };
        Some(add_to_proposal(&mut tx, caller, &product, incoming, now).await?)
    };
    tx.commit().await?;
    Ok(Edited { product, proposal })
}

/// A person creates a product. The product is born with its structure (SKU,
/// kind, family, parent, a variant's axis values) and its fast-lane values,
/// disabled and in no category; its reviewed-lane values, its categories and
/// enabling it go into a submitted proposal, so nothing unapproved can
/// reach a channel. A bad reviewed value creates nothing.
pub async fn create(
    db: &Db,
    schema: &Schema,
    caller: &Caller,
    new: write::NewProduct,
    now: Timestamp,
) -> Result<Edited, WorkflowError> {
    caller.require(&Permission::EditCatalog)?;
    let axes = schema
        .family(&new.family)
        .map(|f| f.variant_axes.clone())
        .unwrap_or_default();
    let is_variant = new.kind == crate::catalog::product::ProductKind::Variant;
    let (direct, reviewed_values): (Vec<ValueChange>, Vec<ValueChange>) =
        new.values.iter().cloned().partition(|change| {
            let fast = lane_of(schema, &change.key.attribute) == Lane::Fast;
            fast || (is_variant && axes.contains(&change.key.attribute))
        });
    let reviewed = ChangeSet {
        values: reviewed_values,
        enabled: new.enabled.then_some(true),
        categories: (!new.categories.is_empty()).then(|| new.categories.clone()),
    };
    let writer = Writer::Person(caller.actor());
    let structure = write::NewProduct {
        enabled: false,
        categories: Vec::new(),
        values: direct,
        ..new
    };
    // One transaction: a bad reviewed value, or any failure, creates nothing.
    let mut tx = db.begin_write().await?;
    let product = write::create_in(&mut tx, schema, &writer, structure, now).await?;
    if reviewed.is_empty() {
        tx.commit().await?;
        return Ok(Edited {
            product,
            proposal: None,
        });
    }
    let (_, proposed) = write::preview(schema, &writer, &product, &reviewed)?;
    let incoming = Incoming {
        base_version: product.version,
        proposed,
        touched: &[],
        submit_note: Some("New product"),
    };
    let proposal = add_to_proposal(&mut tx, caller, &product, incoming, now).await?;
    tx.commit().await?;
    Ok(Edited {
        product,
        proposal: Some(proposal),
    })
}

async fn find_draft_locked(
    conn: &mut AnyConnection,
    product_id: i64,
    user_id: i64,
) -> Result<Option<Proposal>, WorkflowError> {
    let lock = Backend::of(conn).lock_rows_of("proposals");
    let sql = format!(
        "SELECT {COLUMNS} FROM proposals WHERE product_id = $1 AND author_user_id = $2 \
         AND status = 'draft'{lock}"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(product_id)
        .bind(user_id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.as_ref().map(from_row).transpose()?)
}

/// Adds changes to the author's open draft (or, with `submit_note`, to their
/// open submitted proposal) for the product, or starts a new one. A later
/// change of the same field replaces the earlier one and keeps its `before`.
/// What an edit brings to the author's proposal.
struct Incoming<'a> {
    base_version: i64,
    /// The checked changes that differ from master.
    proposed: Vec<write::Change>,
    /// Every reviewed field the edit sent (those equal to master leave the draft).
    touched: &'a [ValueKey],
    submit_note: Option<&'a str>,
}

async fn add_to_proposal(
    conn: &mut AnyConnection,
    caller: &Caller,
    product: &Product,
    incoming: Incoming<'_>,
    now: Timestamp,
) -> Result<Proposal, WorkflowError> {
    let Incoming {
        base_version,
        proposed,
        touched,
        submit_note,
    } = incoming;
    let actor = caller.actor();
    // The browser extends the author's draft; the API (which submits at once)
    // always starts a new proposal, so a submitted proposal never changes
    // under an approver's eyes.
    let existing = match submit_note {
        None => find_draft_locked(conn, product.id, caller.user.id).await?,
        Some(_) => None,
    };
    let mut proposal = match existing {
        Some(draft) => draft,
        None => {
            let inserted = sqlx::query(
                "INSERT INTO proposals (product_id, sku, family, author_user_id, author_label, source, status, \
                 note, base_version, changes, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, 'edit', 'draft', '', $6, '[]', $7, $7) \
                 ON CONFLICT DO NOTHING RETURNING id",
            )
            .bind(product.id)
            .bind(&product.sku)
            .bind(&product.family)
            .bind(caller.user.id)
            .bind(&caller.user.email)
            .bind(base_version)
            .bind(now)
            .fetch_optional(&mut *conn)
            .await?;
            match inserted {
                Some(row) => get(&mut *conn, row.try_get("id")?).await?,
                // Another save of the same author started the draft a moment ago.
                None => find_draft_locked(conn, product.id, caller.user.id)
                    .await?
                    .ok_or_else(|| {
                        WorkflowError::WrongState("the draft changed; save again".to_owned())
                    })?,
            }
        }
    };
    let proposed_keys: Vec<ValueKey> = proposed
        .iter()
        .map(|c| ValueKey::new(&c.attribute, c.locale.as_deref(), c.channel.as_deref()))
        .collect();
    proposal.changes.retain(|c| {
        !(c.state == FieldState::Open
            && touched.contains(&c.key())
            && !proposed_keys.contains(&c.key()))
    });
    for change in proposed {
        let incoming = ProposedChange {
            attribute: change.attribute,
            locale: change.locale,
            channel: change.channel,
            before: change.before,
            after: change.after,
            state: FieldState::Open,
            theirs: None,
        };
        match proposal
            .changes
            .iter_mut()
            .find(|c| c.state == FieldState::Open && c.key() == incoming.key())
        {
            Some(existing) => existing.after = incoming.after,
            None => proposal.changes.push(incoming),
        }
    }
    // A field edited back to its master value is no longer a change.
    proposal
        .changes
        .retain(|c| !(c.state == FieldState::Open && c.before == c.after));
    if proposal.status == Status::Draft
        && submit_note.is_none()
        && proposal.open_changes().next().is_none()
    {
        // Everything was edited back: the draft is gone.
        proposal.status = Status::Withdrawn;
    }
    if let Some(note) = submit_note {
        proposal.status = Status::Submitted;
        proposal.submitted = Some(now);
        if !note.is_empty() {
            proposal.note = note.trim().chars().take(2000).collect();
        }
    }
    save(conn, &proposal, now).await?;
    if submit_note.is_some() {
        audit::record(
            &mut *conn,
            &actor,
            AuditEvent::new(
                "proposal.submit",
                format!("proposal #{} {}", proposal.id, proposal.sku),
            ),
            now,
        )
        .await?;
    }
    Ok(proposal)
}

/// Only the author acts on their proposal, and only while they may still
/// edit the catalog (a demoted author, or a token without catalog:write, may not).
fn must_be_author(caller: &Caller, proposal: &Proposal) -> Result<(), WorkflowError> {
    caller.require(&Permission::EditCatalog)?;
    if proposal.author_user_id == Some(caller.user.id) {
        Ok(())
    } else {
        Err(WorkflowError::Forbidden(
            "only the proposal's author may do this".to_owned(),
        ))
    }
}

/// Submits a draft for review with a note.
pub async fn submit(
    db: &Db,
    caller: &Caller,
    id: i64,
    note: &str,
    now: Timestamp,
) -> Result<Proposal, WorkflowError> {
    caller.require(&Permission::EditCatalog)?;
    let mut tx = db.begin_write().await?;
    let mut proposal = visible(caller, get_locked(&mut tx, id).await?)?;
    must_be_author(caller, &proposal)?;
    if proposal.status != Status::Draft {
        return Err(WorkflowError::WrongState(format!(
            "proposal {id} is {}, not a draft",
            proposal.status.as_str()
        )));
    }
    if proposal.open_changes().next().is_none() {
        return Err(WorkflowError::Invalid(
            "the draft has no changes to submit".to_owned(),
        ));
    }
    proposal.status = Status::Submitted;
    proposal.note = note.trim().chars().take(2000).collect();
    proposal.submitted = Some(now);
    save(&mut tx, &proposal, now).await?;
    audit::record(
        &mut *tx,
        &caller.actor(),
        AuditEvent::new(
            "proposal.submit",
            format!("proposal #{id} {}", proposal.sku),
        ),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(proposal)
}

/// The author takes their proposal back.
pub async fn withdraw(
    db: &Db,
    caller: &Caller,
    id: i64,
    now: Timestamp,
) -> Result<Proposal, WorkflowError> {
    caller.require(&Permission::EditCatalog)?;
    let mut tx = db.begin_write().await?;
    let mut proposal = visible(caller, get_locked(&mut tx, id).await?)?;
    must_be_author(caller, &proposal)?;
    if !proposal.status.is_open() {
        return Err(WorkflowError::WrongState(format!(
            "proposal {id} is already {}",
            proposal.status.as_str()
        )));
    }
    proposal.status = Status::Withdrawn;
    save(&mut tx, &proposal, now).await?;
    audit::record(
        &mut *tx,
        &caller.actor(),
        AuditEvent::new(
            "proposal.withdraw",
            format!("proposal #{id} {}", proposal.sku),
        ),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(proposal)
}

/// Four eyes: nobody approves or rejects their own proposal (admins
/// included) unless self-approval is switched on.
pub fn check_reviewer(
    caller: &Caller,
    proposal: &Proposal,
    allow_self_approval: bool,
) -> Result<(), WorkflowError> {
    caller.require(&Permission::Review)?;
    if proposal.author_user_id == Some(caller.user.id) && !allow_self_approval {
        return Err(WorkflowError::Forbidden(
            "you cannot approve or reject your own proposal: a second person must review it"
                .to_owned(),
        ));
    }
    if proposal.status != Status::Submitted {
        return Err(WorkflowError::WrongState(format!(
            "proposal {} is {}; only submitted proposals are reviewed",
            proposal.id,
            proposal.status.as_str()
        )));
    }
    Ok(())
}

/// Whether `caller` may decide proposal `id` now, judged in the order every
/// decision is: rights (403), existence (404; someone else's draft does not
/// exist), four eyes (403), state (409). For refusing input that cannot be
/// read only after these, as the decision itself would.
pub async fn check_review(
    db: &Db,
    caller: &Caller,
    id: i64,
    allow_self_approval: bool,
) -> Result<Proposal, WorkflowError> {
    caller.require(&Permission::Review)?;
    let proposal = visible(caller, get(db.pool(), id).await?)?;
    check_reviewer(caller, &proposal, allow_self_approval)?;
    Ok(proposal)
}

/// The audit action of an approval, whole or of some fields.
const APPROVE_ACTION: &str = "proposal.approve";

/// Approvals per UTC day from `since` on, as `(YYYY-MM-DD, count)`: every
/// approval counts, of a whole proposal or of some of its fields.
pub async fn approvals_per_day(
    db: &Db,
    since: Timestamp,
) -> Result<Vec<(String, i64)>, sqlx::Error> {
    audit::per_day(db, APPROVE_ACTION, since).await
}

/// Approves all open fields (`fields: None`) or the chosen ones; the rest stay
/// open. Each chosen field whose master value moved since the proposal was
/// made becomes a conflict; the others apply through the write path, in the
/// same transaction, with the product row locked so two approvals of the same
/// field cannot both apply.
pub async fn approve(
    db: &Db,
    schema: &Schema,
    caller: &Caller,
    id: i64,
    fields: Option<&[ValueKey]>,
    allow_self_approval: bool,
    now: Timestamp,
) -> Result<Proposal, WorkflowError> {
    caller.require(&Permission::Review)?;
    let mut tx = db.begin_write().await?;
    let mut proposal = visible(caller, get_locked(&mut tx, id).await?)?;
    check_reviewer(caller, &proposal, allow_self_approval)?;
    if let Some(fields) = fields {
        for field in fields {
            if !proposal.open_changes().any(|c| &c.key() == field) {
                return Err(WorkflowError::Invalid(format!(
                    "{field} is not an open field of proposal {id}"
                )));
            }
        }
    }
    let chosen = |change: &ProposedChange| {
        change.state == FieldState::Open && fields.is_none_or(|f| f.contains(&change.key()))
    };
    // Lock the product and read master as it is now.
    let lock = db.backend().lock_rows_of("p");
    let sql = format!(
        "SELECT {} FROM {} WHERE p.id = $1{lock}",
        store::PRODUCT_COLUMNS,
        store::PRODUCT_FROM
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(proposal.product_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| WriteError::NotFound(proposal.sku.clone()))?;
    let master = store::product_from_row(&row)?.product;
    let mut apply = ChangeSet::default();
    let mut conflicts = 0;
    for change in proposal.changes.iter_mut().filter(|c| chosen(c)) {
        let now_value = current_value(&master, change);
        let same = |a: &Option<Json>, b: &Option<Json>| {
            values::same_field(schema, &change.attribute, a.as_ref(), b.as_ref())
        };
        if same(&now_value, &change.after) {
            change.state = FieldState::Applied;
        } else if !same(&now_value, &change.before) {
            change.state = FieldState::Conflict;
            change.theirs = now_value;
            conflicts += 1;
        } else {
            add_to_change_set(&mut apply, change);
            change.state = FieldState::Applied;
        }
    }
    let approver = caller.actor();
    if !apply.is_empty() {
        let actor = Actor {
            label: format!(
                "{} (approving #{id} by {})",
                approver.label, proposal.author
            ),
            ..approver.clone()
        };
        let writer = applying_writer(&proposal, actor);
        let outcome = write::update_in(
            &mut tx,
            db.backend(),
            schema,
            &writer,
            &proposal.sku,
            None,
            &apply,
            now,
        )
        .await?;
        if let Outcome::Written { product, .. } = outcome {
            proposal.base_version = proposal.base_version.max(product.version);
        }
    }
    proposal.status = if conflicts > 0 {
        Status::Conflict
    } else if proposal.changes.iter().all(|c| c.state != FieldState::Open) {
        proposal.decided_by = Some(approver.label.clone());
        proposal.decided_at = Some(now);
        Status::Approved
    } else {
        Status::Submitted
    };
    save(&mut tx, &proposal, now).await?;
    let applied: Vec<String> = proposal
        .changes
        .iter()
        .filter(|c| c.state == FieldState::Applied)
        .map(|c| c.key().to_string())
        .collect();
    audit::record(
        &mut *tx,
        &approver,
        AuditEvent::new(APPROVE_ACTION, format!("proposal #{id} {}", proposal.sku))
            .detail("applied", applied)
            .detail("conflicts", conflicts)
            .detail("status", proposal.status.as_str()),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(proposal)
}

/// The writer that applies a proposal's changes, and so the writer its
/// changes are validated as: an import proposal carries ERP-owned values,
/// which only an import may write, so it applies as the import would have;
/// any other proposal applies as the approving person.
pub fn applying_writer(proposal: &Proposal, actor: Actor) -> Writer {
    if proposal.source == "import" {
        Writer::Import {
            actor,
            may_seed_pim: false,
        }
    } else {
        Writer::Person(actor)
    }
}

/// Master's current value for a proposed change's field.
fn current_value(master: &Product, change: &ProposedChange) -> Option<Json> {
    match change.attribute.as_str() {
        "enabled" => Some(Json::from(master.enabled)),
        "categories" => Some(Json::from(master.categories.clone())),
        _ => master.values.get(&change.key()).cloned(),
    }
}

/// Rejects a proposal; the comment is required and goes to the thread.
pub async fn reject(
    db: &Db,
    caller: &Caller,
    id: i64,
    comment: &str,
    allow_self_approval: bool,
    now: Timestamp,
) -> Result<Proposal, WorkflowError> {
    // Rights, existence and state before the comment: who may not reject
    // learns that first, whatever they wrote.
    caller.require(&Permission::Review)?;
    let mut tx = db.begin_write().await?;
    let mut proposal = visible(caller, get_locked(&mut tx, id).await?)?;
    check_reviewer(caller, &proposal, allow_self_approval)?;
    let comment = comment.trim();
    if comment.is_empty() {
        return Err(WorkflowError::Invalid(
            "say why: a rejection needs a comment".to_owned(),
        ));
    }
    if comment.chars().count() > 4000 {
        return Err(WorkflowError::Invalid(
            "keep the comment to 4000 characters".to_owned(),
        ));
    }
    let actor = caller.actor();
    proposal.status = Status::Rejected;
    proposal.decided_by = Some(actor.label.clone());
    proposal.decided_at = Some(now);
    save(&mut tx, &proposal, now).await?;
    add_comment(&mut tx, id, &actor, "reject", comment, now).await?;
    audit::record(
        &mut *tx,
        &actor,
        AuditEvent::new(
            "proposal.reject",
            format!("proposal #{id} {}", proposal.sku),
        )
        .detail("comment", comment),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(proposal)
}

/// Adds a comment to a proposal's thread.
pub async fn comment(
    db: &Db,
    caller: &Caller,
    id: i64,
    body: &str,
    now: Timestamp,
) -> Result<(), WorkflowError> {
    if !(caller.may(&Permission::EditCatalog) || caller.may(&Permission::Review)) {
        return Err(WorkflowError::Forbidden(
            "only editors and approvers comment on proposals".to_owned(),
        ));
    }
    let mut tx = db.begin_write().await?;
    visible(caller, get(&mut *tx, id).await?)?;
    let body = body.trim();
    if body.is_empty() || body.chars().count() > 4000 {
        return Err(WorkflowError::Invalid(
            "write a comment of 1 to 4000 characters".to_owned(),
        ));
    }
    add_comment(&mut tx, id, &caller.actor(), "comment", body, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Only the author rebases, and only a proposal in conflict.
fn check_rebaser(caller: &Caller, proposal: &Proposal) -> Result<(), WorkflowError> {
    must_be_author(caller, proposal)?;
    if proposal.status != Status::Conflict {
        return Err(WorkflowError::WrongState(format!(
            "proposal {} is {}, not in conflict",
            proposal.id,
            proposal.status.as_str()
        )));
    }
    Ok(())
}

/// Whether `caller` may rebase proposal `id` now, judged as [`rebase`]
/// judges it (rights 403, existence 404, author 403, state 409), without
/// writing: for refusing an unreadable form only after these.
pub async fn check_rebase(db: &Db, caller: &Caller, id: i64) -> Result<Proposal, WorkflowError> {
    caller.require(&Permission::EditCatalog)?;
    let proposal = visible(caller, get(db.pool(), id).await?)?;
    check_rebaser(caller, &proposal)?;
    Ok(proposal)
}

/// How the author settles one conflicting field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    KeepMine,
    TakeTheirs,
}

/// The author settles every conflict (keep mine: the change stays, now
/// based on master's value; take theirs: the change is dropped) and
/// resubmits.
pub async fn rebase(
    db: &Db,
    schema: &Schema,
    caller: &Caller,
    id: i64,
    resolutions: &[(ValueKey, Resolution)],
    now: Timestamp,
) -> Result<Proposal, WorkflowError> {
    caller.require(&Permission::EditCatalog)?;
    let mut tx = db.begin_write().await?;
    let mut proposal = visible(caller, get_locked(&mut tx, id).await?)?;
    check_rebaser(caller, &proposal)?;
    let master = store::find_by_id(&mut *tx, proposal.product_id)
        .await?
        .ok_or_else(|| WriteError::NotFound(proposal.sku.clone()))?
        .product;
    for change in proposal
        .changes
        .iter_mut()
        .filter(|c| c.state == FieldState::Conflict)
    {
        let Some((_, resolution)) = resolutions.iter().find(|(key, _)| *key == change.key()) else {
            return Err(WorkflowError::Invalid(format!(
                "choose keep mine or take theirs for {}",
                change.key()
            )));
        };
        let theirs = current_value(&master, change);
        match resolution {
            Resolution::KeepMine => {
                change.before = theirs;
                let same = values::same_field(
                    schema,
                    &change.attribute,
                    change.before.as_ref(),
                    change.after.as_ref(),
                );
                change.state = if same {
                    FieldState::Dropped
                } else {
                    FieldState::Open
                };
            }
            Resolution::TakeTheirs => change.state = FieldState::Dropped,
        }
        change.theirs = None;
    }
    // The kept changes must still be valid against master as it is now, as
    // the writer that will apply them (an import proposal as the import).
    let writer = applying_writer(&proposal, caller.actor());
    write::preview(schema, &writer, &master, &proposal.open_change_set())?;
    proposal.base_version = master.version;
    proposal.status = if proposal.open_changes().next().is_some() {
        Status::Submitted
    } else {
        Status::Withdrawn
    };
    proposal.submitted = Some(now);
    save(&mut tx, &proposal, now).await?;
    audit::record(
        &mut *tx,
        &caller.actor(),
        AuditEvent::new(
            "proposal.rebase",
            format!("proposal #{id} {}", proposal.sku),
        ),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(proposal)
}

/// Whether `caller` may propose to restore a version of `sku`: rights
/// (403), then existence (404), judged before any input is read.
pub async fn check_restore(db: &Db, caller: &Caller, sku: &str) -> Result<(), WorkflowError> {
    caller.require(&Permission::EditCatalog)?;
    store::find(db.pool(), sku)
        .await?
        .ok_or_else(|| WriteError::NotFound(sku.to_owned()))?;
    Ok(())
}

/// Restores a past version as a new submitted proposal: the changes that
/// take the product from now back to that version (values people may write,
/// enabled and categories). ERP-owned values are left to the ERP.
pub async fn restore(
    db: &Db,
    schema: &Schema,
    caller: &Caller,
    sku: &str,
    version: i64,
    now: Timestamp,
) -> Result<Proposal, WorkflowError> {
    caller.require(&Permission::EditCatalog)?;
    let stored = store::find(db.pool(), sku)
        .await?
        .ok_or_else(|| WriteError::NotFound(sku.to_owned()))?;
    let current = stored.product;
    if version < 1 || version >= current.version {
        return Err(WorkflowError::Invalid(format!(
            "choose a version from 1 to {} to restore",
            current.version - 1
        )));
    }
    // Walk back from now: undo each later version's changes.
    let target = super::history::master_at(db, &current, version).await?;
    let mut changes = ChangeSet::default();
    for (key, data) in target.values.iter() {
        if current.values.get(&key) != Some(data) {
            changes.values.push(ValueChange {
                key,
                data: Some(data.clone()),
            });
        }
    }
    for (key, _) in current.values.iter() {
        if target.values.get(&key).is_none() {
            changes.values.push(ValueChange { key, data: None });
        }
    }
    changes.values.retain(|c| {
        schema
            .attribute(&c.key.attribute)
            .is_some_and(|a| a.owner == crate::catalog::schema::Owner::Pim)
    });
    if target.enabled != current.enabled {
        changes.enabled = Some(target.enabled);
    }
    if target.categories != current.categories {
        changes.categories = Some(target.categories.clone());
    }
    let writer = Writer::Person(caller.actor());
    let (_, proposed) = write::preview(schema, &writer, &current, &changes)?;
    if proposed.is_empty() {
        return Err(WorkflowError::Invalid(format!(
            "version {version} holds the same values people edit as now"
        )));
    }
    let mut tx = db.begin_write().await?;
    let row = sqlx::query(
        "INSERT INTO proposals (product_id, sku, family, author_user_id, author_label, source, status, \
         note, base_version, changes, created_at, updated_at, submitted_at) \
         VALUES ($1, $2, $3, $4, $5, 'restore', 'submitted', $6, $7, $8, $9, $9, $9) RETURNING id",
    )
    .bind(current.id)
    .bind(&current.sku)
    .bind(&current.family)
    .bind(caller.user.id)
    .bind(&caller.user.email)
    .bind(format!("Restore version {version}"))
    .bind(current.version)
    .bind(
        serde_json::to_string(
            &proposed
                .into_iter()
                .map(|c| ProposedChange {
                    attribute: c.attribute,
                    locale: c.locale,
                    channel: c.channel,
                    before: c.before,
                    after: c.after,
                    state: FieldState::Open,
                    theirs: None,
                })
                .collect::<Vec<_>>(),
        )
        .unwrap_or_else(|_| "[]".into()),
    )
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    let id: i64 = row.try_get("id")?;
    audit::record(
        &mut *tx,
        &caller.actor(),
        AuditEvent::new(
            "proposal.restore",
            format!("proposal #{id} {}", current.sku),
        )
        .detail("version", version),
        now,
    )
    .await?;
    let proposal = get(&mut *tx, id).await?;
    tx.commit().await?;
    Ok(proposal)
}

/// The author's recently decided or conflicting proposals, for dashboard notices.
pub async fn notices_for(
    db: &Db,
    user_id: i64,
    limit: i64,
) -> Result<Vec<Proposal>, WorkflowError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM proposals WHERE author_user_id = $1 \
         AND status IN ('approved', 'rejected', 'conflict') ORDER BY updated_at DESC, id DESC LIMIT $2"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(user_id)
        .bind(limit)
        .fetch_all(db.pool())
        .await?;
    Ok(rows.iter().map(from_row).collect::<Result<_, _>>()?)
}

/// The pending (submitted) import proposals of these products, by product id.
pub(crate) async fn pending_import_proposals(
    conn: &mut AnyConnection,
    product_ids: &[i64],
) -> Result<std::collections::HashMap<i64, Proposal>, WorkflowError> {
    let mut found = std::collections::HashMap::new();
    let head = format!(
        "SELECT {COLUMNS} FROM proposals WHERE source = 'import' AND status = 'submitted' AND product_id IN"
    );
    let ids = product_ids
        .iter()
        .map(|id| crate::db::bulk::Param::Int(*id))
        .collect();
    for row in crate::db::bulk::in_list(conn, &head, "ORDER BY id", ids).await? {
        let proposal = from_row(&row)?;
        found.insert(proposal.product_id, proposal);
    }
    Ok(found)
}

/// Whether a pending import proposal already proposes these changes (a
/// re-sent file must not open a new proposal); multiselects compare as sets,
/// so one stored in another order is the same proposal.
pub(crate) fn proposes_same(
    schema: &Schema,
    pending: &Proposal,
    changes: &[write::Change],
) -> bool {
    let open: Vec<&ProposedChange> = pending.open_changes().collect();
    let same = |field: &str, a: &Option<Json>, b: &Option<Json>| {
        values::same_field(schema, field, a.as_ref(), b.as_ref())
    };
    open.len() == changes.len()
        && changes.iter().all(|change| {
            open.iter().any(|o| {
                o.attribute == change.attribute
                    && o.locale == change.locale
                    && o.channel == change.channel
                    && same(&o.attribute, &o.after, &change.after)
                    && same(&o.attribute, &o.before, &change.before)
            })
        })
}

/// An import's reviewed-lane changes of one product: a submitted proposal
/// authored by the import job on behalf of whoever sent the file (so that
/// person cannot approve it: four eyes hold for imports too). The product's
/// older pending import proposal (if any) is withdrawn as superseded, with a
/// note in its thread.
pub(crate) async fn open_import_proposal(
    conn: &mut AnyConnection,
    product: &Product,
    changes: &[write::Change],
    supersedes: Option<i64>,
    job: (&str, &Actor),
    now: Timestamp,
) -> Result<Option<i64>, WorkflowError> {
    let (job_label, author) = job;
    let new_id = if changes.is_empty() {
        None
    } else {
        let proposed: Vec<ProposedChange> = changes
            .iter()
            .map(|c| ProposedChange {
                attribute: c.attribute.clone(),
                locale: c.locale.clone(),
                channel: c.channel.clone(),
                before: c.before.clone(),
                after: c.after.clone(),
                state: FieldState::Open,
                theirs: None,
            })
            .collect();
        let row = sqlx::query(
            "INSERT INTO proposals (product_id, sku, family, author_user_id, author_label, source, status, \
             note, base_version, changes, created_at, updated_at, submitted_at) \
             VALUES ($1, $2, $3, $9, $4, 'import', 'submitted', $5, $6, $7, $8, $8, $8) RETURNING id",
        )
        .bind(product.id)
        .bind(&product.sku)
        .bind(&product.family)
        .bind(&author.label)
        .bind(format!("ERP values from {job_label}"))
        .bind(product.version)
        .bind(serde_json::to_string(&proposed).unwrap_or_else(|_| "[]".into()))
        .bind(now)
        .bind(author.user_id)
        .fetch_one(&mut *conn)
        .await?;
        Some(row.try_get::<i64, _>("id")?)
    };
    if let Some(old) = supersedes {
        sqlx::query(
            "UPDATE proposals SET status = 'withdrawn', updated_at = $1, decided_by_label = $2, decided_at = $1 \
             WHERE id = $3 AND status = 'submitted'",
        )
        .bind(now)
        .bind(job_label)
        .bind(old)
        .execute(&mut *conn)
        .await?;
        let body = match new_id {
            Some(id) => format!("Superseded by proposal #{id} from {job_label}."),
            None => format!("Withdrawn: {job_label} brought the values master already has."),
        };
        sqlx::query(
            "INSERT INTO proposal_comments (proposal_id, author_user_id, author_label, at, kind, body) \
             VALUES ($1, NULL, $2, $3, 'withdraw', $4)",
        )
        .bind(old)
        .bind(job_label)
        .bind(now)
        .bind(body)
        .execute(&mut *conn)
        .await?;
    }
    Ok(new_id)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::schema_code;

    #[test]
    fn a_pending_import_proposal_in_another_multiselect_order_is_the_same() {
        let schema = schema_code::parse(
            "[[groups]]\ncode = \"g\"\n[[attributes]]\ncode = \"ports\"\ntype = \"multiselect\"\n\
             group = \"g\"\nowner = \"erp\"\nlane = \"reviewed\"\n\
             options = [{ code = \"usb_a\" }, { code = \"usb_c\" }, { code = \"hdmi\" }]\n",
        )
        .expect("schema");
        let at = Timestamp::parse("2026-01-01T00:00:00.000000Z").expect("time");
        // Stored before multiselects had one order.
        let pending = Proposal {
            id: 1,
            sku: "G-1".into(),
            product_id: 1,
            family: "gadgets".into(),
            status: Status::Submitted,
            author: "import".into(),
            author_user_id: None,
            source: "import".into(),
            note: String::new(),
            base_version: 1,
            changes: vec![ProposedChange {
                attribute: "ports".into(),
                locale: None,
                channel: None,
                before: None,
                after: Some(json!(["usb_c", "usb_a"])),
                state: FieldState::Open,
                theirs: None,
            }],
            created: at,
            updated: at,
            submitted: Some(at),
            decided_by: None,
            decided_at: None,
        };
        let change = |after: Json| write::Change {
            attribute: "ports".into(),
            locale: None,
            channel: None,
            before: None,
            after: Some(after),
        };
        assert!(proposes_same(
            &schema,
            &pending,
            &[change(json!(["usb_a", "usb_c"]))]
        ));
        assert!(!proposes_same(
            &schema,
            &pending,
            &[change(json!(["usb_a", "hdmi"]))]
        ));
    }
}
