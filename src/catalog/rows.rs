//! Writes of the product tables (`products`, `product_categories`) for the
//! write path in `workflow`: it checks and plans, these statements store.
//! Every function runs the multi-row statements the write path ran before
//! (chunked by `db::bulk`), inside the caller's transaction.

use std::collections::HashMap;

use sqlx::{AnyConnection, FromRow};

use super::plan::Step;
use super::product::Product;
use super::store::{self, sku_key};
use crate::db::bulk::{self, Param};
use crate::db::{Backend, Db};

/// A new product row: the product, its storage ids and its stored documents.
pub struct NewRow<'a> {
    pub product: &'a Product,
    pub parent_id: Option<i64>,
    pub axis_key: Option<String>,
    /// The categories document (JSON text).
    pub categories: String,
    /// The values document (JSON text).
    pub values: String,
    pub digest: Option<String>,
}

/// A changed product row, written only over version `product.version - 1`.
pub struct UpdatedRow<'a> {
    pub product: &'a Product,
    /// The values document (JSON text).
    pub values: String,
    /// A new axis key; `None` keeps the stored one.
    pub axis_key: Option<String>,
    /// A new import digest; `None` keeps the stored one.
    pub digest: Option<String>,
    /// A new categories document; `None` keeps the stored one.
    pub categories: Option<String>,
}

#[derive(FromRow)]
struct IdVersion {
    id: i64,
    version: i64,
}

#[derive(FromRow)]
struct KeyId {
    sku_key: String,
    id: i64,
}

#[derive(FromRow)]
struct KeyDigest {
    sku_key: String,
    import_digest: String,
}

/// The current versions of these products, locked for this transaction
/// (PostgreSQL), in id order.
pub async fn versions_locked(
    conn: &mut AnyConnection,
    ids: Vec<i64>,
) -> Result<HashMap<i64, i64>, sqlx::Error> {
    let lock = Backend::of(conn).lock_rows_of("products");
    bulk::in_list(
        conn,
        "SELECT id, version FROM products WHERE id IN",
        &format!("ORDER BY id{lock}"),
        ids.into_iter().map(Param::Int).collect(),
    )
    .await?
    .iter()
    .map(|row| IdVersion::from_row(row).map(|r| (r.id, r.version)))
    .collect()
}

/// The import digests stored for these SKU keys (those that have one).
pub async fn digests(
    conn: &mut AnyConnection,
    keys: Vec<String>,
) -> Result<HashMap<String, String>, sqlx::Error> {
    bulk::in_list(
        conn,
        "SELECT sku_key, import_digest FROM products WHERE import_digest IS NOT NULL AND sku_key IN",
        "",
        keys.into_iter().map(Param::Text).collect(),
    )
    .await?
    .iter()
    .map(|row| KeyDigest::from_row(row).map(|r| (r.sku_key, r.import_digest)))
    .collect()
}

/// The ids of the models with these SKU keys, by SKU key.
pub async fn model_ids(
    conn: &mut AnyConnection,
    keys: Vec<String>,
) -> Result<HashMap<String, i64>, sqlx::Error> {
    bulk::in_list(
        conn,
        "SELECT id, sku_key FROM products WHERE kind = 'model' AND sku_key IN",
        "",
        keys.into_iter().map(Param::Text).collect(),
    )
    .await?
    .iter()
    .map(|row| KeyId::from_row(row).map(|r| (r.sku_key, r.id)))
    .collect()
}

/// Inserts these rows; answers the new ids by SKU key.
pub async fn insert(
    conn: &mut AnyConnection,
    rows: Vec<NewRow<'_>>,
) -> Result<HashMap<String, i64>, sqlx::Error> {
    let rows = rows
        .into_iter()
        .map(|row| {
            let product = row.product;
            vec![
                Param::Text(product.sku.clone()),
                Param::Text(sku_key(&product.sku)),
                Param::Text(product.kind.as_str().to_owned()),
                Param::Text(product.family.clone()),
                Param::OptInt(row.parent_id),
                Param::OptText(row.axis_key),
                Param::Bool(product.enabled),
                Param::Text(row.categories),
                Param::Text(row.values),
                Param::Int(product.version),
                Param::At(product.created),
                Param::At(product.updated),
                Param::OptText(row.digest),
            ]
        })
        .collect();
    bulk::values(
        conn,
        "INSERT INTO products (sku, sku_key, kind, family, parent_id, axis_key, enabled, categories, \
         product_values, version, created_at, updated_at, import_digest)",
        "RETURNING id, sku_key",
        rows,
    )
    .await?
    .iter()
    .map(|row| KeyId::from_row(row).map(|r| (r.sku_key, r.id)))
    .collect()
}

/// Writes these rows, each only over the version it was checked against
/// (one statement per chunk); answers how many were written.
pub async fn update(
    conn: &mut AnyConnection,
    rows: Vec<UpdatedRow<'_>>,
) -> Result<usize, sqlx::Error> {
    let rows = rows
        .into_iter()
        .map(|row| {
            vec![
                Param::Int(row.product.id),
                Param::Bool(row.product.enabled),
                Param::Text(row.values),
                Param::OptText(row.axis_key),
                Param::Int(row.product.version),
                Param::At(row.product.updated),
                Param::OptText(row.digest),
                Param::Int(row.product.version - 1),
                Param::OptText(row.categories),
            ]
        })
        .collect();
    let written = bulk::values(
        conn,
        "UPDATE products SET enabled = v.column2, product_values = v.column3, \
         axis_key = COALESCE(v.column4, products.axis_key), version = v.column5, updated_at = v.column6, \
         import_digest = COALESCE(v.column7, products.import_digest), \
         categories = COALESCE(v.column9, products.categories) FROM (",
        ") AS v WHERE products.id = v.column1 AND products.version = v.column8 RETURNING products.id",
        rows,
    )
    .await?;
    Ok(written.len())
}

