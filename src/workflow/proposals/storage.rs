//! Reading and saving proposals and their comments.

use sqlx::any::AnyRow;
use sqlx::{Any, AnyConnection, Executor, FromRow};

use super::error::WorkflowError;
use super::model::{Comment, Proposal, Status};
use crate::audit::Actor;
use crate::auth::Caller;
use crate::catalog::store;
use crate::db::{Backend, Db, Timestamp};

pub(super) const COLUMNS: &str = "id, product_id, sku, family, author_user_id, author_label, source, status, note, \
     base_version, changes, created_at, updated_at, submitted_at, decided_by_label, decided_at";

/// A `proposals` row as stored ([`COLUMNS`]).
#[derive(sqlx::FromRow)]
struct ProposalRow {
    id: i64,
    product_id: i64,
    sku: String,
    family: String,
    author_user_id: Option<i64>,
    author_label: String,
    source: String,
    status: String,
    note: String,
    base_version: i64,
    changes: String,
    created_at: Timestamp,
    updated_at: Timestamp,
    submitted_at: Option<Timestamp>,
    decided_by_label: Option<String>,
    decided_at: Option<Timestamp>,
}

impl ProposalRow {
    fn into_proposal(self) -> Result<Proposal, sqlx::Error> {
        let status = Status::parse(&self.status).ok_or_else(|| {
            sqlx::Error::Decode(format!("proposal status {}", self.status).into())
        })?;
        Ok(Proposal {
            id: self.id,
            product_id: self.product_id,
            sku: self.sku,
            family: self.family,
            status,
            author: self.author_label,
            author_user_id: self.author_user_id,
            source: self.source,
            note: self.note,
            base_version: self.base_version,
            changes: serde_json::from_str(&self.changes)
                .map_err(|err| sqlx::Error::Decode(err.into()))?,
            created: self.created_at,
            updated: self.updated_at,
            submitted: self.submitted_at,
            decided_by: self.decided_by_label,
            decided_at: self.decided_at,
        })
    }
}

/// A proposal from a row of [`COLUMNS`].
pub(super) fn from_row(row: &AnyRow) -> Result<Proposal, sqlx::Error> {
    ProposalRow::from_row(row)?.into_proposal()
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

pub(super) async fn get_locked(
    conn: &mut AnyConnection,
    id: i64,
) -> Result<Proposal, WorkflowError> {
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
pub(super) fn visible(caller: &Caller, proposal: Proposal) -> Result<Proposal, WorkflowError> {
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
        conditions.push(store::in_categories(
            "proposals.product_id",
            &placeholders(codes.len()),
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
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) AS n FROM proposals WHERE status = 'submitted'")
            .fetch_one(db.pool())
            .await?,
    )
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
    let rows: Vec<(String, Timestamp, String, String)> = sqlx::query_as(
        "SELECT author_label, at, kind, body FROM proposal_comments WHERE proposal_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|(author, at, kind, body)| Comment {
            author,
            at,
            kind,
            body,
        })
        .collect())
}

pub(super) async fn add_comment(
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

pub(super) async fn save(
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
