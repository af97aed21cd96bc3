//! The audit log: who (user, token, system) did what to which target, when
//! and from where. Entries are written in the same transaction as the change
//! they describe and are never edited.

use serde::Serialize;
use serde_json::{Map, Value};
use sqlx::{Any, Executor};

use crate::db::{Db, Timestamp};

/// Who acted, as recorded in audit entries and history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub kind: ActorKind,
    pub user_id: Option<i64>,
    /// E-mail, `token:NAME (email)`, `system`, or the e-mail someone typed.
    pub label: String,
    pub client_addr: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActorKind {
    User,
    Token,
    System,
    Anonymous,
}

impl ActorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActorKind::User => "user",
            ActorKind::Token => "token",
            ActorKind::System => "system",
            ActorKind::Anonymous => "anonymous",
        }
    }
}

impl Actor {
    /// A person, by their user id and e-mail (`auth::User::actor`).
    pub fn user(user_id: i64, email: &str) -> Self {
        Self {
            kind: ActorKind::User,
            user_id: Some(user_id),
            label: email.to_owned(),
            client_addr: String::new(),
        }
    }

    /// A person's API token (`auth::Caller::actor`).
    pub fn token(user_id: i64, email: &str, token_id: i64, token_name: &str) -> Self {
        Self {
            kind: ActorKind::Token,
            user_id: Some(user_id),
            label: format!("{email} (token {token_name} #{token_id})"),
            client_addr: String::new(),
        }
    }

    /// The command line or a background task.
    pub fn system(label: &str) -> Self {
        Self {
            kind: ActorKind::System,
            user_id: None,
            label: label.to_owned(),
            client_addr: String::new(),
        }
    }

    /// Someone not signed in, known only by what they typed (a failed login).
    pub fn anonymous(label: &str) -> Self {
        Self {
            kind: ActorKind::Anonymous,
            user_id: None,
            label: label.to_owned(),
            client_addr: String::new(),
        }
    }

    pub fn from_addr(mut self, client_addr: &str) -> Self {
        client_addr.clone_into(&mut self.client_addr);
        self
    }
}

/// One thing that happened, before it is stored.
#[derive(Debug, Clone)]
pub struct AuditEvent {
    pub action: &'static str,
    pub target: String,
    pub details: Map<String, Value>,
}

impl AuditEvent {
    pub fn new(action: &'static str, target: impl Into<String>) -> Self {
        Self {
            action,
            target: target.into(),
            details: Map::new(),
        }
    }

    pub fn detail(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.details.insert(key.to_owned(), value.into());
        self
    }
}

/// Writes one entry with the caller's executor, so it commits or rolls back
/// with the change it records.
pub async fn record<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    actor: &Actor,
    event: AuditEvent,
    at: Timestamp,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO audit_entries \
         (at, actor_kind, actor_user_id, actor_label, action, target, details, client_addr) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(at)
    .bind(actor.kind.as_str())
    .bind(actor.user_id)
    .bind(&actor.label)
    .bind(event.action)
    .bind(&event.target)
    .bind(Value::Object(event.details).to_string())
    .bind(&actor.client_addr)
    .execute(executor)
    .await?;
    tracing::info!(
        audit.action = event.action,
        audit.actor = %actor.label,
        audit.target = %event.target,
        "audit"
    );
    Ok(())
}

/// A stored entry.
#[derive(Debug, Clone, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: Timestamp,
    pub actor_kind: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub details: Value,
    pub client_addr: String,
}

/// Narrows the log: `actor` matches part of the label, `action` an action or
/// its prefix (`user.` for every user change). `before` pages backwards by id.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub before: Option<i64>,
    pub limit: i64,
}

/// Entries, newest first.
pub async fn list(db: &Db, filter: &AuditFilter) -> Result<Vec<AuditEntry>, sqlx::Error> {
    let actor = filter
        .actor
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| format!("%{}%", escape_like(&s.to_lowercase())));
    let action = filter
        .action
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            if s.ends_with('.') {
                format!("{}%", escape_like(s))
            } else {
                escape_like(s)
            }
        });
    let limit = filter.limit.clamp(1, 500);
    let rows: Vec<EntryRow> = sqlx::query_as(
        "SELECT id, at, actor_kind, actor_label, action, target, details, client_addr \
         FROM audit_entries \
         WHERE ($1 IS NULL OR LOWER(actor_label) LIKE $1 ESCAPE '\\') \
           AND ($2 IS NULL OR action LIKE $2 ESCAPE '\\') \
           AND ($3 IS NULL OR id < $3) \
         ORDER BY id DESC LIMIT $4",
    )
    .bind(actor)
    .bind(action)
    .bind(filter.before)
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| AuditEntry {
            id: row.id,
            at: row.at,
            actor_kind: row.actor_kind,
            actor: row.actor_label,
            action: row.action,
            target: row.target,
            details: serde_json::from_str(&row.details).unwrap_or(Value::Null),
            client_addr: row.client_addr,
        })
        .collect())
}

/// An `audit_entries` row as listed.
#[derive(sqlx::FromRow)]
struct EntryRow {
    id: i64,
    at: Timestamp,
    actor_kind: String,
    actor_label: String,
    action: String,
    target: String,
    details: String,
    client_addr: String,
}

/// The newest `limit` entries about one target (`asset:…`), newest first:
/// a thing's own history on its page.
pub async fn for_target(db: &Db, target: &str, limit: i64) -> Result<Vec<AuditEntry>, sqlx::Error> {
    let rows: Vec<EntryRow> = sqlx::query_as(
        "SELECT id, at, actor_kind, actor_label, action, target, details, client_addr \
         FROM audit_entries WHERE target = $1 ORDER BY id DESC LIMIT $2",
    )
    .bind(target)
    .bind(limit.clamp(1, 500))
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| AuditEntry {
            id: row.id,
            at: row.at,
            actor_kind: row.actor_kind,
            actor: row.actor_label,
            action: row.action,
            target: row.target,
            details: serde_json::from_str(&row.details).unwrap_or(Value::Null),
            client_addr: row.client_addr,
        })
        .collect())
}

/// True when an entry with this action and target was written after `since`.
pub async fn exists_since<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    action: &str,
    target: &str,
    since: Timestamp,
) -> Result<bool, sqlx::Error> {
    let row = sqlx::query(
        "SELECT id FROM audit_entries WHERE action = $1 AND target = $2 AND at > $3 LIMIT 1",
    )
    .bind(action)
    .bind(target)
    .bind(since)
    .fetch_optional(executor)
    .await?;
    Ok(row.is_some())
}

/// The distinct actions seen so far, for the filter menu.
pub async fn actions(db: &Db) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT DISTINCT action FROM audit_entries ORDER BY action")
        .fetch_all(db.pool())
        .await
}

fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// Entries with `action` per UTC day from `since` on, as `(YYYY-MM-DD,
/// count)`, oldest first; days without any are left out.
pub async fn per_day(
    db: &Db,
    action: &str,
    since: Timestamp,
) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let day = crate::db::utc_day("at");
    let sql = format!(
        "SELECT {day} AS day, COUNT(*) AS n FROM audit_entries \
         WHERE action = $1 AND at >= $2 GROUP BY {day} ORDER BY day"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(action)
        .bind(since)
        .fetch_all(db.pool())
        .await?;
    crate::db::day_counts(&rows)
}
