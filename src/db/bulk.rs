//! Many rows per statement: multi-row `VALUES` lists with numbered
//! placeholders, bound from a small set of owned parameter types. Single-row
//! statements cost a round trip each; imports write hundreds of rows at once.

use sqlx::any::{AnyArguments, AnyRow};
use sqlx::{Any, AnyConnection};

use super::builder::SqlBuilder;
use super::{Backend, Timestamp};

/// Keeps statements under both backends' parameter limits (SQLite 32766,
/// PostgreSQL 65535) with room to spare.
const MAX_PARAMS: usize = 8000;

/// `$start, $start+1, …` (`count` of them).
pub fn placeholders(start: usize, count: usize) -> String {
    (start..start + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Placeholders for long lists. SQLite looks up a numbered parameter's name
/// by a linear scan, so binding thousands of `$N` costs quadratic time
/// (measured: 60% of an import); anonymous `?` binds in order at no cost.
fn list_placeholders(backend: Backend, start: usize, count: usize) -> String {
    match backend {
        Backend::Sqlite => vec!["?"; count].join(", "),
        Backend::Postgres => placeholders(start, count),
    }
}

/// `($1, $2), ($3, $4), …`: `rows` tuples of `width` placeholders.
pub fn tuples(width: usize, rows: usize) -> String {
    tuples_for(Backend::Postgres, width, rows)
}

fn tuples_for(backend: Backend, width: usize, rows: usize) -> String {
    (0..rows)
        .map(|r| format!("({})", list_placeholders(backend, r * width + 1, width)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One bound value.
#[derive(Debug, Clone)]
pub enum Param {
    Int(i64),
    OptInt(Option<i64>),
    Text(String),
    OptText(Option<String>),
    Bool(bool),
    At(Timestamp),
}

type AnyQuery<'q> = sqlx::query::Query<'q, Any, AnyArguments>;

pub fn bind(query: AnyQuery<'_>, param: Param) -> AnyQuery<'_> {
    match param {
        Param::Int(v) => query.bind(v),
        Param::OptInt(v) => query.bind(v),
        Param::Text(v) => query.bind(v),
        Param::OptText(v) => query.bind(v),
        Param::Bool(v) => query.bind(v),
        Param::At(v) => query.bind(v),
    }
}

/// Runs `head VALUES (…), (…) tail` over `rows` in chunks under the parameter
/// limit, returning what each chunk's `tail` (e.g. `RETURNING id`) yields.
pub async fn values(
    conn: &mut AnyConnection,
    head: &str,
    tail: &str,
    rows: Vec<Vec<Param>>,
) -> Result<Vec<AnyRow>, sqlx::Error> {
    let Some(width) = rows.first().map(Vec::len) else {
        return Ok(Vec::new());
    };
    let per_chunk = (MAX_PARAMS / width.max(1)).max(1);
    let mut out = Vec::new();
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<Vec<Param>> = rows.by_ref().take(per_chunk).collect();
        let backend = Backend::of(conn);
        let sql = format!(
            "{head} VALUES {} {tail}",
            tuples_for(backend, width, chunk.len())
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for param in chunk.into_iter().flatten() {
            query = bind(query, param);
        }
        if tail.is_empty() {
            query.execute(&mut *conn).await?;
        } else {
            out.extend(query.fetch_all(&mut *conn).await?);
        }
    }
    Ok(out)
}

/// Runs `head (list) tail` with `list` the placeholders for `ids`, in chunks.
pub async fn in_list(
    conn: &mut AnyConnection,
    head: &str,
    tail: &str,
    ids: Vec<Param>,
) -> Result<Vec<AnyRow>, sqlx::Error> {
    let mut out = Vec::new();
    let mut ids = ids.into_iter().peekable();
    while ids.peek().is_some() {
        let chunk: Vec<Param> = ids.by_ref().take(MAX_PARAMS).collect();
        let backend = Backend::of(conn);
        let sql = format!(
            "{head} ({}) {tail}",
            list_placeholders(backend, 1, chunk.len())
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for param in chunk {
            query = bind(query, param);
        }
        out.extend(query.fetch_all(&mut *conn).await?);
    }
    Ok(out)
}

/// Like [`in_list`], with `head` a statement whose own values are already
/// bound (a channel code, say): runs `head (list) tail` in chunks.
pub async fn in_list_after(
    conn: &mut AnyConnection,
    head: &SqlBuilder,
    tail: &str,
    ids: Vec<Param>,
) -> Result<Vec<AnyRow>, sqlx::Error> {
    let mut out = Vec::new();
    let mut ids = ids.into_iter().peekable();
    while ids.peek().is_some() {
        let chunk: Vec<Param> = ids
            .by_ref()
            .take(MAX_PARAMS.saturating_sub(head.bound()).max(1))
            .collect();
        let mut sql = head.clone();
        sql.push(" (").push_list(chunk).push(") ").push(tail);
        out.extend(sql.fetch_all(&mut *conn).await?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tuples_number_placeholders_row_by_row() {
        assert_eq!(tuples(2, 2), "($1, $2), ($3, $4)");
        assert_eq!(placeholders(3, 2), "$3, $4");
        assert_eq!(tuples_for(Backend::Sqlite, 2, 2), "(?, ?), (?, ?)");
    }
}
