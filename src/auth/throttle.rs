//! Login throttling per account and per client address. Attempts are counted
//! in the database so every app node sees the same numbers, and each attempt
//! is recorded *before* its password is checked, under a per-key lock, so a
//! burst of parallel guesses cannot slip past the limit while argon2 runs. Unknown accounts are
//! counted like known ones, so the answer never tells whether an account exists.

use sqlx::{Any, AnyConnection, Executor};

use super::AuthError;
use crate::db::{Db, Timestamp};

/// Failures counted over this window.
pub const WINDOW: time::Duration = time::Duration::minutes(15);
/// Failed attempts for one e-mail address within the window before sign-in pauses.
pub const PER_ACCOUNT: i64 = 5;
/// Failed attempts from one client address within the window before sign-in pauses.
pub const PER_ADDRESS: i64 = 20;

fn account_key(email: &str) -> String {
    format!("account:{}", email.trim().to_lowercase())
}

fn address_key(client_addr: &str) -> String {
    format!("address:{client_addr}")
}

/// An attempt in flight: its rows count against both limits until it
/// succeeds (then they are removed) or fails (then they stay, as failures).
#[derive(Debug)]
pub struct Attempt {
    row_ids: Vec<i64>,
}

/// Records an attempt and refuses with [`AuthError::Throttled`] when it goes
/// over either limit; a refused attempt is not counted, so waiting always helps.
pub async fn begin_attempt(
    db: &Db,
    email: &str,
    client_addr: &str,
    now: Timestamp,
) -> Result<Attempt, AuthError> {
    let since = now.minus(WINDOW);
    let mut tx = db.begin_write().await?;
    sqlx::query("DELETE FROM login_failures WHERE at <= $1")
        .bind(since)
        .execute(&mut *tx)
        .await?;
    let mut row_ids = Vec::with_capacity(2);
    let mut throttled_minutes = None;
    // Always account before address, so two attempts never wait on each other in a cycle.
    for (key, limit) in [
        (account_key(email), PER_ACCOUNT),
        (address_key(client_addr), PER_ADDRESS),
    ] {
        // Without this, concurrent PostgreSQL transactions would each count
        // before seeing the others' rows.
        db.lock_key(&mut tx, &key).await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO login_failures (throttle_key, at) VALUES ($1, $2) RETURNING id",
        )
        .bind(&key)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        row_ids.push(id);
        let (attempts, oldest): (i64, Option<Timestamp>) = sqlx::query_as(
            "SELECT COUNT(*) AS attempts, MIN(at) AS oldest FROM login_failures \
             WHERE throttle_key = $1 AND at > $2",
        )
        .bind(&key)
        .bind(since)
        .fetch_one(&mut *tx)
        .await?;
        if attempts > limit {
            let lifts_at = oldest.unwrap_or(now).plus(WINDOW);
            let minutes = (lifts_at.since(now).whole_seconds() + 59) / 60;
            throttled_minutes = Some(minutes.max(1));
        }
    }
    if let Some(minutes) = throttled_minutes {
        delete_rows(&mut tx, &row_ids).await?;
        tx.commit().await?;
        return Err(AuthError::Throttled { minutes });
    }
    tx.commit().await?;
    Ok(Attempt { row_ids })
}

/// A successful sign-in: the attempt does not count, and the account's
/// earlier failures are forgiven (the address's are not).
pub async fn succeeded(
    conn: &mut AnyConnection,
    attempt: Attempt,
    email: &str,
) -> Result<(), AuthError> {
    delete_rows(conn, &attempt.row_ids).await?;
    sqlx::query("DELETE FROM login_failures WHERE throttle_key = $1")
        .bind(account_key(email))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

async fn delete_rows(conn: &mut AnyConnection, ids: &[i64]) -> Result<(), AuthError> {
    for id in ids {
        sqlx::query("DELETE FROM login_failures WHERE id = $1")
            .bind(id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Drops attempts older than the window; run now and then.
pub async fn purge_old<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    now: Timestamp,
) -> Result<u64, AuthError> {
    let done = sqlx::query("DELETE FROM login_failures WHERE at <= $1")
        .bind(now.minus(WINDOW))
        .execute(executor)
        .await?;
    Ok(done.rows_affected())
}
