//! Browser sessions, kept in the database so any app node can serve any
//! request. The cookie holds a 256-bit random id; the table holds only its
//! SHA-256. A session ends after an idle period, at an absolute age, at logout,
//! and when its user is disabled or changes password.

use sqlx::{Any, Executor, FromRow};

use super::user::{USER_COLUMNS, user_from_row};
use super::{AuthError, Caller, Credential, User, hash_secret, random_secret};
use crate::db::{Db, Timestamp};

/// How long a session may go unused before `last_seen_at` is written again;
/// keeps busy pages from writing on every request.
const TOUCH_EVERY: time::Duration = time::Duration::seconds(60);

/// A live session and its user.
#[derive(Debug, Clone)]
pub struct Session {
    pub id_hash: String,
    pub user: User,
    pub csrf_token: String,
}

impl Session {
    /// The session's user as a caller: the user's roles apply in full.
    pub fn caller(&self) -> Caller {
        Caller {
            user: self.user.clone(),
            credential: Credential::Session,
        }
    }
}

/// A session just created: the raw id goes into the cookie and nowhere else.
#[derive(Debug)]
pub struct NewSession {
    pub cookie_value: String,
    pub session: Session,
}

/// Idle and absolute limits.
#[derive(Debug, Clone, Copy)]
pub struct SessionPolicy {
    pub idle: time::Duration,
    pub absolute: time::Duration,
}

pub(super) async fn create<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    user: &User,
    client_addr: &str,
    policy: SessionPolicy,
    now: Timestamp,
) -> Result<NewSession, AuthError> {
    let cookie_value = random_secret();
    let id_hash = hash_secret(&cookie_value);
    let csrf_token = random_secret();
    sqlx::query(
        "INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, last_seen_at, expires_at, client_addr) \
         VALUES ($1, $2, $3, $4, $4, $5, $6)",
    )
    .bind(&id_hash)
    .bind(user.id)
    .bind(&csrf_token)
    .bind(now)
    .bind(now.plus(policy.absolute))
    .bind(client_addr)
    .execute(executor)
    .await?;
    Ok(NewSession {
        cookie_value,
        session: Session {
            id_hash,
            user: user.clone(),
            csrf_token,
        },
    })
}

/// Looks a cookie value up. Expired sessions and sessions of disabled users are
/// deleted and answer `None`.
pub async fn resolve(
    db: &Db,
    cookie_value: &str,
    policy: SessionPolicy,
    now: Timestamp,
) -> Result<Option<Session>, AuthError> {
    let id_hash = hash_secret(cookie_value);
    let sql = format!(
        "SELECT s.csrf_token, s.last_seen_at, s.expires_at, {USER_COLUMNS} \
         FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = $1"
    );
    let Some(row) = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(&id_hash)
        .fetch_optional(db.pool())
        .await?
    else {
        return Ok(None);
    };
    let user = user_from_row(&row)?;
    let SessionRow {
        csrf_token,
        last_seen_at: last_seen,
        expires_at: expires,
    } = SessionRow::from_row(&row)?;
    if user.disabled || now >= expires || now.since(last_seen) >= policy.idle {
        sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
            .bind(&id_hash)
            .execute(db.pool())
            .await?;
        return Ok(None);
    }
    if now.since(last_seen) >= TOUCH_EVERY {
        sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id_hash = $2")
            .bind(now)
            .bind(&id_hash)
            .execute(db.pool())
            .await?;
    }
    Ok(Some(Session {
        id_hash,
        user,
        csrf_token,
    }))
}

/// The session's own columns of a session-and-user row.
#[derive(sqlx::FromRow)]
struct SessionRow {
    csrf_token: String,
    last_seen_at: Timestamp,
    expires_at: Timestamp,
}

/// Ends one session (logout).
pub async fn end<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    id_hash: &str,
) -> Result<(), AuthError> {
    sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
        .bind(id_hash)
        .execute(executor)
        .await?;
    Ok(())
}

pub(super) async fn end_all_for_user<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    user_id: i64,
) -> Result<(), AuthError> {
    sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user_id)
        .execute(executor)
        .await?;
    Ok(())
}

pub(super) async fn end_others_for_user<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    user_id: i64,
    keep_id_hash: &str,
) -> Result<(), AuthError> {
    sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id_hash <> $2")
        .bind(user_id)
        .bind(keep_id_hash)
        .execute(executor)
        .await?;
    Ok(())
}

/// Deletes sessions past their absolute expiry or idle too long; run now and then.
pub async fn purge_expired(
    db: &Db,
    policy: SessionPolicy,
    now: Timestamp,
) -> Result<u64, AuthError> {
    let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at <= $2")
        .bind(now)
        .bind(now.minus(policy.idle))
        .execute(db.pool())
        .await?;
    Ok(done.rows_affected())
}
