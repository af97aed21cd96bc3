//! Named counters (`counters` table): the schema version, the change log's
//! and each feed's sequence, per-day tallies. One place bumps and reads
//! them; a bump inside a write transaction locks the row until commit, so
//! numbers handed out in one transaction commit in order.

use sqlx::{Any, AnyConnection, Executor};

/// Adds `by` to the counter `name` (which must exist) and answers its new
/// value: the last of the `by` numbers this transaction now holds.
pub async fn bump(conn: &mut AnyConnection, name: &str, by: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("UPDATE counters SET value = value + $1 WHERE name = $2 RETURNING value")
        .bind(by)
        .bind(name)
        .fetch_one(&mut *conn)
        .await
}

/// [`bump`] for a counter that may not exist yet (it starts at 0).
pub async fn bump_or_start(
    conn: &mut AnyConnection,
    name: &str,
    by: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO counters (name, value) VALUES ($1, $2) \
         ON CONFLICT (name) DO UPDATE SET value = counters.value + excluded.value \
         RETURNING value",
    )
    .bind(name)
    .bind(by)
    .fetch_one(&mut *conn)
    .await
}

/// The counter's value; `None` when it was never started.
pub async fn read<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    name: &str,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT value FROM counters WHERE name = $1")
        .bind(name)
        .fetch_optional(executor)
        .await
}

/// The counter's value (which must exist), locked for this transaction:
/// `FOR UPDATE` when `exclusive`, else `FOR SHARE`, on PostgreSQL; SQLite's
/// `BEGIN IMMEDIATE` already serializes writers.
pub async fn read_locked(
    conn: &mut AnyConnection,
    name: &str,
    exclusive: bool,
) -> Result<i64, sqlx::Error> {
    let backend = super::Backend::of(conn);
    let lock = if exclusive {
        backend.lock_rows_of("counters")
    } else {
        backend.share_lock().to_owned()
    };
    let sql = format!("SELECT value FROM counters WHERE name = $1{lock}");
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(name)
        .fetch_one(&mut *conn)
        .await
}

/// The values of the counters among `names` that were started, as `(name, value)`.
pub async fn read_many<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    names: &[String],
) -> Result<Vec<(String, i64)>, sqlx::Error> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders: Vec<String> = (1..=names.len()).map(|n| format!("${n}")).collect();
    let sql = format!(
        "SELECT name, value FROM counters WHERE name IN ({}) ORDER BY name",
        placeholders.join(", ")
    );
    let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql));
    for name in names {
        query = query.bind(name);
    }
    query.fetch_all(executor).await
}
