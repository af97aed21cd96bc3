//! Product history: every version, who wrote it, when, and what changed.

use serde::Serialize;
use sqlx::FromRow;

use super::write::Change;
use crate::catalog::product::Product;
use crate::db::{Db, Timestamp};

/// One version of a product.
#[derive(Debug, Clone, Serialize)]
pub struct VersionEntry {
    pub version: i64,
    pub at: Timestamp,
    pub actor_kind: String,
    pub actor: String,
    pub changes: Vec<Change>,
}

/// A product's versions, newest first.
pub async fn versions(
    db: &Db,
    product_id: i64,
    limit: i64,
) -> Result<Vec<VersionEntry>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT version, at, actor_kind, actor_label, changes FROM product_versions \
         WHERE product_id = $1 ORDER BY version DESC LIMIT $2",
    )
    .bind(product_id)
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(entry_from_row).collect()
}

/// A `product_versions` row as the queries here select it.
#[derive(sqlx::FromRow)]
struct VersionRow {
    version: i64,
    at: Timestamp,
    actor_kind: String,
    actor_label: String,
    changes: String,
}

fn entry_from_row(row: &sqlx::any::AnyRow) -> Result<VersionEntry, sqlx::Error> {
    let row = VersionRow::from_row(row)?;
    Ok(VersionEntry {
        version: row.version,
        at: row.at,
        actor_kind: row.actor_kind,
        actor: row.actor_label,
        changes: serde_json::from_str(&row.changes)
            .map_err(|err| sqlx::Error::Decode(err.into()))?,
    })
}

/// The versions after `after` up to and including `up_to`, newest first
/// (what must be undone to get back to version `after`).
pub async fn versions_between(
    db: &Db,
    product_id: i64,
    after: i64,
    up_to: i64,
) -> Result<Vec<VersionEntry>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT version, at, actor_kind, actor_label, changes FROM product_versions \
         WHERE product_id = $1 AND version > $2 AND version <= $3 ORDER BY version DESC",
    )
    .bind(product_id)
    .bind(after)
    .bind(up_to)
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(entry_from_row).collect()
}

/// The product as it was at `version`: `current` with every later
/// version's changes undone (its structure stays as it is now).
pub async fn master_at(db: &Db, current: &Product, version: i64) -> Result<Product, sqlx::Error> {
    let mut past = current.clone();
    for entry in versions_between(db, current.id, version, current.version).await? {
        for change in &entry.changes {
            change.target().apply(&mut past, change.before.as_ref());
        }
    }
    past.version = version;
    Ok(past)
}

/// The change log after `cursor`, oldest first, at most `limit` entries:
/// `(seq, product_id)` pairs, one query (the publisher's round follows it).
pub async fn changes_after(
    conn: &mut sqlx::AnyConnection,
    cursor: i64,
    limit: i64,
) -> Result<Vec<(i64, i64)>, sqlx::Error> {
    sqlx::query_as("SELECT seq, product_id FROM change_log WHERE seq > $1 ORDER BY seq LIMIT $2")
        .bind(cursor)
        .bind(limit)
        .fetch_all(conn)
        .await
}

/// Logs products whose values did not change but whose published form may
/// have (an asset they link was approved or rejected): change-log entries at
/// their current `(id, sku, version)`, numbered from the locked counter like
/// every write's, so the publisher judges them again in its next round. No
/// history entry: nothing of the product changed.
pub async fn log_for_publishing(
    conn: &mut sqlx::AnyConnection,
    products: &[(i64, String, i64)],
    now: Timestamp,
) -> Result<(), sqlx::Error> {
    use crate::db::bulk::{self, Param};
    if products.is_empty() {
        return Ok(());
    }
    let count = i64::try_from(products.len()).unwrap_or(i64::MAX);
    let last = crate::db::counters::bump(&mut *conn, "change_log", count).await?;
    let rows = products
        .iter()
        .enumerate()
        .map(|(i, (id, sku, version))| {
            vec![
                Param::Int(last - count + 1 + i64::try_from(i).unwrap_or(0)),
                Param::Int(*id),
                Param::Text(sku.clone()),
                Param::Int(*version),
                Param::At(now),
            ]
        })
        .collect();
    bulk::values(
        conn,
        "INSERT INTO change_log (seq, product_id, sku, version, at)",
        "",
        rows,
    )
    .await?;
    Ok(())
}