/// Stores the import digest of products whose documents did not change:
/// `(id, digest)` pairs.
pub async fn set_digests(
    conn: &mut AnyConnection,
    digests: Vec<(i64, String)>,
) -> Result<(), sqlx::Error> {
    bulk::values(
        conn,
        "UPDATE products SET import_digest = v.column2 FROM (",
        ") AS v WHERE products.id = v.column1",
        digests
            .into_iter()
            .map(|(id, digest)| vec![Param::Int(id), Param::Text(digest)])
            .collect(),
    )
    .await?;
    Ok(())
}

/// Replaces the category index of products `cleared` (their rows go) and
/// adds `(category, product_id)` rows.
pub async fn replace_categories(
    conn: &mut AnyConnection,
    cleared: Vec<i64>,
    rows: Vec<(String, i64)>,
) -> Result<(), sqlx::Error> {
    bulk::in_list(
        conn,
        "DELETE FROM product_categories WHERE product_id IN",
        "",
        cleared.into_iter().map(Param::Int).collect(),
    )
    .await?;
    bulk::values(
        conn,
        "INSERT INTO product_categories (category, product_id)",
        "",
        rows.into_iter()
            .map(|(category, id)| vec![Param::Text(category), Param::Int(id)])
            .collect(),
    )
    .await?;
    Ok(())
}

/// The SKUs of enabled products in id order.
pub async fn enabled_skus(db: &Db) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT sku FROM products WHERE enabled = $1 ORDER BY id")
        .bind(true)
        .fetch_all(db.pool())
        .await
}

/// The condition (on products `p`) and its bound text that finds the
/// products a destructive step may affect; `None` for a kind that holds no
/// product values. `$n` is the step's placeholder.
fn affected_by(step: &Step, n: usize) -> Option<(String, String)> {
    let by_values = || format!("p.product_values LIKE ${n} ESCAPE '\\'");
    let containing = |fragment: String| store::containing(&fragment);
    Some(match step.kind {
        "attribute" => (by_values(), containing(format!("\"{}\":[", step.code))),
        "locale" => (
            by_values(),
            containing(format!("\"locale\":\"{}\"", step.code)),
        ),
        "channel" => (
            by_values(),
            containing(format!("\"channel\":\"{}\"", step.code)),
        ),
        "currency" => (
            by_values(),
            containing(format!("\"currency\":\"{}\"", step.code)),
        ),
        "category" => (
            format!(
                "p.id IN (SELECT pc.product_id FROM product_categories pc WHERE pc.category = ${n})"
            ),
            step.code.clone(),
        ),
        "family" => (format!("p.family = ${n}"), step.code.clone()),
        _ => return None,
    })
}

/// The `WHERE` condition over products `p` after `$1` that any of `steps`
/// may affect, with the texts to bind from `$2` on; `None` when no step
/// holds product values.
fn affected_condition(steps: &[&Step]) -> Option<(String, Vec<String>)> {
    let mut conditions = Vec::new();
    let mut binds = Vec::new();
    for step in steps {
        if let Some((condition, bind)) = affected_by(step, binds.len() + 2) {
            conditions.push(condition);
            binds.push(bind);
        }
    }
    (!conditions.is_empty()).then(|| {
        (
            format!("p.id > $1 AND ({})", conditions.join(" OR ")),
            binds,
        )
    })
}

/// How many products the destructive `steps` may affect (0 when no step
/// holds product values).
pub async fn count_affected(conn: &mut AnyConnection, steps: &[&Step]) -> Result<i64, sqlx::Error> {
    let Some((condition, binds)) = affected_condition(steps) else {
        return Ok(0);
    };
    let sql = format!("SELECT COUNT(*) AS n FROM products p WHERE {condition}");
    let mut query = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(0_i64);
    for bind in &binds {
        query = query.bind(bind);
    }
    query.fetch_one(&mut *conn).await
}

/// The ids after `after` of products the destructive `steps` may affect, in
/// id order, at most `limit`, locked for this transaction (PostgreSQL);
/// `None` when no step holds product values.
pub async fn affected_locked(
    conn: &mut AnyConnection,
    steps: &[&Step],
    after: i64,
    limit: Option<usize>,
) -> Result<Option<Vec<i64>>, sqlx::Error> {
    let Some((condition, binds)) = affected_condition(steps) else {
        return Ok(None);
    };
    let lock = Backend::of(conn).lock_rows_of("p");
    let limit = limit.map(|n| format!(" LIMIT {n}")).unwrap_or_default();
    let sql = format!("SELECT p.id FROM products p WHERE {condition} ORDER BY p.id{limit}{lock}");
    let mut query = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(after);
    for bind in &binds {
        query = query.bind(bind);
    }
    query.fetch_all(&mut *conn).await.map(Some)
}
